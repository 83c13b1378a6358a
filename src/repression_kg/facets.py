"""Facets of a registry: its persons counted by region, stage, charge, sentence, nationality and year of arrest.

Written at build time from the built store into a SQLite file beside it (write_facets): the
registry's persons in display order (a person's position is its number), and for each value of
each facet its labels, its count of persons and a bitmap of their positions. The web app reads
that file (FacetIndex): unfiltered counts are read as written; a filter is the AND, over facets,
of the OR of the chosen values' bitmaps, and a value's count under a filter is the number of bits
its bitmap has in common with the filter. The counts of a facet ignore that facet's own choice,
so that its other values stay in view and can be added (the usual multi-select faceting).
"""
from __future__ import annotations

import json
import re
import sqlite3
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

from .derived import Database, PerBuild, Select
from .namespaces import GRAPH, ID
from .textsearch import LANGS, fold

REGISTRY = GRAPH + "registry"


@dataclass(frozen=True)
class Facet:
    """What a facet counts: the values of a property of a registry person, or of a repression of one."""

    name: str
    label: str
    prop: str      # a property of the ontology (kzr:)
    of: str        # "person" or "repression" (whose kzr:victim is the person)
    order: str     # "count": most persons first; "value": in the values' own order (years, stages)


FACETS = (
    Facet("region", "Region", "place", "repression", "count"),
    Facet("stage", "Stage of repression", "inStage", "repression", "value"),
    Facet("charge", "Charge", "charge", "repression", "count"),
    Facet("sentence", "Sentence", "sentence", "repression", "count"),
    Facet("nationality", "Nationality", "nationality", "person", "count"),
    Facet("year", "Year of arrest", "arrestDate", "repression", "value"),  # the year of the date
)
BY_NAME = {f.name: f for f in FACETS}
YEAR = re.compile(r"^-?\d{4}")

# One triple pattern per query, joined here: Oxigraph takes three to four times as long per row
# for a join of two patterns (measured at 100,000 persons).
PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX kzr: <https://w3id.org/kz-repression/ontology#>
"""
PERSONS_QUERY = PREFIXES + "SELECT ?person WHERE { GRAPH <%s> { ?person a kzr:Person } }"
NAMES_QUERY = PREFIXES + "SELECT ?s ?label ?lang WHERE { GRAPH <%s> { ?s rdfs:label ?label } BIND(LANG(?label) AS ?lang) }"
PROPERTY_QUERY = PREFIXES + "SELECT ?s ?value WHERE { GRAPH <%s> { ?s kzr:%s ?value } }"
LABELS_QUERY = PREFIXES + """SELECT ?value ?label ?lang WHERE {
  VALUES ?value { %s } ?value rdfs:label|skos:prefLabel ?label BIND(LANG(?label) AS ?lang) }"""

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE persons(pos INTEGER PRIMARY KEY, iri TEXT NOT NULL, label TEXT NOT NULL);
CREATE TABLE facet_values(id INTEGER PRIMARY KEY, facet TEXT NOT NULL, key TEXT NOT NULL, iri TEXT,
                          labels TEXT NOT NULL, count INTEGER NOT NULL, rank INTEGER NOT NULL, bitmap BLOB NOT NULL,
                          UNIQUE (facet, key));
CREATE TABLE person_values(pos INTEGER NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (pos, value)) WITHOUT ROWID;
"""


# --- Writing ---------------------------------------------------------------------------------------

def write_facets(select: Select, path: Path, namespace: str = ID) -> dict:
    """Write the facet tables of the registry persons into a new SQLite file; return its counts."""
    persons = registry_persons(select)
    position = {iri: pos for pos, (iri, _) in enumerate(persons)}
    victims = {r: position[p] for r, p in select(PROPERTY_QUERY % (REGISTRY, "victim"), ("s", "value")) if p in position}
    db = sqlite3.connect(path)
    try:
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + SCHEMA)
        db.executemany("INSERT INTO persons VALUES (?, ?, ?)", ((pos, iri, label) for pos, (iri, label) in enumerate(persons)))
        values = []
        for facet in FACETS:
            values += _facet_values(db, select, facet, position if facet.of == "person" else victims, len(persons),
                                    len(values))
        labels = value_labels(select, [v[2] for v in values if v[2]])
        for facet in FACETS:
            _insert_values(db, facet, [v for v in values if v[1] == facet.name], labels, namespace)
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("persons", str(len(persons))), ("namespace", namespace)])
        db.commit()
    finally:
        db.close()
    return {"persons": len(persons), "values": len(values)}


