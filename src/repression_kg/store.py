"""The built dataset on disk: an Oxigraph store swapped in atomically, opened read-only by readers.

Layout of a build directory:
    store            symlink to the current store directory (replaced in one rename)
    store.previous   symlink to the store it replaced, kept so that queries still running on it can end
    store-<stamp>/   the Oxigraph (RocksDB) store of one build; any but those two is a leftover
    .build.lock      locked (flock) by the build writing a store, and holding its pid
    validation.txt   the SHACL report of the current build, as text
    validation.ttl   the same report as a SHACL results graph
    build.json       the summary of the current build

A build takes the lock before it makes its store directory and lets go after publishing it (or
when it dies: the kernel releases the lock of a killed process). Holding the lock, it removes
what killed builds left behind: unpublished store-* directories and half-made links.

Files derived from a store at build time (the text index, ...) live inside its directory under
names starting with "kzr-" (see sidecar), so they are published and removed together with it.
"""
from __future__ import annotations

import fcntl
import gc
import os
import shutil
import time
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

LOCK = ".build.lock"
PREVIOUS = "store.previous"

_locks: dict[Path, int] = {}  # build directories whose lock this process holds: the lock file's descriptor


class StoreError(Exception):
    """The store is missing, cannot be opened or written, or another build is writing it."""


def rebuild_hint(build_dir: Path) -> str:
    """The command that makes a new store in build_dir."""
    return f"Rebuild it with 'repression-kg build --build-dir {build_dir}'."


def current_store(build_dir: Path) -> Path:
    """The directory of the current store, or a StoreError saying what is wrong and how to make one."""
    link = Path(build_dir) / "store"
    if link.is_symlink() and not link.exists():
        raise StoreError(f"The store link {link} points to {os.readlink(link)}, which does not exist. "
                         + rebuild_hint(build_dir))
    if not link.exists():
        raise StoreError(f"No built store at {link}: run 'repression-kg build --build-dir {build_dir}' first.")
    path = link.resolve()
    if not path.is_dir():
        raise StoreError(f"The store at {path} is not a directory. " + rebuild_hint(build_dir))
    return path


def open_store(path: Path) -> ox.Store:
    """Open the store directory at path read-only, or raise a StoreError naming it and the rebuild command."""
    try:
        return ox.Store.read_only(str(path))
    except (OSError, RuntimeError) as err:  # RocksDB reports damage (a truncated or garbled file) as RuntimeError
        message = " ".join(str(err).split()).rstrip(".")
        raise StoreError(f"Cannot open the store at {path}: {message}. {rebuild_hint(Path(path).parent)}") from None


def open_read_only(build_dir: Path) -> ox.Store:
    """Open the current store read-only (many readers may do so at once)."""
    return open_store(current_store(build_dir))


def sidecar(store_dir: Path, name: str) -> Path:
    """The path of a file derived from the store at store_dir (RocksDB leaves such files alone)."""
    return Path(store_dir) / f"kzr-{name}"


def new_store_dir(build_dir: Path) -> Path:
    """A fresh, unused directory for the next store; takes the build lock and clears what killed builds left."""
    build_dir.mkdir(parents=True, exist_ok=True)
    lock_build(build_dir)
    link = build_dir / "store"
    if link.is_dir() and not link.is_symlink():
        unlock_build(build_dir)
        raise StoreError(f"{link} is a directory, not the link a build makes (a store copied without symlinks?): "
                         "move it away and build again.")
    clear_leftovers(build_dir)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    return build_dir / f"store-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6}"


def write_store(path: Path, graphs: dict[str, Graph]) -> int:
    """Write each rdflib graph into its named graph of a new Oxigraph store; return the quad count."""
    try:
        store = ox.Store(str(path))
        for iri, graph in graphs.items():
            data = graph.serialize(format="nt", encoding="utf-8")
            store.bulk_load(input=data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(iri)))
        store.flush()
        count = len(store)
    except (OSError, RuntimeError) as err:  # a full disk, a file size limit, a read-only file system
        raise StoreError(f"Cannot write the store at {path}: {' '.join(str(err).split()).rstrip('.')}.") from None
    del store
    gc.collect()  # releases RocksDB's lock before the directory is published
    return count


def optimize(path: Path) -> None:
    """Compact a written store: several bulk loads leave it in many files, which slows every scan."""
    try:
        store = ox.Store(str(path))
        store.optimize()
    except (OSError, RuntimeError) as err:
        raise StoreError(f"Cannot write the store at {path}: {' '.join(str(err).split()).rstrip('.')}.") from None
    del store
    gc.collect()  # releases RocksDB's lock


def publish(build_dir: Path, new_dir: Path) -> None:
    """Point build_dir/store at new_dir in one atomic rename, keep the store it replaces, remove older ones."""
    old = _target(build_dir / "store")
    if old and old != new_dir.name and (build_dir / old).is_dir():
        _point(build_dir, PREVIOUS, old)
    _point(build_dir, "store", new_dir.name)
    clear_leftovers(build_dir)
    unlock_build(build_dir)


def discard(path: Path) -> None:
    """Remove an unpublished store directory and let go of the build lock."""
    shutil.rmtree(path, ignore_errors=True)
    unlock_build(Path(path).parent)


def clear_leftovers(build_dir: Path) -> None:
    """Remove store directories other than the current and the previous one, and half-made links.

    Only under the build lock: a store directory that no link names is then one a killed build left.
    """
    keep = {_target(build_dir / "store"), _target(build_dir / PREVIOUS)}
    for path in build_dir.glob(".*.tmp"):
        if path.is_symlink():
            path.unlink()
    for path in build_dir.glob("store-*"):
        if path.name not in keep and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def lock_build(build_dir: Path) -> None:
    """Take the build lock of build_dir for this process, or raise a StoreError naming the build holding it."""
    key = Path(build_dir).resolve()
    if key in _locks:
        return
    fd = os.open(key / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise StoreError(f"Another build (pid {holder}) is writing into {build_dir}; "
                         "wait for it to end, then build again.") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:  # a full disk: the lock holds without the pid
        pass
    _locks[key] = fd


def unlock_build(build_dir: Path) -> None:
    """Let go of the build lock of build_dir if this process holds it."""
    fd = _locks.pop(Path(build_dir).resolve(), None)
    if fd is not None:
        os.ftruncate(fd, 0)  # no pid: nobody holds it
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _target(link: Path) -> str | None:
    """The name of the store directory a link points to (None if it is not a link)."""
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _point(build_dir: Path, name: str, target: str) -> None:
    """Point the link build_dir/name at target in one atomic rename."""
    tmp = build_dir / f".{name}-{os.getpid()}.tmp"
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, build_dir / name)
