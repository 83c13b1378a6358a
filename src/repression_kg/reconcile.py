"""Reconciliation of names against the graph: the core of the Reconciliation Service API 0.2 (OpenRefine).

Spec: https://reconciliation-api.github.io/specs/0.2/ . Candidates come from the name index of
textsearch.py (folding across scripts and transliterations); this module scores them as
reconciliation needs, precision first: a person's name is confirmed only when the initials agree,
a surname alone or a given name written out against an initial stays below the match threshold,
and `match` is set only for a unique candidate clearly above the next. Properties (role, stage,
kind, act, position) raise or lower a candidate's score. No Flask here: web/reconcile.py speaks HTTP.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from .namespaces import GRAPHS, KZR
from .textsearch import Entry, SearchIndex, Token, fold, load_index, tokens

KZR_NS = str(KZR)
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
# The manifest's default types: (local name, display name, kind of our IRIs).
DEFAULT_TYPES = (("Person", "Person", "person"), ("Organisation", "Organisation", "organisation"),
                 ("Place", "Place", "place"), ("LegalAct", "Legal act", "act"), ("Event", "Event", "event"),
                 ("ArchivalFond", "Archival fond", "fond"), ("Stage", "Stage", "stage"))
KIND_CLASS = {kind: KZR_NS + local for local, _, kind in DEFAULT_TYPES} | {"organization": KZR_NS + "Organisation"}
MATCH_SCORE, MATCH_MARGIN = 90.0, 15.0  # match: the top score at least this, and this far above the next
UNCONFIRMED = 85.0   # the ceiling of a name that the graph cannot confirm (surname alone, initials unknown)
MIN_NAME_SCORE = 40.0
AGREE, DISAGREE = 10.0, 20.0  # what one property that agrees adds, one that disagrees takes away
CANDIDATES = 200
# Properties: id -> (name, description); the first five can be fetched (data extension).
PROPERTIES = {
    "label_ru": ("Label in Russian", "the editorial Russian label"),
    "printedForm": ("Name as printed", "the name exactly as the source article prints it"),
    "role": ("Role", "a person's role, e.g. historian, party-leader (an id role/... or a label)"),
    "stage": ("Stage of repression", "the stage in which the article places a person's repression: 1-9 or stage/repression-N"),
    "rehabilitatedBy": ("Rehabilitated by act", "the legal act by which a person was rehabilitated (act/...)"),
    "position": ("Position", "a person's position, as printed"),
    "kind": ("Kind", "the class of the thing: Person, SecurityAgency, kzr:Region, ..."),
}
EXTENSIBLE = ("label_ru", "printedForm", "role", "stage", "rehabilitatedBy")
ENTITY_VALUED = {"role": SKOS_CONCEPT, "stage": KZR_NS + "Stage", "rehabilitatedBy": KZR_NS + "LegalAct"}
PID_ALIASES = {"type": "kind", "instage": "stage", "byact": "rehabilitatedBy", "printedform": "printedForm",
               "rehabilitatedby": "rehabilitatedBy", "label_ru": "label_ru", "role": "role", "stage": "stage",
               "kind": "kind", "position": "position"}
STOPWORDS = {"of", "the", "and", "in", "on", "for", "to", "an", "by", "at", "named", "after", "po", "na", "ob", "pri"}
EXTRA_INITIALS = {"ye"}  # "Ye. Bekmakhanov": an initial that textsearch reads as a word
FEMININE, MASCULINE = {"uva", "eva", "ina", "kizi"}, {"uv", "ev", "in", "uli"}


@dataclass
class Thing:
    """One reconcilable thing: its index entry, short id, classes (with superclasses), shown classes, facts."""

    entry: Entry
    short: str
    classes: set[str] = field(default_factory=set)
    shown: list[str] = field(default_factory=list)
    facts: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Query:
    """One query of a batch, already validated."""

    text: str
    types: list[str] = field(default_factory=list)
    limit: int = 5
    properties: list[tuple[str, list]] = field(default_factory=list)
    type_strict: str = "should"


# --- Name scores -------------------------------------------------------------------------------

def _ending(word: Token) -> str:
    """The surname ending the stem dropped ('' for none)."""
    return word.skel[len(word.stem):]


def word_weight(q: Token, t: Token) -> float:
    """How well a query word matches a label word: 1 equal, .95 spelling variant, .88 other ending, .8 other gender, .6 prefix.

    Only equal words and spelling variants (Bokeikhanov, Bukeikhanov) can reach the match threshold
    alone: another ending (Bokeikhan, Baitursynuly; but also Smagul for Smagulov, another man) or
    another first letter (Omarov, Umarov) needs more evidence.
    """
    if q.text == t.text:
        return 1.0
    if q.skel == t.skel:
        return 0.95 if q.text[:1] == t.text[:1] else 0.88
    if q.stem == t.stem:
        endings = {_ending(q), _ending(t)}
        return 0.8 if endings & FEMININE and endings & MASCULINE else 0.88
    if len(q.skel) >= 3 and (t.text.startswith(q.text) or t.skel.startswith(q.skel)):
        return 0.6
    return 0.0


def pair_up(qs: list[Token], ls: list[Token]) -> tuple[list[float], list[int], list[int]]:
    """Pair query words with label words, best first: the weights, and the indexes left on each side."""
    pairs = sorted(((word_weight(q, t), i, j) for i, q in enumerate(qs) for j, t in enumerate(ls)),
                   key=lambda p: (-p[0], p[1], p[2]))
    used_q, used_l, weights = set(), set(), []
    for weight, i, j in pairs:
        if weight and i not in used_q and j not in used_l:
            used_q.add(i)
            used_l.add(j)
            weights.append(weight)
    return weights, [i for i in range(len(qs)) if i not in used_q], [j for j in range(len(ls)) if j not in used_l]


def _initials(words: list[Token]) -> list[bool]:
    """Which words of a person's name are initials (none, if all would be)."""
    flags = [w.initial or w.text in EXTRA_INITIALS for w in words]
    return flags if not all(flags) else [False] * len(words)


