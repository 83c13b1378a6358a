"""The registry benchmark end to end at a tiny size: real servers, real numbers, the report's tables."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from paths import ROOT

PERSONS = 300
TARGETS = ("embedded", "remote", "oxigraph", "rdflib", "inproc")
ALWAYS_ANSWERED = ("lookup", "registry GROUP BY", "ORDER BY + LIMIT", "01-repression-stages")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of bench/registry.py at 300 persons with very short durations; its results and document."""
    work = tmp_path_factory.mktemp("bench")
    doc = work / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nThe endpoint section stays.\n", encoding="utf-8")
    command = [sys.executable, str(ROOT / "bench" / "registry.py"), "--sizes", str(PERSONS), "--work", str(work),
               "--runs", "2", "--seconds", "0.5", "--duration", "0.5", "--clients", "1,2", "--formats", "nt,csv",
               "--request-timeout", "60", "--stage-timeout", "600", "--doc", str(doc), "--no-reason"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((work / f"results-{PERSONS}.json").read_text())
    return results, doc.read_text(encoding="utf-8"), done.stdout


def test_every_stage_ran_without_error(run):
    results, _, _ = run
    for stage in ("synth", "build", "dump", "raw_load", "oxigraph_load", "export", "inproc", "oxigraph", "embedded",
                  "rdflib"):
        assert stage in results and "error" not in results[stage], (stage, results.get(stage))


def test_load_figures_are_positive(run):
    results, _, _ = run
    assert results["synth"]["manifest"]["persons"] == PERSONS and results["synth"]["manifest"]["synthetic"] is True
    build = results["build"]
    assert build["seconds"] > 0 and build["peak_rss"] > 0 and build["store_bytes"] > 0
    assert build["summary"]["quads"] > PERSONS * 10
    assert results["dump"]["quads"] == build["summary"]["quads"]
    assert results["oxigraph_load"]["quads"] == results["dump"]["quads"]
    assert results["raw_load"]["quads"] == results["synth"]["manifest"]["triples"] == build["summary"]["graphs"]["registry"]
    for stage in ("raw_load", "oxigraph_load"):
        assert results[stage]["per_second"] > 0 and results[stage]["store_bytes"] > 0
    for fmt in ("nt", "csv"):
        files = results["export"][fmt]["files"]
        assert files and all(f["bytes"] > 0 and f["seconds"] >= 0 for f in files.values())


def test_every_target_answered_the_standard_set(run):
    results, _, _ = run
    for key in TARGETS:
        figures = target(results, key)
        cold = figures["cold"]
        assert len(cold) >= 30 + 6
        for probe in ALWAYS_ANSWERED:
            assert cold[probe]["status"] == 200 and 0 < cold[probe]["p50"] <= cold[probe]["p95"], (key, probe)
    for key in ("embedded", "remote"):
        cold = target(results, key)["cold"]
        assert all(f["status"] == 200 for f in cold.values()), {k: v for k, v in cold.items() if v["status"] != 200}


def test_throughput_and_memory_are_measured(run):
    results, _, _ = run
    for key in ("embedded", "remote", "oxigraph", "rdflib"):
        figures = target(results, key)
        assert set(figures["throughput"]) == {"1", "2"}
        assert all(t["requests"] > 0 and t["per_second"] > 0 for t in figures["throughput"].values())
        assert figures["serving_peak_rss"] > 0
    assert results["rdflib"]["load_seconds"] > 0 and results["rdflib"]["load_peak_rss"] > 0


def test_repeated_queries_hit_the_result_cache(run):
    results, _, _ = run
    for key in ("embedded", "remote"):
        figures = target(results, key)
        assert figures["throughput_repeated"]["requests"] > 0
        for probe, f in figures["repeated"].items():
            assert f["status"] == 200 and f["p50"] > 0, probe


def test_the_document_keeps_its_text_and_gets_the_tables(run):
    _, doc, _ = run
    assert doc.startswith("# Benchmarks\n\nThe endpoint section stays.\n")
    assert doc.count("<!-- registry-benchmark:start -->") == 1 and doc.count("<!-- registry-benchmark:end -->") == 1
    assert f"### {PERSONS:,} persons" in doc
    assert re.search(r"Machine: \d+ cores, [\d.]+ GiB RAM", doc)
    latency = table_after(doc, "| query (p50 / p95 ms)")
    assert len(latency) >= 36
    for row in latency:
        if row[0] in ALWAYS_ANSWERED:
            for cell in row[1:6]:
                p50, p95 = (float(x) for x in cell.split(" / "))
                assert 0 < p50 <= p95
    throughput = table_after(doc, "| lookups/s")
    assert any(r[0] == "oxigraph serve" for r in throughput)
    assert all(float(r[1].replace(",", "")) > 0 for r in throughput if r[1] != "—")
    verdicts = table_after(doc, "| target (issue 5)")
    assert len(verdicts) == 11 and all(r[2] in ("met", "**missed**", "—") for r in verdicts)


def test_progress_is_printed(run):
    _, _, stdout = run
    assert re.search(r"\[\d\d:\d\d:\d\d\]   build: done in [\d.]+ s", stdout)
    assert "lookups, 2 clients:" in stdout


def test_a_second_run_resumes_from_the_results(run, tmp_path):
    """Stages with figures are kept: a re-run of the report alone takes no server and no build."""
    results, _, _ = run
    work = tmp_path / "work"
    work.mkdir()
    (work / f"results-{PERSONS}.json").write_text(json.dumps(results))
    doc = tmp_path / "benchmarks.md"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "registry.py"), "--sizes", str(PERSONS), "--work",
                           str(work), "--clients", "1,2", "--doc", str(doc)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("done before, kept") == 10
    assert f"### {PERSONS:,} persons" in doc.read_text(encoding="utf-8")


def target(results: dict, key: str) -> dict:
    return results["oxigraph"][key] if key in ("oxigraph", "remote") else results[key]


def table_after(doc: str, header_start: str) -> list[list[str]]:
    """The body rows of the first Markdown table whose header starts so."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows
