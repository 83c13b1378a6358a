"""Registries added to a build (--add DIR): checked in batches with pySHACL, bulk-loaded, typed by SPARQL.

A registry directory holds N-Triples files and a registry.json manifest (repression-kg synth writes
one): {"name": slug, "vocabulary": [files], "records": [files], "synthetic": bool, ...}. The
vocabulary (its source, its concept schemes) is checked whole; the record files are checked in
batches cut at blank lines, so one record's block (its person, record, repression, rehabilitation
and citation) must stand between blank lines. Each batch is self-contained: it gets the types of
the core's and the vocabulary's things it refers to, so that sh:class checks work.

All shapes run through pySHACL except shape:Identifiers, whose two whole-graph SPARQL queries
rdflib answers at ~40 persons/s: its regular expression and messages are read from the shapes
and applied in Python, block by block (Checker._block_rules). A registry's blocks are
self-contained: an IRI a block uses is described in that block, in the vocabulary or in the core.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD

from .load import SourceError, Sources
from .namespaces import GRAPH, GRAPHS, ID, KZR, ONTOLOGY, curie
from .validate import Report, Violation

REGISTRY_GRAPH = URIRef(GRAPH + "registry")
SYNTHETIC_DATA = "http://publications.europa.eu/resource/authority/dataset-type/SYNTHETIC_DATA"
SHAPES = "https://w3id.org/kz-repression/shapes#"
IDENTIFIERS = URIRef(SHAPES + "Identifiers")
BATCH_BYTES = 12 << 20  # about 2,000 persons of repression-kg synth
MAX_BLOCK = 64 << 20
MAX_LISTED = 100
BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
RECORD_LINE = re.compile(
    rb"^<([^>]+)> <http://www\.w3\.org/1999/02/22-rdf-syntax-ns#type> <" + re.escape(str(KZR).encode())
    + rb"PersonRecord> \.", re.M)
XSD_STRING = str(XSD.string)


@dataclass
class Registry:
    """One registry directory: its manifest and its files."""

    path: Path
    name: str
    manifest: dict
    vocabulary: list[Path]
    records: list[Path]
    triples: int = 0
    records_count: int = 0
    digest: "hashlib._Hash" = field(default_factory=hashlib.sha256)  # of the files, as they are read

    @property
    def files(self) -> list[Path]:
        return self.vocabulary + self.records


@dataclass(frozen=True)
class RecordViolation(Violation):
    """A violation in a registry: the file and line, and the record it belongs to."""

    line: int = 0
    record: str = ""

    def __str__(self) -> str:
        detail = f" [{curie(self.path)}]" if self.path else ""
        value = f" (value: {self.value})" if self.value and self.value != self.focus else ""
        rule = curie(self.shape) if self.shape.startswith("http") else self.shape
        where = f"{self.file}:{self.line}" if self.line else self.file
        record = f" record <{self.record}>:" if self.record else ""
        return f"{where}:{record} <{self.focus}>{detail}: {self.message}{value} (rule {rule})"


@dataclass
class Batch:
    """What checking one batch found."""

    records: int = 0
    triples: int = 0
    subjects: list[str] = field(default_factory=list)
    violations: list[RecordViolation] = field(default_factory=list)


# --- Opening a registry ------------------------------------------------------------------------

def open_registry(path: Path) -> Registry:
    """Read a registry directory's manifest, or raise a SourceError naming what is wrong."""
    path = Path(path).resolve()
    manifest_path = path / "registry.json"
    if not manifest_path.is_file():
        raise SourceError(manifest_path, None, "no registry manifest: make a registry with 'repression-kg synth', "
                          "or write a registry.json with its name and its vocabulary and records files")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SourceError(manifest_path, err.lineno, f"not valid JSON: {err.msg}") from None
    name = manifest.get("name") if isinstance(manifest, dict) else None
    if not isinstance(name, str) or not SLUG.match(name):
        raise SourceError(manifest_path, None, "the manifest needs a \"name\": lower-case letters, digits and hyphens")
    files = {}
    for key in ("vocabulary", "records"):
        listed = manifest.get(key, [])
        if not isinstance(listed, list) or not all(isinstance(f, str) for f in listed):
            raise SourceError(manifest_path, None, f"\"{key}\" must be a list of file names")
        files[key] = [path / f for f in listed]
        for file in files[key]:
            if not file.is_file():
                raise SourceError(file, None, f"file not found (listed in {manifest_path.name} under \"{key}\")")
    if not files["records"]:
        raise SourceError(manifest_path, None, "the manifest lists no \"records\" files")
    return Registry(path, name, manifest, files["vocabulary"], files["records"])


