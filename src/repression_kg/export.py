"""Dumps of the built dataset: RDF in six formats and the CSV tables (tables.py), byte-identical for the same data.

Pure logic over a Backend (no Flask). Determinism: blank nodes are relabelled by RDFC-1.0,
statements are sorted, the prefixes are the project's, gzip carries no time stamp, and the
metadata graph (it holds the build time) is left out unless asked for. A release is the set of
files the server offers under /dumps/, written once per build into <root>/<marker>/.

Memory does not grow with the graphs (a registry of 350,000 persons adds 16 M quads): they are
read from the store as N-Triples lines, sorted in runs spilled to scratch files and merged, and
written as a stream. Only the quads with a blank node are held in memory, to be canonicalised.
"""
from __future__ import annotations

import functools
import hashlib
import heapq
import io
import json
import os
import shutil
import tempfile
import threading
import time
import zlib
from pathlib import Path

import pyoxigraph as ox

from . import store as kgstore
from .backend import Backend, EmbeddedBackend, MemoryBackend, build_info
from .formats import by_name
from .namespaces import GRAPHS, PREFIXES
from .registry import REGISTRY_GRAPH
from .tables import TABLES, csv_bytes, table
from .void import version

ROLES = ("ontology", "data", "links", "inferred", "registry", "metadata")
DEFAULT_ROLES = ROLES[:5]  # the published graphs: the default selection is those of them the store holds
GRAPH_IRIS = {**{role: str(iri) for role, iri in GRAPHS.items()}, "registry": str(REGISTRY_GRAPH)}
BASENAME = "kz-repression"
RDF_FORMATS = {"ttl": "turtle", "nt": "ntriples", "nq": "nquads", "trig": "trig", "jsonld": "jsonld", "rdfxml": "rdfxml"}
QUAD_FORMATS = ("nq", "trig")
TITLES = {"ttl": "Turtle", "nt": "N-Triples", "nq": "N-Quads",
          "trig": "TriG", "jsonld": "JSON-LD", "rdfxml": "RDF/XML"}
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
TIMEOUT = 600.0
SORT_BYTES = 64 << 20  # lines sorted in memory at once; more are spilled to scratch files and merged
BLOCK = 1 << 20


class ReleaseUnavailable(Exception):
    """No dumps can be offered for this store (no build metadata)."""


class GraphNotHeld(ValueError):
    """A graph asked for by name that the store does not hold."""


def held_roles(backend: Backend) -> tuple[str, ...]:
    """The roles whose graph holds at least one triple in the store, in their fixed order."""
    return tuple(role for role in ROLES
                 if backend.ask(f"ASK {{ GRAPH <{GRAPH_IRIS[role]}> {{ ?s ?p ?o }} }}", TIMEOUT))


def resolve_roles(names, held=DEFAULT_ROLES) -> tuple[str, ...]:
    """Graph roles in their fixed order; 'all' (the default) means every published graph the store holds."""
    wanted = set()
    for name in names or ("all",):
        wanted.update([r for r in DEFAULT_ROLES if r in held] if name == "all" else [name])
    return tuple(r for r in ROLES if r in wanted)


def file_name(kind: str, roles=None, compressed: bool = False) -> str:
    """kz-repression.ttl (the default graphs: roles None), kz-repression-data+links.nq.gz, kz-repression-persons.csv."""
    if kind in RDF_FORMATS:
        suffix = "-" + "+".join(roles) if roles else ""
        name = f"{BASENAME}{suffix}.{by_name(RDF_FORMATS[kind]).ext}"
    else:
        name = f"{BASENAME}-{kind}.csv"
    return name + (".gz" if compressed else "")


# --- Reading the graphs ---------------------------------------------------------------------

def local_store(backend: Backend) -> ox.Store | None:
    """The store itself where this process can open it (read as a stream), else None (read by CONSTRUCT)."""
    if isinstance(backend, MemoryBackend):
        return backend.store
    if isinstance(backend, EmbeddedBackend):
        return kgstore.open_read_only(backend.build_dir)
    return None


