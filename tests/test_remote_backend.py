"""The remote backend over real servers on 127.0.0.1: kept-alive connections, the retry of a closed one,
truncated answers, time limits and errors."""
from __future__ import annotations

import base64
import csv
import gc
import http.server
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path
from contextlib import contextmanager

import pyoxigraph as ox
import pytest

import repression_kg.remote as remote_module
from repression_kg.backend import BackendUnavailable, MemoryBackend, QueryError, QueryTimeout, Task
from repression_kg.remote import RemoteBackend, TruncatedAnswer
from repression_kg.web import create_app
from servers import BIN, free_port, running

SUBJECTS = 20
DATA = "\n".join(
    [f'<urn:kz:s{i}> <urn:kz:value> "{i}"^^<http://www.w3.org/2001/XMLSchema#integer> <urn:kz:g{i % 2}> .'
     for i in range(SUBJECTS)]
    + ['<urn:kz:s0> <http://www.w3.org/2000/01/rdf-schema#label> "Алматы"@ru <urn:kz:g0> .',
       '<urn:kz:s0> <http://www.w3.org/2000/01/rdf-schema#label> "Almaty"@en <urn:kz:g0> .',
       '<urn:kz:s1> <urn:kz:next> <urn:kz:s2> <urn:kz:g1> .']) + "\n"
LOOKUP = "SELECT ?p ?o WHERE { <urn:kz:s%d> ?p ?o } ORDER BY ?p ?o"
JSON_ROWS = json.dumps({"head": {"vars": ["s"]}, "results": {"bindings": [
    {"s": {"type": "uri", "value": f"urn:kz:s{i}"}} for i in range(3)]}}).encode()


def start_oxigraph(location, port: int):
    """`oxigraph serve` on a store directory, answering over the union of its graphs."""
    command = [str(BIN / "oxigraph"), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
               "--union-default-graph"]
    return running(command, f"http://127.0.0.1:{port}/query")


@pytest.fixture(scope="module")
def oxigraph_store(tmp_path_factory):
    """A store directory loaded by `oxigraph load` with the quads of DATA."""
    workdir = tmp_path_factory.mktemp("remote-backend")
    (workdir / "data.nq").write_text(DATA, encoding="utf-8")
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(workdir / "db"), "--file",
                    str(workdir / "data.nq")], check=True, capture_output=True, timeout=60)
    return workdir / "db"


@pytest.fixture(scope="module")
def oxigraph(oxigraph_store):
    """The URL of a real `oxigraph serve` on 127.0.0.1."""
    port = free_port()
    with start_oxigraph(oxigraph_store, port):
        yield f"http://127.0.0.1:{port}/query"


@pytest.fixture(scope="module")
def memory():
    """The same quads in an embedded store: the reference answers."""
    store = ox.Store()
    store.bulk_extend(ox.parse(DATA.encode(), ox.RdfFormat.N_QUADS))
    return MemoryBackend(store)


@pytest.fixture
def remote(oxigraph):
    backend = RemoteBackend(oxigraph)
    yield backend
    backend.close()


class CountingProxy:
    """A TCP relay on 127.0.0.1 to a server, counting the connections clients open through it."""

    def __init__(self, port: int):
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept)]
        self.threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # the listener was shut down
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.accepted += 1
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=_pump, args=(source, sink))
                thread.start()
                self.threads.append(thread)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.threads[0].join(10)  # no connection is added after this
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self.threads:
            thread.join(10)
        for sock in self.sockets:
            sock.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes one way until the source ends, then end the sink's sending side."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@contextmanager
def proxy_to(url: str):
    proxy = CountingProxy(urllib.parse.urlsplit(url).port)
    try:
        yield proxy
    finally:
        proxy.close()


def rows(backend, i: int) -> list[tuple[str, str]]:
    return [(r["p"]["value"], r["o"]["value"]) for r in backend.select(LOOKUP % i)]


# --- Kept-alive connections over a real `oxigraph serve` --------------------------------------------------------

