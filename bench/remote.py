"""The remote backend before (urllib: a new connection per query) and after (one kept-alive connection per
thread), against a real `oxigraph serve` on 127.0.0.1 loaded with the built graph. Prints a table.

    .venv/bin/python bench/remote.py [BUILD_DIR] [SECONDS_PER_ROUND] [ROUNDS]
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

import pyoxigraph as ox

import repression_kg

ROOT = Path(repression_kg.__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from servers import BIN, free_port, running  # noqa: E402

from repression_kg.backend import (USER_AGENT, Answer, Backend, BackendUnavailable, QueryError,  # noqa: E402
                                   QueryTimeout, Task)
from repression_kg.remote import RemoteBackend  # noqa: E402
from repression_kg.formats import by_name  # noqa: E402
from repression_kg.web import create_app  # noqa: E402

LOOKUP = "SELECT ?p ?o WHERE { <%s> ?p ?o }"


class UrllibBackend(Backend):
    """The remote backend as it was before: urllib.request.urlopen, one new connection per query."""

    name = "remote-urllib"

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def answer(self, task: Task, timeout: float) -> Answer:
        accept = ", ".join(by_name(n).media_type for n in (task.results_format, task.graph_format) if n)
        form = [("query", task.sparql)] + [("default-graph-uri", g) for g in task.default_graphs]
        form += [("named-graph-uri", g) for g in task.named_graphs]
        request = urllib.request.Request(
            self.endpoint, data=urllib.parse.urlencode(form).encode(), method="POST",
            headers={"Accept": accept, "User-Agent": USER_AGENT,
                     "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
                media_type = response.headers.get_content_type()
        except urllib.error.HTTPError as err:
            message = err.read().decode("utf-8", "replace")[:2000]
            if err.code in (400, 406, 415):
                raise QueryError(message) from None
            raise BackendUnavailable(f"The SPARQL endpoint answered {err.code}: {message}") from None
        except TimeoutError:
            raise QueryTimeout(timeout) from None
        fmt = by_name(media_type)
        return Answer(fmt.kind, fmt.name, body)


def lookups(backend: Backend, subjects: list[str], seconds: float, threads: int = 1) -> float:
    """Lookups per second through backend.select, from `threads` threads, for about `seconds`."""
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(k: int) -> None:
        i = k
        while time.perf_counter() < stop:
            backend.select(LOOKUP % subjects[i % len(subjects)])
            i += threads
            counts[k] += 1

    start = time.perf_counter()
    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def pages(backend: Backend, paths: list[str], seconds: float) -> float:
    """Entity pages (HTML) per second through the site in-process, result cache off, one thread."""
    app = create_app({"TESTING": True, "BACKEND": backend, "RESULT_CACHE_BYTES": 0})
    client = app.test_client()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        response = client.get(paths[n % len(paths)])
        assert response.status_code == 200, (paths[n % len(paths)], response.status_code)
        n += 1
    return n / (time.perf_counter() - start)


def main(build_dir: str = "build", seconds: str = "3", rounds: str = "5") -> None:
    seconds_f, rounds_n = float(seconds), int(rounds)
    store = ox.Store.read_only(str((Path(build_dir) / "store").resolve()))
    subjects = [r[0].value for r in store.query(
        "SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?s), 'https://w3id.org/kz-repression/id/')) } "
        "ORDER BY ?s LIMIT 500", use_default_graph_as_union=True)]
    paths = ["/page/" + s.split("/id/", 1)[1] for s in subjects if s.count("/") == 6][:100]
    with tempfile.TemporaryDirectory() as work:
        dump = Path(work) / "kg.nq"
        store.dump(str(dump), ox.RdfFormat.N_QUADS)
        subprocess.run([str(BIN / "oxigraph"), "load", "--location", f"{work}/db", "--file", str(dump)],
                       check=True, capture_output=True, timeout=300)
        port = free_port()
        with running([str(BIN / "oxigraph"), "serve", "--location", f"{work}/db", "--bind", f"127.0.0.1:{port}",
                      "--union-default-graph"], f"http://127.0.0.1:{port}/query"):
            url = f"http://127.0.0.1:{port}/query"
            before, after = UrllibBackend(url), RemoteBackend(url)
            results: dict[str, list[float]] = {}
            for _ in range(rounds_n):  # interleaved, so that a busy moment of the shared machine hits both
                for label, run in [
                    ("lookups/s, 1 thread, before (urllib)", lambda: lookups(before, subjects, seconds_f)),
                    ("lookups/s, 1 thread, after (kept-alive)", lambda: lookups(after, subjects, seconds_f)),
                    ("lookups/s, 8 threads, before (urllib)", lambda: lookups(before, subjects, seconds_f, 8)),
                    ("lookups/s, 8 threads, after (kept-alive)", lambda: lookups(after, subjects, seconds_f, 8)),
                    ("entity pages/s, 1 thread, before (urllib)", lambda: pages(before, paths, seconds_f)),
                    ("entity pages/s, 1 thread, after (kept-alive)", lambda: pages(after, paths, seconds_f)),
                ]:
                    results.setdefault(label, []).append(run())
            after.close()
    print(f"\n{len(store)} quads, {len(subjects)} subjects, {len(paths)} pages; {rounds_n} rounds of {seconds_f:g} s,"
          " interleaved; median (min-max)\n")
    width = max(map(len, results))
    print(f"| {'measure'.ljust(width)} | median | min - max |")
    print(f"|{'-' * (width + 2)}|--------|-----------|")
    for label, values in results.items():
        print(f"| {label.ljust(width)} | {statistics.median(values):6.0f} | {min(values):.0f} - {max(values):.0f} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