def _graph_lines(backend: Backend, store: ox.Store | None, role: str, scratch: Path):
    """The N-Triples lines of one graph, in no particular order."""
    iri = GRAPH_IRIS[role]
    if store is None:
        query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"
        body = backend.construct(query, "ntriples", TIMEOUT)
        yield from io.BytesIO(body)
        return
    part = scratch / "graph.nt"
    store.dump(str(part), format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(iri))
    with open(part, "rb") as f:
        yield from f
    part.unlink()


def _has_blank(line: bytes) -> bool:
    """Whether an N-Triples line has a blank node as its subject or object."""
    if line.startswith(b"_:"):
        return True
    _, _, rest = line.split(b" ", 2)
    return rest.startswith(b"_:")


def gather(backend: Backend, roles, scratch: Path) -> Path:
    """Every quad of the graphs as an N-Quads line in one scratch file, unsorted, blank nodes canonical (RDFC-1.0).

    A blank node's canonical label depends only on the quads that hold blank nodes, so only those are
    canonicalised (in memory); the others go straight to the file.
    """
    path, blank = scratch / "quads.nq", []
    store = local_store(backend)
    with open(path, "wb") as out:
        for role in roles:
            graph = f" <{GRAPH_IRIS[role]}> .\n".encode()
            for line in _graph_lines(backend, store, role, scratch):
                quad = line[:-3] + graph
                if b"_:" in line and _has_blank(line):
                    blank.append(quad)
                else:
                    out.write(quad)
        if blank:
            dataset = ox.Dataset(ox.parse(b"".join(blank), format=ox.RdfFormat.N_QUADS))
            dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
            ox.serialize(dataset, out, format=ox.RdfFormat.N_QUADS)
    return path


# --- Sorting --------------------------------------------------------------------------------

def sorted_lines(lines, scratch: Path):
    """The lines in byte order (as LC_ALL=C sort), each once: runs sorted in memory, spilled, merged."""
    runs, chunk, size = [], [], 0
    for line in lines:
        chunk.append(line)
        size += len(line)
        if size >= SORT_BYTES:
            runs.append(_spill(chunk, scratch))
            chunk, size = [], 0
    chunk.sort()
    if not runs:
        yield from _once(chunk)
        return
    runs.append(_spill(chunk, scratch))
    files = [open(run, "rb") for run in runs]
    try:
        yield from _once(heapq.merge(*files))
    finally:
        for f, run in zip(files, runs):
            f.close()
            os.unlink(run)


def _spill(chunk: list[bytes], scratch: Path) -> str:
    """A sorted run in a scratch file."""
    chunk.sort()
    fd, name = tempfile.mkstemp(prefix="run-", dir=scratch)
    with os.fdopen(fd, "wb") as f:
        f.writelines(chunk)
    return name


def _once(lines):
    """Sorted lines without repeats."""
    last = None
    for line in lines:
        if line != last:
            yield line
            last = line