def test_remote_many_queries_use_one_connection(oxigraph, memory):
    with proxy_to(oxigraph) as proxy:
        backend = RemoteBackend(f"http://127.0.0.1:{proxy.port}/query")
        try:
            for i in range(60):
                assert rows(backend, i % SUBJECTS) == rows(memory, i % SUBJECTS)
            assert backend.ask("ASK { <urn:kz:s1> <urn:kz:next> <urn:kz:s2> }")
        finally:
            backend.close()
        assert proxy.accepted == 1


SELECT_ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
ASKS = ["ASK { <urn:kz:s0> ?p \"Almaty\"@en }", "ASK { <urn:kz:s0> ?p \"Astana\"@en }"]
CONSTRUCT = "CONSTRUCT { ?s <urn:kz:twice> ?o } WHERE { ?s <urn:kz:value> ?v BIND(?v * 2 AS ?o) }"


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_remote_select_equals_embedded(remote, memory, fmt):
    task = Task(SELECT_ALL, fmt, None)
    answers = [backend.answer(task, 30) for backend in (remote, memory)]
    assert answers[0].format_name == answers[1].format_name == fmt
    parsed = [solutions(a) for a in answers]
    assert parsed[0] == parsed[1]
    assert len(parsed[0]) == SUBJECTS + 3


def solutions(answer) -> list[list]:
    """The rows of a SELECT answer (CSV, lossy, as text; the other formats as RDF terms)."""
    if answer.format_name == "csv":
        return list(csv.reader(io.StringIO(answer.body.decode())))[1:]
    return [list(s) for s in ox.parse_query_results(answer.body, answer.format.oxigraph)]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_remote_ask_equals_embedded(remote, memory, fmt):
    for query in ASKS:
        answers = [backend.answer(Task(query, fmt, None), 30) for backend in (remote, memory)]
        assert [bool(ox.parse_query_results(a.body, a.format.oxigraph)) for a in answers] == [query == ASKS[0]] * 2


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "rdfxml", "jsonld"])
def test_remote_construct_equals_embedded(remote, memory, fmt):
    answers = [backend.answer(Task(CONSTRUCT, None, fmt), 30) for backend in (remote, memory)]
    assert answers[0].format_name == fmt
    triples = [set(ox.parse(a.body, a.format.oxigraph)) for a in answers]
    assert triples[0] == triples[1] and len(triples[0]) == SUBJECTS


