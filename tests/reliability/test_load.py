"""Load with runaways (issue 6, item 3), and the per-client limit on concurrent queries.

N clients, each from its own loopback address, send the example queries of queries/*.rq, entity
pages and searches for T seconds, one request after another, while a runaway query (a three-way
cartesian product) arrives every few seconds and /health is polled from its own thread. Expected:
no answer but 200 to the clients, 503 to every runaway within the time limit plus one second, the
CPU idle once the load stops, /health p99 within 200 ms throughout, and the server's memory (the
server process and its query workers) bounded. Then many concurrent runaways from one client:
those past the client's slots get 429 with Retry-After while another client is served.

    .venv/bin/python -m pytest tests/reliability/test_load.py -q      # bounded (CI): 4 clients, 15 s
    KZR_RELIABILITY=full .venv/bin/python -m pytest tests/reliability/test_load.py -q   # 16 clients, 60 s
"""
from __future__ import annotations

import html
import http.client
import json
import random
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from servers import BIN, cpu_seconds, family, free_port, processes, running

from reliability.conftest import scale
from paths import ROOT

CLIENTS = scale(4, 16)
SECONDS = scale(15, 60)
TIMEOUT = 2.0  # the server's query time limit (--timeout)
RUNAWAY_EVERY = 4.0  # seconds between runaways
HEALTH_EVERY = 0.05  # seconds between /health polls
HEALTH_P99 = 0.200
MEMORY_BOUND = 2**30  # bytes of RSS, server and workers together (about 260 MB measured)
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
ASK = "ASK { ?s ?p ?o }"
EXAMPLES = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "queries").glob("*.rq"))]
JSON = "application/sparql-results+json"
HTML = "text/html"
FORM = "application/x-www-form-urlencoded"
PEOPLE = """PREFIX kzr: <https://w3id.org/kz-repression/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?s ?label WHERE { ?s a kzr:Person ; rdfs:label ?label FILTER(LANG(?label) = "en") }"""
THINGS = """SELECT DISTINCT ?s WHERE { ?s a ?c FILTER(STRSTARTS(STR(?s), "https://w3id.org/kz-repression/id/")) }"""


# --- Clients -----------------------------------------------------------------------------------

class Client:
    """A keep-alive HTTP connection to the server from one loopback address."""

    def __init__(self, port: int, address: str, timeout: float = 30.0):
        self.port, self.address, self.timeout = port, address, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: str | None = None,
                accept: str = JSON) -> tuple[int, dict, bytes, float]:
        """Send one request; (status, headers, body, seconds). A dropped connection is opened again once."""
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = FORM
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout,
                                                       source_address=(self.address, 0))
            start = time.monotonic()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
                continue
            seconds = time.monotonic() - start
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data, seconds
        raise AssertionError("unreachable")

    def query(self, sparql: str, **params) -> tuple[int, dict, bytes, float]:
        return self.request("POST", "/sparql", urllib.parse.urlencode({"query": sparql, **params}))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def address(n: int) -> str:
    """The n-th loopback address, 127.0.0.2 onwards (the whole of 127/8 is loopback on Linux)."""
    return f"127.0.{n // 250}.{n % 250 + 2}"


def message(body: bytes) -> str:
    """The message of an error answer: the JSON error, or the HTML page's error paragraph."""
    text = body.decode("utf-8", "replace")
    if text.startswith("{"):
        return json.loads(text).get("error", text[:300])
    found = re.search(r'<p class="error-message">(.*?)</p>', text, re.S)
    return html.unescape(found.group(1)) if found else text[:300]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of some values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- The run -----------------------------------------------------------------------------------

