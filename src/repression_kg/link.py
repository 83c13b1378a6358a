"""Links to Wikidata: candidates scored for a curator's review, and reviewed rows turned into links.

`find_candidates` reads our persons, organisations, places and acts that have no link yet, asks a
Wikidata SPARQL endpoint for candidates by their labels and aliases (English, Russian, Kazakh)
and scores each one on its name across scripts, its type, and what our graph knows (dates,
places); `write_review` writes the rows as CSV. `accept` turns the rows a human marked `accept`
into skos:exactMatch / skos:closeMatch triples, each with an evidence node. Nothing is linked
without review (DESIGN.md principle 6; VOCABULARIES.md 3.1-3.2). The rules are in docs/linking.md.
"""
from __future__ import annotations

import csv
import difflib
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .namespaces import GRAPHS, ID, PREFIXES
from .textsearch import fold, is_cyrillic, match_words, stem, tokens

WIKIDATA = "https://query.wikidata.org/sparql"
WD = "http://www.wikidata.org/entity/"
HUMAN = WD + "Q5"
USER_AGENT = (f"repression-kg/{__version__} (Kazakhstan repression knowledge graph, "
              "https://w3id.org/kz-repression/; Wikidata candidates for a curator's review)")
KINDS_LINKED = ("person", "organisation", "place", "act")
COLUMNS = ("entity", "entity_label", "candidate", "candidate_label", "candidate_description",
           "score", "reasons", "decision", "endpoint", "queried")
HIGH = 80  # a score at or above this needs name, type and the graph's dates or places to agree
REFUSED = 5  # the most an impossible candidate scores
LANGS = ("en", "ru", "kk")


class LinkError(Exception):
    """Linking cannot go on: the message says why."""


class EndpointError(LinkError):
    """The SPARQL endpoint cannot be reached or refused a query."""


class ReviewError(LinkError):
    """A review file cannot be accepted as it stands."""


# --- The endpoint -------------------------------------------------------------------------------