def _parts(quad: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """Subject, predicate, object and graph of an N-Quads line (the object may hold spaces, the others not)."""
    s, p, rest = quad.split(b" ", 2)
    o, g = rest[:-3].rsplit(b" ", 1)
    return s, p, o, g


_TYPE = f"<{RDF_TYPE}>".encode()


def _keyed(quads, with_graph: bool):
    """Sort keys '[graph] subject flag predicate object': the graph, the subject, rdf:type first, predicate, object."""
    for quad in quads:
        s, p, o, g = _parts(quad)
        flag = b"0" if p == _TYPE else b"1"
        yield b" ".join((g, s, flag, p, o) if with_graph else (s, flag, p, o)) + b"\n"


def _unkeyed(keys, with_graph: bool):
    """The N-Quads (with_graph) or N-Triples lines of sorted keys."""
    for key in keys:
        if with_graph:
            g, s, _, p, o = key.split(b" ", 4)
            yield b" ".join((s, p, o[:-1], g)) + b" .\n"
        else:
            s, _, p, o = key.split(b" ", 3)
            yield b" ".join((s, p, o[:-1])) + b" .\n"


def _triple_line(quad: bytes) -> bytes:
    """The N-Triples line of an N-Quads line."""
    return quad[:-3].rsplit(b" ", 1)[0] + b" .\n"


class _Sorted:
    """The gathered quads in each order a format needs; the statement order of triples is kept for three formats."""

    def __init__(self, quads: Path, scratch: Path):
        self.quads, self.scratch, self.triples = quads, scratch, None

    def _lines(self):
        with open(self.quads, "rb") as f:
            yield from f

    def write(self, order: str, path: Path) -> None:
        """'nq': the N-Quads lines sorted; 'nt': the union's N-Triples lines sorted; 'quads' / 'triples': N-Quads /
        N-Triples lines in statement order: (graph,) subject, rdf:type first, predicate, object."""
        if order == "nq":
            lines = sorted_lines(self._lines(), self.scratch)
        elif order == "nt":
            lines = sorted_lines(map(_triple_line, self._lines()), self.scratch)
        else:
            with_graph = order == "quads"
            lines = _unkeyed(sorted_lines(_keyed(self._lines(), with_graph), self.scratch), with_graph)
        with open(path, "wb") as f:
            f.writelines(lines)

    def statements(self, order: str):
        """The quads ('quads', made for each use) or triples ('triples', made once) in statement order, as a stream."""
        if order == "quads":
            path = self.scratch / "by-graph.nq"
            self.write(order, path)
            yield from ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS)
            path.unlink()
            return
        if self.triples is None:
            self.triples = self.scratch / "by-subject.nt"
            self.write(order, self.triples)
        yield from ox.parse(path=str(self.triples), format=ox.RdfFormat.N_TRIPLES)


# --- Writing RDF ----------------------------------------------------------------------------

_SORTED_PREFIXES = dict(sorted(PREFIXES.items(), key=lambda kv: f"@prefix {kv[0]}: <{kv[1]}> ."))


class _PrefixesSorted(io.RawIOBase):
    """A writer that sorts the leading '@prefix' lines of what is written through it (Oxigraph keeps its own order)."""

    def __init__(self, out):
        self.out, self.head = out, b""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.head is None:
            return self.out.write(data)
        self.head += bytes(data)
        lines = self.head.split(b"\n")
        body = next((i for i, line in enumerate(lines[:-1]) if not line.startswith(b"@prefix ")), None)
        if body is not None:
            self.out.write(b"".join(line + b"\n" for line in sorted(lines[:body])) + b"\n".join(lines[body:]))
            self.head = None
        return len(data)

    def close(self) -> None:
        if self.head:  # nothing but prefixes
            lines = self.head.split(b"\n")
            self.out.write(b"\n".join(sorted(lines[:-1]) + lines[-1:]))
            self.head = None
        super().close()


def write_rdf(ordered: _Sorted, kind: str, path: Path) -> None:
    """One RDF format into path; triple formats hold the union of the graphs."""
    if kind in ("nq", "nt"):
        ordered.write(kind, path)
        return
    with open(path, "wb") as out:
        if kind == "jsonld":
            write_jsonld(ordered.statements("triples"), out)
        elif kind == "rdfxml":
            ox.serialize(ordered.statements("triples"), out, format=ox.RdfFormat.RDF_XML, prefixes=PREFIXES)
        else:
            statements = ordered.statements("quads" if kind in QUAD_FORMATS else "triples")
            with _PrefixesSorted(out) as head:
                ox.serialize(statements, head, format=by_name(RDF_FORMATS[kind]).oxigraph, prefixes=_SORTED_PREFIXES)


_LONGEST_FIRST = sorted(PREFIXES.items(), key=lambda kv: (-len(kv[1]), kv[0]))


@functools.lru_cache(maxsize=65536)
def _compact(iri: str) -> str:
    """An IRI as a JSON-LD compact IRI with the longest matching prefix, or the IRI."""
    for prefix, ns in _LONGEST_FIRST:
        if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns):].startswith("//"):
            return f"{prefix}:{iri[len(ns):]}"
    return iri


