"""Dumps of the built dataset: RDF in six formats and CSV tables, byte-identical for the same data.

Pure logic over a Backend (no Flask). Determinism: blank nodes are relabelled by RDFC-1.0,
statements are sorted, the prefixes are the project's, gzip carries no time stamp, and the
metadata graph (it holds the build time) is left out unless asked for. A release is the set of
files the server offers under /dumps/, written once per build into <root>/<marker>/.
"""
from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pyoxigraph as ox

from . import cite
from .backend import Backend, build_info
from .formats import by_name
from .namespaces import GRAPHS, PREFIXES, sparql_prefixes
from .void import version

ROLES = ("ontology", "data", "links", "inferred", "metadata")
DEFAULT_ROLES = ROLES[:4]
BASENAME = "kz-repression"
RDF_FORMATS = {"ttl": "turtle", "nt": "ntriples", "nq": "nquads", "trig": "trig", "jsonld": "jsonld", "rdfxml": "rdfxml"}
QUAD_FORMATS = ("nq", "trig")
TITLES = {"ttl": "Turtle", "nt": "N-Triples", "nq": "N-Quads",
          "trig": "TriG", "jsonld": "JSON-LD", "rdfxml": "RDF/XML"}
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
TIMEOUT = 600.0


class ReleaseUnavailable(Exception):
    """No dumps can be offered for this store (no build metadata)."""


def resolve_roles(names) -> tuple[str, ...]:
    """Graph roles in their fixed order; 'all' means every graph but metadata."""
    wanted = set()
    for name in names or ("all",):
        wanted.update(DEFAULT_ROLES if name == "all" else (name,))
    return tuple(r for r in ROLES if r in wanted)


def file_name(kind: str, roles=DEFAULT_ROLES, compressed: bool = False) -> str:
    """kz-repression.ttl, kz-repression-data+links.nq.gz, kz-repression-persons.csv."""
    if kind in RDF_FORMATS:
        suffix = "" if tuple(roles) == DEFAULT_ROLES else "-" + "+".join(roles)
        name = f"{BASENAME}{suffix}.{by_name(RDF_FORMATS[kind]).ext}"
    else:
        name = f"{BASENAME}-{kind}.csv"
    return name + (".gz" if compressed else "")


# --- RDF ------------------------------------------------------------------------------------

def read_quads(backend: Backend, roles=DEFAULT_ROLES) -> list[ox.Quad]:
    """The quads of some graphs of the store, blank nodes canonical (RDFC-1.0), sorted."""
    quads = []
    for role in roles:
        graph = ox.NamedNode(str(GRAPHS[role]))
        body = backend.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}",
                                 "ntriples", TIMEOUT)
        quads.extend(ox.Quad(t.subject, t.predicate, t.object, graph)
                     for t in ox.parse(body, format=ox.RdfFormat.N_TRIPLES))
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(dataset, key=lambda q: (str(q.graph_name), *_order(q)))


def _order(t) -> tuple:
    """Subject, rdf:type first, predicate, object."""
    return str(t.subject), t.predicate.value != RDF_TYPE, str(t.predicate), str(t.object)


def serialize(quads: list[ox.Quad], kind: str) -> bytes:
    """Sorted quads in one format; triple formats get the union of the graphs."""
    items = quads if kind in QUAD_FORMATS else sorted({q.triple for q in quads}, key=_order)
    if kind == "jsonld":
        return jsonld(items)
    body = ox.serialize(items, format=by_name(RDF_FORMATS[kind]).oxigraph, prefixes=PREFIXES) or b""
    lines = body.split(b"\n")
    if kind in ("nt", "nq"):
        return b"".join(line + b"\n" for line in sorted(line for line in lines if line))
    if kind in ("ttl", "trig"):
        head = next((i for i, line in enumerate(lines) if not line.startswith(b"@prefix ")), len(lines))
        return b"\n".join(sorted(lines[:head]) + lines[head:])
    return body


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


