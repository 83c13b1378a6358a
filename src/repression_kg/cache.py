"""A cache of SPARQL answers, keyed by the build they came from, so that a repeated query costs a lookup.

The key is the build (the store directory of the embedded backend, which a new build replaces;
otherwise the build time and source digest of the metadata graph), the query text, the formats
chosen for each kind of answer, the dataset (default-graph-uri, named-graph-uri) and the base
IRI. Only successful answers are kept, least recently used first out, within a budget in bytes. A new
build empties the cache. Queries whose answer may change without a new build (SERVICE calls,
NOW(), RAND(), UUID(), STRUUID()) are never cached; neither is anything when the build cannot
be told.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path

from .backend import (Answer, Backend, BackendUnavailable, EmbeddedBackend, QueryError, QueryTimeout, Task,
                      build_info)
from .sparql_text import code_only
from .store import StoreError, current_store

# Bytes counted for an entry besides its body and query text (the key tuple, the Answer object).
ENTRY_OVERHEAD = 400
# How long the build of a backend without a store directory (a remote endpoint) is trusted
# before it is asked again: a reload of the remote store shows within this many seconds.
MARKER_SECONDS = 2.0
VOLATILE = re.compile(r"\b(SERVICE|NOW|RAND|UUID|STRUUID)\b", re.I)


def cacheable(sparql: str) -> bool:
    """Whether the answer depends on the build alone (no federation, no clock, no randomness)."""
    return VOLATILE.search(code_only(sparql)) is None


class BuildMarker:
    """What identifies the build a backend serves now, or None when it cannot be told."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._lock = threading.Lock()
        self._value: str | None = None
        self._checked = float("-inf")

    def current(self) -> str | None:
        if isinstance(self.backend, EmbeddedBackend):
            return self._store_dir()
        with self._lock:  # one thread asks the endpoint; the others go on with the marker they have
            due = time.monotonic() - self._checked >= MARKER_SECONDS
            if due:
                self._checked = time.monotonic()
        if due:
            self._value = self._ask()
        return self._value

    def _store_dir(self) -> str | None:
        """The store a build published: where its symlink points (one system call, read on every query)."""
        link = Path(self.backend.build_dir) / "store"
        try:
            return os.readlink(link)
        except OSError:  # not a symlink: a store directory in place, or none
            try:
                return str(current_store(self.backend.build_dir))
            except StoreError:
                return None

    def _ask(self) -> str | None:
        try:
            info = build_info(self.backend)
        except (BackendUnavailable, QueryError, QueryTimeout, ValueError, KeyError):
            return None  # an endpoint that cannot answer now: no caching until it can
        if not info.get("time"):
            return None
        return f"{info['time']} {info.get('digest', '')}"


class ResultCache:
    """Answers by (build, query, formats, dataset, base IRI), least recently used evicted beyond max_bytes."""

    def __init__(self, backend: Backend, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self.marker = BuildMarker(backend)
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[Answer, int]] = OrderedDict()
        self._build: str | None = None
        self.bytes = 0
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def key(self, task: Task) -> tuple | None:
        """The key of a task under the current build, or None when nothing can be cached now."""
        if not self.enabled:
            return None
        build = self.marker.current()
        if build is None:
            return None
        with self._lock:
            if build != self._build:
                self._clear(build)
        return (build, task.sparql, task.results_format, task.graph_format, task.default_graphs, task.named_graphs,
                task.base_iri)

    def get(self, key: tuple | None) -> Answer | None:
        """The cached answer for a key, or None."""
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: tuple | None, answer: Answer) -> bool:
        """Keep a successful answer if its query may be cached (False if not); one larger than a quarter
        of the budget is not kept. The query text is examined here, once, not on every lookup."""
        if key is None or not cacheable(key[1]):
            return False
        size = len(answer.body) + len(key[1]) + ENTRY_OVERHEAD
        if size > self.max_bytes // 4:
            return True
        with self._lock:
            if key[0] != self._build or key in self._entries:
                return True
            self._entries[key] = (answer, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped
        return True

    def __len__(self) -> int:
        return len(self._entries)

    def _clear(self, build: str) -> None:
        self._entries.clear()
        self.bytes = 0
        self._build = build