def _jsonld_term(term) -> dict:
    """An object of a triple as a JSON-LD value."""
    if isinstance(term, ox.NamedNode):
        return {"@id": _compact(term.value)}
    if isinstance(term, ox.BlankNode):
        return {"@id": f"_:{term.value}"}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    if term.datatype.value == XSD_STRING:
        return {"@value": term.value}
    return {"@value": term.value, "@type": _compact(term.datatype.value)}


def write_jsonld(triples, out) -> None:
    """Triples sorted by subject as one JSON-LD document: the project's prefixes as context, one node per subject.

    Written node by node, laid out as json.dumps(document, indent=1) lays it out.
    """
    head = json.dumps({"@context": dict(sorted(PREFIXES.items()))}, ensure_ascii=False, indent=1)
    out.write(head[:-2].encode("utf-8") + b',\n "@graph": [')
    written = False
    for node in _jsonld_nodes(triples):
        text = json.dumps(node, ensure_ascii=False, indent=1).replace("\n", "\n  ")
        out.write((",\n  " if written else "\n  ").encode("utf-8") + text.encode("utf-8"))
        written = True
    out.write(b"\n ]\n}\n" if written else b"]\n}\n")


def _jsonld_nodes(triples):
    """One node object per run of triples with the same subject."""
    node, key = None, None
    for t in triples:
        if str(t.subject) != key:
            if node is not None:
                yield node
            key = str(t.subject)
            node = {"@id": _jsonld_term(t.subject)["@id"]}
        if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode):
            node.setdefault("@type", []).append(_compact(t.object.value))
        else:
            node.setdefault(_compact(t.predicate.value), []).append(_jsonld_term(t.object))
    if node is not None:
        yield node


def compress_file(source: Path, target: Path) -> None:
    """gzip with no file name and time stamp 0 (as gzip.compress(data, mtime=0)): the same bytes give the same bytes."""
    packer = zlib.compressobj(level=9, wbits=31)
    with open(source, "rb") as f, open(target, "wb") as out:
        for block in iter(lambda: f.read(BLOCK), b""):
            out.write(packer.compress(block))
        out.write(packer.flush())


# --- Writing files and releases ---------------------------------------------------------------

