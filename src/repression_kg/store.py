"""The built dataset on disk: an Oxigraph store swapped in atomically, opened read-only by readers.

Layout of a build directory:
    store            symlink to the current store directory (replaced in one rename)
    store-<stamp>/   the Oxigraph (RocksDB) store of one build
    validation.txt   the SHACL report of the current build, as text
    validation.ttl   the same report as a SHACL results graph
    build.json       the summary of the current build

Files derived from a store at build time (the text index, ...) live inside its directory under
names starting with "kzr-" (see sidecar), so they are published and removed together with it.
"""
from __future__ import annotations

import gc
import os
import shutil
import time
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph


class StoreError(Exception):
    """The store is missing or cannot be opened."""


def current_store(build_dir: Path) -> Path:
    """The directory of the current store, or a StoreError saying how to make one."""
    link = Path(build_dir) / "store"
    if not link.exists():
        raise StoreError(f"No built store at {link}: run 'repression-kg build' first.")
    return link.resolve()


def open_read_only(build_dir: Path) -> ox.Store:
    """Open the current store read-only (many readers may do so at once)."""
    path = current_store(build_dir)
    try:
        return ox.Store.read_only(str(path))
    except OSError as err:
        raise StoreError(f"Cannot open the store at {path}: {err}. Rebuild it with 'repression-kg build'.") from None


def sidecar(store_dir: Path, name: str) -> Path:
    """The path of a file derived from the store at store_dir (RocksDB leaves such files alone)."""
    return Path(store_dir) / f"kzr-{name}"


def new_store_dir(build_dir: Path) -> Path:
    """A fresh, unused directory for the next store."""
    build_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    return build_dir / f"store-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6}"


def write_store(path: Path, graphs: dict[str, Graph]) -> int:
    """Write each rdflib graph into its named graph of a new Oxigraph store; return the quad count."""
    store = ox.Store(str(path))
    for iri, graph in graphs.items():
        data = graph.serialize(format="nt", encoding="utf-8")
        store.bulk_load(input=data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(iri)))
    store.flush()
    count = len(store)
    del store
    gc.collect()  # releases RocksDB's lock before the directory is published
    return count


def publish(build_dir: Path, new_dir: Path) -> None:
    """Point build_dir/store at new_dir in one atomic rename, then remove older stores."""
    link = build_dir / "store"
    tmp_link = build_dir / f".store-{os.getpid()}.tmp"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(new_dir.name)
    os.replace(tmp_link, link)
    for old in build_dir.glob("store-*"):
        if old.is_dir() and old.name != new_dir.name:
            shutil.rmtree(old, ignore_errors=True)


def discard(path: Path) -> None:
    """Remove an unpublished store directory."""
    shutil.rmtree(path, ignore_errors=True)
