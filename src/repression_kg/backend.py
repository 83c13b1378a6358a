"""Where queries run: the embedded on-disk store (default), an in-memory store, or a remote endpoint.

Every backend answers a query serialised in the format the caller chose for each kind of
answer, so a query never needs a second round trip. The embedded backend runs each query in a
worker process that opens the store read-only: a query past its deadline is stopped by killing
its worker (pyoxigraph offers no way to cancel a query), and the worker is replaced.
"""
from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import queue
import resource
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from . import __version__
from .formats import GRAPH, RESULTS, Format, by_name
from .namespaces import GRAPHS
from .sparql_text import has_dataset_clause
from .store import StoreError, current_store, open_store, rebuild_hint

USER_AGENT = f"repression-kg/{__version__} (Kazakhstan repression knowledge graph; SPARQL client)"


class QueryError(Exception):
    """The query is malformed or cannot be evaluated: the client's fault, with the engine's message."""


TOO_DEEP = ("The query is nested too deeply or chains too many operations for the query engine, which ran "
            "out of stack reading it; write it with fewer nested groups, brackets or chained operators.")


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
    base_iri: str | None = None  # what relative IRIs in the query resolve against (the embedded store only)


def evaluate(store: ox.Store, task: Task) -> Answer:
    """Run a task on a store and serialise the answer (the core shared by local backends)."""
    kwargs: dict = {}
    try:
        if task.default_graphs:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in task.default_graphs]
        elif not has_dataset_clause(task.sparql):  # FROM and FROM NAMED make their own dataset
            kwargs["use_default_graph_as_union"] = True
        if task.named_graphs:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in task.named_graphs]
        result = store.query(task.sparql, base_iri=task.base_iri, **kwargs)
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
    except RuntimeError as err:
        if "Corruption" in str(err):  # the store's fault, not the query's: the worker reports it
            raise
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

WORKER_MEMORY_MB = 4096  # address space of a query worker: a query that needs more is stopped, not the machine
RETRY_SECONDS = 30.0  # a worker that could not open the store is tried again on demand, at most this often
# (a rebuild publishes a new directory, which is tried at once)