def test_remote_dataset_parameters_equal_embedded(remote, memory):
    task = Task("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", "json", None,
                default_graphs=("urn:kz:g1",), named_graphs=("urn:kz:g0",))
    answers = [json.loads(backend.answer(task, 30).body)["results"]["bindings"] for backend in (remote, memory)]
    assert answers[0] == answers[1] == [{"g": {"type": "uri", "value": "urn:kz:g0"},
                                         "n": {"type": "literal", "value": str(SUBJECTS // 2 + 2),
                                               "datatype": "http://www.w3.org/2001/XMLSchema#integer"}}]


def test_remote_query_error_from_the_server(remote):
    with pytest.raises(QueryError) as err:
        remote.select("SELECT ?x WHERE { ?x ?y }")
    assert str(err.value)
    assert rows(remote, 3) == [("urn:kz:value", "3")]  # the connection still serves


def test_remote_server_restarted_between_queries(oxigraph_store, tmp_path):
    location = tmp_path / "db"
    shutil.copytree(oxigraph_store, location)
    port = free_port()
    backend = RemoteBackend(f"http://127.0.0.1:{port}/query")
    try:
        with start_oxigraph(location, port):
            assert rows(backend, 5) == [("urn:kz:value", "5")]
        with start_oxigraph(location, port):
            assert rows(backend, 6) == [("urn:kz:value", "6")]  # the old connection is dead: retried once, fresh
    finally:
        backend.close()


def test_remote_threads_share_nothing_but_the_backend(oxigraph, memory):
    expected = {i: rows(memory, i) for i in range(SUBJECTS)}
    failures = []
    with proxy_to(oxigraph) as proxy:
        backend = RemoteBackend(f"http://127.0.0.1:{proxy.port}/query")

        def work(k: int) -> None:
            for j in range(50):
                i = (k * 7 + j) % SUBJECTS
                try:
                    got = rows(backend, i)
                except Exception as err:  # collected and asserted below, not lost in the thread
                    got = err
                if got != expected[i]:
                    failures.append((k, j, got))

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        backend.close()
    assert failures == []
    assert proxy.accepted == 8  # one connection per thread, kept for all its 50 queries


# --- Small real HTTP servers scripted by the tests ---------------------------------------------------------------

class Scripted(http.server.ThreadingHTTPServer):
    """An HTTP/1.1 server on 127.0.0.1 that answers the n-th request (from 1) as `script(handler, n)` says."""

    daemon_threads = True

    def __init__(self, script):
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.script = script
        self.connections = 0
        self.requests: list[tuple[str, dict, bytes]] = []
        self.release = threading.Event()  # handlers told to wait do so until the test ends
        self.read, self.written = threading.Event(), threading.Event()  # for steps in turn with the test

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/sparql"


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.connections += 1

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.path, dict(self.headers), body))
        self.server.script(self, len(self.server.requests))

    def send(self, status: int, body: bytes, content_type: str = "application/sparql-results+json", **headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def scripted(script, tls: ssl.SSLContext | None = None):
    server = Scripted(script)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        thread.join(10)
        server.server_close()


@contextmanager
def client(url: str):
    backend = RemoteBackend(url)
    try:
        yield backend
    finally:
        backend.close()


def answer(handler, n):
    handler.send(200, JSON_ROWS)


def test_remote_row_limit_header_is_a_clear_error():
    with scripted(lambda h, n: h.send(200, JSON_ROWS, X_SPARQL_MaxRows="3")) as server, client(server.url) as backend:
        with pytest.raises(TruncatedAnswer) as err:
            backend.select("SELECT ?s WHERE { ?s ?p ?o }")
    assert isinstance(err.value, BackendUnavailable)
    message = str(err.value)
    assert f"The SPARQL endpoint {server.url} cut the answer at 3 rows" in message
    assert "[SPARQL] ResultSetMaxRows" in message


def test_site_never_passes_a_truncated_answer_as_complete():
    with scripted(lambda h, n: h.send(200, JSON_ROWS, X_SPARQL_MaxRows="3")) as server:
        app = create_app({"TESTING": True, "ENDPOINT": server.url})
        try:
            response = app.test_client().post("/sparql", data={"query": "SELECT ?s WHERE { ?s ?p ?o }"},
                                              headers={"Accept": "application/sparql-results+json"})
        finally:
            app.extensions["kg_backend"].close()
    assert response.status_code == 502 and "Retry-After" not in response.headers  # retrying would not help
    assert "cut the answer at 3 rows (Virtuoso's ResultSetMaxRows)" in response.get_json()["error"]


def test_remote_partial_answer_of_an_anytime_query_is_a_clear_error():
    with scripted(lambda h, n: h.send(206, JSON_ROWS, X_SQL_State="S1TAT")) as server, client(server.url) as backend:
        with pytest.raises(TruncatedAnswer, match="partial answer.*S1TAT.*MaxQueryExecutionTime"):
            backend.select("SELECT ?s WHERE { ?s ?p ?o }")


def test_remote_connection_close_after_every_answer():
    def close_each(handler, n):
        handler.send(200, JSON_ROWS, Connection="close")
        handler.close_connection = True

    with scripted(close_each) as server, client(server.url) as backend:
        for _ in range(5):
            assert len(backend.select("SELECT ?s WHERE { ?s ?p ?o }")) == 3
    assert server.connections == 5


def test_remote_connection_closed_silently_is_retried_once():
    def close_silently(handler, n):  # like a keep-alive idle timeout that strikes between two queries
        handler.send(200, JSON_ROWS)
        handler.close_connection = True

    with scripted(close_silently) as server, client(server.url) as backend:
        for _ in range(4):
            assert len(backend.select("SELECT ?s WHERE { ?s ?p ?o }")) == 3
    assert len(server.requests) == server.connections == 4


def test_remote_answer_to_no_question_on_an_idle_connection_is_not_taken():
    def unasked_500(handler, n):  # what `oxigraph serve` 0.5 does to a connection idle for 60 s
        answer(handler, n)
        if n == 1:
            handler.server.read.wait(10)
            handler.wfile.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                b"content-length: 46\r\n\r\nResource temporarily unavailable (os error 11)")
            handler.connection.shutdown(socket.SHUT_WR)  # and reads on, as oxigraph does: no reset tells
            handler.server.written.set()
            handler.server.release.wait()
            handler.close_connection = True

    with scripted(unasked_500) as server, client(server.url) as backend:
        backend.select("SELECT ?s WHERE { ?s ?p ?o }")
        server.read.set()
        assert server.written.wait(10)
        assert len(backend.select("SELECT ?s WHERE { ?s ?p ?o }")) == 3
    assert len(server.requests) == server.connections == 2