def person_score(query: list[Token], label: list[Token]) -> float:
    """A person's name: the surname matched word by word, given names and initials compared in order."""
    q_init, l_init = _initials(query), _initials(label)
    q_names = [i for i, w in enumerate(query) if not q_init[i]]
    l_names = [w for i, w in enumerate(label) if not l_init[i]]
    weights, q_left, l_left = pair_up([query[i] for i in q_names], l_names)
    if not weights:
        return 0.0
    score = 100 * min(weights) - _missing(l_left, 15)
    left = {q_names[i] for i in q_left}
    givens = [(w, q_init[i]) for i, w in enumerate(query) if q_init[i] or i in left]
    inits = [w for i, w in enumerate(label) if l_init[i]]
    confirmed = conflicts = written_out = 0
    for (given, is_initial), initial in zip(givens, inits):
        if given.skel == initial.skel if is_initial else given.skel.startswith(initial.skel):
            confirmed, written_out = confirmed + 1, written_out + (not is_initial)
        else:
            conflicts += 1
    extra = max(0, len(givens) - len(inits))
    score -= 25 * conflicts + 5 * extra
    if written_out or (inits and not confirmed) or (extra and not inits):
        score = min(score, UNCONFIRMED)
    return score


def general_score(query: list[Token], label: list[Token]) -> float:
    """Any other name: words paired; a word the label lacks costs more than a word the query lacks."""
    qs, ls = _content(query), _content(label)
    if not qs or not ls:
        return 0.0
    weights, q_left, l_left = pair_up(qs, ls)
    if not weights:
        return 0.0
    return 100 * min(weights) - _missing(l_left, 15) - _missing(q_left, 20)


def _missing(words: list, first: float) -> float:
    """What words left unpaired cost: `first` for the first, 5 for each other (one is enough to stay below a match)."""
    return first + 5 * (len(words) - 1) if words else 0.0


def _content(words: list[Token]) -> list[Token]:
    """The words that carry meaning: no stop words."""
    return [w for w in words if w.text not in STOPWORDS]