def jsonld(triples) -> bytes:
    """Sorted triples as one JSON-LD document: the project's prefixes as context, one node per subject."""
    nodes: dict[str, dict] = {}
    for t in triples:
        key = str(t.subject)
        node = nodes.setdefault(key, {"@id": _jsonld_term(t.subject)["@id"]})
        if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode):
            node.setdefault("@type", []).append(_compact(t.object.value))
        else:
            node.setdefault(_compact(t.predicate.value), []).append(_jsonld_term(t.object))
    document = {"@context": dict(sorted(PREFIXES.items())), "@graph": list(nodes.values())}
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def compress(data: bytes) -> bytes:
    """gzip with no file name and time stamp 0, so that the same bytes compress to the same bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)


# --- CSV tables -----------------------------------------------------------------------------

TEXT, LABEL, CITE, IRI = "text", "label", "cite", "iri"


def _lang(lang: str) -> tuple:
    return f"label_{lang}", f'?s rdfs:label ?v FILTER(langMatches(lang(?v), "{lang}"))', TEXT


NAMES = (_lang("en"), _lang("ru"), _lang("kk"), ("printed_forms", "?s kzr:printedForm ?v", TEXT))
KIND = (("kind", f"GRAPH <{GRAPHS['data']}> {{ ?s a ?v }}", LABEL),)
WHEN = (("date_wording", "?s kzr:timeSpan/kzr:printedForm ?v", TEXT), ("edtf", "?s kzr:timeSpan/kzr:edtf ?v", TEXT),
        ("begin", "?s kzr:timeSpan/crm:P82a_begin_of_the_begin ?v", TEXT),
        ("end", "?s kzr:timeSpan/crm:P82b_end_of_the_end ?v", TEXT))
NOTES = (("editorial_notes", "?s kzr:editorialNote ?v", TEXT), ("likely_readings", "?s kzr:likelyReading ?v", TEXT),
         ("citations", "?s kzr:citation ?v", CITE))
PLACES = (("places", "?s kzr:place ?v", LABEL),)
STAGES = (("stages", "?s kzr:inStage ?v", LABEL), ("related_stages", "?s kzr:relatedStage ?v", LABEL))
CITED = "kzr:citation/kzr:"

TABLES = {
    "persons": ("kzr:Person", NAMES + (
        ("roles", "?s kzr:role ?v", LABEL), ("positions", "?s kzr:position ?v", TEXT),
        ("affiliations", "?s kzr:affiliation ?v", LABEL), ("research_topics", "?s kzr:researchTopic ?v", TEXT),
        ("repressed_in_stages", "?r kzr:victim ?s ; kzr:inStage/kzr:ordinal ?v", TEXT),
        ("charges", "?r kzr:victim ?s ; kzr:charge ?v", LABEL), ("measures", "?r kzr:victim ?s ; kzr:measure ?v", LABEL),
        ("rehabilitated_by", "?r kzr:rehabilitatedPerson ?s ; kzr:byAct|kzr:actingBody ?v", LABEL),
        ("rehabilitated_in_stages", "?r kzr:rehabilitatedPerson ?s ; kzr:inStage/kzr:ordinal ?v", TEXT)) + NOTES),
    "organisations": ("kzr:Organisation", KIND + NAMES + (("part_of", "?s kzr:partOf ?v", LABEL),) + PLACES + NOTES),
    "acts": ("kzr:LegalAct", KIND + NAMES + (("identifier", "?s kzr:legalIdentifier ?v", TEXT),) + WHEN + (
        ("issued_by", "?s kzr:issuedBy ?v", LABEL), ("signed_by", "?s kzr:signedBy ?v", LABEL)) + PLACES + STAGES + (
        ("outcomes", "?s kzr:outcome ?v", TEXT),) + NOTES),
    "fonds": ("kzr:ArchivalFond", NAMES + (
        ("fond_number", "?s kzr:fondNumber ?v", TEXT), ("held_by", "?s kzr:heldBy ?v", LABEL),
        ("creators", "?s kzr:fondCreator ?v", LABEL)) + WHEN + NOTES),
    "events": ("kzr:Event", KIND + NAMES + WHEN + PLACES + STAGES + (
        ("persons", "?s ?p ?v . ?v a kzr:Person", LABEL), ("organisations", "?s ?p ?v . ?v a kzr:Organisation", LABEL),
        ("outcomes", "?s kzr:outcome ?v", TEXT)) + NOTES),
    "observations": ("qb:Observation", (_lang("en"), ("dataset", "?s qb:dataSet ?v", LABEL)) + tuple(
        (name, f"?s kzr:{prop} ?v", LABEL) for name, prop in (
            ("indicator", "indicator"), ("table_row", "tableRow"), ("nkvd_category", "nkvdCategory"),
            ("plan_version", "planVersion"), ("area", "refArea"))) + (
        ("period_wording", "?s kzr:refPeriod/kzr:printedForm ?v", TEXT),
        ("period_begin", "?s kzr:refPeriod/crm:P82a_begin_of_the_begin ?v", TEXT),
        ("period_end", "?s kzr:refPeriod/crm:P82b_end_of_the_end ?v", TEXT),
        ("printed_value", "?s kzr:printedValue ?v", TEXT), ("value", "?s kzr:value ?v", TEXT),
        ("unit", "?s kzr:unit ?v", LABEL), ("qualifier", "?s kzr:qualifier ?v", LABEL),
        ("status", "?s kzr:observationStatus ?v", LABEL), ("printed_total", "?s kzr:isPrintedTotal ?v", TEXT),
        ("conflicts_with", "?s kzr:conflictsWith ?v", IRI), ("section", f"?s {CITED}section ?v", TEXT),
        ("paragraph", f"?s {CITED}paragraph ?v", TEXT), ("table", f"?s {CITED}table ?v", TEXT),
        ("reference", f"?s {CITED}reference/kzr:referenceNumber ?v", TEXT),
        ("pages", f"?s {CITED}referencePages ?v", TEXT), ("quote", f"?s {CITED}quote ?v", TEXT)) + NOTES),
    "citations": ("kzr:Citation", (
        ("citation", "?s a kzr:Citation BIND(?s AS ?v)", CITE), ("source", "?s kzr:inSource ?v", LABEL)) + tuple(
        (name, f"?s kzr:{prop} ?v", TEXT) for name, prop in (
            ("section", "section"), ("paragraph", "paragraph"), ("page", "page"), ("table", "table"),
            ("reference", "reference/kzr:referenceNumber"), ("reference_pages", "referencePages"), ("quote", "quote"))) + (
        ("cited_by", "?v kzr:citation ?s", IRI),)),
}


def table(backend: Backend, name: str) -> list[list[str]]:
    """One table: the header, then a row per entity (sorted by IRI); several values joined by ' | '."""
    cls, columns = TABLES[name]
    prefixes = sparql_prefixes()
    entities = sorted(r["s"]["value"] for r in backend.select(
        f"{prefixes}SELECT DISTINCT ?s WHERE {{ ?s a {cls} FILTER(isIRI(?s)) }}", TIMEOUT))
    branches = " UNION ".join(f'{{ {pattern} BIND("{col}" AS ?col) }}' for col, pattern, _ in columns)
    cells: dict[tuple[str, str], set] = {}
    for r in backend.select(f"{prefixes}SELECT DISTINCT ?s ?col ?v WHERE {{ ?s a {cls} . {branches} }}", TIMEOUT):
        cells.setdefault((r["s"]["value"], r["col"]["value"]), set()).add((r["v"]["type"], r["v"]["value"]))
    lookup = _Lookup(backend, {v for (_, col), vs in cells.items() for kind, v in vs if kind == "uri"})
    rows = [["iri"] + [col for col, _, _ in columns]]
    for iri in entities:
        rows.append([iri] + [" | ".join(sorted({lookup.render(how, t, v) for t, v in cells.get((iri, col), ())},
                                                key=_natural)) for col, _, how in columns])
    return rows


def _natural(text: str) -> list:
    """Sort key with numbers in numeric order."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