def open_registries(paths) -> list[Registry]:
    """Open every registry; two registries of one name would merge their records, so that is an error."""
    registries = [open_registry(p) for p in paths]
    seen = {}
    for registry in registries:
        if registry.name in seen:
            raise SourceError(registry.path / "registry.json", None,
                              f"a registry named {registry.name!r} is already added from {seen[registry.name]}")
        seen[registry.name] = registry.path
    return registries


# --- The rules as a worker needs them --------------------------------------------------------

@dataclass
class Rules:
    """The shapes and ontology for pySHACL, shape:Identifiers for Python, and the core's things."""

    shapes_nt: bytes
    shapes_prefixes: list[tuple[str, str]]  # the SPARQL rules use them: pySHACL takes the data graph's
    ontology_nt: bytes
    iri_pattern: str
    iri_message: str
    dangling_message: str
    context: dict[str, tuple[str, ...]]
    core_subjects: frozenset[str]


def rules_for(sources: Sources) -> Rules:
    """The rules for registry batches, from the build's own shapes, ontology and data."""
    pattern = iri_message = dangling_message = None
    for constraint in sources.shapes.objects(IDENTIFIERS, SH.sparql):
        select = str(sources.shapes.value(constraint, SH.select))
        message = str(sources.shapes.value(constraint, SH.message))
        found = re.search(r'REGEX\(STR\(\?value\), "([^"]+)"\)', select)
        if found:
            pattern, iri_message = found.group(1).replace("\\\\", "\\"), message
        elif "NOT EXISTS" in select:
            dangling_message = message
    if not (pattern and iri_message and dangling_message):
        raise SourceError(sources.root / "ontology" / "shapes.ttl", None,
                          "shape:Identifiers no longer has its two SPARQL rules; update repression_kg/registry.py to match")
    shapes = Graph()
    for triple in sources.shapes:
        shapes.add(triple)
    for constraint in list(shapes.objects(IDENTIFIERS, SH.sparql)):
        shapes.remove((constraint, None, None))
    shapes.remove((IDENTIFIERS, None, None))
    core = sources.data + sources.links
    context: dict[str, tuple[str, ...]] = {}
    for s, o in core.subject_objects(RDF.type):
        if isinstance(s, URIRef):
            context[str(s)] = context.get(str(s), ()) + (str(o),)
    subjects = frozenset(str(s) for s in core.subjects() if isinstance(s, URIRef))
    prefixes = [(prefix, str(ns)) for prefix, ns in sources.shapes.namespaces()]
    return Rules(shapes.serialize(format="nt", encoding="utf-8"), prefixes,
                 sources.ontology.serialize(format="nt", encoding="utf-8"),
                 pattern, iri_message, dangling_message, context, subjects)


class Checker:
    """Checks batches against the rules (one per worker process)."""

    def __init__(self, rules: Rules):
        self.rules = rules
        self.shapes = Graph().parse(data=rules.shapes_nt, format="nt")
        self.ontology = Graph().parse(data=rules.ontology_nt, format="nt")
        self.iri_pattern = re.compile(rules.iri_pattern)
        self.context = {URIRef(k): tuple(URIRef(t) for t in v) for k, v in rules.context.items()}
        self.known = {URIRef(k) for k in rules.core_subjects}

    def add_context(self, types: dict[str, tuple[str, ...]]) -> None:
        """Things a registry's vocabulary describes, which its records refer to."""
        for iri, found in types.items():
            self.context[URIRef(iri)] = tuple(URIRef(t) for t in found)
            self.known.add(URIRef(iri))

    def check(self, path: str, first_line: int, data: bytes) -> Batch:
        """Parse and validate one batch of blocks starting at first_line of path."""
        from pyshacl import validate as shacl_validate

        graph, batch, blocks, subject_block, cache = Graph(), Batch(), [], {}, {}
        for prefix, ns in self.rules.shapes_prefixes:
            graph.bind(prefix, ns, override=True, replace=True)
        position, line = 0, first_line
        for start, end in _block_spans(data):
            line += data.count(b"\n", position, start)
            position = start
            block = data[start:end]
            record = RECORD_LINE.search(block)
            blocks.append((line, block, record.group(1).decode() if record else ""))
            triples = list(_parse(path, line, block, cache))
            batch.violations += self._block_rules(path, blocks, subject_block, triples)
            for triple in triples:
                graph.add(triple)
            batch.triples += len(triples)
            batch.records += 1 if record else 0
        batch.subjects = [str(s) for s in subject_block]
        context_nodes = self._add_context(graph, subject_block)
        _, results, _ = shacl_validate(graph, shacl_graph=self.shapes, ont_graph=self.ontology, inference="none",
                                       advanced=True, allow_warnings=True, inplace=True)
        found = [v for v in _violations(results, path) if v.focus not in context_nodes]
        batch.violations += [self._place(path, blocks, subject_block, URIRef(v.focus), v) for v in found]
        return batch

    def _block_rules(self, path: str, blocks: list, subject_block: dict, triples: list) -> list[RecordViolation]:
        """shape:Identifiers for one block, and a registry's own rules: blocks apart, the core untouched."""
        index, found = len(blocks) - 1, []
        described = {s for s, p, _ in triples if p != RDF.type}
        rule = str(IDENTIFIERS)
        for s, p, o in triples:
            if isinstance(s, URIRef) and subject_block.setdefault(s, index) != index:
                found.append(self._at(path, blocks, index, s, RecordViolation(
                    path, str(s), "registry-block", "", "", f"is described in two blocks (from line "
                    f"{blocks[subject_block[s]][0]} and from line {blocks[index][0]}): one block per record")))
            for node in (s, o):
                if isinstance(node, URIRef) and node.startswith(ID) and not self.iri_pattern.match(node):
                    found.append(self._at(path, blocks, index, node, RecordViolation(
                        path, str(node), rule, "", str(node), self.rules.iri_message.replace("{?value}", str(node)))))
            if (isinstance(o, URIRef) and o.startswith(ID) and s.startswith(ID)
                    and o not in described and o not in self.known):
                found.append(self._at(path, blocks, index, o, RecordViolation(
                    path, str(o), rule, "", str(o), self.rules.dangling_message.replace("{?value}", str(o))
                    + " (a registry's block is self-contained: what it uses is described in the block, "
                    "in the registry's vocabulary or in the core)")))
        for s in {s for s, _, _ in triples}:
            if isinstance(s, URIRef) and str(s) in self.rules.core_subjects:
                found.append(self._at(path, blocks, index, s, RecordViolation(
                    path, str(s), "registry-core", "", "", "is a thing of the core dataset: a registry may refer to it, "
                    "never describe it (its records are linked to the core, never merged into it)")))
        return found

    def _add_context(self, graph: Graph, described: dict) -> set[str]:
        """Add the types of the core's and the vocabulary's things the batch refers to; return them."""
        added = set()
        for o in set(graph.objects()):
            if isinstance(o, URIRef) and o not in described and o in self.context:
                for t in self.context[o]:
                    graph.add((o, RDF.type, t))
                added.add(str(o))
        return added

    def _place(self, path: str, blocks: list, subject_block: dict, node: URIRef, v: RecordViolation) -> RecordViolation:
        """The violation with its line and record: where its focus is described, or else first used."""
        index = subject_block.get(node)
        if index is None:
            needle = f" <{node}> .".encode()
            index = next((i for i, (_, text, _) in enumerate(blocks) if needle in text), 0)
        return self._at(path, blocks, index, node, v)

    @staticmethod
    def _at(path: str, blocks: list, index: int, node, v: RecordViolation) -> RecordViolation:
        """The violation placed in block index, at the line of the offending triple if it can be told, and its record."""
        if not blocks:
            return v
        line, text, record = blocks[index]
        at = -1
        if v.path:
            statement = f"<{node}> <{v.path}> ".encode()
            at = next((m.start() for m in re.finditer(re.escape(statement), text)
                       if v.value.encode() in text[m.start():text.find(b"\n", m.start())]), text.find(statement))
        if at < 0:
            at = text.find(f"<{node}>".encode())
        line += text.count(b"\n", 0, at) if at > 0 else 0
        return RecordViolation(path, v.focus, v.shape, v.path, v.value, v.message, line, record)