def name_score(text: str, thing: Thing) -> float:
    """The best score of the thing's labels for the query text, 0-100."""
    return _name_score(fold(text), tokens(text), thing)


def _name_score(folded: str, words: list[Token], thing: Thing) -> float:
    """name_score() of a query already folded and split."""
    scorer = person_score if thing.entry.kind == "person" else general_score
    best = 0.0
    for label in thing.entry.labels:
        score = 100.0 if folded == label.folded else scorer(words, label.words)
        if not any(len(w.text) >= 3 for w in label.words):  # "O.", "Sh.", "RK": no evidence alone
            score = min(score, UNCONFIRMED)
        best = max(best, score)
    return round(max(best, 0.0), 1)


# --- The catalogue: names, classes and facts of the things -------------------------------------

CLASSES_QUERY = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?c ?sup ?label WHERE {
  { ?c rdfs:subClassOf ?sup FILTER(isIRI(?sup)) } UNION { ?c rdfs:label ?label }
  FILTER(STRSTARTS(STR(?c), "%(kzr)s"))
}"""
TYPES_QUERY = """SELECT ?s ?t ?g WHERE {
  GRAPH ?g { ?s a ?t }
  FILTER(STRSTARTS(STR(?s), "%(ns)s") && (STRSTARTS(STR(?t), "%(kzr)s") || ?t = <%(concept)s>))
}"""
FACTS_QUERY = """PREFIX kzr: <%(kzr)s>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?s ?key ?o WHERE {
  { ?s kzr:printedForm ?o BIND("printedForm" AS ?key) }
  UNION { ?s rdfs:label|skos:prefLabel ?o FILTER(LANGMATCHES(LANG(?o), "ru")) BIND("label_ru" AS ?key) }
  UNION { ?s kzr:role ?o BIND("role" AS ?key) }
  UNION { ?s kzr:position ?o BIND("position" AS ?key) }
  UNION { ?claim kzr:victim ?s ; kzr:inStage ?o BIND("stage" AS ?key) }
  UNION { ?claim kzr:rehabilitatedPerson ?s ; kzr:byAct ?o BIND("rehabilitatedBy" AS ?key) }
  FILTER(STRSTARTS(STR(?s), "%(ns)s"))
}"""


class Catalogue:
    """The things a query can reconcile to, with their names (the search index), classes and facts."""

    def __init__(self, index: SearchIndex, namespace: str, type_rows, class_rows, fact_rows):
        self.index, self.namespace = index, namespace
        self.things = {e.iri: Thing(e, e.iri[len(namespace):]) for e in index.entries}
        self.class_labels: dict[str, dict[str, str]] = {SKOS_CONCEPT: {"en": "Concept"}}
        supers: dict[str, set[str]] = {}
        for row in class_rows:
            c = row["c"]["value"]
            if "sup" in row:
                supers.setdefault(c, set()).add(row["sup"]["value"])
            if "label" in row:
                self.class_labels.setdefault(c, {})[row["label"].get("xml:lang", "")] = row["label"]["value"]
        self.closure = {c: _closure(c, supers) for c in set(supers) | set(self.class_labels)}
        self.known = set().union(*self.closure.values())  # with the superclasses of other vocabularies
        self._add_types(type_rows)
        for row in fact_rows:
            thing = self.things.get(row["s"]["value"])
            if thing is not None:
                thing.facts.setdefault(row["key"]["value"], []).append(row["o"]["value"])
        self.things = {iri: t for iri, t in self.things.items() if t.classes}

    def _add_types(self, rows) -> None:
        """Each thing's classes with their superclasses; the asserted ones (data graph) are shown."""
        data_graph = str(GRAPHS["data"])
        for row in rows:
            thing = self.things.get(row["s"]["value"])
            if thing is None:
                continue
            cls = row["t"]["value"]
            thing.classes |= self.closure.get(cls, {cls})
            if row["g"]["value"] == data_graph and cls not in thing.shown:
                thing.shown.append(cls)
        for thing in self.things.values():
            thing.shown.sort()
            if not thing.shown:  # no data graph: the most specific classes
                thing.shown = sorted(c for c in thing.classes if not any(
                    c != d and c in self.closure.get(d, ()) for d in thing.classes))

    def class_name(self, cls: str) -> str:
        """A class's English label, or its local name."""
        labels = self.class_labels.get(cls, {})
        return labels.get("en") or next(iter(labels.values()), None) or re.split(r"[#/]", cls)[-1]

    def resolve_type(self, text: str) -> str | None:
        """A class from its IRI (ours or a superclass: foaf:Person), kzr:Name, Name (any case), or our kind (person)."""
        text = text.strip()
        if text in self.known:
            return text
        key = re.sub(r"[^a-z]", "", text.split("#")[-1].split(":")[-1].lower())
        if key in KIND_CLASS:
            return KIND_CLASS[key]
        return next((c for c in self.closure if re.sub(r"[^a-z]", "", c.rsplit("#", 1)[-1].lower()) == key
                     and c.startswith((KZR_NS, SKOS_CONCEPT))), None)

    def by_id(self, text: str) -> Thing | None:
        """A thing named by its short id (person/bukeikhanov-a) or its IRI."""
        text = text.strip()
        return self.things.get(text) or self.things.get(self.namespace + text)

    def candidates(self, text: str) -> list[Thing]:
        """Things whose names may match: the search hits of the text and of its longest word."""
        found = [h.iri for h in self.index.search(text, limit=CANDIDATES)]
        names = [w.text for w in tokens(text) if not w.initial and len(w.text) >= 3]
        if len(names) > 1:  # words the whole name does not match: a patronymic, "of Kazakhstan"
            for word in sorted(set(names), key=len, reverse=True)[:3]:
                found += [h.iri for h in self.index.search(word, limit=CANDIDATES)]
        return [self.things[iri] for iri in dict.fromkeys(found) if iri in self.things]

    def eligible(self, thing: Thing, classes: list[str] | None, strict: str = "should") -> bool:
        """Whether a thing is of the classes asked for (all of them for type_strict=all); no classes: a default type."""
        if classes is None:
            return any(KZR_NS + local in thing.classes for local, _, _ in DEFAULT_TYPES)
        test = all if strict == "all" else any
        return bool(classes) and test(c in thing.classes for c in classes)

    def label(self, iri: str) -> str:
        """The display label of one of our things, or its short id."""
        thing = self.things.get(iri)
        return thing.entry.label if thing else iri[len(self.namespace):] if iri.startswith(self.namespace) else iri