class SparqlClient:
    """A polite SPARQL client: our User-Agent, a pause between requests, retries with backoff on 429/5xx."""

    RETRY = (429, 500, 502, 503, 504)

    def __init__(self, endpoint: str, delay: float = 1.0, timeout: float = 60.0, retries: int = 4,
                 backoff: float = 2.0):
        self.endpoint, self.delay, self.timeout = endpoint, delay, timeout
        self.retries, self.backoff = retries, backoff
        self.requests = 0
        self._last = 0.0

    def select(self, query: str) -> list[dict]:
        """The bindings of a SELECT query, retried on 429, 5xx and time-outs."""
        for attempt in range(self.retries + 1):
            time.sleep(max(0.0, self._last + self.delay - time.monotonic()))
            try:
                return self._post(query)
            except urllib.error.HTTPError as err:
                if err.code not in self.RETRY or attempt == self.retries:
                    detail = err.read().decode("utf-8", "replace")[:500]
                    raise EndpointError(f"{self.endpoint} answered {err.code}: {detail}") from None
                wait = _retry_after(err.headers.get("Retry-After")) or self.backoff * 2 ** attempt
            except (urllib.error.URLError, OSError) as err:
                if attempt == self.retries:
                    raise EndpointError(f"{self.endpoint} cannot be reached: {err}") from None
                wait = self.backoff * 2 ** attempt
            time.sleep(wait)
        raise EndpointError(f"{self.endpoint}: no answer")  # not reached

    def _post(self, query: str) -> list[dict]:
        request = urllib.request.Request(
            self.endpoint, data=urllib.parse.urlencode({"query": query}).encode(), method="POST",
            headers={"User-Agent": USER_AGENT, "Accept": "application/sparql-results+json",
                     "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())["results"]["bindings"]
        finally:
            self.requests += 1
            self._last = time.monotonic()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds (capped at five minutes)."""
    return min(float(value), 300.0) if value and value.strip().isdigit() else None


def sparql_string(text: str) -> str:
    """A SPARQL string literal."""
    return json.dumps(text, ensure_ascii=False)


# --- Our side: the things to link and what the graph knows about them -----------------------------

@dataclass
class Span:
    """A time the graph ties a thing to; `alive` when a person had to be alive then."""

    text: str
    begin: int | None
    end: int | None
    alive: bool = True

    @property
    def years(self) -> str:
        """1937, or 1917-1926."""
        return f"{self.begin or '?'}" if self.begin == self.end else f"{self.begin or '?'}-{self.end or '?'}"


@dataclass
class Entity:
    """One of our things: its names (text, language, property), times and places."""

    iri: str
    kind: str
    names: list[tuple[str, str, str]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    places: set[str] = field(default_factory=set)  # folded names and Wikidata IRIs
    classes: set[str] = field(default_factory=set)  # our classes, local names (Settlement, Region, ...)

    @property
    def label(self) -> str:
        """The display label: rdfs:label in English, Russian, Kazakh; else any name."""
        ranked = sorted(self.names, key=lambda n: (n[2] != "label", _lang_rank(n[1])))
        return ranked[0][0] if ranked else self.iri

    def forms(self) -> list[str]:
        """The names without parenthesised remarks, each once."""
        return list(dict.fromkeys(f for n in self.names if (f := _plain(n[0]))))


def _lang_rank(lang: str) -> int:
    return LANGS.index(lang) if lang in LANGS else len(LANGS)


def _plain(text: str) -> str:
    """A name without parenthesised remarks and quotes."""
    return " ".join(re.sub(r"\([^)]*\)|[\"“”«»]", " ", text).split())


Q = "".join(f"PREFIX {p}: <{PREFIXES[p]}>\n" for p in ("kzr", "rdfs", "skos", "crm", "dct"))
LINKED = (f"FILTER NOT EXISTS {{ GRAPH <{GRAPHS['links']}> {{ ?s skos:exactMatch|skos:closeMatch ?linked }} "
          f'FILTER(STRSTARTS(STR(?linked), "{WD}")) }}')
NAMES = Q + """SELECT ?s ?p ?name WHERE {
  GRAPH <%(data)s> { ?s ?p ?name }
  VALUES ?p { rdfs:label skos:prefLabel skos:altLabel kzr:printedForm }
  FILTER(isIRI(?s) && REGEX(STR(?s), "^%(id)s(%(kinds)s)/"))
  %(linked)s
}"""
# Roles of persons in claims; True when the person had to be alive at the claim's time.
ROLES = {"victim": ("repressed", True), "accused": ("accused", True), "speaker": ("spoke", True),
         "denouncer": ("denounced others", True), "denouncedPerson": ("denounced", True),
         "signedBy": ("signed", True), "rehabilitatedPerson": ("rehabilitated", False),
         "creator": ("wrote the source", True)}
ROLE_VALUES = " ".join(("dct:" if r == "creator" else "kzr:") + r for r in ROLES)
SPANS = Q + """SELECT ?s ?role ?claim ?stage ?begin ?end ?issued WHERE {
  VALUES ?role { %(roles)s }
  ?claim ?role ?s . FILTER(STRSTARTS(STR(?s), "%(id)sperson/"))
  OPTIONAL {
    { ?claim kzr:timeSpan ?ts } UNION { ?claim kzr:inStage ?stage . ?stage kzr:timeSpan ?ts }
    OPTIONAL { ?ts crm:P82a_begin_of_the_begin ?begin } OPTIONAL { ?ts crm:P82b_end_of_the_end ?end }
  }
  OPTIONAL { ?claim dct:issued ?issued }
}"""
TYPES = Q + """SELECT ?s ?type WHERE {
  GRAPH <%(data)s> { ?s a ?type } FILTER(REGEX(STR(?s), "^%(id)s(%(kinds)s)/"))
}"""
DATES = Q + """SELECT ?s ?begin ?end WHERE {
  ?s kzr:timeSpan ?ts . FILTER(STRSTARTS(STR(?s), "%(id)sact/"))
  OPTIONAL { ?ts crm:P82a_begin_of_the_begin ?begin } OPTIONAL { ?ts crm:P82b_end_of_the_end ?end }
}"""
PLACES = Q + """SELECT DISTINCT ?s ?name WHERE {
  { VALUES ?role { %(roles)s } ?claim ?role ?s ; kzr:place ?p0 } UNION { ?s kzr:place|kzr:locatedIn ?p0 }
  FILTER(STRSTARTS(STR(?s), "%(id)s"))
  ?p0 kzr:locatedIn* ?place .
  { ?place rdfs:label|kzr:printedForm ?name } UNION { GRAPH <%(links)s> { ?place skos:closeMatch|skos:exactMatch ?name } }
}"""


def read_entities(backend, kinds=KINDS_LINKED) -> list[Entity]:
    """Our things of these kinds that have no link yet, with their names, times and places."""
    args = {"data": GRAPHS["data"], "links": GRAPHS["links"], "id": ID, "kinds": "|".join(kinds),
            "linked": LINKED, "roles": ROLE_VALUES}
    entities: dict[str, Entity] = {}
    for row in backend.select(NAMES % args):
        iri = row["s"]["value"]
        entity = entities.setdefault(iri, Entity(iri, iri[len(ID):].split("/", 1)[0]))
        entity.names.append((row["name"]["value"], row["name"].get("xml:lang", ""), _local(row["p"]["value"])))
    _add_spans(entities, backend.select(SPANS % args))
    for row in backend.select(TYPES % args):
        if row["s"]["value"] in entities:
            entities[row["s"]["value"]].classes.add(_local(row["type"]["value"]))
    for row in backend.select(DATES % args):
        if row["s"]["value"] in entities:
            entities[row["s"]["value"]].spans.append(Span("dated", _year(row.get("begin")), _year(row.get("end")), False))
    for row in backend.select(PLACES % args):
        if row["s"]["value"] in entities:
            name = row["name"]
            entities[row["s"]["value"]].places.add(name["value"] if name["type"] == "uri" else fold(name["value"]))
    return sorted(entities.values(), key=lambda e: (KINDS_LINKED.index(e.kind), e.iri))


def _add_spans(entities: dict[str, Entity], rows: list[dict]) -> None:
    """One span per claim: its own time-span if it has one, else its stage's, else the source's year."""
    by_claim: dict[tuple, dict] = {}
    for row in rows:
        key = (row["s"]["value"], row["role"]["value"], row["claim"]["value"])
        if key not in by_claim or ("stage" in by_claim[key] and "stage" not in row):
            by_claim[key] = row
    for (iri, role, claim), row in sorted(by_claim.items()):
        if iri not in entities:
            continue
        verb, alive = ROLES[_local(role)]
        begin, end = _year(row.get("begin")), _year(row.get("end"))
        if begin is None and end is None:
            begin = end = _year(row.get("issued"))
        if begin is None and end is None:
            continue
        where = _stage_text(row["stage"]["value"]) if "stage" in row else _short(claim)
        entities[iri].spans.append(Span(f"{verb} in {where}", begin, end, alive))


def _stage_text(iri: str) -> str:
    kind, _, number = iri.rsplit("/", 1)[1].rpartition("-")
    return f"stage {number} of {kind}"


def _short(iri: str) -> str:
    return iri[len(ID):] if iri.startswith(ID) else iri


def _local(iri: str) -> str:
    return re.split(r"[#/]", iri)[-1]


def _year(term: dict | None) -> int | None:
    """The year of a date or date-time literal (negative for BCE), or None."""
    if not term or term.get("type") not in ("literal", "typed-literal"):
        return None
    match = re.match(r"^(-?\d{1,4})(?:-|$)", term["value"])
    return int(match.group(1)) if match else None


# --- Search strings -------------------------------------------------------------------------------

ENDINGS = ("ova", "eva", "ina", "uly", "kyzy", "ov", "ev", "in", "ова", "ева", "ина", "ұлы", "улы", "қызы", "ов", "ев", "ин")
VOWELS = set("aeiouyаеёиоуыэюяәөұүі")
CYRILLIC_CLASSES = {"а": "[аә]", "о": "[оөұ]", "у": "[уұүө]", "е": "[еэё]", "и": "[иі]", "ы": "[ыі]",
                    "й": "[йи]", "к": "[кқ]", "г": "[гғ]", "н": "[нң]", "х": "[хһ]"}
LATIN_DIGRAPHS = {"kh": "(kh|h|x|q)", "zh": "(zh|j|ž)", "sh": "(sh|ş|š)", "ch": "(ch|ç|č)", "gh": "(gh|g|ğ)"}
LATIN_CLASSES = {"a": "[aäáàâāə]", "e": "[eéèêëə]", "i": "[iıíîïy]", "o": "[oöóôōu]", "u": "[uüúûūo]",
                 "y": "[yiı]", "g": "[gğ]", "s": "[sşš]", "c": "[cç]"}
GENERIC = {fold(w) for w in (
    "the of and for with from named after region city committee central party state people peoples "
    "republic soviet union ussr kazakh kazakhstan communist bolsheviks decision decree resolution law "
    "области область региона город комитет центральный партии партия государственный республики "
    "республика советский союз ссср казахской казахстана коммунистической постановление указ закон").split()}


def name_words(text: str) -> list[tuple[str, bool]]:
    """The words of a name with whether each is an initial ("A.", "Zh.")."""
    return [(m.group(1), bool(m.group(2)) and len(m.group(1)) <= 2 or len(m.group(1)) == 1)
            for m in re.finditer(r"([^\W\d_]+)(\.?)", _plain(text))]


def search_words(entity: Entity) -> list[str]:
    """The words to search for: a person's surnames in each script; the distinctive words of other names."""
    words: list[str] = []
    for form in entity.forms():
        parts = [w for w, initial in name_words(form) if not initial and len(w) >= 3]
        if entity.kind != "person":
            parts = [w for w in parts if len(w) >= 4 and fold(w) not in GENERIC] or parts
        words += parts
    return list(dict.fromkeys(words))


def retrieval_stem(word: str) -> str:
    """A word without a surname ending and a final vowel, where four letters remain."""
    word = word.lower()
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            word = word[: -len(ending)]
            break
    return word[:-1] if word[-1:] in VOWELS and len(word) > 4 else word


def pattern(word: str) -> str:
    """A regular expression for a word's stem that also matches its Kazakh, Russian and Latin variants."""
    w = retrieval_stem(word)
    if is_cyrillic(w):
        return "".join(CYRILLIC_CLASSES.get(ch, re.escape(ch)) for ch in w)
    out, i = [], 0
    while i < len(w):
        if w[i:i + 2] in LATIN_DIGRAPHS:
            out.append(LATIN_DIGRAPHS[w[i:i + 2]])
            i += 2
            continue
        glide = w[i] == "y" and i > 0 and w[i - 1] in VOWELS
        out.append("[yiı]?" if glide else LATIN_CLASSES.get(w[i], re.escape(w[i])))
        i += 1
    return "".join(out)


def search_strings(entity: Entity, mode: str) -> list[str]:
    """What to send: regular expressions (any SPARQL endpoint) or CirrusSearch strings (mwapi on WDQS)."""
    if mode == "regex":
        return list(dict.fromkeys(pattern(w) for w in search_words(entity)))
    if entity.kind == "person":
        return [f'inlabel:"{w}" haswbstatement:P31=Q5' for w in search_words(entity)]
    return [f'inlabel:"{f}"' for f in entity.forms() if len(f.split()) <= 12]


WDQ = """PREFIX wd: <http://www.wikidata.org/entity/>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <http://schema.org/>
"""
REGEX_QUERY = WDQ + """SELECT DISTINCT ?key ?item WHERE {
  VALUES (?key ?pattern) { %(values)s }
  ?item rdfs:label|skos:altLabel ?name .
  FILTER(LANG(?name) IN ("en", "ru", "kk") && REGEX(STR(?name), ?pattern, "i"))
  %(type)s
}"""
MWAPI_QUERY = WDQ + """PREFIX wikibase: <http://wikiba.se/ontology#>
PREFIX bd: <http://www.bigdata.com/rdf#>
PREFIX mwapi: <https://www.mediawiki.org/ontology#API/>
SELECT DISTINCT ?key ?item WHERE {
  VALUES (?key ?search) { %(values)s }
  SERVICE wikibase:mwapi {
    bd:serviceParam wikibase:endpoint "www.wikidata.org" ; wikibase:api "Search" ;
                    mwapi:srsearch ?search ; mwapi:srlimit "20" .
    ?item wikibase:apiOutputItem mwapi:title .
  }
}"""


def retrieval_query(entities: list[Entity], mode: str) -> str | None:
    """One query for the candidates of a batch of entities of one kind (None if nothing to search)."""
    values = " ".join(f"(<{e.iri}> {sparql_string(s)})" for e in entities for s in search_strings(e, mode))
    if not values:
        return None
    if mode == "mwapi":
        return MWAPI_QUERY % {"values": values}
    human = entities[0].kind == "person"
    return REGEX_QUERY % {"values": values, "type": "?item wdt:P31/wdt:P279* wd:Q5 ." if human else ""}


def search_mode(mode: str, endpoint: str) -> str:
    """mwapi (CirrusSearch inside WDQS) for the Wikidata Query Service, regex for any other endpoint."""
    if mode != "auto":
        return mode
    return "mwapi" if urllib.parse.urlsplit(endpoint).hostname == "query.wikidata.org" else "regex"


# --- Their side: the candidates and what Wikidata says about them ----------------------------------

DETAILS_QUERY = WDQ + """SELECT ?item ?p ?v ?vl WHERE {
  VALUES ?item { %(items)s }
  { VALUES ?p { rdfs:label skos:altLabel schema:description } ?item ?p ?v . FILTER(LANG(?v) IN ("en", "ru", "kk")) }
  UNION { VALUES ?p { wdt:P569 wdt:P570 wdt:P571 wdt:P576 wdt:P577 wdt:P585 } ?item ?p ?v }
  UNION { VALUES ?p { wdt:P31 wdt:P17 wdt:P131 wdt:P19 wdt:P20 } ?item ?p ?v .
          OPTIONAL { ?v rdfs:label ?vl . FILTER(LANG(?vl) IN ("en", "ru", "kk")) } }
  UNION { ?item wdt:P31/wdt:P279 ?v . BIND(wdt:P279 AS ?p)
          OPTIONAL { ?v rdfs:label ?vl . FILTER(LANG(?vl) IN ("en", "ru", "kk")) } }
  UNION { VALUES ?lp { wdt:P19 wdt:P20 } ?item ?lp ?place . ?place wdt:P131|wdt:P17 ?v .
          BIND(CONCAT(STR(?lp), "-in") AS ?p)
          OPTIONAL { ?v rdfs:label ?vl . FILTER(LANG(?vl) IN ("en", "ru", "kk")) } }
}"""
PLACE_KEYS = {"P19": "born in", "P19-in": "born in", "P20": "died in", "P20-in": "died in",
              "P17": "located in", "P131": "located in"}
QID_IRI = re.compile(r"^http://www\.wikidata\.org/entity/(Q[1-9][0-9]*)$")


@dataclass
class Candidate:
    """A Wikidata item: labels and aliases, descriptions, classes, years by property, places by role."""

    iri: str
    labels: list[tuple[str, str]] = field(default_factory=list)  # rdfs:label (text, language)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # skos:altLabel
    descriptions: dict[str, str] = field(default_factory=dict)
    types: set[str] = field(default_factory=set)  # P31
    classes: dict[str, set[str]] = field(default_factory=dict)  # P31 and their P279, with labels
    years: dict[str, list[int]] = field(default_factory=dict)
    places: dict[str, set[str]] = field(default_factory=dict)  # folded names and IRIs
    shown: dict[str, str] = field(default_factory=dict)  # folded name -> a name as written

    @property
    def qid(self) -> str:
        """Q900000001."""
        return self.iri.rsplit("/", 1)[1]

    @property
    def names(self) -> list[tuple[str, str]]:
        """Labels and aliases."""
        return self.labels + self.aliases

    @property
    def label(self) -> str:
        """The rdfs:label in English, Russian or Kazakh; else an alias; else the QID."""
        pool = self.labels or self.aliases
        return min(pool, key=lambda name: _lang_rank(name[1]))[0] if pool else self.qid

    @property
    def description(self) -> str:
        """The description in English, Russian or Kazakh."""
        return next((self.descriptions[lang] for lang in LANGS if lang in self.descriptions), "")

    def type_text(self) -> str:
        """The P31 classes, quoted, for a reason."""
        names = [min(self.classes.get(t) or {_local(t)}) for t in sorted(self.types)]
        return ", ".join(f'"{n}"' for n in names) or "none"


def read_candidates(rows: list[dict]) -> dict[str, Candidate]:
    """Candidates from the rows of DETAILS_QUERY."""
    out: dict[str, Candidate] = {}
    for row in rows:
        item, p, v = row["item"]["value"], _local(row["p"]["value"]), row["v"]
        c = out.setdefault(item, Candidate(item))
        label = row.get("vl", {}).get("value")
        if p in ("label", "altLabel"):
            (c.labels if p == "label" else c.aliases).append((v["value"], v.get("xml:lang", "")))
        elif p == "description":
            c.descriptions.setdefault(v.get("xml:lang", ""), v["value"])
        elif p in ("P31", "P279"):
            c.types.update([v["value"]] if p == "P31" else [])
            c.classes.setdefault(v["value"], set()).update([label] if label else [])
        elif p in PLACE_KEYS and v["value"] != item:
            names = c.places.setdefault(PLACE_KEYS[p], set())
            names.add(v["value"])
            if label:
                names.add(fold(label))
                c.shown.setdefault(fold(label), label)
        elif (year := _year(v)) is not None:
            c.years.setdefault(p, []).append(year)
    return out


# --- Scores -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """What one comparison gives: points, a reason a human can check, and whether it rules the candidate out."""

    points: int
    reason: str
    impossible: bool = False


@dataclass
class Scored:
    """A candidate for an entity, its score (0-100) and the reasons."""

    entity: Entity
    candidate: Candidate
    score: int
    reasons: list[str]


def score(entity: Entity, candidate: Candidate) -> Scored:
    """Score a candidate: the sum of the verdicts' points (0-100); an impossible verdict caps it at REFUSED."""
    rules = PERSON_RULES if entity.kind == "person" else THING_RULES
    verdicts = [v for rule in rules for v in rule(entity, candidate)]
    total = max(0, min(100, sum(v.points for v in verdicts)))
    impossible = [v for v in verdicts if v.impossible]
    if impossible:
        total = min(total, REFUSED)
    reasons = [f"impossible: {v.reason}" for v in impossible] + [v.reason for v in verdicts if not v.impossible]
    return Scored(entity, candidate, total, reasons)


LEVELS = {3: (45, "equal"), 2: (40, "a transliteration variant"), 1: (20, "only a prefix")}
ADULT = 16  # a person the source names as acting or repressed was at least this old (a weak rule: -20, not impossible)


def person_name(entity: Entity, candidate: Candidate) -> list[Verdict]:
    """The surname against every label and alias, then the initials against the given names left over."""
    best = None
    for form in entity.forms():
        if not any(not initial and len(w) >= 3 for w, initial in name_words(form)):
            continue
        ours = tokens(form)
        names, initials = [t for t in ours if not t.initial], [t for t in ours if t.initial]
        for text, lang in candidate.names:
            level, free = match_words(names, tokens(text))
            if level:
                agree, why = _initials(initials, free)
                rank = (agree, level, is_cyrillic(form) == is_cyrillic(text))
                if best is None or rank > best[0]:
                    best = (rank, form, text, lang, why)
    if best is None:
        return [Verdict(0, "no label or alias has the name")]
    (agree, level, _), form, text, lang, why = best
    points, how = LEVELS[level]
    return [Verdict(points, f'name "{form}" ~ "{text}"@{lang}: surname {how}'),
            Verdict(20 if agree > 0 else 0, why, impossible=agree < 0)]


def _initials(initials: list, given: list) -> tuple[int, str]:
    """1 if our initials agree with the label's words left after the surname, -1 if one contradicts, 0 if none to compare."""
    if not initials:
        return 0, "the graph gives no initials"
    if not given:
        return 0, "no given name on Wikidata to compare the initials with"
    pairs = list(zip(initials, given))
    for ours, theirs in pairs:
        if ours.skel[:1] != theirs.skel[:1] and ours.text[:1] != theirs.text[:1]:
            return -1, f'initial {ours.text.capitalize()}. contradicts the given name "{theirs.text}"'
    return 1, "initials agree: " + ", ".join(f'{o.text.capitalize()}. = "{t.text}"' for o, t in pairs)


def person_type(entity: Entity, candidate: Candidate) -> list[Verdict]:
    """A person is an instance of human (Q5)."""
    if HUMAN in candidate.types:
        return [Verdict(10, "instance of human (Q5)")]
    return [Verdict(0, f"not an instance of human (Q5) but of {candidate.type_text()}", impossible=True)]


def person_dates(entity: Entity, candidate: Candidate) -> list[Verdict]:
    """Birth and death against the times the graph ties the person to."""
    born, died = candidate.years.get("P569"), candidate.years.get("P570")
    if not entity.spans:
        return [Verdict(0, "the graph has no dates for this person")]
    b, d = (min(born) if born else None), (max(died) if died else None)
    if b is None and (d is None or not any(s.alive for s in entity.spans)):
        return [Verdict(0, "no birth or death date on Wikidata to compare")]
    for span in entity.spans:
        if b is not None and span.end is not None and b > span.end:
            return [Verdict(0, f"born {b}, after {span.text} ({span.years})", impossible=True)]
        if span.alive and d is not None and span.begin is not None and d < span.begin:
            return [Verdict(0, f"died {d}, before {span.text} ({span.years})", impossible=True)]
    young = [s for s in entity.spans if s.alive and b is not None and s.end is not None and s.end - b < ADULT]
    if young:
        return [Verdict(-20, f"born {b}: at most {young[0].end - b} years old when {young[0].text} ({young[0].years})")]
    what = "; ".join(f"{s.text} ({s.years})" for s in entity.spans)
    return [Verdict(20, f"born {b or '?'}, died {d or '?'}: consistent with {what}")]


def person_places(entity: Entity, candidate: Candidate) -> list[Verdict]:
    """A place of birth or death (or what it lies in) that the graph ties to the person."""
    for role in ("born in", "died in"):
        hits = sorted(entity.places & candidate.places.get(role, set()))
        if hits:
            return [Verdict(5, f'{role} "{candidate.shown.get(hits[0], hits[0])}", a place the graph ties to this person')]
    return []


def similarity(a: str, b: str) -> float:
    """1 for names equal after folding, 0.95 for equal stems, else 0.9 x the better of word overlap and character ratio."""
    fa, fb = fold(a), fold(b)
    if not fa or not fb:
        return 0.0
    if fa == fb:
        return 1.0
    sa, sb = (" ".join(stem(w) for w in s.split()) for s in (fa, fb))
    if sa == sb:
        return 0.95
    wa, wb = set(sa.split()), set(sb.split())
    dice = 2 * len(wa & wb) / (len(wa) + len(wb))
    return round(0.9 * max(dice, difflib.SequenceMatcher(None, sa, sb).ratio()), 2)


def thing_name(entity: Entity, candidate: Candidate) -> list[Verdict]:
    """The most similar pair of our names and the candidate's labels and aliases."""
    pairs = [(similarity(f, t), f, t, lang) for f in entity.forms() for t, lang in candidate.names]
    if not pairs:
        return [Verdict(0, "no label or alias to compare")]
    sim, form, text, lang = max(pairs, key=lambda p: (p[0], -_lang_rank(p[3])))
    return [Verdict(round(70 * sim), f'name "{form}" ~ "{text}"@{lang}: similarity {sim:.2f}')]


KIND_WORDS = {kind: {fold(w) for w in words.split()} for kind, words in {
    "Settlement": "city town village settlement capital город село посёлок столица қала ауыл",
    "Region": "region oblast province district territory steppe governorate krai область регион район "
              "территория степь губерния край облыс",
    "Country": "country republic sovereign страна республика",
    "place": "place location administrative место",
    "organisation": "organization organisation party agency committee commissariat ministry police court tribunal "
                    "university institute academy archive museum company enterprise camp council union bureau board "
                    "presidium office society association movement government организация партия ведомство комитет "
                    "комиссариат министерство полиция суд трибунал университет институт академия архив музей "
                    "предприятие лагерь совет союз бюро коллегия президиум общество ассоциация движение правительство",
    "act": "law decree resolution order legislation legal act statute code letter document decision закон указ "
           "постановление приказ кодекс письмо документ акт решение",
    "other": "human river lake mountain film novel book album song ship asteroid surname disambiguation река "
             "озеро гора фильм роман книга песня фамилия",
}.items()}
PLACE_KINDS = {"Settlement", "Region", "Country", "place"}


def _kinds_of(label: str) -> set[str]:
    """The kinds a class label names: a keyword equal to a word, or (for keywords of five letters or more) its start."""
    words = fold(label).split()
    return {kind for kind, keys in KIND_WORDS.items()
            if any(w == k or (len(k) >= 5 and w.startswith(k[:max(5, len(k) - 2)])) for w in words for k in keys)}


def thing_type(entity: Entity, candidate: Candidate) -> list[Verdict]:
    """The candidate's classes against our kind; for places, against our class (settlement, region, country)."""
    if not candidate.types:
        return [Verdict(0, "no type (P31) on Wikidata")]
    kinds = {k for labels in candidate.classes.values() for label in labels for k in _kinds_of(label)}
    if HUMAN in candidate.types:
        kinds.add("other")
    text = f"instance of {candidate.type_text()}"
    ours = next((c for c in sorted(entity.classes) if c in PLACE_KINDS), None) if entity.kind == "place" else None
    if ours and ours in kinds:
        return [Verdict(20, f"{text}: fits {_a(ours.lower())}")]
    if ours and kinds & PLACE_KINDS - {"place"}:
        return [Verdict(-20, f"{text}: a place, but the graph has {_a(ours.lower())}")]
    if kinds & (PLACE_KINDS if entity.kind == "place" else {entity.kind}):
        return [Verdict(10 if ours else 20, f"{text}: fits {_a(entity.kind)}")]
    if kinds:
        return [Verdict(-40, f"{text}: not {_a(entity.kind)}")]
    return [Verdict(0, f"{text}: type not recognised")]


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def thing_context(entity: Entity, candidate: Candidate) -> list[Verdict]:
    """Acts: their dates against ours. Places and organisations: where Wikidata locates them against our places."""
    if entity.kind == "act":
        return _act_dates(entity, candidate)
    located = candidate.places.get("located in", set())
    if not entity.places or not located:
        return []
    hits = sorted(entity.places & located)
    if hits:
        return [Verdict(10, f'located in "{candidate.shown.get(hits[0], hits[0])}", as in the graph')]
    theirs = sorted(candidate.shown.get(n, n) for n in located if not n.startswith("http"))
    ours = sorted(n for n in entity.places if not n.startswith("http"))
    return [Verdict(-15, f"located in {', '.join(theirs[:3]) or 'other places'}; the graph has it in {', '.join(ours[:3])}")]


def _act_dates(entity: Entity, candidate: Candidate) -> list[Verdict]:
    ours = [s for s in entity.spans if s.text == "dated"]
    theirs = sorted({y for p in ("P571", "P577", "P585") for y in candidate.years.get(p, [])})
    if not ours or not theirs:
        return []
    for span in ours:
        for year in theirs:
            if (span.begin or year) - 1 <= year <= (span.end or year) + 1:
                return [Verdict(10, f"dated {year}, as in the graph ({span.years})")]
    return [Verdict(-40, f"dated {', '.join(map(str, theirs))}; the graph dates it {ours[0].years}")]


PERSON_RULES = (person_name, person_type, person_dates, person_places)
THING_RULES = (thing_name, thing_type, thing_context)


# --- The review file ----------------------------------------------------------------------------------

def find_candidates(backend, client: SparqlClient, kinds=KINDS_LINKED, batch: int = 10, limit: int = 5,
                    mode: str = "auto", progress=None) -> list[dict]:
    """Review rows for every unlinked thing of these kinds: its best candidates, or one row saying none was found."""
    mode = search_mode(mode, client.endpoint)
    queried = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    entities = read_entities(backend, kinds)
    rows: list[dict] = []
    for kind in kinds:
        group = [e for e in entities if e.kind == kind]
        for start in range(0, len(group), batch):
            chunk = group[start:start + batch]
            found = _retrieve(client, chunk, mode)
            candidates = _details(client, sorted(set().union(*found.values())))
            for entity in chunk:
                scored = [score(entity, candidates[i]) for i in found.get(entity.iri, ()) if i in candidates]
                scored.sort(key=lambda s: (-s.score, s.candidate.iri))
                rows += review_rows(entity, scored[:limit], client.endpoint, queried)
            if progress:
                progress(f"{kind}: {start + len(chunk)} of {len(group)} searched")
    return rows


def _retrieve(client: SparqlClient, entities: list[Entity], mode: str) -> dict[str, set[str]]:
    """Entity IRI -> the Wikidata items found for it."""
    query = retrieval_query(entities, mode)
    found: dict[str, set[str]] = {}
    for row in client.select(query) if query else []:
        if QID_IRI.match(row["item"]["value"]):
            found.setdefault(row["key"]["value"], set()).add(row["item"]["value"])
    return found


def _details(client: SparqlClient, items: list[str], size: int = 50) -> dict[str, Candidate]:
    candidates: dict[str, Candidate] = {}
    for start in range(0, len(items), size):
        values = " ".join(f"<{i}>" for i in items[start:start + size])
        candidates.update(read_candidates(client.select(DETAILS_QUERY % {"items": values})))
    return candidates


def review_rows(entity: Entity, scored: list[Scored], endpoint: str, queried: str) -> list[dict]:
    """The rows of one entity; a row with no candidate says what was searched."""
    base = {"entity": entity.iri, "entity_label": entity.label, "decision": "", "endpoint": endpoint, "queried": queried}
    if not scored:
        words = search_words(entity)
        why = f"no candidate found for: {', '.join(words)}" if words else "no name to search (initials only)"
        return [{**base, "candidate": "", "candidate_label": "", "candidate_description": "", "score": "", "reasons": why}]
    return [{**base, "candidate": s.candidate.qid, "candidate_label": s.candidate.label,
             "candidate_description": s.candidate.description, "score": str(s.score), "reasons": "; ".join(s.reasons)}
            for s in scored]


TEXT_COLUMNS = ("entity_label", "candidate_label", "candidate_description", "reasons")
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def write_review(rows: list[dict], path: Path) -> None:
    """The review file: CSV, UTF-8, one row per candidate, the decision column empty.

    A text that a spreadsheet would take for a formula (a label starting with "=") gets a leading
    apostrophe, which `accept` removes again (OWASP, "CSV injection")."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "'" + v if k in TEXT_COLUMNS and str(v).startswith(FORMULA) else v for k, v in row.items()})


def _cell(row: dict, column: str) -> str:
    """A text cell as written before write_review guarded it."""
    value = (row.get(column) or "").strip()
    return value[1:] if value[:1] == "'" and value[1:].startswith(FORMULA) else value


def read_review(path: Path) -> list[dict]:
    """The rows of a review file (a spreadsheet's byte-order mark is allowed)."""
    with Path(path).open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"entity", "candidate", "decision"} - set(reader.fieldnames or ())
        if missing:
            raise ReviewError(f"{path}: the review file lacks the column(s) {', '.join(sorted(missing))}")
        return list(reader)


# --- Accepted rows become links ----------------------------------------------------------------------

MATCH = {"person": "exactMatch", "organisation": "exactMatch", "act": "exactMatch", "place": "closeMatch",
         **{k: "closeMatch" for k in ("category", "charge", "measure", "role", "indicator", "unit", "qualifier", "code")}}
QID = re.compile(r"^Q[1-9][0-9]*$")
OUR_IRI = re.compile(rf"^{re.escape(ID)}([a-z]+)/[a-z0-9]+(-[a-z0-9]+)*$")
DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SSSOM, SEMAPV = "https://w3id.org/sssom/", "https://w3id.org/semapv/vocab/"


@dataclass(frozen=True)
class Link:
    """An accepted link and its evidence: who accepted it when, where and when it was checked, what was compared."""

    entity: str
    predicate: str  # exactMatch or closeMatch
    qid: str
    curator: str
    date: str
    endpoint: str
    queried: str
    entity_label: str
    candidate_label: str
    score: str
    reasons: str


def accepted_links(rows: list[dict], curator: str, day: str) -> list[Link]:
    """The links of the rows marked accept; a ReviewError lists every row that cannot be taken as it stands."""
    errors, links = [], []
    for line, row in enumerate(rows, start=2):  # the header is line 1
        try:
            link = _row_link(row, curator, day)
        except ReviewError as err:
            errors.append(f"line {line}: {err}")
            continue
        if link:
            links.append(link)
    errors += _duplicates(links)
    if errors:
        raise ReviewError("The review file cannot be accepted:\n  " + "\n  ".join(errors))
    return links


def _row_link(row: dict, curator: str, day: str) -> Link | None:
    """The link of one row, None for a rejected row or a row without a candidate."""
    entity, decision = (row.get("entity") or "").strip(), (row.get("decision") or "").strip().lower()
    candidate = (row.get("candidate") or "").strip().removeprefix(WD)
    if not candidate:
        if decision == "accept":
            raise ReviewError(f"{entity}: accepted, but the row has no candidate")
        return None
    if decision not in ("accept", "reject"):
        raise ReviewError(f"{entity} -> {candidate}: " + (f"decision {decision!r} is neither accept nor reject"
                                                          if decision else "no decision (write accept or reject)"))
    if decision == "reject":
        return None
    if not QID.match(candidate):
        raise ReviewError(f"{entity}: {candidate!r} is not a Wikidata item id (Q followed by digits)")
    match = OUR_IRI.match(entity)
    if not match or match.group(1) not in MATCH:
        raise ReviewError(f"{entity!r} is not one of our persons, organisations, places, acts or concepts")
    endpoint = (row.get("endpoint") or "").strip()
    if not re.match(r"^https?://\S+$", endpoint):
        raise ReviewError(f"{entity} -> {candidate}: the row does not say which endpoint was queried")
    queried = (row.get("queried") or "").strip()
    return Link(entity, MATCH[match.group(1)], candidate, curator, day, endpoint,
                queried if DATE_TIME.match(queried) else "", _cell(row, "entity_label"),
                _cell(row, "candidate_label"), (row.get("score") or "").strip(), _cell(row, "reasons"))


def _duplicates(links: list[Link]) -> list[str]:
    """A link accepted twice; one thing exactly matching two items; one item exactly matching two things."""
    errors, pairs, exact_of, things_of = [], set(), {}, {}
    for link in links:
        if (link.entity, link.qid) in pairs:
            errors.append(f"{link.entity} -> {link.qid} is accepted twice")
        pairs.add((link.entity, link.qid))
        if link.predicate != "exactMatch":
            continue
        for key, other, table in ((link.entity, link.qid, exact_of), (link.qid, link.entity, things_of)):
            if table.setdefault(key, other) != other:
                errors.append(f"{key} would be an exact match of both {table[key]} and {other}")
    return errors


def read_links(path: Path) -> list[Link]:
    """The links and their evidence in a file written by `accept` (none if it does not exist)."""
    from rdflib import Graph, Namespace, URIRef
    from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS

    path = Path(path)
    if not path.exists():
        return []
    g, sssom = Graph().parse(path, format="turtle"), Namespace(SSSOM)
    links = []
    for st in sorted(g.subjects(RDF.type, RDF.Statement), key=str):
        s, p, o = g.value(st, RDF.subject), g.value(st, RDF.predicate), g.value(st, RDF.object)
        if not QID_IRI.match(str(o)):
            raise ReviewError(f"{path} holds a link to {o}, which link accept does not write: choose another --out")
        confidence = g.value(st, sssom.confidence)
        text = lambda prop: str(g.value(st, prop) or "")  # noqa: E731
        links.append(Link(str(s), _local(str(p)), str(o).removeprefix(WD), text(PROV.wasAttributedTo), text(DCTERMS.date),
                          text(DCTERMS.source), text(DCTERMS.created), text(sssom.subject_label),
                          text(sssom.object_label), str(round(float(confidence) * 100)) if confidence is not None else "",
                          text(RDFS.comment)))
    evidenced = {(URIRef(link.entity), SKOS[link.predicate], URIRef(WD + link.qid)) for link in links}
    for triple in g.triples((None, None, None)):
        if triple[1] in (SKOS.exactMatch, SKOS.closeMatch) and triple not in evidenced:
            raise ReviewError(f"{path}: the link {triple[0]} -> {triple[2]} has no evidence node")
    return links


TURTLE_HEADER = """# Links to Wikidata, accepted by a curator from a review file (repression-kg link wikidata, then
# repression-kg link accept). Each link has an evidence node: who accepted it and when, which
# endpoint was queried and when, the names compared, the score and the reasons (docs/linking.md).
"""
EVIDENCE_PREFIXES = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdfs": PREFIXES["rdfs"],
                     "xsd": PREFIXES["xsd"], "skos": PREFIXES["skos"], "dct": PREFIXES["dct"], "prov": PREFIXES["prov"],
                     "sssom": SSSOM, "semapv": SEMAPV, "wd": WD}


def turtle_string(text: str) -> str:
    """A Turtle string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def links_turtle(links: list[Link]) -> str:
    """The links and their evidence as Turtle, sorted, with anonymous evidence nodes: the same links give the same bytes."""
    from .namespaces import curie

    links = sorted(links, key=lambda link: (link.entity, link.predicate, link.qid))
    ours = sorted({curie(link.entity).split(":", 1)[0] for link in links})
    prefixes = {**EVIDENCE_PREFIXES, **{p: PREFIXES[p] for p in ours}}
    out = [TURTLE_HEADER] + [f"@prefix {p}: <{ns}> ." for p, ns in sorted(prefixes.items())]
    for link in links:
        s, p, o = curie(link.entity), f"skos:{link.predicate}", f"wd:{link.qid}"
        curator = f"<{link.curator}>" if re.match(r"^https?://\S+$", link.curator) else turtle_string(link.curator)
        facts = [("a", "rdf:Statement"), ("rdf:subject", s), ("rdf:predicate", p), ("rdf:object", o),
                 ("prov:wasAttributedTo", curator), ("dct:date", f'"{link.date}"^^xsd:date'),
                 ("dct:source", f"<{link.endpoint}>")]
        if link.queried:
            facts.append(("dct:created", f'"{link.queried}"^^xsd:dateTime'))
        facts.append(("sssom:mapping_justification", "semapv:ManualMappingCuration"))
        labels = (("subject", link.entity_label), ("object", link.candidate_label))
        facts += [(f"sssom:{k}_label", turtle_string(v)) for k, v in labels if v]
        if link.score.isdigit():
            facts.append(("sssom:confidence", f'"{int(link.score) / 100:.2f}"^^xsd:double'))
        if link.reasons:
            facts.append(("rdfs:comment", turtle_string(link.reasons) + "@en"))
        body = " ;\n    ".join(f"{k} {v}" for k, v in facts)
        out += ["", f"{s} {p} {o} .", f"[] {body} ."]
    return "\n".join(out) + "\n"


STORE_CHECK = Q + """SELECT ?s ?described ?linked WHERE {
  VALUES ?s { %(entities)s }
  BIND(EXISTS { GRAPH <%(data)s> { ?s ?p ?o } } AS ?described)
  OPTIONAL { GRAPH <%(links)s> { ?s skos:exactMatch|skos:closeMatch ?linked } FILTER(STRSTARTS(STR(?linked), "%(wd)s")) }
}"""


def check_against_store(links: list[Link], backend) -> None:
    """Every linked thing is described in the data; none is linked already in the built links graph."""
    if not links:
        return
    entities = " ".join(sorted({f"<{link.entity}>" for link in links}))
    rows = backend.select(STORE_CHECK % {"entities": entities, "data": GRAPHS["data"], "links": GRAPHS["links"], "wd": WD})
    errors = []
    for row in rows:
        iri = row["s"]["value"]
        if row["described"]["value"] != "true":
            errors.append(f"{iri} is not described in the built graph (a typo, or rebuild first)")
        elif "linked" in row:
            errors.append(f"{iri} is already linked to {row['linked']['value']} in the built links graph")
    if errors:
        raise ReviewError("The review file cannot be accepted:\n  " + "\n  ".join(sorted(set(errors))))


def accept(review: Path, curator: str, day: str, out: Path, backend) -> tuple[int, int]:
    """Add the accepted rows of a review file to the links file; return (links added, links in the file)."""
    new = accepted_links(read_review(review), curator, day)
    check_against_store(new, backend)
    old = read_links(out)
    errors = _duplicates(old + new)
    if errors:
        raise ReviewError(f"The review file cannot be accepted into {out}:\n  " + "\n  ".join(errors))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(links_turtle(old + new), encoding="utf-8")
    tmp.replace(out)
    return len(new), len(old) + len(new)