def _block_spans(data: bytes):
    """(start, end) of each block of lines between blank lines."""
    start = 0
    for gap in BLANK_LINE.finditer(data):
        if data[start:gap.start()].strip():
            yield start, gap.start() + 1
        start = gap.end()
    if data[start:].strip():
        yield start, len(data)


def _parse(path: str, first_line: int, block: bytes, cache: dict):
    """The triples of one block as rdflib terms; a syntax error names the file and line."""
    def term(node):
        found = cache.get(node)
        if found is None:
            if isinstance(node, ox.NamedNode):
                found = URIRef(node.value)
            elif isinstance(node, ox.BlankNode):
                found = BNode(node.value)
            elif node.language:
                found = Literal(node.value, lang=node.language)
            else:
                datatype = node.datatype.value
                found = Literal(node.value) if datatype == XSD_STRING else Literal(node.value, datatype=URIRef(datatype))
            cache[node] = found
        return found

    try:
        for triple in ox.parse(input=block, format=ox.RdfFormat.N_TRIPLES):
            yield term(triple.subject), term(triple.predicate), term(triple.object)
    except SyntaxError as err:
        message = re.sub(r"^Parser error (at|between) line \d+ column \d+( and line \d+ column \d+)?: ", "", err.msg)
        raise SourceError(Path(path), first_line + (err.lineno or 1) - 1,
                          f"N-Triples syntax error at column {err.offset}: {message}") from None


def _violations(results: Graph, path: str) -> list[RecordViolation]:
    """The violations of a pySHACL results graph (a whole-graph rule names its culprit as the focus)."""
    found = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus, value = results.value(result, SH.focusNode), results.value(result, SH.value)
        if focus == ONTOLOGY and value is not None:
            focus = value
        shape, result_path = results.value(result, SH.sourceShape), results.value(result, SH.resultPath)
        message = results.value(result, SH.resultMessage)
        found.append(RecordViolation(
            path, str(focus), str(shape) if isinstance(shape, URIRef) else "",
            str(result_path) if isinstance(result_path, URIRef) else "",
            str(value) if value is not None else "", str(message) if message else "violation"))
    return found


# --- Checking registries ------------------------------------------------------------------------

_checker: Checker | None = None


def _init_worker(rules: Rules, vocabulary_types: dict) -> None:
    global _checker
    _checker = Checker(rules)
    _checker.add_context(vocabulary_types)


def _check_in_worker(path: str, first_line: int, data: bytes):
    """A checked batch, or (line, message) of a syntax error (SourceError does not pickle)."""
    try:
        return _checker.check(path, first_line, data)
    except SourceError as err:
        return err.line, str(err).removeprefix(f"{err.path}:{err.line}: ")


def check(registries: list[Registry], sources: Sources, quiet: bool = False, workers: int | None = None,
          batch_bytes: int = BATCH_BYTES) -> None:
    """Check every registry, or raise SourceError (cannot read) or RegistryViolations (does not conform)."""
    from tqdm import tqdm

    rules = rules_for(sources)
    checker = Checker(rules)
    seen: set[int] = set()
    for registry in registries:
        vocabulary_types = {}
        for path in registry.vocabulary:
            data = path.read_bytes()
            registry.digest.update(data)
            batch = checker.check(str(path), 1, data)
            _claim(seen, batch, registry, path)
            _fail_on(batch, registry)
            registry.triples += batch.triples
            types = _types_of(path)
            checker.add_context(types)
            vocabulary_types |= types
        total = sum(p.stat().st_size for p in registry.records)
        bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"checking registry {registry.name}",
                   disable=quiet or not sys.stderr.isatty(), file=sys.stderr)
        with bar:
            if total <= batch_bytes or (workers or os.cpu_count() or 1) < 2:
                for path, first_line, data in _batches(registry, batch_bytes):
                    _take(checker.check(str(path), first_line, data), registry, seen, path, len(data), bar)
            else:
                _check_in_pool(registry, rules, vocabulary_types, seen, bar, workers or os.cpu_count(), batch_bytes)


