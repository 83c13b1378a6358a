"""The CSV tables of the dumps: one row per thing the article describes (the data graph), with its
labels, dates, places, stages and citations, in a natural order; a registry's persons are in its own dump."""
from __future__ import annotations

import csv
import io
import json
import re

from . import cite
from .backend import Backend
from .namespaces import GRAPHS, sparql_prefixes

TIMEOUT = 600.0


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
    """One table: the header, then a row per entity of the data graph (sorted by IRI); several values joined by ' | '.

    A registry's persons and citations are left out: their fields are not these columns, and at 350,000
    persons the citations alone would pass the row limit of spreadsheets. The registry's dump holds them.
    """
    cls, columns = TABLES[name]
    prefixes = sparql_prefixes()
    entity = f"GRAPH <{GRAPHS['data']}> {{ ?s a ?asserted }} ?s a {cls} FILTER(isIRI(?s))"
    entities = sorted(r["s"]["value"] for r in backend.select(f"{prefixes}SELECT DISTINCT ?s WHERE {{ {entity} }}", TIMEOUT))
    branches = " UNION ".join(f'{{ {pattern} BIND("{col}" AS ?col) }}' for col, pattern, _ in columns)
    cells: dict[tuple[str, str], set] = {}
    for r in backend.select(f"{prefixes}SELECT DISTINCT ?s ?col ?v WHERE {{ {entity} {branches} }}", TIMEOUT):
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
