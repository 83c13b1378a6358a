"""Benchmark the SPARQL endpoint over HTTP on 127.0.0.1: latency of the example queries and of
entity pages, and the time limit (time from deadline to answer, CPU after). Prints tables.

    .venv/bin/python bench/endpoint.py [BUILD_DIR] [RUNS]
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from harness import BIN, free_port, tree_cpu

ROOT = Path(__file__).resolve().parents[1]
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def request(url: str, data: bytes | None = None, accept: str = "application/sparql-results+json") -> tuple[int, float]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers={"Accept": accept}), timeout=60) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as err:
        err.read()
        status = err.code
    return status, time.perf_counter() - start


def table(title: str, header: list[str], rows: list[list]) -> None:
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(header)]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths)) + " |")


def main(build_dir: str = "build", runs: str = "20") -> None:
    port, n = free_port(), int(runs)
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([str(BIN / "repression-kg"), "serve", "--port", str(port), "--build-dir", build_dir,
                                   "--timeout", "2"], stdout=log, stderr=log)
        try:
            for _ in range(300):
                try:
                    request(base + "/sparql", accept="text/turtle")
                    break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.1)
            measure(base, n, server.pid)
        finally:
            server.terminate()
            server.wait(10)


def measure(base: str, n: int, pid: int) -> None:
    rows = []
    for query in sorted((ROOT / "queries").glob("*.rq")):
        data = urllib.parse.urlencode({"query": query.read_text(encoding="utf-8")}).encode()
        request(base + "/sparql", data)  # warm
        times = sorted(request(base + "/sparql", data)[1] * 1000 for _ in range(n))
        rows.append([query.stem, f"{statistics.median(times):.1f}", f"{times[int(0.95 * (n - 1))]:.1f}"])
    table(f"Example queries over HTTP ({n} runs each, ms)", ["query", "median", "p95"], rows)
    medians = [float(r[1]) for r in rows]
    print(f"\nMedian of the medians: {statistics.median(medians):.1f} ms; slowest median {max(medians):.1f} ms")
    pages = []
    for path in ("/", "/page/person/bukeikhanov-a", "/page/stage/repression-5", "/data/person/bukeikhanov-a.ttl",
                 "/search?q=Bokeikhan&format=json", "/ontology", "/.well-known/void"):
        request(base + path, accept="text/html")
        times = sorted(request(base + path, accept="text/html")[1] * 1000 for _ in range(n))
        pages.append([path, f"{statistics.median(times):.1f}", f"{times[int(0.95 * (n - 1))]:.1f}"])
    table(f"Pages ({n} runs each, ms)", ["path", "median", "p95"], pages)
    timeout_rows(base, pid)


def timeout_rows(base: str, pid: int) -> None:
    outcome: dict = {}
    data = urllib.parse.urlencode({"query": RUNAWAY}).encode()
    runaway = threading.Thread(target=lambda: outcome.update(r=request(base + "/sparql", data)))
    runaway.start()
    time.sleep(0.5)
    cheap = request(base + "/sparql", urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}).encode())
    runaway.join()
    time.sleep(1.0)
    before = tree_cpu(pid)
    time.sleep(2.0)
    cpu = tree_cpu(pid) - before
    status, seconds = outcome["r"]
    table("Time limit of 2 s (cartesian query on the built store)", ["measure", "value"], [
        ["status of the runaway", status],
        ["time to the answer (s)", f"{seconds:.2f}"],
        ["after the deadline (ms)", f"{(seconds - 2) * 1000:.0f}"],
        ["cheap query during the runaway (ms)", f"{cheap[1] * 1000:.1f} (status {cheap[0]})"],
        ["server CPU in the 2 s after (s)", f"{cpu:.2f}"],
    ])


if __name__ == "__main__":
    main(*sys.argv[1:])
