"""Where queries run: the embedded on-disk store (default), an in-memory store, or a remote endpoint.

Every backend answers a query serialised in the format the caller chose for each kind of
answer, so a query never needs a second round trip. The embedded backend runs each query in a
worker process that opens the store read-only: a query past its deadline is stopped by killing
its worker (pyoxigraph offers no way to cancel a query), and the worker is replaced.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from . import __version__
from .formats import GRAPH, RESULTS, Format, by_name
from .namespaces import GRAPHS
from .store import current_store

USER_AGENT = f"repression-kg/{__version__} (Kazakhstan repression knowledge graph; SPARQL client)"


class QueryError(Exception):
    """The query is malformed or cannot be evaluated: the client's fault, with the engine's message."""


class QueryTimeout(Exception):
    """The query ran past its time limit and was stopped."""

    def __init__(self, limit: float):
        self.limit = limit
        super().__init__(f"The query was stopped after the time limit of {limit:g} s.")


class FederationError(Exception):
    """A SERVICE call failed or timed out at the remote end; the message names the service."""


class BackendUnavailable(Exception):
    """The store or the remote endpoint cannot answer."""


@dataclass(frozen=True)
class Answer:
    """A serialised query answer: the kind of answer, its format (by name: it crosses processes) and its bytes."""

    kind: str  # RESULTS or GRAPH
    format_name: str
    body: bytes

    @property
    def format(self) -> Format:
        return by_name(self.format_name)


@dataclass(frozen=True)
class Task:
    """One query to evaluate, with the formats chosen for each kind of answer."""

    sparql: str
    results_format: str | None
    graph_format: str | None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


def evaluate(store: ox.Store, task: Task) -> Answer:
    """Run a task on a store and serialise the answer (the core shared by local backends)."""
    kwargs: dict = {}
    if task.default_graphs:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in task.default_graphs]
    else:
        kwargs["use_default_graph_as_union"] = True
    if task.named_graphs:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in task.named_graphs]
    try:
        result = store.query(task.sparql, **kwargs)
        if isinstance(result, ox.QueryTriples):
            fmt = _required(task.graph_format, GRAPH)
            return Answer(GRAPH, fmt.name, ox.serialize(result, format=fmt.oxigraph) or b"")
        fmt = _required(task.results_format, RESULTS)
        return Answer(RESULTS, fmt.name, result.serialize(format=fmt.oxigraph) or b"")
    except SyntaxError as err:
        raise QueryError(f"SPARQL syntax error: {err}") from None
    except OSError as err:
        message = str(err)
        if "/service/" in message and "returned by http://127.0.0.1:" in message:  # from the federation relay
            raise FederationError(message.split("with payload:", 1)[-1].strip()) from None
        raise QueryError(f"The query could not be evaluated: {message}") from None
    except (ValueError, TypeError) as err:
        raise QueryError(f"The query could not be evaluated: {err}") from None


class WrongKind(Exception):
    """The answer is of a kind for which the client accepts no format."""

    def __init__(self, kind: str):
        self.kind = kind
        super().__init__(kind)


def _required(name: str | None, kind: str) -> Format:
    if name is None:
        raise WrongKind(kind)
    return by_name(name)


class Backend:
    """The interface every backend keeps."""

    name = "backend"

    def answer(self, task: Task, timeout: float) -> Answer:
        raise NotImplementedError

    def select(self, sparql: str, timeout: float = 30.0) -> list[dict[str, dict]]:
        """A SELECT query's bindings as SPARQL JSON terms ({'type', 'value', 'xml:lang', 'datatype'})."""
        answer = self.answer(Task(sparql, "json", None), timeout)
        return json.loads(answer.body)["results"]["bindings"]

    def ask(self, sparql: str, timeout: float = 30.0) -> bool:
        answer = self.answer(Task(sparql, "json", None), timeout)
        return bool(json.loads(answer.body)["boolean"])

    def construct(self, sparql: str, fmt: str = "ntriples", timeout: float = 30.0) -> bytes:
        return self.answer(Task(sparql, None, fmt), timeout).body

    def close(self) -> None:
        """Release processes and files."""