def registry_persons(select: Select) -> list[tuple[str, str]]:
    """The registry's persons with their display labels (English, Russian, Kazakh), in display order."""
    best: dict[str, tuple] = {iri: (1, 0, iri.rsplit("/", 1)[-1]) for (iri,) in select(PERSONS_QUERY % REGISTRY, ("person",))}
    for iri, label, lang in select(NAMES_QUERY % REGISTRY, ("s", "label", "lang")):
        rank = (0, LANGS.get((lang or "").split("-")[0], 3), label)
        if iri in best and rank < best[iri]:
            best[iri] = rank
    return sorted(((iri, rank[2]) for iri, rank in best.items()), key=lambda p: (fold(p[1]), p[0]))


def _facet_values(db: sqlite3.Connection, select: Select, facet: Facet, position: dict[str, int], persons: int,
                  first_id: int) -> list:
    """One facet's values as (id, facet, IRI or None, value, bitmap); each person's values into person_values."""
    bitmaps: dict[str, bytearray] = {}
    ids: dict[str, int] = {}

    def rows():
        for subject, value in select(PROPERTY_QUERY % (REGISTRY, facet.prop), ("s", "value")):
            pos = position.get(subject)
            if facet.name == "year":
                value = match.group() if (match := YEAR.match(value)) else None
            if pos is None or value is None:
                continue
            if value not in bitmaps:
                bitmaps[value], ids[value] = bytearray((persons + 7) // 8), first_id + len(ids) + 1
            bitmaps[value][pos >> 3] |= 1 << (pos & 7)
            yield pos, ids[value]

    db.executemany("INSERT OR IGNORE INTO person_values VALUES (?, ?)", rows())
    return [(ids[value], facet.name, value if value.startswith(("http://", "https://", "urn:")) else None, value,
             bytes(bits)) for value, bits in bitmaps.items()]


def value_labels(select: Select, iris: list[str]) -> dict[str, dict[str, str]]:
    """The labels of the facets' values, by language."""
    labels: dict[str, dict[str, str]] = {}
    for start in range(0, len(iris), 500):
        chunk = " ".join(f"<{iri}>" for iri in iris[start:start + 500])
        for iri, label, lang in select(LABELS_QUERY % chunk, ("value", "label", "lang")):
            labels.setdefault(iri, {}).setdefault(lang or "", label)
    return labels


def _insert_values(db: sqlite3.Connection, facet: Facet, values: list, labels: dict, namespace: str) -> None:
    """A facet's values with their keys, labels, counts and display ranks."""
    rows = []
    for vid, name, iri, value, bits in values:
        key = value_key(value, namespace)
        names = labels.get(iri, {}) if iri else {"": value}
        rows.append((vid, name, key, iri, json.dumps(names, ensure_ascii=False, sort_keys=True),
                     int.from_bytes(bits, "little").bit_count(), bits))
    if facet.order == "count":
        rows.sort(key=lambda r: (-r[5], fold(display(json.loads(r[4]), r[2])), r[2]))
    else:
        rows.sort(key=lambda r: natural(r[2]))
    db.executemany("INSERT INTO facet_values VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [(vid, name, key, iri, names, count, rank, bits)
                    for rank, (vid, name, key, iri, names, count, bits) in enumerate(rows)])


def value_key(value: str, namespace: str) -> str:
    """How a value is named in URLs: its IRI after the namespace (place/almaty-region), a year, or a foreign IRI."""
    return value[len(namespace):] if value.startswith(namespace) else value


def natural(key: str) -> list:
    """A sort key that puts repression-2 before repression-10."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", key)]


def display(labels: dict[str, str], key: str) -> str:
    """A value's label: English, Russian, Kazakh, any other, or its key."""
    for lang in sorted(labels, key=lambda lang: LANGS.get(lang.split("-")[0], 3)):
        return labels[lang]
    return key