def test_remote_connection_idle_too_long_is_replaced_before_use(monkeypatch):
    monkeypatch.setattr(remote_module, "IDLE_SECONDS", 0.0)
    with scripted(answer) as server, client(server.url) as backend:
        for _ in range(3):
            assert len(backend.select("SELECT ?s WHERE { ?s ?p ?o }")) == 3
    assert len(server.requests) == server.connections == 3


def test_remote_retry_is_once_and_a_fresh_connection_is_not_retried():
    def first_only(handler, n):
        if n == 1:
            answer(handler, n)
        handler.close_connection = True  # from the second request on: closed without an answer

    with scripted(first_only) as server, client(server.url) as backend:
        backend.select("SELECT ?s WHERE { ?s ?p ?o }")
        with pytest.raises(BackendUnavailable, match=f"The SPARQL endpoint {server.url} cannot be reached"):
            backend.select("SELECT ?s WHERE { ?s ?p ?o }")  # the reused connection, then one fresh one
        assert server.connections == 2
        with pytest.raises(BackendUnavailable):
            backend.select("SELECT ?s WHERE { ?s ?p ?o }")  # a fresh connection: not retried
        assert server.connections == 3


def test_remote_no_answer_is_a_timeout_and_the_connection_is_dropped():
    def hang_first(handler, n):
        if n == 1:
            handler.server.release.wait()
            handler.close_connection = True
            return
        answer(handler, n)

    with scripted(hang_first) as server, client(server.url) as backend:
        start = time.monotonic()
        with pytest.raises(QueryTimeout):
            backend.select("SELECT ?s WHERE { ?s ?p ?o }", timeout=1.0)
        assert 1.0 <= time.monotonic() - start <= 2.0
        assert len(backend.select("SELECT ?s WHERE { ?s ?p ?o }")) == 3
        assert server.connections == 2  # the late answer can never be read as the next one's


def test_remote_body_that_never_ends_is_a_timeout():
    def half_a_body(handler, n):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/sparql-results+json")
        handler.send_header("Content-Length", str(len(JSON_ROWS)))
        handler.end_headers()
        handler.wfile.write(JSON_ROWS[:20])
        handler.wfile.flush()
        handler.server.release.wait()
        handler.close_connection = True

    with scripted(half_a_body) as server, client(server.url) as backend:
        start = time.monotonic()
        with pytest.raises(QueryTimeout):
            backend.select("SELECT ?s WHERE { ?s ?p ?o }", timeout=1.0)
        assert 1.0 <= time.monotonic() - start <= 2.0


def test_remote_400_is_a_query_error_with_the_servers_message():
    message = "Parser error: unexpected '}' at line 1, column 20"
    with scripted(lambda h, n: h.send(400, message.encode(), "text/plain")) as server, client(server.url) as backend:
        with pytest.raises(QueryError) as err:
            backend.select("SELECT ?x WHERE { ?x ?y }")
    assert str(err.value) == message


def test_remote_500_is_unavailable_and_the_connection_kept():
    def fail_first(handler, n):
        if n == 1:
            handler.send(500, b"the store is being compacted", "text/plain")
        else:
            answer(handler, n)

    with scripted(fail_first) as server, client(server.url) as backend:
        with pytest.raises(BackendUnavailable, match="answered 500: the store is being compacted"):
            backend.select("SELECT ?s WHERE { ?s ?p ?o }")
        assert len(backend.select("SELECT ?s WHERE { ?s ?p ?o }")) == 3
    assert server.connections == 1


def test_remote_redirect_names_where_it_points():
    with scripted(lambda h, n: h.send(301, b"", "text/plain", Location="https://kg.example/sparql")) as server, \
            client(server.url) as backend:
        with pytest.raises(BackendUnavailable, match="answered 301, pointing to https://kg.example/sparql"):
            backend.select("SELECT ?s WHERE { ?s ?p ?o }")


