"""The 3,777,380-person attempt (about 57 M triples) through the remote backend.

synth -> `oxigraph load` (the core graphs of a fresh build, then the registry into its named
graph) -> `oxigraph serve` -> `repression-kg serve --endpoint` -> a few pages and queries, each
with a time limit. Our own build (--add) is not run at this size: the point is the hand-over
to a bigger SPARQL server. Stages resume like the sized runs (WORK/results-huge.json).
"""
from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.parse
from pathlib import Path

import harness
from clients import Client, Timeout, latency, select
from harness import BIN, Server, run_measured, serving
from probes import FACETS, GROUP_BY, LOOKUP, ORDER_BY, Page, Registry, Sparql, example_queries
from measure import REGISTRY_GRAPH
from stages import Results, checked, stage

PERSONS = 3_777_380
STAGES = ("huge_synth", "huge_core", "huge_load", "huge_serve")
ROOT = Path(__file__).resolve().parents[1]


def run(args, log) -> dict:
    """Every stage of the attempt; the figures as a dict."""
    n = args.huge_persons
    work = args.work / "huge"
    work.mkdir(parents=True, exist_ok=True)
    results = Results(args.work / "results-huge.json")
    results.data["persons"] = n
    registry_dir, core_build, core_dump, location = work / "registry", work / "core", work / "core.nq", work / "oxigraph"
    timeout = max(args.stage_timeout, 4 * 3600)
    log(f"the {n:,}-person attempt through the remote backend (work dir {work})")

    def synth():
        shutil.rmtree(registry_dir, ignore_errors=True)
        r = checked(run_measured([str(BIN / "repression-kg"), "synth", "--root", str(ROOT), "--persons", str(n),
                                  "--seed", str(args.seed),
                                  "--out", str(registry_dir)], timeout, work / "synth.log"), "synth")
        return {**r, "bytes": harness.du(registry_dir)}

    def core():
        shutil.rmtree(core_build, ignore_errors=True)
        checked(run_measured([str(BIN / "repression-kg"), "build", "--root", str(ROOT), "--build-dir", str(core_build)],
                             timeout, work / "core-build.log"), "core build")
        code = (f"import pyoxigraph as ox; ox.Store.read_only({str((core_build / 'store').resolve())!r})"
                f".dump(output={str(core_dump)!r}, format=ox.RdfFormat.N_QUADS)")
        return checked(run_measured([sys.executable, "-c", code], timeout, work / "core-dump.log"), "core dump")

    def load():
        shutil.rmtree(location, ignore_errors=True)
        first = checked(run_measured([str(BIN / "oxigraph"), "load", "--location", str(location), "--file",
                                      str(core_dump)], timeout, work / "load-core.log"), "oxigraph load (core)")
        files = [str(p) for p in sorted(registry_dir.glob("*.nt"))]
        second = checked(run_measured([str(BIN / "oxigraph"), "load", "--location", str(location), "--graph",
                                       REGISTRY_GRAPH, "--file", *files], timeout, work / "load-registry.log"),
                         "oxigraph load (registry)")
        triples = json.loads((registry_dir / "registry.json").read_text())["triples"]
        return {"core": first, "registry": second, "triples": triples, "per_second": triples / second["seconds"],
                "store_bytes": harness.du(location)}

    stage(results, "huge_synth", args, synth)
    stage(results, "huge_core", args, core)
    stage(results, "huge_load", args, load)
    stage(results, "huge_serve", args, lambda: serve(work, location, n, args))
    return results.data