def _worker_main(conn, store_path: str, memory_mb: int | None) -> None:
    """A query worker: open the store read-only, answer tasks until the pipe closes or the server dies."""
    _exit_with_parent()
    if memory_mb:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = memory_mb << 20 if hard == resource.RLIM_INFINITY else min(memory_mb << 20, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    try:
        store = open_store(Path(store_path))
    except StoreError as err:
        conn.send(("error", str(err)))
        return
    conn.send(("ready", None))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", evaluate(store, task)))
        except MemoryError:
            conn.send(("error", BackendUnavailable(
                f"The query needed more memory than a query worker may use ({memory_mb} MB).")))
        except RuntimeError as err:
            if "Corruption" not in str(err):
                conn.send(("error", err))
                continue
            message = " ".join(str(err).split()).rstrip(".")
            conn.send(("error", BackendUnavailable(
                f"The store at {store_path} is damaged: {message}. {rebuild_hint(Path(store_path).parent)}")))
        except Exception as err:  # sent back and re-raised in the server, by type
            conn.send(("error", err))


def _exit_with_parent() -> None:
    """End this worker as soon as the server is gone, even mid-query (a server killed with -9 closes no pipe)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class _Worker:
    """One worker process on one store, and its end of the pipe."""

    def __init__(self, context, store_path: str, memory_mb: int | None):
        self.store = store_path
        self.memory_mb = memory_mb
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, store_path, memory_mb), daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self, seconds: float = 60.0) -> "_Worker":
        """Wait until the worker has opened its store, or raise BackendUnavailable saying why it could not."""
        try:
            status, reason = self.conn.recv() if self.conn.poll(seconds) else ("error", None)
        except (EOFError, OSError):
            status, reason = "error", None
        if status != "ready":
            self.kill()
            raise BackendUnavailable(reason or f"A query worker could not open {self.store} "
                                               f"(exit code {self.process.exitcode}).")
        return self

    def stopped(self) -> str:
        """Why the worker ended in the middle of a query (once its process is gone)."""
        self.process.join(1)
        code = self.process.exitcode
        return (f"A query worker stopped (exit code {code}) and has been replaced; try again. A query that needs "
                f"more than {self.memory_mb} MB of memory, or a damaged store, does this.")

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class _Vacancy:
    """A place in the pool whose worker could not start: why, on which store, and when to try again."""

    def __init__(self, store_path: str, reason: str):
        self.store = store_path
        self.reason = reason
        self.retry_at = time.monotonic() + RETRY_SECONDS

    def kill(self) -> None:
        """Nothing runs here."""


class EmbeddedBackend(Backend):
    """The built Oxigraph store on disk, queried by a pool of killable worker processes."""

    name = "embedded"

    def __init__(self, build_dir: Path, workers: int = 3, memory_mb: int | None = WORKER_MEMORY_MB):
        self.build_dir = Path(build_dir)
        self.size = workers
        self.memory_mb = memory_mb
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker | _Vacancy] = queue.Queue()
        self._store = str(current_store(self.build_dir))
        self._link: str | None = None  # where build_dir/store pointed when _store was read
        started = [_Worker(self._context, self._store, memory_mb) for _ in range(workers)]
        try:
            for worker in started:
                self._idle.put(worker.wait_ready())
        except BackendUnavailable:
            for worker in started:
                worker.kill()
            raise

    def answer(self, task: Task, timeout: float) -> Answer:
        deadline = time.monotonic() + timeout
        self._follow_rebuilds()
        worker = self._take(timeout)
        try:
            worker.conn.send(task)
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                worker = None
                raise QueryTimeout(timeout)
            status, value = worker.conn.recv()
        except (EOFError, OSError):
            reason = worker.stopped()
            crashed = worker.process.exitcode == -signal.SIGSEGV  # the parser or evaluator ran out of stack
            self._replace(worker)
            worker = None
            if crashed:
                raise QueryError(TOO_DEEP) from None
            raise BackendUnavailable(reason) from None
        finally:
            if worker is not None:
                self._idle.put(worker)
        if status == "error":
            raise value
        return value

    def _take(self, timeout: float) -> _Worker:
        """An idle worker on the current store; one on an older store, or a vacancy, is (re)started first."""
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise QueryTimeout(timeout) from None
        if isinstance(worker, _Worker) and worker.store == self._store:
            return worker
        if isinstance(worker, _Vacancy) and worker.store == self._store and time.monotonic() < worker.retry_at:
            self._idle.put(worker)
            raise BackendUnavailable(worker.reason)
        worker.kill()
        return self._start(self._store)

    def _start(self, store_path: str) -> _Worker:
        """A new worker on store_path, ready; if it cannot start, a vacancy takes its place and the reason is raised."""
        try:
            return _Worker(self._context, store_path, self.memory_mb).wait_ready()
        except BackendUnavailable as err:
            self._idle.put(_Vacancy(store_path, str(err)))
            raise

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker now; start its replacement in the background."""
        worker.kill()
        store_path = self._store

        def start():
            try:
                self._idle.put(self._start(store_path))
            except BackendUnavailable:
                pass  # a vacancy stands in; the next query that takes it says why

        threading.Thread(target=start, daemon=True).start()

    def _follow_rebuilds(self) -> None:
        """After a rebuild, workers move to the new store as they are taken (see _take)."""
        try:
            link = os.readlink(self.build_dir / "store")  # one system call; resolving the path costs ten
        except OSError:
            link = None
        if link is not None and link == self._link:
            return
        try:
            self._store = str(current_store(self.build_dir))
            self._link = link
        except StoreError:
            pass  # the link is broken: the workers keep serving the store they have open

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().kill()


def worker_count() -> int:
    """Default pool size: one per core, at least two."""
    return max(2, os.cpu_count() or 2)