def _closure(cls: str, supers: dict[str, set[str]]) -> set[str]:
    """A class with all its superclasses."""
    seen, todo = {cls}, [cls]
    while todo:
        for sup in supers.get(todo.pop(), ()):
            if sup not in seen:
                seen.add(sup)
                todo.append(sup)
    return seen


def load_catalogue(backend, namespace: str, index: SearchIndex | None = None) -> Catalogue:
    """Read the classes and facts of our things through the backend; their names too unless an index is given."""
    names = {"ns": namespace, "kzr": KZR_NS, "concept": SKOS_CONCEPT}
    return Catalogue(index or load_index(backend, namespace), namespace, backend.select(TYPES_QUERY % names),
                     backend.select(CLASSES_QUERY % names), backend.select(FACTS_QUERY % names))


class CatalogueCache:
    """One catalogue per name index: reloaded when the index is, that is for each new build (textsearch.IndexCache)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._catalogue: Catalogue | None = None

    def get(self, backend, namespace: str, index: SearchIndex) -> Catalogue:
        """The catalogue that goes with this index of the backend's current build."""
        with self._lock:
            if self._catalogue is None or self._key != (backend, namespace) or self._catalogue.index is not index:
                self._catalogue, self._key = load_catalogue(backend, namespace, index), (backend, namespace)
            return self._catalogue


# --- Reconciling a query -----------------------------------------------------------------------

@dataclass
class Candidate:
    """A scored candidate: the thing, its score, its name score and the evidence of each property."""

    thing: Thing
    score: float
    name: float
    evidence: dict[str, int]