def test_remote_keeps_path_and_query_string_and_sends_basic_auth():
    with scripted(answer) as server:
        port = server.server_address[1]
        with client(f"http://alice:s%3Acr%40t@127.0.0.1:{port}/kz/sparql?key=k1") as backend:
            assert "s%3Acr%40t" not in backend.endpoint and "alice:***@" in backend.endpoint
            backend.select("SELECT ?s WHERE { ?s ?p ?o }")
    path, headers, body = server.requests[0]
    assert path == "/kz/sparql?key=k1"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s:cr@t").decode()
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["Accept"] == "application/sparql-results+json"
    assert headers["User-Agent"].startswith("repression-kg/")
    assert urllib.parse.parse_qs(body.decode()) == {"query": ["SELECT ?s WHERE { ?s ?p ?o }"]}


def test_remote_password_is_masked_in_errors():
    with scripted(lambda h, n: h.send(200, JSON_ROWS, X_SPARQL_MaxRows="3")) as server:
        port = server.server_address[1]
        with client(f"http://alice:secret@127.0.0.1:{port}/sparql") as backend, pytest.raises(TruncatedAnswer) as err:
            backend.select("SELECT ?s WHERE { ?s ?p ?o }")
    assert "secret" not in str(err.value) and f"alice:***@127.0.0.1:{port}" in str(err.value)


def open_sockets_to(url: str) -> int:
    """This process's TCP sockets connected to the port of url (read from /proc: other tests' files do not count)."""
    port = urllib.parse.urlsplit(url).port
    mine = {os.readlink(f"/proc/self/fd/{fd}")[8:-1] for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}") and os.readlink(f"/proc/self/fd/{fd}").startswith("socket:[")}
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].split(":")[1], 16) == port and fields[3] == "01" and fields[9] in mine:  # 01: ESTABLISHED
            count += 1
    return count


def test_remote_backend_dropped_without_close_leaks_no_socket(oxigraph):
    backend = RemoteBackend(oxigraph)
    assert rows(backend, 3) == [("urn:kz:value", "3")]
    assert open_sockets_to(oxigraph) == 1
    del backend
    gc.collect()
    assert open_sockets_to(oxigraph) == 0


def test_remote_unreachable_names_the_endpoint():
    url = f"http://127.0.0.1:{free_port()}/query"
    with client(url) as backend, pytest.raises(BackendUnavailable) as err:
        backend.select("SELECT * WHERE { ?s ?p ?o }")
    assert str(err.value).startswith(f"The SPARQL endpoint {url} cannot be reached: ")


@pytest.mark.parametrize("url", ["localhost:7878/query", "ftp://127.0.0.1/sparql", "http:///sparql",
                                 "http://127.0.0.1:port/sparql"])
def test_remote_endpoint_url_is_checked_at_construction(url):
    with pytest.raises(BackendUnavailable, match="SPARQL endpoint"):
        RemoteBackend(url)


def test_serve_refuses_a_bad_endpoint_url(tmp_path):
    result = subprocess.run([str(BIN / "repression-kg"), "serve", "--build-dir", str(tmp_path), "--endpoint",
                             "localhost:7878", "--get", "/sparql"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "must be an http:// or https:// URL" in result.stderr


# --- HTTPS -------------------------------------------------------------------------------------------------------

@pytest.fixture
def https_server(tmp_path):
    """A scripted server behind TLS with a self-signed certificate for 127.0.0.1; yields it and the certificate."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with scripted(answer, tls) as server:
        yield server, cert


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_remote_https_with_a_trusted_certificate(https_server, monkeypatch):
    server, cert = https_server
    url = f"https://127.0.0.1:{server.server_address[1]}/sparql"
    with client(url) as untrusting, pytest.raises(BackendUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        untrusting.select("SELECT ?s WHERE { ?s ?p ?o }")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with client(url) as backend:
        for _ in range(3):
            assert len(backend.select("SELECT ?s WHERE { ?s ?p ?o }")) == 3
    assert server.connections == 1  # one for all three queries (the refused handshake reached no handler)