def _check_in_pool(registry, rules, vocabulary_types, seen, bar, workers, batch_bytes) -> None:
    """Check the record files with a pool of processes, a few batches in flight, in file order."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    pool = context.Pool(workers, _init_worker, (rules, vocabulary_types))
    pending: deque = deque()
    try:
        for path, first_line, data in _batches(registry, batch_bytes):
            pending.append((path, len(data), pool.apply_async(_check_in_worker, (str(path), first_line, data))))
            if len(pending) > 2 * workers:
                _collect(pending.popleft(), registry, seen, bar)
        while pending:
            _collect(pending.popleft(), registry, seen, bar)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _collect(item, registry, seen, bar) -> None:
    path, size, result = item
    batch = result.get()
    if isinstance(batch, tuple):
        raise SourceError(path, *batch)
    _take(batch, registry, seen, path, size, bar)


def _take(batch: Batch, registry: Registry, seen: set, path: Path, size: int, bar) -> None:
    """Count a checked batch, or fail the build on its violations."""
    _claim(seen, batch, registry, path)
    _fail_on(batch, registry)
    registry.triples += batch.triples
    registry.records_count += batch.records
    bar.update(size)
    bar.set_postfix(records=registry.records_count, refresh=False)


def _claim(seen: set, batch: Batch, registry: Registry, path: Path) -> None:
    """Every subject is described in one place only, across batches and registries."""
    for iri in batch.subjects:
        key = hash(iri)
        if key in seen:
            batch.violations.append(RecordViolation(
                str(path), iri, "registry-record", "", "", "is described again here, after an earlier batch or "
                "registry described it: records are linked, never merged"))
        seen.add(key)


class RegistryViolations(Exception):
    """A registry does not conform: the build fails and the previous store is untouched."""

    def __init__(self, message: str, report: Report):
        super().__init__(message)
        self.report = report


def _fail_on(batch: Batch, registry: Registry) -> None:
    if not batch.violations:
        return
    violations = sorted(set(batch.violations), key=lambda v: (v.file, v.line, v.focus, v.shape))
    shown = violations[:MAX_LISTED]
    more = f"; the first {MAX_LISTED} are listed" if len(violations) > MAX_LISTED else ""
    raise RegistryViolations(
        f"Registry {registry.name!r} ({registry.path}) does not conform: {len(violations)} violation(s) in the first "
        f"batch with any{more}. The build stopped there; the previous store is unchanged.", Report(violations=shown))


def _batches(registry: Registry, batch_bytes: int):
    """(path, first line, bytes) of batches of whole blocks of the record files, cut at blank lines."""
    for path in registry.records:
        line, rest = 1, b""
        with open(path, "rb") as f:
            while True:
                chunk = f.read(batch_bytes)
                registry.digest.update(chunk)
                data = rest + chunk
                if not chunk:
                    if data.strip():
                        yield path, line, data
                    break
                cut = _last_gap(data)
                if cut is None:
                    if len(data) > MAX_BLOCK:
                        raise SourceError(path, line, f"more than {MAX_BLOCK >> 20} MB without a blank line: "
                                          "separate the records' blocks with blank lines")
                    rest = data
                    continue
                yield path, line, data[:cut]
                line += data.count(b"\n", 0, cut)
                rest = data[cut:]


def _last_gap(data: bytes) -> int | None:
    """The end of the last blank line in data, or None."""
    at = data.rfind(b"\n\n")
    at_crlf = data.rfind(b"\n\r\n")
    if at < 0 and at_crlf < 0:
        return None
    return max(at + 2 if at >= 0 else -1, at_crlf + 3 if at_crlf >= 0 else -1)


def _types_of(path: Path) -> dict[str, tuple[str, ...]]:
    """The rdf:type values of each IRI a file describes."""
    types: dict[str, tuple[str, ...]] = {}
    for triple in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES):
        if triple.predicate.value == str(RDF.type) and isinstance(triple.subject, ox.NamedNode):
            types[triple.subject.value] = types.get(triple.subject.value, ()) + (triple.object.value,)
    return types


# --- Loading ---------------------------------------------------------------------------------

# The defined classes, each "a thing that is the object of P" (for kzr:RepressiveBody, of a
# repression's P): P's domain and range give the rest of the class's definition.
INFER_DEFINED = {
    "RepressedPerson": "victim", "RehabilitatedPerson": "rehabilitatedPerson", "RepressiveBody": "actingBody",
    "Informer": "denouncer", "DepositedFondArchive": "heldBy",
}


def load(store_dir: Path, registries: list[Registry], quiet: bool = False, infer: bool = True) -> dict:
    """Bulk-load the registries into the registry graph of the store at store_dir, add their inferred types.

    infer=False (build --no-reason) leaves the registry without inferred types, as the core.

    Returns the triple counts (registry, inferred added) and the timings.
    """
    from .store import StoreError

    def say(text: str) -> None:
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    started = time.perf_counter()
    try:
        store = ox.Store(str(store_dir))
        target = ox.NamedNode(str(REGISTRY_GRAPH))
        for registry in registries:
            for path in registry.files:
                say(f"loading {path} into the registry graph")
                store.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES, to_graph=target)
        loaded = time.perf_counter()
        inferred = 0
        if infer:
            say("deriving the registry's inferred types (SPARQL)")
            inferred = infer_types(store, Path(store_dir))  # its scratch file goes with the store if the build dies
        counts = {"registry": _count(store, REGISTRY_GRAPH), "inferred": _count(store, GRAPHS["inferred"])}
        describe(store, registries, counts)
        counts["metadata"] = _count(store, GRAPHS["metadata"])
        store.flush()
        del store
    except (OSError, RuntimeError) as err:
        raise StoreError(f"Cannot write the store at {store_dir}: {' '.join(str(err).split()).rstrip('.')}") from None
    import gc

    gc.collect()  # releases RocksDB's lock
    done = time.perf_counter()
    return {"counts": counts, "inferred_added": inferred,
            "timings": {"registry-load": loaded - started, "registry-infer": done - loaded}}


def infer_types(store: ox.Store, scratch: Path) -> int:
    """Derive for the registry what HermiT derives for the core; load it into the inferred graph.

    HermiT cannot take hundreds of thousands of individuals. For a registry its work comes down
    to two rules, run as SPARQL CONSTRUCT: every named superclass of each asserted type, and the
    defined classes (a person with a repression is a kzr:RepressedPerson, ...).
    """
    queries = [_superclass_query(store)] + [_defined_query(store, cls, prop) for cls, prop in INFER_DEFINED.items()]
    fd, name = tempfile.mkstemp(prefix=".kzr-registry-inferred-", suffix=".nt", dir=scratch)
    os.close(fd)
    try:
        with open(name, "wb") as out:
            for query in queries:
                ox.serialize(store.query(query), out, format=ox.RdfFormat.N_TRIPLES)
        store.bulk_load(path=name, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(GRAPHS["inferred"])))
        with open(name, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
    finally:
        os.unlink(name)


def _superclasses(store: ox.Store) -> dict[str, set[str]]:
    """Each class of the ontology graph with its named superclasses (transitively)."""
    rows = store.query(f"""SELECT ?c ?s WHERE {{ GRAPH <{GRAPHS['ontology']}> {{
        ?c <{RDFS.subClassOf}>+ ?s . FILTER (isIRI(?c) && isIRI(?s)) }} }}""")
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["c"].value, set()).add(row["s"].value)
    return found


def _superclass_query(store: ox.Store) -> str:
    """CONSTRUCT every named superclass of the registry's asserted types, except those asserted too."""
    superclasses = _superclasses(store)
    used = {row["t"].value for row in store.query(f"SELECT DISTINCT ?t WHERE {{ GRAPH <{REGISTRY_GRAPH}> {{ ?x a ?t }} }}")}
    pairs = " ".join(f"(<{c}> <{s}>)" for c in sorted(used) for s in sorted(superclasses.get(c, ())))
    asserted = used & {s for c in used for s in superclasses.get(c, ())}  # costly to test, so only where it can be so
    unless = f"FILTER NOT EXISTS {{ GRAPH <{REGISTRY_GRAPH}> {{ ?x a ?super }} }}" if asserted else ""
    return f"""CONSTRUCT {{ ?x a ?super }} WHERE {{
        VALUES (?type ?super) {{ {pairs} }}
        GRAPH <{REGISTRY_GRAPH}> {{ ?x a ?type }} {unless}
    }}"""