def serve(work: Path, location: Path, n: int, args) -> dict:
    """oxigraph serve, our site in front of it, and the few requests of the attempt."""
    port, site_port = harness.free_port(), harness.free_port()
    floor = Server("oxigraph-serve", [str(BIN / "oxigraph"), "serve", "--location", str(location),
                                      "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                   f"http://127.0.0.1:{port}/query", work / "oxigraph-serve.log")
    site = Server("ours-remote", [str(BIN / "repression-kg"), "serve", "--host", "127.0.0.1", "--port", str(site_port),
                                  "--endpoint", f"http://127.0.0.1:{port}/query", "--timeout", "300"],
                  f"http://127.0.0.1:{site_port}/sparql", work / "ours-remote.log", {"KZR_CLIENT_QUERY_SLOTS": "64"})
    registry = Registry(n, 7, "")
    figures: dict = {}
    with serving(floor, site, timeout=600):
        name = _name(port, registry)
        registry = Registry(n, 7, name)
        probes = [("lookup (oxigraph serve)", port, Sparql("/query", LOOKUP, True, registry, "h")),
                  ("lookup (ours)", site_port, Sparql("/sparql", LOOKUP, True, registry, "h")),
                  ("entity page", site_port, Page("/page/person/synth-{num}", "text/html", registry)),
                  ("search", site_port, Page(f"/search?q={urllib.parse.quote(name)}&format=json",
                                             "application/json", registry)),
                  ("facet counts", site_port, Page("/facets?format=json", "application/json", registry)),
                  ("registry GROUP BY (oxigraph serve)", port, Sparql("/query", GROUP_BY, True, registry, "h")),
                  ("registry GROUP BY (ours)", site_port, Sparql("/sparql", GROUP_BY, True, registry, "h")),
                  ("ORDER BY + LIMIT (ours)", site_port, Sparql("/sparql", ORDER_BY, True, registry, "h")),
                  ("facet counts as SPARQL (oxigraph serve)", port, Sparql("/query", FACETS, True, registry, "h"))]
        probes += [(f"{stem} (ours)", site_port, Sparql("/sparql", text, True, registry, "h"))
                   for stem, text in example_queries()[:5]]
        for label, p, make in probes:
            started = time.perf_counter()
            try:
                # the first search or facets request makes the site's tables from the endpoint (up to 900 s)
                limit = 960 if label in ("search", "facet counts") else 320
                figures[label] = latency(Client(p, limit), make, 3, 60, warm=True)
            except (Timeout, OSError) as err:
                figures[label] = {"status": f"{type(err).__name__}: {err}"}
            figures[label]["wall_seconds"] = round(time.perf_counter() - started, 2)
            print(f"    {label:<42} {figures[label]}", flush=True)
        figures["oxigraph_peak_rss"], figures["ours_peak_rss"] = floor.rss.peak, site.rss.peak
    return figures


def _name(port: int, registry: Registry) -> str:
    """The English label of a person in the middle of the registry, asked of oxigraph serve."""
    text = (f'SELECT ?l WHERE {{ <{registry.person(registry.persons // 2)}> '
            f'<http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER (LANG(?l) = "en") }}')
    rows = json.loads(select(port, "/query", text, 300))["results"]["bindings"]
    if not rows:
        raise RuntimeError(f"{registry.person(registry.persons // 2)} has no English label: is the registry loaded?")
    return rows[0]["l"]["value"]


def section(machine: dict, figures: dict, start: str, end: str) -> str:
    """The attempt as Markdown."""
    from report import fmt, mb, table
    synth, load, served = (figures.get(k) or {} for k in ("huge_synth", "huge_load", "huge_serve"))
    lines = [start, "", f"## {figures.get('persons', PERSONS):,} persons through the remote backend", "",
             f"Measured on {time.strftime('%Y-%m-%d')} with `.venv/bin/python bench/registry.py --huge` "
             f"({machine['cores']} cores, {machine['ram_bytes'] / 2**30:.1f} GiB, load average at the start "
             f"{machine['load_average'][0]:.2f}).", ""]
    rows = [["synth", fmt(synth.get("seconds")), mb(synth.get("peak_rss")), f"{mb(synth.get('bytes'))} of N-Triples"],
            ["oxigraph load (registry graph)", fmt((load.get("registry") or {}).get("seconds")),
             mb((load.get("registry") or {}).get("peak_rss")),
             f"{fmt(load.get('triples'))} triples, {fmt(load.get('per_second'), 0)}/s, store {mb(load.get('store_bytes'))}"]]
    for key in ("huge_synth", "huge_core", "huge_load", "huge_serve"):
        if (figures.get(key) or {}).get("error"):
            rows.append([key, "failed", "", figures[key]["error"][:300]])
    lines += table(["stage", "seconds", "peak RSS", "notes"], rows)
    probe_rows = [[k, fmt(v.get("first_ms")), f"{v['p50']:.1f} / {v['p95']:.1f}" if "p50" in v else v.get("status"),
                   v.get("runs", 0), fmt(v.get("wall_seconds"))] for k, v in served.items() if isinstance(v, dict)]
    lines += table(["request", "first ms", "p50 / p95 ms (cold)", "runs", "wall seconds"], probe_rows)
    lines += [f"Peak RSS while serving: oxigraph serve {mb(served.get('oxigraph_peak_rss'))}, our server "
              f"{mb(served.get('ours_peak_rss'))}.", "", end]
    return "\n".join(lines) + "\n"