def reconcile(cat: Catalogue, query: Query) -> list[dict]:
    """The candidates for one query as API results, best first; only a clear, unique winner has match true."""
    classes = None
    if query.types:
        classes = [c for c in (cat.resolve_type(t) for t in query.types) if c]
    direct = cat.by_id(query.text)
    folded, words = fold(query.text), tokens(query.text)
    pool = [(direct, 100.0)] if direct else [(t, _name_score(folded, words, t)) for t in cat.candidates(query.text)]
    scored = []
    for thing, name in pool:
        if name < MIN_NAME_SCORE or not cat.eligible(thing, classes, query.type_strict):
            continue
        evidence = {pid: evidence_of(cat, thing, pid, values) for pid, values in query.properties}
        bonus = sum(AGREE if e > 0 else -DISAGREE if e < 0 else 0.0 for e in evidence.values())
        scored.append(Candidate(thing, round(min(100.0, max(0.0, name + bonus)), 1), name, evidence))
    scored.sort(key=lambda c: (-c.score, -c.name, c.thing.short))
    winner = bool(scored) and scored[0].score >= MATCH_SCORE and (
        len(scored) == 1 or scored[0].score - scored[1].score >= MATCH_MARGIN)
    return [result(cat, c, winner and i == 0, classes is not None) for i, c in enumerate(scored[:query.limit])]


def result(cat: Catalogue, c: Candidate, match: bool, typed: bool) -> dict:
    """One candidate in the API's shape, with its features."""
    features = [{"id": "name_score", "value": c.name}]
    if typed:
        features.append({"id": "type_match", "value": True})
    features += [{"id": f"property_{normalise_pid(pid) or pid}", "value": e} for pid, e in c.evidence.items()]
    return {"id": c.thing.short, "name": c.thing.entry.label, "description": description(cat, c.thing),
            "type": types_of(cat, c.thing), "score": c.score, "match": match, "features": features}


def types_of(cat: Catalogue, thing: Thing) -> list[dict]:
    """The thing's shown classes as API types."""
    return [{"id": cls, "name": cat.class_name(cls)} for cls in thing.shown]


def description(cat: Catalogue, thing: Thing) -> str:
    """What tells namesakes apart: class, position or roles, stages, the forms the source prints."""
    parts = [", ".join(cat.class_name(c) for c in thing.shown)]
    parts += thing.facts.get("position", []) or [cat.label(r) for r in thing.facts.get("role", [])]
    parts += [f"repressed in {cat.label(s).split(':')[0].lower()}" for s in sorted(thing.facts.get("stage", []))]
    parts += [f"printed “{p}”" for p in sorted(thing.facts.get("printedForm", [])) if p != thing.entry.label]
    return "; ".join(p for p in parts if p)


def normalise_pid(pid: str) -> str | None:
    """A property id from its name, kzr:name or IRI; None if we have no such property."""
    local = re.split(r"[#/:]", pid.strip())[-1]
    return PID_ALIASES.get(local.lower()) or PID_ALIASES.get(local)


def evidence_of(cat: Catalogue, thing: Thing, pid: str, values: list) -> int:
    """+1 when a value agrees with the thing, -1 when the thing has values and none agrees, 0 when unknown."""
    prop = normalise_pid(pid)
    if prop == "kind":
        classes = [c for c in (cat.resolve_type(_text(v)) for v in values) if c]
        return 0 if not classes else 1 if any(c in thing.classes for c in classes) else -1
    known = thing.facts.get(prop, []) if prop else []
    if not known or not values:
        return 0
    if prop == "position":
        agree = any(fold(_text(v)) and fold(_text(v)) in fold(p) for v in values for p in known)
    else:
        agree = any(_same(cat, _text(v), o) for v in values for o in known)
    return 1 if agree else -1


def _text(value) -> str:
    """A property value as text: an entity's id, or the value itself."""
    if isinstance(value, dict):
        return str(value.get("id") or value.get("name") or "")
    return str(value).lower() if isinstance(value, bool) else str(value)