def _defined_query(store: ox.Store, cls: str, prop: str) -> str:
    """CONSTRUCT the members of a defined class: objects of prop or of its sub-properties."""
    props = " ".join(f"<{p}>" for p in sorted(_below(store, str(KZR[prop]), RDFS.subPropertyOf)))
    condition = ""
    if cls == "RepressiveBody":  # an acting body is repressive where it acted in a repression
        classes = " ".join(f"<{c}>" for c in sorted(_below(store, str(KZR.Repression), RDFS.subClassOf)))
        condition = f"?r a ?t . VALUES ?t {{ {classes} }}"
    return f"""CONSTRUCT {{ ?x a <{KZR[cls]}> }} WHERE {{
        VALUES ?p {{ {props} }} GRAPH <{REGISTRY_GRAPH}> {{ ?r ?p ?x . {condition} }} }}"""


def _below(store: ox.Store, term: str, relation: URIRef) -> set[str]:
    """The term and every term under it by relation (rdfs:subClassOf or rdfs:subPropertyOf) in the ontology."""
    rows = store.query(f"SELECT ?c WHERE {{ GRAPH <{GRAPHS['ontology']}> {{ ?c <{relation}>* <{term}> }} }}")
    return {row["c"].value for row in rows if isinstance(row["c"], ox.NamedNode)} | {term}