def _entry(path: Path, **facts) -> dict:
    """A written file's entry: name, bytes, sha256 and the facts given."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            digest.update(block)
            size += len(block)
    return {"name": path.name, "bytes": size, "sha256": digest.hexdigest(), **facts}


def export(backend: Backend, out_dir: Path, kinds, roles=None, compressed: bool = False) -> list[dict]:
    """Write dumps (RDF formats and/or 'csv' for every table); an entry per file with the seconds it took.

    roles None: the default graphs, every published graph the store holds (file names without a suffix).
    Raises GraphNotHeld for a graph asked for that the store does not hold.
    """
    roles, named = _selection(backend, roles)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=out_dir) as name:
        scratch, ordered = Path(name), None
        for kind in kinds:
            for item in (TABLES if kind == "csv" else (kind,)):
                clock = time.perf_counter()
                path = out_dir / file_name(item, named, compressed)
                if kind == "csv":
                    facts = _write_table(backend, item, path, compressed)
                else:
                    ordered = ordered or _Sorted(gather(backend, roles, scratch), scratch)
                    facts = _write_dump(ordered, kind, path, compressed, scratch) | {"graphs": list(roles)}
                entries.append({**_entry(path, format=item, compressed=compressed, **facts),
                                "seconds": time.perf_counter() - clock})
    return entries


def _selection(backend: Backend, roles) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """The roles to write (None: the default) and the roles to name the files by (None for the default)."""
    held = held_roles(backend)
    default = resolve_roles((), held)
    roles = default if roles is None else tuple(roles)
    missing = [r for r in roles if r not in held]
    if missing:
        hint = " (add a registry with 'repression-kg build --add DIR')" if "registry" in missing else ""
        raise GraphNotHeld(f"the store holds no {' and no '.join(missing)} graph{hint}")
    return roles, None if roles == default else roles


def _write_table(backend: Backend, name: str, path: Path, compressed: bool) -> dict:
    """One CSV table into path; its facts."""
    data = csv_bytes(table(backend, name))
    path.write_bytes(zlib.compress(data, level=9, wbits=31) if compressed else data)  # as gzip.compress(mtime=0)
    return {"kind": "csv", "media_type": "text/csv", "title": f"{name.capitalize()} (CSV table)"}


def _write_dump(ordered: _Sorted, kind: str, path: Path, compressed: bool, scratch: Path) -> dict:
    """One RDF format into path (gzipped from a plain file in scratch where compressed); its facts."""
    plain = scratch / "plain" if compressed else path
    write_rdf(ordered, kind, plain)
    if compressed:
        compress_file(plain, path)
        plain.unlink()
    return {"kind": "rdf", "media_type": by_name(RDF_FORMATS[kind]).media_type, "title": TITLES[kind]}


def write_release(backend: Backend, out_dir: Path) -> list[dict]:
    """The files the server offers: every RDF format plain and gzipped, every CSV table, SHA256SUMS.

    With a registry, also the registry graph alone in N-Triples.
    """
    entries = export(backend, out_dir, [*RDF_FORMATS, "csv"])
    if "registry" in held_roles(backend):
        entries += export(backend, out_dir, ["nt"], ("registry",))
    for plain in [e for e in entries if e["kind"] == "rdf"]:
        clock = time.perf_counter()
        facts = {k: plain[k] for k in ("kind", "format", "media_type", "title", "graphs")}
        compress_file(out_dir / plain["name"], out_dir / (plain["name"] + ".gz"))
        packed = _entry(out_dir / (plain["name"] + ".gz"), compressed=True, **facts)
        entries.append({**packed, "seconds": time.perf_counter() - clock})
    entries = sorted((dict(e, seconds=round(e["seconds"], 3)) for e in entries), key=lambda e: e["name"])
    sums = "".join(f"{e['sha256']}  {e['name']}\n" for e in entries).encode()
    (out_dir / "SHA256SUMS").write_bytes(sums)
    return entries + [_entry(out_dir / "SHA256SUMS", kind="checksums", format="sha256", media_type="text/plain",
                             compressed=False, title="SHA-256 checksums")]


_lock = threading.Lock()


def ensure_release(backend: Backend, root: Path) -> dict:
    """The release of the store's current build under root, written on first use; its manifest."""
    info = build_info(backend)
    if not info.get("time") or not info.get("digest"):
        raise ReleaseUnavailable("The store carries no build metadata (build time and source digest), "
                                 "so no dumps can be tied to it: build it with 'repression-kg build'.")
    marker = time.strftime("%Y%m%dT%H%M%SZ", time.strptime(info["time"][:19], "%Y-%m-%dT%H:%M:%S"))
    marker += "-" + info["digest"].split(":")[-1][:12]
    final = Path(root) / marker
    with _lock:
        if not (final / "manifest.json").exists():
            tmp = Path(root) / f".tmp-{marker}-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            manifest = {"marker": marker, "version": version(info), "build_time": info["time"],
                        "source_digest": info["digest"], "graphs": list(resolve_roles((), held_roles(backend))),
                        "files": write_release(backend, tmp)}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            try:
                os.rename(tmp, final)
            except OSError:  # another process published the same release first
                shutil.rmtree(tmp, ignore_errors=True)
            _prune(Path(root), marker)
    return {**json.loads((final / "manifest.json").read_text(encoding="utf-8")), "dir": str(final)}


def _prune(root: Path, keep: str) -> None:
    """Remove the releases of earlier builds."""
    for old in root.iterdir():
        if old.name != keep and not old.name.startswith(".") and (old / "manifest.json").exists():
            shutil.rmtree(old, ignore_errors=True)