class _Lookup:
    """Labels and citation texts of the IRIs a table shows."""

    def __init__(self, backend: Backend, iris: set[str]):
        self.labels: dict[str, tuple] = {}
        self.citations: dict[str, str] = {}
        ranked = {"en": 0, "ru": 1, "kk": 2}
        chunk = sorted(iris)
        for start in range(0, len(chunk), 400):
            values = " ".join(f"<{i}>" for i in chunk[start:start + 400])
            for r in backend.select(f"{sparql_prefixes()}SELECT ?x ?l WHERE {{ VALUES ?x {{ {values} }} "
                                    "?x rdfs:label|skos:prefLabel ?l }", TIMEOUT):
                rank = (ranked.get(r["l"].get("xml:lang", ""), 3), r["l"]["value"])
                self.labels[r["x"]["value"]] = min(self.labels.get(r["x"]["value"], rank), rank)
            self.citations.update(_citation_texts(backend, values))

    def render(self, how: str, kind: str, value: str) -> str:
        if how == CITE:
            return self.citations.get(value, value)
        if how == LABEL and kind == "uri" and value in self.labels:
            return self.labels[value][1]
        return value


def _citation_texts(backend: Backend, values: str) -> dict[str, str]:
    """'Saktaganova 2021, <section>, para. N (p. P) [N; pages]' for the citations among some IRIs."""
    rows = backend.select(f"""{sparql_prefixes()}SELECT ?c ?source ?section ?paragraph ?table ?page ?n ?pages
        WHERE {{ VALUES ?c {{ {values} }} ?c a kzr:Citation OPTIONAL {{ ?c kzr:inSource ?source }}
        OPTIONAL {{ ?c kzr:section ?section }} OPTIONAL {{ ?c kzr:paragraph ?paragraph }} OPTIONAL {{ ?c kzr:table ?table }}
        OPTIONAL {{ ?c kzr:page ?page }} OPTIONAL {{ ?c kzr:reference/kzr:referenceNumber ?n }}
        OPTIONAL {{ ?c kzr:referencePages ?pages }} }}""", TIMEOUT)
    texts = {}
    for r in sorted(rows, key=lambda r: json.dumps(r, sort_keys=True)):
        v = {k: t["value"] for k, t in r.items()}
        texts.setdefault(v["c"], cite.citation_text(v.get("source"), v.get("section"), v.get("paragraph"),
                                                    v.get("table"), v.get("page"), v.get("n"), v.get("pages")))
    return texts