def _count(store: ox.Store, graph: URIRef) -> int:
    rows = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(next(iter(rows))["n"].value)


def describe(store: ox.Store, registries: list[Registry], counts: dict) -> None:
    """Describe the registry graph in the metadata graph and update the triple counts there."""
    void, dct, prov = "http://rdfs.org/ns/void#", "http://purl.org/dc/terms/", "http://www.w3.org/ns/prov#"
    meta, dataset = GRAPHS["metadata"], "https://w3id.org/kz-repression/dataset"
    names = ", ".join(r.name for r in registries)
    digest = hashlib.sha256()
    synthetic = all(r.manifest.get("synthetic") for r in registries)
    kind = "a synthetic registry of invented persons, not historical data" if synthetic else "registries of persons"
    lines = [f"<{REGISTRY_GRAPH}> a <{void}Dataset>",
             f"<{REGISTRY_GRAPH}> <{dct}title> {_lit(f'Registry graph: {names}, {kind}')}",
             f"<{REGISTRY_GRAPH}> <{void}triples> {counts['registry']}",
             f"<{GRAPHS['inferred']}> <{void}triples> {counts['inferred']}"]
    if synthetic:  # DCAT-AP's dataset type for synthetic data; VoID copies it
        lines.append(f"<{REGISTRY_GRAPH}> <{dct}type> <{SYNTHETIC_DATA}>")
    for registry in registries:
        text = f"{registry.name}: {registry.records_count} records, {registry.triples} triples"
        if registry.manifest.get("synthetic"):
            text += f"; SYNTHETIC: invented persons, generated by {registry.manifest.get('generator', 'a generator')}"
        lines.append(f"<{REGISTRY_GRAPH}> <{dct}description> {_lit(text)}")
        lines += [f"?activity <{prov}used> {json.dumps(f'registry {registry.name}: {p.name}')}" for p in registry.files]
        digest.update(f"{registry.name}:{registry.digest.hexdigest()}".encode())
    lines.append(f"?activity <{dct}identifier> ?identifier")
    store.update(f"""DELETE {{ GRAPH <{meta}> {{
            <{GRAPHS['inferred']}> <{void}triples> ?n . ?activity <{dct}identifier> ?old }} }}
        INSERT {{ GRAPH <{meta}> {{ {' . '.join(lines)} }} }}
        WHERE {{ GRAPH <{meta}> {{ <{GRAPHS['inferred']}> <{void}triples> ?n .
                 <{dataset}> <{prov}wasGeneratedBy> ?activity . ?activity <{dct}identifier> ?old }}
                 BIND (CONCAT("sha256:", SHA256(CONCAT(STR(?old), "{digest.hexdigest()}"))) AS ?identifier) }}""")


def _lit(text: str) -> str:
    return json.dumps(text, ensure_ascii=False) + "@en"
