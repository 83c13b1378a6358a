"""Malformed and abusive input against a live server (issue 6, item 1).

Every answer, whatever was sent: a status below 500 (a 503 only for a query stopped at its time
limit, counted apart), no stack trace and no internal path in the body or the headers, an answer
within the time limit plus a margin, and a message with every 4xx; the store's dump is the same
before and after. Requests go over real sockets to 127.0.0.1, each client thread from its own
loopback address (so that the per-client query limit does not turn the battery into 429s).

    .venv/bin/python -m pytest tests/reliability/test_malformed.py -q      # bounded (CI)
    KZR_RELIABILITY=full .venv/bin/python -m pytest tests/reliability/test_malformed.py -q
"""
from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import random
import re
import socket
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paths import ROOT
from reliability.conftest import FULL, scale  # by package: another conftest may hold the name
from sparql_grammar import near_valid_queries, queries

QUERY_TIMEOUT = 5.0  # the live server's --timeout
MARGIN = 5.0  # an answer later than QUERY_TIMEOUT + MARGIN counts as a hang
MAX_BODY = 1_000_000  # the server's MAX_BODY_BYTES
THREADS = 4
ID = "https://w3id.org/kz-repression/id/"
GRAPH = "https://w3id.org/kz-repression/graph/"
QUERIES = sorted((ROOT / "queries").glob("*.rq"))
HTML = {"Accept": "text/html"}
DIRECT = {"Content-Type": "application/sparql-query"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_addresses = itertools.count(10)


# --- Talking to the server ---------------------------------------------------------------------

@dataclass
class Reply:
    """What came back: status (None if nothing did), headers (lower-case names), body, seconds."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    seconds: float

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def message(self) -> str:
        """The error message of a JSON or HTML error answer ('' if there is none)."""
        kind = self.headers.get("content-type", "")
        if kind.startswith("application/json"):
            try:
                return str(json.loads(self.body).get("error") or "")
            except (ValueError, AttributeError):
                return ""
        if kind.startswith("text/html"):
            found = re.search(r'class="error-message">(.*?)</p>', self.text(), re.S)
            return found.group(1).strip() if found else ""
        return self.text().strip()  # waitress's own plain-text answers to malformed HTTP


class Client:
    """Keep-alive HTTP/1.1 to the live server: one connection per thread, each from its own 127.0.0.x."""

    def __init__(self, base: str):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        if not hasattr(self._local, "address"):
            self._local.address = f"127.0.0.{next(_addresses) % 250 + 2}"
        if fresh or getattr(self._local, "conn", None) is None:
            self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=QUERY_TIMEOUT + 30,
                                                          source_address=(self._local.address, 0))
            self._opened.append(self._local.conn)
        return self._local.conn

    def close(self) -> None:
        """Close every connection opened so far (those of finished threads too); each reopens when used again."""
        for conn in self._opened:
            conn.close()

    def send(self, method: str, path: str, body: bytes | None = None, headers=()) -> Reply:
        """One request; a keep-alive connection the server has meanwhile closed is replaced once."""
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt == 1)
            reused = conn.sock is not None
            start = time.monotonic()
            try:
                conn.putrequest(method, path, skip_accept_encoding=True)
                for name, value in (headers.items() if isinstance(headers, dict) else headers):
                    conn.putheader(name, value)
                if body is not None:
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as err:
                conn.close()
                if reused and attempt == 0:
                    continue
                return Reply(None, {}, repr(err).encode(), time.monotonic() - start)
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                return Reply(None, {}, repr(err).encode(), time.monotonic() - start)
            if response.will_close:
                conn.close()
            names = {k.lower(): v for k, v in response.getheaders()}
            return Reply(response.status, names, data, time.monotonic() - start)
        raise AssertionError("unreachable")

    def get(self, path: str, params: dict | list | None = None, headers=()) -> Reply:
        query = "?" + urllib.parse.urlencode(params, doseq=True) if params else ""
        return self.send("GET", path + query, None, headers)

    def raw(self, data: bytes) -> Reply:
        """Bytes written straight to a new socket; the first answer read back (to its length, or to the close)."""
        start = time.monotonic()
        with socket.create_connection((self.host, self.port), timeout=QUERY_TIMEOUT + 30,
                                      source_address=("127.0.0.9", 0)) as sock:
            received = b""
            try:
                sock.sendall(data)
                while not _complete(received):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    received += chunk
            except (BrokenPipeError, ConnectionResetError):
                pass
            except TimeoutError:
                return Reply(None, {}, b"no answer before the socket timed out", time.monotonic() - start)
        return _parse_raw(received, time.monotonic() - start)


def _complete(received: bytes) -> bool:
    """Whether a raw answer has all of its body (by Content-Length)."""
    head, sep, body = received.partition(b"\r\n\r\n")
    found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return bool(sep) and found is not None and len(body) >= int(found.group(1))


def _parse_raw(received: bytes, seconds: float) -> Reply:
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = re.match(r"HTTP/\d\.\d (\d{3})", lines[0]) if lines else None
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Reply(int(status.group(1)) if status else None, headers, body, seconds)


def quote(text: str | bytes) -> str:
    return urllib.parse.quote(text, safe="")


# --- Judging the answers -----------------------------------------------------------------------

@dataclass
class Tally:
    """The answers of one class of trial: how many, their statuses, and every broken rule."""

    trial: str
    leaks: tuple[str, ...]
    tried: int = 0
    over_time: int = 0
    by_design: Counter = field(default_factory=Counter)
    worst: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, reply: Reply, sent: str, expect=None, allowed: tuple[int, ...] = ()) -> Reply:
        """Record an answer; note every rule it breaks (with what was sent). `expect` adds a rule of the class;
        `allowed` are 5xx statuses that HTTP itself prescribes for this request."""
        broken = problems(reply, self.leaks, allowed)
        if not broken and expect is not None:
            broken = [] if expect(reply) else [f"unexpected answer {reply.status}: {reply.message()[:200]!r}"]
        with self.lock:
            self.tried += 1
            self.statuses[reply.status] += 1
            self.worst = max(self.worst, reply.seconds)
            self.over_time += reply.status == 503 and not broken and 503 not in allowed
            self.by_design[reply.status] += reply.status in allowed
            self.failures += [f"{b} <- {sent[:300]!r}" for b in broken]
        return reply

    def result(self) -> str:
        designed = sum(self.by_design.values())
        fives = sum(n for s, n in self.statuses.items() if s and s >= 500) - self.over_time - designed
        hangs = self.statuses[None]
        leaks = sum("leak" in f for f in self.failures)
        common = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items(), key=lambda i: -i[1])[:4])
        extra = "".join(f", {n} x {s} as HTTP prescribes" for s, n in self.by_design.items() if n)
        return (f"{fives} 5xx, {leaks} leaks, {hangs} hangs, {self.over_time} time-limit 503s{extra}, "
                f"max {self.worst:.2f} s ({common})")

    def finish(self, figures) -> None:
        figures.add(section="malformed input", trial=self.trial, tried=self.tried, result=self.result())
        assert not self.failures, f"{len(self.failures)} bad answers, the first: " + "\n".join(self.failures[:8])


def problems(reply: Reply, leaks: tuple[str, ...], allowed: tuple[int, ...] = ()) -> list[str]:
    """The rules an answer breaks: no 5xx (but a time-limit 503), no leak, no hang, a message with a 4xx."""
    if reply.status is None:
        return [f"no answer after {reply.seconds:.1f} s: {reply.text()[:120]}"]
    found = []
    if reply.seconds > QUERY_TIMEOUT + MARGIN:
        found.append(f"answered after {reply.seconds:.1f} s")
    if reply.status >= 500 and reply.status not in allowed and not (
            reply.status == 503 and "time limit" in reply.message()):
        found.append(f"{reply.status}: {reply.text()[:200]!r}")
    exposed = reply.text() + "\n" + "\n".join(f"{k}: {v}" for k, v in reply.headers.items())
    found += [f"leak of {needle!r}" for needle in leaks if needle in exposed]
    if 400 <= reply.status < 500 and not reply.message():
        found.append(f"{reply.status} without a message")
    return found


def run_all(client: Client, tally: Tally, cases: list, send, expect=None, threads: int = THREADS) -> None:
    """Send every case (send(client, case) -> (reply, description)) from a few threads; check each answer."""
    def one(case):
        reply, sent = send(client, case)
        tally.check(reply, sent, expect)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, cases))
    client.close()


def status_in(*codes: int):
    return lambda reply: reply.status in codes


def refused_with(*words: str, codes=(400,)):
    """An answer with one of the codes whose message holds every word."""
    return lambda reply: reply.status in codes and all(w in reply.message() for w in words)


# --- Fixtures ----------------------------------------------------------------------------------

def store_digest(build_dir: Path) -> str:
    """SHA-256 of the store's quads as sorted N-Quads lines."""
    store = ox.Store.read_only(str((build_dir / "store").resolve()))
    lines = sorted(store.dump(format=ox.RdfFormat.N_QUADS).decode("utf-8").splitlines())
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@pytest.fixture(scope="module")
def store_before(live, build_copy) -> str:
    return store_digest(build_copy)


@pytest.fixture(scope="module")
def client(live, store_before):
    base, _process = live
    client = Client(base)
    yield client
    client.close()


@pytest.fixture(scope="module")
def leaks(build_copy) -> tuple[str, ...]:
    """Text that must never reach a client: stack traces and the paths of the server's files."""
    return ("Traceback", 'File "', '.py"', "site-packages", "/work/", str(ROOT), str(build_copy.resolve()),
            str(build_copy.resolve().parent))


def sparql(client: Client, channel: str, text: str | bytes, extra: dict | None = None, headers=()) -> Reply:
    """A query sent by GET, POST form-encoded or POST direct; `extra` are more protocol parameters."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    params = "&".join(f"{quote(k)}={quote(v)}" for k, v in (extra or {}).items())
    if channel == "get":
        return client.send("GET", f"/sparql?query={quote(data)}" + (f"&{params}" if params else ""), None, headers)
    if channel == "form":
        body = f"query={quote(data)}" + (f"&{params}" if params else "")
        return client.send("POST", "/sparql", body.encode(), {**FORM, **dict(headers)})
    return client.send("POST", "/sparql" + (f"?{params}" if params else ""), data, {**DIRECT, **dict(headers)})


CHANNELS = ("get", "form", "direct")


# --- The classes of trial ----------------------------------------------------------------------

def test_random_bytes(client, leaks, figures):
    """Random bytes as the query (any channel), as a form body, as a path: refused cleanly."""
    rng, cases = random.Random(61), []
    for i in range(scale(300, 1500)):
        size = rng.choice([1, 8, 64, 512, 4096, 65536])
        data = bytes(rng.getrandbits(8) for _ in range(size)) if i % 2 else \
            "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0xD7FF), rng.randint(0xE000, 0x10FFFF)]))
                    for _ in range(size)).encode("utf-8")
        cases.append((i % 5, data))

    def send(client, case):
        kind, data = case
        if kind < 3:
            return sparql(client, CHANNELS[kind], data, {"timeout": "2"}), f"{CHANNELS[kind]} {data[:80]!r}"
        if kind == 3:
            return client.send("POST", "/sparql", data, FORM), f"form body {data[:80]!r}"
        return client.send("GET", "/" + quote(data[:2000])), f"path {data[:80]!r}"

    t = Tally("random bytes (query, form body, path)", leaks)
    run_all(client, t, cases, send)
    t.finish(figures)


def test_truncated_queries(client, leaks, figures):
    """The example queries cut at random points, by every channel."""
    rng, cases = random.Random(62), []
    texts = [q.read_text(encoding="utf-8") for q in QUERIES]
    for i in range(scale(300, 1500)):
        text = rng.choice(texts)
        cases.append((CHANNELS[i % 3], text[:rng.randint(0, len(text))]))

    def send(client, case):
        channel, text = case
        return sparql(client, channel, text, {"timeout": "2"}), f"{channel} {text[-120:]!r}"

    t = Tally("truncated example queries", leaks)
    run_all(client, t, cases, send)
    t.finish(figures)


def nesting_queries(depth: int) -> dict[str, str]:
    """Queries that nest (or chain) one construct `depth` times; cheap to evaluate, hard to parse."""
    d = depth
    return {
        "groups": "SELECT * WHERE " + "{" * d + " BIND(1 AS ?x) " + "}" * d,
        "unions": "SELECT * WHERE { " + "{ BIND(1 AS ?x) } UNION " * d + "{ BIND(2 AS ?x) } }",
        "optionals": "SELECT * WHERE { BIND(1 AS ?x) " + "OPTIONAL { BIND(2 AS ?y) " * d + "}" * d + " }",
        "subqueries": "SELECT * WHERE " + "{ SELECT * WHERE " * d + "{ BIND(1 AS ?x) }" + " }" * d,
        "graphs": "ASK { " + "GRAPH <urn:x:g> { " * d + "BIND(1 AS ?x)" + " }" * d + " }",
        "exists": "ASK { FILTER(" + "EXISTS { FILTER(" * d + "true" + ") }" * d + ") }",
        "parentheses": "ASK { FILTER(" + "(" * d + "1" + ")" * d + ") }",
        "negations": "ASK { FILTER(" + "!" * d + "true) }",
        "unary minus": "ASK { FILTER(" + "-" * d + "1 != 0) }",
        "sums": "ASK { FILTER(" + "1+" * d + "1 > 0) }",
        "disjunctions": "ASK { FILTER(" + "false||" * d + "true) }",
        "function calls": "ASK { FILTER(" + "CONCAT(" * d + '"a"' + ', "b")' * d + ' != "") }',
        "path sequence": "ASK { <urn:x:a> " + "<urn:x:p>/" * d + "<urn:x:p> ?o }",
        "path alternative": "ASK { <urn:x:a> " + "<urn:x:p>|" * d + "<urn:x:p> ?o }",
        "path brackets": "ASK { <urn:x:a> " + "(" * d + "<urn:x:p>" + ")" * d + " ?o }",
        "path inverses": "ASK { <urn:x:a> " + "^(" * d + "<urn:x:p>" + ")" * d + " ?o }",
        "blank nodes": "ASK { <urn:x:a> <urn:x:p> " + "[ <urn:x:p> " * d + "1" + " ]" * d + " }",
        "collections": "ASK { <urn:x:a> <urn:x:p> " + "(" * d + "1" + ")" * d + " }",
        "binds": "SELECT * WHERE { " + " ".join(f"BIND({i} AS ?v{i})" for i in range(d)) + " }",
        "filters": "SELECT * WHERE { BIND(1 AS ?x) " + "FILTER(?x) " * d + "}",
        "minuses": "SELECT * WHERE { BIND(1 AS ?x) " + "MINUS { BIND(2 AS ?y) } " * d + "}",
        "in list": "ASK { FILTER(1 IN (" + ",".join(["2"] * d) + ",1)) }",
    }


DEPTHS = (10, 100, 1000, 10_000, 100_000)


def test_deep_nesting(client, leaks, figures):
    """Nesting and chaining from 10 to 100,000 deep: 400 with a clear message (or 413), never a dead worker
    or a 5xx; the server keeps answering."""
    cases = [(name, depth, text) for depth in DEPTHS for name, text in nesting_queries(depth).items()]
    cases = cases * scale(1, 3)

    def send(client, case):
        name, depth, text = case
        return sparql(client, "direct", text, {"timeout": "5"}), f"{name} x {depth}"

    t = Tally("deep nesting and chaining, 10 .. 100,000", leaks)
    run_all(client, t, cases, send, status_in(200, 400, 413, 503), threads=2)
    deep = sparql(client, "direct", nesting_queries(10_000)["groups"])
    t.check(deep, "groups x 10,000", refused_with("nests its brackets 10001 deep"))
    crash = sparql(client, "direct", nesting_queries(20_000)["unions"])
    t.check(crash, "unions x 20,000", refused_with("nested too deeply"))
    t.check(sparql(client, "get", "ASK {}"), "ASK {} afterwards", status_in(200))
    t.finish(figures)


def test_huge_literals_and_iris(client, leaks, figures):
    """Literals, IRIs, numbers, names and VALUES blocks up to and past the 1 MB body limit (413)."""
    sizes = [1_000, 100_000, 999_000, 1_000_100, *([500_000, 3_000_000] if FULL else [])]
    makers = {
        "literal": lambda n: 'ASK { FILTER(STRLEN("' + "a" * n + '") > 0) }',
        "long literal": lambda n: "ASK { FILTER(STRLEN('''" + "é" * (n // 2) + "''') > 0) }",
        "IRI": lambda n: "ASK { FILTER(isIRI(<http://example.org/" + "a" * n + ">)) }",
        "integer": lambda n: "ASK { FILTER(" + "9" * n + " > 0) }",
        "decimal": lambda n: "ASK { FILTER(0." + "1" * n + " > 0) }",
        "typed literal": lambda n: 'ASK { FILTER(("' + "1" * n + '"^^<http://www.w3.org/2001/XMLSchema#integer>) > 0) }',
        "language tag": lambda n: 'ASK { FILTER(LANG("a"@' + "a" * min(n, 8) + "-" + "b" * n + ") != \"\") }",
        "variable name": lambda n: "SELECT ?" + "v" * n + " WHERE { BIND(1 AS ?" + "v" * n + ") }",
        "prefix name": lambda n: "PREFIX " + "p" * n + ": <urn:x:> ASK { FILTER(isIRI(" + "p" * n + ":a)) }",
        "values block": lambda n: "SELECT * WHERE { VALUES ?v { " + "1 " * (n // 2) + "} } LIMIT 1",
        "select list": lambda n: "SELECT " + " ".join(f"?v{i}" for i in range(n // 80)) + " WHERE {}",
    }
    cases = [(name, n, channel) for name in makers for n in sizes for channel in ("direct", "form")]
    cases += [(name, n, "get") for name in makers for n in (1_000, 100_000, 300_000)]  # past waitress's 256 kB header
    cases = cases * scale(1, 4)

    def send(client, case):
        name, n, channel = case
        return sparql(client, channel, makers[name](n), {"timeout": "5"}), f"{name} of {n} by {channel}"

    def expect(reply):
        return reply.status in (200, 400, 413, 431, 503)

    t = Tally("huge literals, IRIs, numbers and names", leaks)
    run_all(client, t, cases, send, expect, threads=2)
    t.check(sparql(client, "direct", makers["literal"](MAX_BODY)), "literal past the limit", refused_with(
        "larger than the limit", codes=(413,)))
    t.finish(figures)


INVALID_UTF8 = ["%ff", "%fe%ff", "%c3%28", "%a0%a1", "%e2%28%a1", "%e2%82", "%f0%28%8c%bc", "%ed%a0%80",
                "%f4%90%80%80", "%c0%af", "%e0%80%af", "%f8%88%80%80%80", "%80", "%bf%bf", "caf%e9"]


def test_invalid_utf8(client, leaks, figures):
    """Invalid UTF-8 in every parameter of GET and form POST, in direct bodies, and UTF-16 or Latin-1 bodies:
    400 naming UTF-8; elsewhere (paths, search) no 5xx."""
    rng, cases = random.Random(63), []
    for i in range(scale(200, 600)):
        bad = rng.choice(INVALID_UTF8)
        spot = rng.choice(["query", "format", "timeout", "default-graph-uri", "named-graph-uri", "name"])
        cases.append((i % 3, bad, spot))

    def send(client, case):
        kind, bad, spot = case
        query = quote("SELECT * WHERE { ?s ?p ?o } LIMIT 1")
        fields = f"query={query}" if spot != "query" else ""
        fields += f"&{spot}=" + (f"{query[:20]}{bad}{query[20:]}" if spot == "query" else f"x{bad}")
        if kind == 0:
            return client.send("GET", f"/sparql?{fields.lstrip('&')}"), f"GET {fields}"
        if kind == 1:
            return client.send("POST", "/sparql", fields.lstrip("&").encode(), FORM), f"form {fields}"
        body = b"ASK { FILTER(\"" + urllib.parse.unquote_to_bytes(bad) + b"\" != \"\") }"
        return client.send("POST", "/sparql", body, DIRECT), f"direct {body!r}"

    t = Tally("invalid UTF-8 in parameters and bodies", leaks)
    run_all(client, t, cases, send, refused_with("UTF-8"))
    for body, kind in (("ASK {}".encode("utf-16"), "application/sparql-query; charset=UTF-16"),
                       ("ASK {}".encode("utf-16-be"), "application/sparql-query"),
                       ('ASK { FILTER("é" != "") }'.encode("latin-1"), "application/sparql-query; charset=ISO-8859-1"),
                       ("query=ASK%20%7B%7D%20%23%e9".encode(), "application/x-www-form-urlencoded; charset=latin1")):
        t.check(client.send("POST", "/sparql", body, {"Content-Type": kind}), f"{kind} {body!r}", status_in(400))
    for path in ("/search?q=%ff%fe", "/search?q=caf%e9&format=json", "/id/person/%ff", "/data/person/%c0%af.ttl",
                 "/page/person/%ed%a0%80", "/dumps/%ff", "/%ff", "/reconcile?queries=%ff"):
        t.check(client.send("GET", path, None, HTML if "format" not in path else {}), path)
    t.finish(figures)


CONTENT_TYPES = ["text/plain", "application/json", "application/sparql-results+json", "application/xml",
                 "text/turtle", "multipart/form-data; boundary=x", "multipart/form-data", "", ";;;", "*/*",
                 "application/sparql-query; charset=utf-16", "APPLICATION/SPARQL-QUERY", "application/sparql-query;;;",
                 "application/sparql-query, text/plain", "application/x-www-form-urlencoded; charset=bogus",
                 "application/sparql-update", "application/octet-stream", "text/html", "a" * 8000,
                 "application/sparql-query; q=\"\\\"", "application/x-www-form-urlencoded\t; x=y"]


def test_wrong_and_missing_content_types(client, leaks, figures):
    """POST bodies under wrong, odd, missing and empty content types: 415, 403 or a plain answer, never 5xx."""
    bodies = [b"ASK {}", b"query=ASK%20%7B%7D", b"update=CLEAR%20ALL", b"--x\r\nContent-Disposition: form-data; "
              b"name=\"query\"\r\n\r\nASK {}\r\n--x--\r\n", b"", b'{"query": "ASK {}"}']
    cases = [(kind, body) for kind in CONTENT_TYPES + [None] for body in bodies] * scale(1, 4)

    def send(client, case):
        kind, body = case
        headers = {} if kind is None else {"Content-Type": kind}
        return client.send("POST", "/sparql", body, headers), f"{kind!r} {body[:40]!r}"

    t = Tally("wrong and missing content types", leaks)
    run_all(client, t, cases, send, status_in(200, 400, 403, 406, 415))
    t.check(client.send("POST", "/sparql", b"ASK {}", {}), "no content type", refused_with(
        "Unsupported Content-Type", codes=(415,)))
    t.finish(figures)


def test_oversize_bodies(client, leaks, figures):
    """Bodies at, just past and far past the limit, also chunked and with a lying length: 413 past it."""
    def padding(n: int) -> bytes:
        return b"ASK {}\n#" + b"x" * (n - 8)  # a query of exactly n bytes

    t = Tally("oversize bodies", leaks)
    for _ in range(scale(2, 6)):
        for n in (MAX_BODY, MAX_BODY + 1, 2 * MAX_BODY, 20 * MAX_BODY):
            expect = status_in(413) if n > MAX_BODY else status_in(200, 400)
            t.check(client.send("POST", "/sparql", padding(n), DIRECT), f"{n} bytes direct", expect)
            t.check(client.send("POST", "/sparql", b"query=" + b"a" * (n - 6), FORM), f"{n} bytes form", expect)
    chunk = b"%x\r\n" % 500_000 + b"#" * 500_000 + b"\r\n"
    chunked = (b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + b"6\r\nASK {}\r\n" + chunk * 3 + b"0\r\n\r\n")
    for _ in range(scale(2, 6)):
        t.check(client.raw(chunked), "1.5 MB chunked", status_in(413))
    shorter = (b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
               b"Content-Length: 3\r\nConnection: close\r\n\r\nASK {}")
    t.check(client.raw(shorter), "Content-Length shorter than the body", status_in(400))
    t.finish(figures)


def test_repeated_parameters(client, leaks, figures):
    """Parameters given twice or a thousand times: one query at most, the rest answered or refused plainly."""
    ask = quote("ASK {}")
    paths = [
        f"/sparql?query={ask}&query={ask}", f"/sparql?query={ask}&query=", f"/sparql?query=&query={ask}",
        f"/sparql?query={ask}&format=csv&format=json", f"/sparql?query={ask}&format=&format=xml",
        f"/sparql?query={ask}&timeout=1&timeout=x", f"/sparql?query={ask}&timeout=-1&timeout=1",
        f"/sparql?query={ask}&update={quote('CLEAR ALL')}", f"/sparql?update=a&update=b",
        f"/sparql?query={ask}" + f"&default-graph-uri={quote(GRAPH + 'data')}" * 1000,
        f"/sparql?query={ask}" + f"&named-graph-uri={quote(GRAPH + 'data')}" * 1000,
        f"/sparql?query={ask}" + "&x=1" * 5000, "/sparql?" + "&".join(f"query={ask}" for _ in range(500)),
        "/search?q=a&q=b&q=c&format=json&format=html", "/search?q=x&limit=1&limit=1000&limit=x",
        "/search?q=x&kind=person&kind=zzz", "/dumps/?format=json&format=html", "/reconcile?callback=a&callback=b",
    ]
    cases = paths * scale(5, 20)

    def send(client, path):
        return client.send("GET", path, None, [("Accept", "application/json"), ("Accept", "text/html")]), path

    t = Tally("repeated parameters and headers", leaks)
    run_all(client, t, cases, send)
    t.check(client.send("GET", f"/sparql?query={ask}&query={ask}"), "query twice", refused_with("more than once"))
    t.check(client.send("POST", "/sparql", f"query={ask}&query={ask}".encode(), FORM), "query twice (form)",
            refused_with("more than once"))
    t.finish(figures)


UPDATES = [
    "INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }",
    f"INSERT DATA {{ GRAPH <{GRAPH}data> {{ <urn:x:a> <urn:x:b> \"c\" }} }}",
    f"DELETE DATA {{ GRAPH <{GRAPH}data> {{ <{ID}person/bukeikhanov-a> a "
    "<https://w3id.org/kz-repression/ontology#Person> } }",
    "DELETE WHERE { ?s ?p ?o }",
    "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    f"WITH <{GRAPH}data> DELETE {{ ?s ?p ?o }} INSERT {{ ?s ?p \"x\" }} WHERE {{ ?s ?p ?o }}",
    "INSERT { ?s a <urn:x:T> } USING <urn:x:g> WHERE { ?s ?p ?o }",
    "LOAD <file:///etc/passwd>",
    "LOAD SILENT <file:///etc/passwd> INTO GRAPH <urn:x:g>",
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "CLEAR ALL", "CLEAR DEFAULT", "CLEAR NAMED", f"CLEAR SILENT GRAPH <{GRAPH}data>",
    "DROP ALL", f"DROP GRAPH <{GRAPH}data>", "CREATE GRAPH <urn:x:g>", "ADD DEFAULT TO <urn:x:g>",
    f"MOVE <{GRAPH}data> TO <urn:x:g>", f"COPY <{GRAPH}data> TO DEFAULT",
    "CLEAR ALL ; INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }",
]
DRESSINGS = [
    lambda u: u,
    lambda u: u.lower(),
    lambda u: "PREFIX x: <urn:x:>\nPREFIX : <urn:y:>\nBASE <urn:z:>\n" + u,
    lambda u: "# a comment\n  # another\n\t" + u,
    lambda u: "#c\rPREFIX x: <urn:x:> #c\n" + u.swapcase(),
    lambda u: u + " ;",
    lambda u: "SELECT * WHERE {} ; " + u,
]


def test_updates_and_load_in_every_form(client, leaks, figures):
    """Every update and LOAD, dressed with prologues, comments and case, by update=, by
    application/sparql-update and inside query=: refused (403, or 400), and nothing changes."""
    cases = [(dress(u), channel) for u in UPDATES for dress in DRESSINGS
             for channel in ("update-get", "update-form", "update-direct", "get", "form", "direct")]
    cases = cases * scale(1, 3)

    def send(client, case):
        text, channel = case
        if channel == "update-get":
            return client.send("GET", f"/sparql?update={quote(text)}"), f"{channel} {text}"
        if channel == "update-form":
            return client.send("POST", "/sparql", f"update={quote(text)}".encode(), FORM), f"{channel} {text}"
        if channel == "update-direct":
            return client.send("POST", "/sparql", text.encode(), {"Content-Type": "application/sparql-update"}), \
                f"{channel} {text}"
        return sparql(client, channel, text), f"{channel} {text}"

    def expect(reply):
        return reply.status == 403 and "read-only" in reply.message() or reply.status == 400

    t = Tally("updates and LOAD in every form", leaks)
    run_all(client, t, cases, send, expect)
    check = sparql(client, "get", "ASK { <urn:x:a> ?p ?o }")
    t.check(check, "the inserted triple is absent", lambda r: r.status == 200 and json.loads(r.body)["boolean"] is False)
    t.finish(figures)


class Listener:
    """A TCP listener on 127.0.0.1 that counts who connects: SERVICE and LOAD must never reach it."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.calls: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    self.calls.append(conn.recv(200))
                except OSError:
                    self.calls.append(b"")

    def close(self):
        self.sock.close()


def service_targets(port: int) -> list[str]:
    """Loopback, private, link-local and other-scheme targets, and near-misses of the allowed one."""
    return [
        f"http://127.0.0.1:{port}/sparql", f"http://localhost:{port}/", f"http://[::1]:{port}/", f"http://0.0.0.0:{port}/",
        f"http://127.1:{port}/", f"http://2130706433:{port}/", f"http://0x7f000001:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/", f"http://127.0.0.2:{port}/",
        "http://10.0.0.1/sparql", "http://192.168.1.1/", "http://172.16.0.1/", "http://172.31.255.254/",
        "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[fd00::1]/",
        "file:///etc/passwd", "file://localhost/etc/passwd", f"ftp://127.0.0.1:{port}/", f"gopher://127.0.0.1:{port}/_x",
        f"dict://127.0.0.1:{port}/", "ldap://127.0.0.1/", "data:text/plain,x", "urn:x:service", "mailto:a@b",
        f"https://query.wikidata.org@127.0.0.1:{port}/sparql", "https://query.wikidata.org.evil.example/sparql",
        "https://query.wikidata.org/sparql/../../x", "https://QUERY.WIKIDATA.ORG/sparql",
        "https://query.wikidata.org:443/sparql", "https://query.wikidata.org/sparq\\u006c", "sparql",
    ]


SERVICE_SPELLINGS = [
    "SELECT * WHERE {{ SERVICE <{t}> {{ ?s ?p ?o }} }}",
    "select * where {{ service <{t}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE SILENT <{t}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE<{t}>{{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE SILENT<{t}>{{?s ?p ?o}} }}",
    "SELECT * WHERE {{ SERVICE #c\n <{t}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE\t\r\n<{t}> {{ ?s ?p ?o }} }}",
    "PREFIX x: <{t}> SELECT * WHERE {{ SERVICE x: {{ ?s ?p ?o }} }}",
    "PREFIX x: <{t}> SELECT * WHERE {{ SERVICEx: {{ ?s ?p ?o }} }}",
    "PREFIX : <{t}> SELECT * WHERE {{ SERVICE:{{ ?s ?p ?o }} }}",
    "PREFIX x: <https://query.wikidata.org/> PREFIX x: <{t}> SELECT * WHERE {{ SERVICE x: {{ }} }}",
    "PREFIX x:#c\n<{t}> SELECT * WHERE {{ SERVICE SILENTx: {{ }} }}",
    "BASE <{t}> SELECT * WHERE {{ SERVICE <> {{ }} }}",
    "SELECT * WHERE {{ VALUES ?e {{ <{t}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ BIND(<{t}> AS $e) SERVICE $e {{ }} }}",
    "SELECT * WHERE {{ ?s ?p 1SERVICE <{t}> {{ }} }}",
    "SELECT * WHERE {{ ?s ?p ?o.SERVICE <{t}> {{ }} }}",
    "SELECT * WHERE {{ ?s ?p true SERVICE<{t}> {{ }} }}",
    "SELECT * WHERE {{ BIND(1 AS ?a) #c\r SERVICE <{t}> {{ }} }}",
    'SELECT * WHERE {{ BIND(1 AS ?a) BIND(2 AS ?b) FILTER(?a<?b#x>"""\n) SERVICE <{t}> {{ }}\n#"""\n}}',
    "SELECT * WHERE {{ ?s ?p <http://x/'''> . FILTER(?s<?p#x>\"\"\"\n) SERVICE <{t}> {{ }}\n# \"\"\" '''\n# '''\n}}",
    "PREFIX e: <http://x/> SELECT * WHERE {{ ?s ?p e:a\\# SERVICE <{t}> {{ }} }}",
    "PREFIX e: <http://x/> SELECT * WHERE {{ ?s ?p e:a\\' SERVICE <{t}> {{ }} }}",
    "ASK {{ SERVICE <{t}> {{ }} }}",
    "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{t}> {{ ?s ?p ?o }} }}",
    "DESCRIBE ?s WHERE {{ SERVICE <{t}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{t}> {{ ?s ?p ?o }} }} }} }}",
    "SELECT * WHERE {{ FILTER EXISTS {{ SERVICE <{t}> {{ }} }} }}",
    "SELECT * WHERE {{ OPTIONAL {{ SERVICE <{t}> {{ }} }} }}",
]


def test_service_to_forbidden_targets(client, leaks, figures):
    """SERVICE to loopback, private, link-local, IPv6 loopback, file: and other schemes, in every spelling
    Oxigraph reads: refused with 400 before evaluation, and the loopback listener is never called."""
    listener = Listener()
    try:
        rng = random.Random(64)
        every = [(s, t) for s in SERVICE_SPELLINGS for t in service_targets(listener.port)]
        cases = rng.sample(every, min(len(every), scale(250, 900)))
        cases = [(s.format(t=t), CHANNELS[i % 3]) for i, (s, t) in enumerate(cases)]

        def send(client, case):
            text, channel = case
            return sparql(client, channel, text), f"{channel} {text}"

        t = Tally("SERVICE to loopback, private, link-local, file: and other schemes", leaks)
        run_all(client, t, cases, send, refused_with("is not allowed"))
        load = sparql(client, "get", f"LOAD <http://127.0.0.1:{listener.port}/x.ttl>")
        t.check(load, "LOAD from the listener", status_in(403))
        time.sleep(0.5)  # a call that was made would have reached the listener by now
        t.check(Reply(200 if not listener.calls else 500, {}, repr(listener.calls[:3]).encode(), 0.0),
                "the loopback listener was never called")
    finally:
        listener.close()
    t.finish(figures)


TRAVERSALS = ["../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/%2e%2e/etc/passwd",
              "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%252e%252e%252f%252e%252e%252fetc%252fpasswd", "..%5c..%5cetc%5cpasswd",
              "..\\..\\etc\\passwd", "%00", "x%00.ttl", "..%00/", "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
              "....//....//etc/passwd", "..;/..;/etc/passwd", "/etc/passwd", "%2fetc%2fpasswd", "~root/.ssh/id_rsa",
              "%2e%2e%2fbuild.json", "../store/CURRENT", "..%2fstore%2fCURRENT", "../../build.json", "../validation.txt",
              "..%2f..%2fsrc%2frepression_kg%2f__init__.py", ".%2e/.%2e/pyproject.toml", "%u002e%u002e%u2215etc",
              "..%c0%af..%c0%afetc%c0%afpasswd", "..%ef%bc%8f..%ef%bc%8fetc", "%2e%2e%5c%2e%2e%5cbuild.json",
              "person/..%2f..%2f..%2fbuild.json", ".", "..", "%2e", "%2e%2e", "x/../../build.json"]
TRAVERSAL_BASES = ["/id/person/", "/id/", "/data/person/", "/data/", "/page/person/", "/dumps/", "/ontology/",
                   "/ui-assets/", "/ontology.", "/reconcile/preview?id=", "/"]
SECRETS = ("root:x:0:", "[build-system]", "import ", "MANIFEST-", '"source_digest"', "Conforms:", "sh:conforms")


def test_path_traversal(client, leaks, figures):
    """../, %2e%2e, %2f, double encoding, NUL, backslashes and overlong UTF-8 under /id/, /data/, /dumps/ and
    the other file-like routes: never a file from outside what the route serves."""
    cases = [(base, t, ext) for base in TRAVERSAL_BASES for t in TRAVERSALS for ext in ("", ".ttl")] * scale(1, 3)

    def send(client, case):
        base, traversal, ext = case
        path = base + traversal + ext
        return client.send("GET", path, None, {"Accept": "text/turtle"}), path

    def expect(reply):
        if any(s in reply.text() for s in SECRETS):
            return False
        if reply.status == 308:  # Werkzeug merges repeated slashes (/id//etc -> /id/etc), on this server
            return reply.headers.get("location", "").startswith(("/", f"http://{client.host}:{client.port}/"))
        return reply.status in (400, 404, 405, 406)

    t = Tally("path traversal in /id/, /data/, /dumps/ and other routes", leaks)
    run_all(client, t, cases, send, expect)
    t.finish(figures)


INJECTED = "X-Injected"
INJECTIONS = ["%0d%0aX-Injected:%201", "%0aX-Injected:%201", "%0dX-Injected:%201", "%0d%0a%0d%0a<html>X-Injected",
              "%e5%98%8a%e5%98%8dX-Injected:%201", "%c4%8d%c4%8aX-Injected:%201", "\\r\\nX-Injected:%201",
              "%0d%0aLocation:%20http://evil.example/%0d%0aX-Injected:%201"]


def test_header_injection(client, leaks, figures):
    """CR/LF (raw, encoded, overlong, Unicode look-alikes) in every parameter or path part that could reach a
    header: format=, timeout=, the slugs of /id/ redirects, /ontology/ terms, /dumps/ names, search, callback."""
    ask = quote("ASK {}")
    templates = [f"/sparql?query={ask}&format={{i}}", f"/sparql?query={ask}&timeout=1{{i}}", "/sparql?format={i}",
                 "/id/person/bukeikhanov-a{i}", "/id/person{i}/x", "/id/person/bukeikhanov-a?x={i}", "/ontology/Person{i}",
                 "/ontology.ttl{i}", "/dumps/{i}", "/dumps/?format={i}", "/data/person/bukeikhanov-a.ttl{i}",
                 "/search?q={i}", "/search?q=a&format={i}", "/search?kind={i}", "/reconcile?callback=cb{i}",
                 "/page/person/bukeikhanov-a{i}", "/{i}"]
    cases = [(tpl.format(i=i), accept) for tpl in templates for i in INJECTIONS
             for accept in ("text/html", "text/turtle")] * scale(1, 4)

    def send(client, case):
        path, accept = case
        return client.send("GET", path, None, {"Accept": accept}), path

    def expect(reply):
        return INJECTED.lower() not in reply.headers and "evil.example" not in reply.headers.get("location", "")

    t = Tally("header injection (CR/LF in parameters and paths)", leaks)
    run_all(client, t, cases, send, expect)
    raw = (b"GET /id/person/bukeikhanov-a\r\nX-Injected: 1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    t.check(client.raw(raw), "raw CR/LF in the request line", lambda r: INJECTED.lower() not in r.headers)
    t.finish(figures)


PAYLOADS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>",
            "</title><script>alert(1)</script>", '<iframe src="javascript:alert(1)">', "<a href=javascript:alert(1)>x</a>",
            "</textarea><script>alert(1)</script>", "<!--<script>alert(1)//-->", '<math><mi xlink:href="javascript:x">',
            "\u003cscript\u003ealert(1)\u003c/script\u003e", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>"]


def test_script_payloads(client, leaks, figures):
    """Script payloads in search, in SPARQL parameters and in paths whose error pages echo them: every HTML
    answer escapes them; an answer that carries one as is is not HTML."""
    templates = ["/search?q={p}", "/search?q=x&kind={p}", "/search?q=x&limit={p}", "/search?q=x&format={p}",
                 "/sparql?query={p}", "/sparql?query=" + quote("SELECT * WHERE { ?s ?p ?o } LIMIT 1") + "&format={p}",
                 "/sparql?query=" + quote("ASK {}") + "&timeout={p}", "/sparql?query=ASK%20%7B%7D&default-graph-uri={p}",
                 "/id/person/{p}", "/page/person/{p}", "/data/person/{p}.ttl", "/ontology/{p}", "/dumps/{p}", "/{p}",
                 "/reconcile?callback={p}", "/reconcile/preview?id={p}", "/reconcile/suggest/entity?prefix={p}"]
    cases = [(tpl.format(p=quote(p)), p, accept) for tpl in templates for p in PAYLOADS
             for accept in ("text/html", "application/json", "*/*")] * scale(1, 4)

    def send(client, case):
        path, _payload, accept = case
        return client.send("GET", path, None, {"Accept": accept}), path

    def safe(case):
        def check(reply):
            kind = reply.headers.get("content-type", "")
            raw = case[1] in reply.text()
            return not (raw and (kind.startswith("text/html") or not kind))
        return check

    t = Tally("script payloads in parameters, paths and search", leaks)
    with ThreadPoolExecutor(THREADS) as pool:
        for case, (reply, sent) in zip(cases, pool.map(lambda c: send(client, c), cases)):
            t.check(reply, sent, safe(case))
    client.close()
    t.finish(figures)


MALFORMED_HTTP = [
    b"\x00\xff\x16\x03\x01 garbage\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nContent-Length: 6\r\n"
    b"Content-Length: 7\r\n\r\nASK {}",
    b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nContent-Length: 6\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nASK {}\r\n0\r\n\r\n",
    b"POST /sparql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nAccept: a\x00b\r\nConnection: close\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 300_000 + b"\r\nConnection: close\r\n\r\n",
    b"GET /" + b"a" * 300_000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-H: 1\r\n" * 2000 + b"Connection: close\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\nConnection: close\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\nConnection: close\r\n\r\n",
    b"FOO /sparql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"TRACE /sparql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET http://evil.example/sparql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /sp arql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /sparql?query=ASK%7B%7D HTTP/1.0\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: \r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    b"POST /sparql HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/sparql-query\r\n"
    b"Content-Length: 6\r\nConnection: close\r\n\r\nASK {}",
    b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
]


def test_malformed_http(client, leaks, figures):
    """Requests broken at the HTTP level (bad lengths, chunking, headers, methods, request lines, random bytes),
    written to raw sockets: a 4xx with a message or a plain answer, and the server keeps serving."""
    rng = random.Random(65)
    garbage = [bytes(rng.getrandbits(8) for _ in range(rng.choice([4, 64, 2048]))) + b"\r\n\r\n"
               for _ in range(scale(40, 200))]
    cases = MALFORMED_HTTP * scale(2, 4) + garbage

    def send(client, data):
        return client.raw(data), repr(data[:100])

    t = Tally("malformed HTTP on raw sockets", leaks)
    run_all(client, t, cases, send, lambda r: r.status is not None and r.status < 500)
    unknown_coding = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
                      b"Connection: close\r\n\r\n0\r\n\r\n")
    for _ in range(scale(2, 4)):  # RFC 9112, 6.1: a transfer coding the server does not know gets 501
        t.check(client.raw(unknown_coding), "Transfer-Encoding: gzip, chunked", status_in(501), allowed=(501,))
    t.check(client.get("/health"), "/health afterwards", status_in(200))
    t.finish(figures)


def test_expect_continue_without_a_body(client, leaks, figures):
    """Expect: 100-continue on a request without a body is answered at once (waitress alone would wait for a
    body until its channel timeout: web/wsgi.py fixes that), and the server keeps serving everyone else."""
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    host, port = client.host, client.port
    waiting, answered = [], 0
    try:
        for _ in range(scale(10, 40)):
            sock = socket.create_connection((host, port), timeout=2, source_address=("127.0.0.8", 0))
            sock.sendall(request)
            waiting.append(sock)
        time.sleep(1)
        for sock in waiting:
            try:
                answered += b"200 OK" in sock.recv(65536)
            except TimeoutError:
                pass
        t = Tally("Expect: 100-continue without a body", leaks)
        for _ in range(scale(20, 100)):
            t.check(client.get("/health"), "/health while those wait", lambda r: r.status == 200 and r.seconds < 1)
    finally:
        for sock in waiting:
            sock.close()
    figures.add(section="malformed input", trial=t.trial, tried=len(waiting),
                result=f"{answered} of {len(waiting)} answered within 3 s; /health meanwhile: {t.result()}")
    assert not t.failures, t.failures[:5]
    assert answered == len(waiting)


GRAMMAR = dict(deadline=None, database=None, print_blob=True, max_examples=scale(150, 2000),
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_queries_from_the_grammar(client, leaks, figures):
    """Queries drawn from the SPARQL 1.1 grammar (hypothesis): answered (or timed out at the limit) and clean."""
    t = Tally("queries from the SPARQL 1.1 grammar (hypothesis)", leaks)

    @settings(**GRAMMAR)
    @given(query=queries(), channel=st.sampled_from(CHANNELS))
    def one(query, channel):
        reply = t.check(sparql(client, channel, query, {"timeout": "2"}), query)
        assert not problems(reply, leaks), (problems(reply, leaks), query)

    one()
    answered = t.statuses[200]
    t.finish(figures)
    assert answered > t.tried / 2, f"only {answered} of {t.tried} grammar queries were answered: {t.statuses}"


def test_near_valid_queries(client, leaks, figures):
    """Grammar queries with one fault each (hypothesis): refused with the parser's message, never worse."""
    t = Tally("near-valid queries (hypothesis)", leaks)

    @settings(**GRAMMAR)
    @given(query=near_valid_queries(), channel=st.sampled_from(CHANNELS))
    def one(query, channel):
        reply = t.check(sparql(client, channel, query, {"timeout": "2"}), query)
        assert not problems(reply, leaks), (problems(reply, leaks), query)

    one()
    t.finish(figures)


def test_store_unchanged_after_the_battery(live, build_copy, store_before, figures):
    """The store's dump (sorted N-Quads) hashes the same before and after everything above."""
    after = store_digest(build_copy)
    figures.add(section="malformed input", trial="store dump (sorted N-Quads, SHA-256) before and after", tried=1,
                result=f"{'equal' if after == store_before else 'DIFFERENT'}: {after[:16]}…")
    assert after == store_before