def csv_bytes(rows: list[list[str]]) -> bytes:
    """RFC 4180: UTF-8, CRLF line ends, fields quoted where needed."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


# --- Writing files and releases ---------------------------------------------------------------

def _write(out_dir: Path, name: str, data: bytes, **facts) -> dict:
    """Write one file; its entry: name, bytes, sha256 and the facts given."""
    (out_dir / name).write_bytes(data)
    return {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), **facts}


def export(backend: Backend, out_dir: Path, kinds, roles=DEFAULT_ROLES, compressed: bool = False) -> list[dict]:
    """Write dumps (RDF formats and/or 'csv' for every table); an entry per file with the seconds it took."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries, quads = [], None
    for kind in kinds:
        for item in (TABLES if kind == "csv" else (kind,)):
            clock = time.perf_counter()
            if kind == "csv":
                data, media_type, title = csv_bytes(table(backend, item)), "text/csv", f"{item.capitalize()} (CSV table)"
            else:
                quads = quads if quads is not None else read_quads(backend, roles)
                data, media_type, title = serialize(quads, kind), by_name(RDF_FORMATS[kind]).media_type, TITLES[kind]
            name = file_name(item, roles, compressed)
            entry = _write(out_dir, name, compress(data) if compressed else data, kind="csv" if kind == "csv" else "rdf",
                           format=item, media_type=media_type, compressed=compressed, title=title)
            entries.append({**entry, "seconds": time.perf_counter() - clock})
    return entries


def write_release(backend: Backend, out_dir: Path) -> list[dict]:
    """The files the server offers: every RDF format plain and gzipped, every CSV table, SHA256SUMS."""
    entries = export(backend, out_dir, [*RDF_FORMATS, "csv"])
    for plain in [e for e in entries if e["kind"] == "rdf"]:
        clock = time.perf_counter()
        facts = {k: plain[k] for k in ("kind", "format", "media_type", "title")}
        packed = _write(out_dir, plain["name"] + ".gz", compress((out_dir / plain["name"]).read_bytes()),
                        compressed=True, **facts)
        entries.append({**packed, "seconds": time.perf_counter() - clock})
    entries = sorted((dict(e, seconds=round(e["seconds"], 3)) for e in entries), key=lambda e: e["name"])
    sums = "".join(f"{e['sha256']}  {e['name']}\n" for e in entries).encode()
    return entries + [_write(out_dir, "SHA256SUMS", sums, kind="checksums", format="sha256", media_type="text/plain",
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
                        "source_digest": info["digest"], "graphs": list(DEFAULT_ROLES), "files": write_release(backend, tmp)}
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