class MemoryBackend(Backend):
    """An in-memory store in this process (tests, small data). No timeout: queries run to the end."""

    name = "memory"

    def __init__(self, store: ox.Store):
        self.store = store

    @classmethod
    def from_build(cls, build_dir: Path) -> "MemoryBackend":
        """Copy a built store into memory."""
        store = ox.Store()
        store.bulk_extend(ox.Store.read_only(str(current_store(build_dir))))
        return cls(store)

    def answer(self, task: Task, timeout: float) -> Answer:
        return evaluate(self.store, task)


class RemoteBackend(Backend):
    """Any SPARQL 1.1 Protocol endpoint (Oxigraph server, Virtuoso, QLever, Fuseki)."""

    name = "remote"

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
                raise QueryError(message or f"The endpoint refused the query ({err.code}).") from None
            raise BackendUnavailable(f"The SPARQL endpoint answered {err.code}: {message}") from None
        except TimeoutError:
            raise QueryTimeout(timeout) from None
        except (urllib.error.URLError, OSError) as err:
            if "timed out" in str(err):
                raise QueryTimeout(timeout) from None
            raise BackendUnavailable(f"The SPARQL endpoint {self.endpoint} cannot be reached: {err}") from None
        fmt = by_name(media_type)
        if fmt is None:
            raise BackendUnavailable(f"The SPARQL endpoint answered in an unexpected format: {media_type}")
        return Answer(fmt.kind, fmt.name, body)


BUILD_INFO = """PREFIX dct: <http://purl.org/dc/terms/>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?time ?digest ?title WHERE { GRAPH <%s> {
  ?d a <http://rdfs.org/ns/void#Dataset> . OPTIONAL { ?d dct:title ?title }
  OPTIONAL { ?d prov:wasGeneratedBy ?a . ?a prov:endedAtTime ?time OPTIONAL { ?a dct:identifier ?digest } }
} } ORDER BY DESC(?time) LIMIT 1"""


def build_info(backend: Backend) -> dict:
    """The served build's time, source digest and title, from the metadata graph (empty if absent)."""
    rows = backend.select(BUILD_INFO % GRAPHS["metadata"])
    return {k: v["value"] for k, v in rows[0].items()} if rows else {}


# --- The embedded store: worker processes that can be killed ------------------------------------

def _worker_main(conn, store_path: str) -> None:
    """A query worker: open the store read-only, answer tasks until the pipe closes."""
    store = ox.Store.read_only(store_path)
    conn.send(("ready", None))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", evaluate(store, task)))
        except Exception as err:  # sent back and re-raised in the server, by type
            conn.send(("error", err))


class _Worker:
    """One worker process and its end of the pipe."""

    def __init__(self, context, store_path: str):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, store_path), daemon=True)
        self.process.start()
        child.close()
        status, _ = self.conn.recv()  # waits for the store to open
        if status != "ready":
            raise BackendUnavailable(f"A query worker failed to open {store_path}.")

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class EmbeddedBackend(Backend):
    """The built Oxigraph store on disk, queried by a pool of killable worker processes."""

    name = "embedded"

    def __init__(self, build_dir: Path, workers: int = 3):
        self.build_dir = Path(build_dir)
        self.size = workers
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._store = str(current_store(self.build_dir))
        for _ in range(workers):
            self._idle.put(_Worker(self._context, self._store))

    def answer(self, task: Task, timeout: float) -> Answer:
        deadline = time.monotonic() + timeout
        self._follow_rebuilds()
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise QueryTimeout(timeout) from None
        try:
            worker.conn.send(task)
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                worker = None
                raise QueryTimeout(timeout)
            status, value = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker)
            worker = None
            raise BackendUnavailable("A query worker died; it has been replaced. Try again.") from None
        finally:
            if worker is not None:
                self._idle.put(worker)
        if status == "error":
            raise value
        return value

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker now; start its replacement in the background."""
        worker.kill()

        def start():
            self._idle.put(_Worker(self._context, self._store))

        threading.Thread(target=start, daemon=True).start()

    def _follow_rebuilds(self) -> None:
        """After a rebuild, replace the workers so that they read the new store."""
        path = str(current_store(self.build_dir))
        with self._lock:
            if path == self._store:
                return
            self._store = path
            for _ in range(self.size):
                old = self._idle.get()
                old.kill()
                self._idle.put(_Worker(self._context, path))

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().kill()


def worker_count() -> int:
    """Default pool size: one per core, at least two."""
    return max(2, os.cpu_count() or 2)