# --- Reading -----------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Value:
    """One value of a facet: its key, IRI (none for a year), labels, count of persons and bitmap."""

    id: int
    facet: str
    key: str
    iri: str | None
    labels: dict
    count: int
    bits: int

    @property
    def label(self) -> str:
        return display(self.labels, self.key)


@dataclass(frozen=True)
class Person:
    """A person of the list: position, IRI, display label and the facet values it has."""

    pos: int
    iri: str
    label: str
    values: tuple[Value, ...]


class FacetIndex:
    """The facet tables of one build (see write_facets), read-only; the bitmaps are kept in memory."""

    def __init__(self, db: Database):
        self.db = db
        with db.connect() as conn:
            self.persons = int(dict(conn.execute("SELECT key, value FROM meta"))["persons"])
            rows = conn.execute("SELECT id, facet, key, iri, labels, count, bitmap FROM facet_values ORDER BY facet, rank")
            self._values = [Value(vid, facet, key, iri, json.loads(labels), count, int.from_bytes(bits, "little"))
                            for vid, facet, key, iri, labels, count, bits in rows]
        self.by_id = {v.id: v for v in self._values}
        self.by_key = {(v.facet, v.key): v for v in self._values}

    @classmethod
    def open(cls, path: Path, temporary: bool = False) -> "FacetIndex":
        return cls(Database(path, temporary))

    def values(self, facet: str) -> list[Value]:
        """A facet's values in display order."""
        return [v for v in self._values if v.facet == facet]

    def counts(self, chosen: dict[str, list[Value]]) -> dict[str, list[tuple[Value, int]]]:
        """Each facet's values with their counts among the persons the other facets' choices leave."""
        result = {}
        for facet in FACETS:
            mask = self.mask({f: vs for f, vs in chosen.items() if f != facet.name})
            values = self.values(facet.name)
            result[facet.name] = [(v, v.count if mask is None else (v.bits & mask).bit_count()) for v in values]
        return result

    def mask(self, chosen: dict[str, list[Value]]) -> int | None:
        """The bitmap of the persons with one of the chosen values in every facet (None: no choice, everyone)."""
        mask = None
        for values in chosen.values():
            if values:
                either = 0
                for v in values:
                    either |= v.bits
                mask = either if mask is None else mask & either
        return mask

    def total(self, mask: int | None) -> int:
        """How many persons a mask holds."""
        return self.persons if mask is None else mask.bit_count()

    def page(self, mask: int | None, offset: int, size: int) -> list[Person]:
        """The persons of a mask from the offset-th on, at most size of them, in display order."""
        positions = (list(range(offset, min(offset + size, self.persons))) if mask is None
                     else set_bits(mask, offset, size))
        if not positions:
            return []
        chosen = json.dumps(positions)
        with self.db.connect() as conn:
            rows = conn.execute("SELECT pos, iri, label FROM persons WHERE pos IN (SELECT value FROM json_each(?))"
                                " ORDER BY pos", (chosen,)).fetchall()
            held: dict[int, list[Value]] = {}
            for pos, vid in conn.execute("SELECT pos, value FROM person_values WHERE pos IN "
                                         "(SELECT value FROM json_each(?))", (chosen,)):
                held.setdefault(pos, []).append(self.by_id[vid])
        return [Person(pos, iri, label, tuple(held.get(pos, ()))) for pos, iri, label in rows]


def set_bits(mask: int, skip: int, size: int) -> list[int]:
    """The positions of the set bits of a mask after the first `skip` of them, at most size of them."""
    words = array("Q", mask.to_bytes((mask.bit_length() + 63) // 64 * 8, "little"))
    if sys.byteorder == "big":
        words.byteswap()
    out: list[int] = []
    seen = 0
    for index, word in enumerate(words):
        count = word.bit_count()
        if seen + count <= skip:
            seen += count
            continue
        while word and len(out) < size:
            low = word & -word
            if seen >= skip:
                out.append(index * 64 + low.bit_length() - 1)
            seen += 1
            word ^= low
        if len(out) == size:
            break
    return out


class FacetCache(PerBuild):
    """One facet index per backend and build: the store's own file, or one read through the backend."""

    def __init__(self):
        super().__init__("facets.sqlite", write_facets, FacetIndex.open)