@dataclass
class Record:
    """What the threads saw."""

    answers: list[tuple[str, int | None, float]] = field(default_factory=list)  # kind, status or None, seconds
    failures: list[str] = field(default_factory=list)
    runaways: list[tuple[int, float, str]] = field(default_factory=list)  # status, seconds, message
    health: list[float] = field(default_factory=list)
    health_failures: list[str] = field(default_factory=list)
    peak_rss: int = 0
    peak_processes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def serve(build_dir: Path, port: int, env: dict | None = None):
    command = [str(BIN / "repression-kg"), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--build-dir", str(build_dir), "--timeout", str(TIMEOUT)]
    return running(command, f"http://127.0.0.1:{port}/health", env)


def workload(port: int) -> tuple[list[str], list[str]]:
    """The entity pages and the search words the clients choose from, asked of the server itself."""
    client = Client(port, "127.0.0.1")
    status, _, body, _ = client.query(THINGS)
    assert status == 200
    pages = sorted("/page/" + b["s"]["value"].split("/id/", 1)[1] for b in json.loads(body)["results"]["bindings"])
    status, _, body, _ = client.query(PEOPLE)
    assert status == 200
    names = sorted({b["label"]["value"].split()[-1] for b in json.loads(body)["results"]["bindings"]})
    client.close()
    return pages, names


def pick(rng: random.Random, pages: list[str], names: list[str]) -> tuple[str, str]:
    """The next request of a client: its kind and its query or path."""
    kind = rng.choice(("query", "page", "search"))
    if kind == "query":
        return kind, rng.choice(EXAMPLES)
    if kind == "page":
        return kind, rng.choice(pages)
    return kind, "/search?q=" + urllib.parse.quote(rng.choice(names))


def mixed_client(port: int, n: int, deadline: float, pages: list[str], names: list[str], record: Record) -> None:
    """One client: an example query, an entity page or a search, one after another until the deadline."""
    rng, client = random.Random(n), Client(port, address(n))
    while time.monotonic() < deadline:
        kind, what = pick(rng, pages, names)
        try:
            if kind == "query":
                status, _, body, seconds = client.query(what)
            else:
                status, _, body, seconds = client.request("GET", what, accept=HTML)
        except (OSError, http.client.HTTPException) as err:
            status, body, seconds = None, repr(err).encode(), 0.0
            client.close()
        with record.lock:
            record.answers.append((kind, status, seconds))
            if status != 200:
                record.failures.append(f"{what[:80]!r}: {status} {message(body)}")
    client.close()


def runaways(port: int, deadline: float, record: Record) -> None:
    """A runaway query every RUNAWAY_EVERY seconds, from its own address."""
    client = Client(port, address(200))
    while time.monotonic() + TIMEOUT + 1 < deadline:
        start = time.monotonic()
        status, _, body, seconds = client.query(RUNAWAY)
        with record.lock:
            record.runaways.append((status, seconds, message(body)))
        time.sleep(max(0.0, start + RUNAWAY_EVERY - time.monotonic()))
    client.close()


def watch(port: int, pid: int, stop: threading.Event, record: Record) -> None:
    """Poll /health from its own address; sample the memory of the server's process tree."""
    client, last_sample = Client(port, address(201), timeout=10.0), 0.0
    while not stop.is_set():
        try:
            status, _, _, seconds = client.request("GET", "/health")
            record.health.append(seconds)
            if status != 200:
                record.health_failures.append(str(status))
        except (OSError, http.client.HTTPException) as err:
            record.health_failures.append(repr(err))
            client.close()
        if time.monotonic() - last_sample >= 0.5:
            table = processes()
            pids = family(pid, table)
            record.peak_rss = max(record.peak_rss, sum(table[p][2] for p in pids))
            record.peak_processes = max(record.peak_processes, len(pids))
            last_sample = time.monotonic()
        stop.wait(HEALTH_EVERY)
    client.close()


def idle_cpu(pid: int, settle: float = 2.0, window: float = 1.0) -> float:
    """CPU seconds the server's tree uses in a quiet window after settling."""
    time.sleep(settle)
    before = cpu_seconds(pid)
    time.sleep(window)
    return cpu_seconds(pid) - before


@pytest.fixture(scope="module")
def load_server(build_copy):
    port = free_port()
    with serve(build_copy, port) as process:
        yield port, process


def run_load(port: int, pid: int) -> Record:
    """The clients, the runaways and the watcher, for SECONDS; what they saw."""
    pages, names = workload(port)
    record, stop = Record(), threading.Event()
    watcher = threading.Thread(target=watch, args=(port, pid, stop, record))
    watcher.start()
    time.sleep(1.0)  # /health before the load, too
    deadline = time.monotonic() + SECONDS
    threads = [threading.Thread(target=mixed_client, args=(port, n, deadline, pages, names, record))
               for n in range(CLIENTS)]
    threads.append(threading.Thread(target=runaways, args=(port, deadline, record)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 60)
    stop.set()
    watcher.join(15)
    return record


def spread(seconds: list[float]) -> str:
    """Median and 99th percentile in milliseconds."""
    return f"{percentile(seconds, 50) * 1000:.0f}/{percentile(seconds, 99) * 1000:.0f}" if seconds else "-"


def add_figures(figures, record: Record, cpu_after: float) -> None:
    """The rows of the load section."""
    answered = {kind: [s for k, status, s in record.answers if k == kind and status == 200]
                for kind in ("query", "page", "search")}
    total = sum(len(v) for v in answered.values())
    figures.add(section="load", trial=f"{CLIENTS} clients x {SECONDS} s: example queries, entity pages, search",
                tried=len(record.answers),
                result=f"{len(record.failures)} errors; {total / SECONDS:.0f} answers/s; p50/p99 ms: "
                       + ", ".join(f"{kind} {spread(v)}" for kind, v in answered.items()))
    runaway_seconds = [seconds for _, seconds, _ in record.runaways]
    figures.add(section="load", trial=f"runaway cartesian query every {RUNAWAY_EVERY:g} s, limit {TIMEOUT:g} s",
                tried=len(record.runaways),
                result=f"{sum(1 for s, _, _ in record.runaways if s == 503)} x 503, slowest in "
                       f"{max(runaway_seconds, default=0):.2f} s; CPU {cpu_after:.2f} s in the 1 s after the load")
    figures.add(section="load", trial=f"/health every {HEALTH_EVERY * 1000:.0f} ms during the load",
                tried=len(record.health),
                result=f"{len(record.health_failures)} failures; p50/p99 {spread(record.health)} ms, "
                       f"max {max(record.health, default=0) * 1000:.0f} ms")
    figures.add(section="load", trial="server memory (server and query workers, RSS sampled every 0.5 s)",
                tried=f"{record.peak_processes} processes at most", result=f"peak {record.peak_rss / 2**20:.0f} MB")


def test_load_with_runaways(load_server, figures):
    port, process = load_server
    processes_before = len(family(process.pid))
    record = run_load(port, process.pid)
    cpu_after = idle_cpu(process.pid)
    add_figures(figures, record, cpu_after)
    assert record.failures == []
    assert {kind for kind, _, _ in record.answers} == {"query", "page", "search"}
    assert record.runaways and all(status == 503 for status, _, _ in record.runaways), record.runaways
    assert all(f"time limit of {TIMEOUT:g} s" in message for _, _, message in record.runaways)
    assert max(seconds for _, seconds, _ in record.runaways) <= TIMEOUT + 1
    assert cpu_after < 0.2
    assert len(family(process.pid)) == processes_before  # every killed worker was replaced, none is left over
    assert record.health_failures == []
    assert percentile(record.health, 99) <= HEALTH_P99
    assert record.peak_rss <= MEMORY_BOUND


def test_per_client_limit_answers_429_and_serves_others(build_copy, figures):
    slots, burst = 2, 6
    port = free_port()
    with serve(build_copy, port, {"KZR_QUERY_WORKERS": "3", "KZR_CLIENT_QUERY_SLOTS": str(slots)}):
        greedy, other = Client(port, address(50)), Client(port, address(51))
        assert greedy.query(ASK)[0] == 200 and other.query(ASK)[0] == 200
        results: list[tuple[int, dict, bytes, float, float]] = []
        gate = threading.Barrier(burst)

        def send_runaway():
            client = Client(port, address(50))
            gate.wait()
            status, headers, body, seconds = client.query(RUNAWAY)
            results.append((status, headers, body, seconds, time.monotonic()))
            client.close()

        threads = [threading.Thread(target=send_runaway) for _ in range(burst)]
        for thread in threads:
            thread.start()
        until = time.monotonic() + TIMEOUT
        while sum(r[0] == 429 for r in results) < burst - slots and time.monotonic() < until:
            time.sleep(0.01)  # the refusals come at once; the runaways that got slots are still running
        status, _, body, other_seconds = other.query(ASK)
        other_done = time.monotonic()
        for thread in threads:
            thread.join(TIMEOUT + 30)
        again = greedy.query(ASK)[0]
        greedy.close()
        other.close()

    refused = [r for r in results if r[0] == 429]
    stopped = [r for r in results if r[0] == 503]
    figures.add(section="load", trial=f"per-client limit: {burst} concurrent runaways from one client ({slots} slots)",
                tried=burst,
                result=f"{len(stopped)} x 503 at the time limit, {len(refused)} x 429 (slowest refusal "
                       f"{max((r[3] for r in refused), default=0) * 1000:.0f} ms); another client served in "
                       f"{other_seconds * 1000:.0f} ms")
    assert status == 200 and json.loads(body)["boolean"] is True
    assert len(stopped) == slots and len(refused) == burst - slots
    assert other_done < min(r[4] for r in stopped)  # served while the greedy client's runaways still ran
    for _, headers, answer, seconds, _ in refused:
        assert headers["retry-after"] == "5"
        assert f"at most {slots} SPARQL queries from one client" in json.loads(answer)["error"]
        assert seconds < TIMEOUT  # refused at once, not after the others finished
    assert again == 200  # the slots are given back