def _same(cat: Catalogue, value: str, iri: str) -> bool:
    """Whether a value names this thing: its IRI, short id, slug, stage number or one of its labels."""
    short = iri[len(cat.namespace):] if iri.startswith(cat.namespace) else iri
    slug = short.rsplit("/", 1)[-1]
    names = {iri, short, slug} | ({slug.rsplit("-", 1)[-1]} if slug.startswith("repression-") else set())
    if value.strip() in names or fold(value) in {fold(n) for n in names}:
        return True
    thing = cat.things.get(iri)
    return bool(thing and fold(value) and any(fold(value) == lab.folded for lab in thing.entry.labels))


# --- Suggest, data extension -------------------------------------------------------------------

def suggest_entities(cat: Catalogue, prefix: str, types: list[str], cursor: int, limit: int) -> list[dict]:
    """Things whose names start with (or match) the prefix, for autocompletion."""
    classes = [c for c in (cat.resolve_type(t) for t in types) if c] if types else None
    hits = [cat.things[h.iri] for h in cat.index.search(prefix, limit=CANDIDATES) if h.iri in cat.things]
    hits = [t for t in hits if cat.eligible(t, classes)]
    return [{"id": t.short, "name": t.entry.label, "description": description(cat, t), "notable": types_of(cat, t)}
            for t in hits[cursor:cursor + limit]]


def suggest_types(cat: Catalogue, prefix: str, cursor: int, limit: int) -> list[dict]:
    """Classes that have things, whose names (any language) or local names start with the prefix."""
    counts: dict[str, int] = {}
    for thing in cat.things.values():
        for cls in thing.classes:
            counts[cls] = counts.get(cls, 0) + 1
    key = fold(prefix)
    found = [cls for cls in counts if cls in cat.class_labels and any(
        any(w.startswith(key) for w in fold(name).split()) or fold(name).startswith(key)
        for name in [*cat.class_labels[cls].values(), cls.rsplit("#", 1)[-1]])]
    found.sort(key=lambda c: (-counts[c], cat.class_name(c)))
    return [{"id": c, "name": cat.class_name(c), "description": f"{counts[c]} things"} for c in found[cursor:cursor + limit]]


def suggest_properties(prefix: str, cursor: int, limit: int) -> list[dict]:
    """Our properties whose id or name contains the prefix."""
    key = fold(prefix)
    found = [(pid, name, desc) for pid, (name, desc) in PROPERTIES.items() if key in fold(pid) or key in fold(name)]
    return [{"id": pid, "name": name, "description": desc} for pid, name, desc in found[cursor:cursor + limit]]


def propose_properties(cat: Catalogue, type_: str | None) -> list[dict]:
    """The properties worth fetching for things of a type: all for persons, names for the others."""
    cls = cat.resolve_type(type_) if type_ else None
    person = cls is not None and KZR_NS + "Person" in cat.closure.get(cls, {cls})
    pids = EXTENSIBLE if person or cls is None else ("label_ru", "printedForm")
    return [{"id": pid, "name": PROPERTIES[pid][0]} for pid in pids]


def extend(cat: Catalogue, ids: list[str], pids: list[str]) -> dict:
    """The values of some properties for some things (data extension), rows for every id asked for."""
    meta = []
    for pid in pids:
        entry = {"id": pid, "name": PROPERTIES[pid][0]}
        if pid in ENTITY_VALUED:
            entry["type"] = {"id": ENTITY_VALUED[pid], "name": cat.class_name(ENTITY_VALUED[pid])}
        meta.append(entry)
    rows = {}
    for short in ids:
        thing = cat.by_id(short)
        rows[short] = {pid: values_of(cat, thing, pid) if thing else [] for pid in pids}
    return {"meta": meta, "rows": rows}


def values_of(cat: Catalogue, thing: Thing, pid: str) -> list[dict]:
    """One property's values of a thing, as strings or as things of ours."""
    if pid in ("label_ru", "printedForm"):
        return [{"str": text} for text in sorted(thing.facts.get(pid, []))]
    return [{"id": o[len(cat.namespace):] if o.startswith(cat.namespace) else o, "name": cat.label(o)}
            for o in sorted(thing.facts.get(pid, []))]
