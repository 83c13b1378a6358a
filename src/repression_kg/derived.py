"""Files derived from a built store (the text index, the facet tables): written at build time, opened per store.

A derived file is a SQLite database written into the new store's directory (store.sidecar)
after the store is written and before it is published, so it is published and removed with its
store. The web app opens the file of the store it serves, read-only, and follows rebuilds. Where
there is no such file (an in-memory store in tests, a remote --endpoint, a store built before the
file existed, a BASE_IRI other than the data's) it builds one from the backend into a temporary
file, once per build (the metadata graph's build time).
"""
from __future__ import annotations

import gc
import os
import queue
import sqlite3
import tempfile
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pyoxigraph as ox

from .backend import build_info
from .namespaces import ID
from .store import StoreError, current_store, open_store, sidecar

# select(sparql, names) -> the rows of a SELECT query: the values of the named variables (None: unbound).
Select = Callable[[str, tuple[str, ...]], Iterator[tuple]]
LOAD_TIMEOUT = 900.0  # seconds a backend may take to hand over all labels or facet values


def store_select(store: ox.Store) -> Select:
    """Rows of a SELECT query on a pyoxigraph store (the union of its graphs as default graph)."""
    def select(sparql: str, names: tuple[str, ...]) -> Iterator[tuple]:
        for solution in store.query(sparql, use_default_graph_as_union=True):
            yield tuple([None if (term := solution[name]) is None else term.value for name in names])
    return select


def backend_select(backend) -> Select:
    """Rows of a SELECT query through a backend (SPARQL JSON results)."""
    def select(sparql: str, names: tuple[str, ...]) -> Iterator[tuple]:
        for row in backend.select(sparql, timeout=LOAD_TIMEOUT):
            yield tuple(row[name]["value"] if name in row else None for name in names)
    return select


def write_derived(store_dir: Path) -> dict:
    """Write the text index and the facet tables of the store at store_dir into it; return their figures."""
    from . import facets, textsearch  # they import this module

    store = open_store(store_dir)
    select = store_select(store)
    figures = {}
    for name, write in (("search.sqlite", textsearch.write_index), ("facets.sqlite", facets.write_facets)):
        start = time.perf_counter()
        path = sidecar(store_dir, name)
        try:
            figures[name] = {**write(select, path, ID), "seconds": round(time.perf_counter() - start, 2),
                             "bytes": path.stat().st_size}
        except (sqlite3.Error, OSError) as err:  # a full disk, a read-only file system
            raise StoreError(f"Cannot write {path}: {err}.") from None
    del store, select
    gc.collect()  # releases the store's files before the directory is published
    return figures


class Database:
    """A SQLite file opened read-only, one connection per thread; a temporary file is removed with this object."""

    def __init__(self, path: Path, temporary: bool = False):
        self.path = Path(path)
        self._uri = self.path.resolve().as_uri() + "?mode=ro&immutable=1"
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        with self.connect() as db:  # fails now, not at the first request, if the file is not a database
            db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        if temporary:
            weakref.finalize(self, _remove, str(self.path))

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection for the duration of a block."""
        try:
            db = self._pool.get_nowait()
        except queue.Empty:
            db = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
        try:
            yield db
        finally:
            self._pool.put(db)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def temporary_path(name: str) -> Path:
    """A new, empty path in the temporary directory for a derived file (its name holds this process's id)."""
    _remove_orphans()
    handle, path = tempfile.mkstemp(prefix=f"kzr-{os.getpid()}-", suffix="-" + name)
    os.close(handle)
    os.unlink(path)
    return Path(path)


def _remove_orphans() -> None:
    """Remove derived files left by servers that were killed (a finaliser does not run after SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob("kzr-*-*.sqlite"):
        pid = path.name.split("-")[1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            _remove(str(path))
        except PermissionError:
            pass  # alive, another user's


class PerBuild:
    """One opened derived file per backend and build: the store's own file, or one built from the backend."""

    def __init__(self, name: str, write: Callable[[Select, Path, str], dict], open_: Callable[[Path, bool], object]):
        self.name, self._write, self._open = name, write, open_
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._value = None

    def get(self, backend, namespace: str):
        """The opened file for the build the backend serves now."""
        key = self._key_of(backend, namespace)
        with self._lock:
            if self._value is None or key != self._key:
                self._value, self._key = None, None  # a temporary file of the old build goes now
                self._value, self._key = self._load(backend, namespace, key), key
            return self._value

    def _key_of(self, backend, namespace: str) -> tuple:
        """The embedded store's directory (cheap: a symlink); otherwise the build time the backend reports."""
        build_dir = getattr(backend, "build_dir", None)
        if build_dir is not None:
            return backend, namespace, current_store(build_dir)
        return backend, namespace, build_info(backend).get("time")

    def _load(self, backend, namespace: str, key: tuple):
        """The store's sidecar when it serves this namespace; else a file built from the backend."""
        if isinstance(key[2], Path) and namespace == ID:
            path = sidecar(key[2], self.name)
            if path.exists():
                return self._open(path, False)
        path = temporary_path(self.name)
        try:
            self._write(backend_select(backend), path, namespace)
        except BaseException:
            _remove(str(path))
            raise
        return self._open(path, True)
