"""Name search across scripts: folding (Cyrillic to Latin, case, diacritics), phonetic skeletons, a text index.

Matching levels, best first: the folded name is equal; the skeletons of the stems are equal
(transliteration variants and surname endings merged); a name is a prefix of a label's word;
the query is a substring of the label. Initials refine the ranking but never make a match.

The index is a SQLite file written with the store (write_index): one row per label of every
thing of our namespace, its words analysed (folded, stem, skeleton, initials) in an FTS5 table
and its folded text in an FTS5 trigram table (substrings). Labels are numbered in the order
results are shown (fewest words, kind, display label), so each query reads at most a few dozen
candidates per matching level in that order; the candidates' things are then scored here, on
all their labels, exactly as above.
"""
from __future__ import annotations

import functools
import json
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .backend import build_info
from .derived import Database, PerBuild, Select, backend_select, temporary_path
from .namespaces import GRAPHS, ID, KINDS

# Russian and Kazakh letters to plain Latin; the skeleton merges the remaining variants.
CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    "ә": "a", "ғ": "gh", "қ": "q", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}
# Latin letters that do not decompose into a base letter and a mark.
LATIN = {"ı": "i", "ş": "sh", "ç": "ch", "ñ": "ng", "ł": "l", "ø": "o", "æ": "ae", "ß": "ss", "đ": "d"}
APOSTROPHES = "'’ʼ`´ʻ"
TO_LATIN = str.maketrans({**CYRILLIC, **LATIN})  # one pass: the Cyrillic letters give plain Latin only
NO_APOSTROPHES = str.maketrans("", "", APOSTROPHES)
POSSESSIVE = re.compile(f"[{APOSTROPHES}]s\\b")  # English possessive: "Smagulov's father"
NON_WORD = re.compile(r"[\W_]+")
# Skeleton rewrites, in order: digraphs first, then single letters.
DIGRAPHS = (("shch", "sh"), ("sch", "sh"), ("tch", "ch"), ("dzh", "j"), ("dj", "j"), ("zh", "j"),
            ("kh", "h"), ("gh", "g"), ("ck", "k"), ("ts", "c"), ("tz", "c"), ("ph", "f"))
LETTERS = str.maketrans({"x": "h", "q": "k", "y": "i", "w": "v", "o": "u"})
# A voiced stop after a voiceless consonant is spoken voiceless: Сәтбаев = Сатпаев.
DEVOICED = (("b", "p"), ("d", "t"), ("g", "k"))
VOICELESS = "(?<=[ptkscfh])"
# Surname endings in skeleton form, longest first: -kyzy/-қызы, -uly/-ұлы, -ova, -eva, -ina, -ov, -ev, -in.
ENDINGS = ("kizi", "uli", "uva", "eva", "ina", "uv", "ev", "in")
PATRONYMIC_WORDS = {"uli", "kizi"}  # "Baitursyn uly": the word alone
MIN_STEM = 3
DIGRAPH_INITIALS = {"zh", "sh", "ch", "kh", "ts", "yu", "ya", "yo", "dj"}

EXACT, SKELETON, PREFIX = 3, 2, 1
BASE_SCORE = {EXACT: 100, SKELETON: 70, PREFIX: 40}
SUBSTRING_SCORE = 20


def transliterate(text: str) -> str:
    """Russian and Kazakh Cyrillic letters to Latin (lower case in, lower case out); others unchanged."""
    return "".join(CYRILLIC.get(ch, ch) for ch in text)


def fold(text: str) -> str:
    """Lower case, Cyrillic transliterated, diacritics removed, punctuation to spaces, spaces collapsed."""
    text = unicodedata.normalize("NFC", text).casefold().translate(TO_LATIN)
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = POSSESSIVE.sub("", text).translate(NO_APOSTROPHES)
    return " ".join(NON_WORD.sub(" ", text).split())


def _collapse(word: str) -> str:
    """Double letters become single."""
    return re.sub(r"(.)\1+", r"\1", word)


@functools.lru_cache(maxsize=200_000)
def skeleton(word: str) -> str:
    """The phonetic skeleton of a folded word: kh/h/x, zh/j, ts/c, y/i, o/u merged, glides and doubles dropped."""
    for old, new in DIGRAPHS:
        word = word.replace(old, new)
    word = _collapse(word.translate(LETTERS))
    word = re.sub(r"(?<=[aeu])i(?=[aeu])", "", word)  # Kozybayev = Козыбаев
    word = re.sub(r"^i(?=[aeu])", "", word)  # Yezhov = Ежов
    for voiced, voiceless in DEVOICED:
        word = re.sub(VOICELESS + voiced, voiceless, word)
    return _collapse(word)


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The matching key of a folded word: its skeleton without one surname ending, if three letters remain."""
    skel = skeleton(word)
    for ending in ENDINGS:
        if skel.endswith(ending) and len(skel) - len(ending) >= MIN_STEM:
            return skel[: -len(ending)]
    return skel


def is_cyrillic(text: str) -> bool:
    """Whether a text has a Cyrillic letter."""
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


def is_initial(word: str) -> bool:
    """Whether a folded word is an initial (one letter, or a digraph such as zh)."""
    return len(word) == 1 and word.isalpha() or word in DIGRAPH_INITIALS


@dataclass(frozen=True)
class Token:
    """One folded word with its skeleton and stem."""

    text: str
    skel: str
    stem: str
    initial: bool

    @classmethod
    def of(cls, word: str, initial: bool) -> "Token":
        return cls(word, skeleton(word), stem(word), initial)


def tokens(text: str) -> list[Token]:
    """The words of a text, folded; Kazakh patronymic words (uly, kyzy) dropped; initials marked."""
    return folded_tokens(fold(text))


def folded_tokens(folded: str) -> list[Token]:
    """tokens() of a text already folded."""
    words = [w for w in folded.split() if skeleton(w) not in PATRONYMIC_WORDS]
    names = [w for w in words if not is_initial(w)]
    return [Token.of(w, bool(names) and is_initial(w)) for w in words]


def word_level(q: Token, t: Token) -> int:
    """How well a query word matches a label word (not an initial): EXACT, SKELETON, PREFIX or 0."""
    if q.text == t.text:
        return EXACT
    if q.stem == t.stem:
        return SKELETON
    if len(q.text) >= 2 and t.text.startswith(q.text):
        return PREFIX
    if len(q.skel) >= MIN_STEM and t.skel.startswith(q.skel):  # not "Qqqq", whose skeleton is "k"
        return PREFIX
    return 0


def match_words(names: list[Token], label: list[Token]) -> tuple[int, list[Token]]:
    """The worst level at which every query name matches its own label word (0 if one does not), and the label words left."""
    free = list(label)
    worst, pending, initials = EXACT, [], sum(t.initial for t in label)
    for q in names:
        best = max((t for t in free if not t.initial), key=lambda t: word_level(q, t), default=None)
        if best is None or not word_level(q, best):
            pending.append(q)
            if len(pending) > initials:
                return 0, free
            continue
        free.remove(best)
        worst = min(worst, word_level(q, best))
    if len(pending) == len(names):
        return 0, free
    for q in pending:  # a given name written out where the label has its initial: "Alikhan" for "A."
        initial = next((t for t in free if t.initial and t.skel[:1] == q.skel[:1]), None)
        if initial is None:
            return 0, free
        free.remove(initial)
        worst = min(worst, SKELETON)
    return worst, free


def initials_score(query: list[Token], free: list[Token], label: list[Token]) -> int:
    """Initials given in the query: +3 for each one the label has, -20 for each one it contradicts."""
    given = [t.skel[:1] for t in free if t.initial]
    names = [t.skel[:1] for t in label if not t.initial]
    score = 0
    for q in (t for t in query if t.initial):
        if q.skel[:1] in given:
            given.remove(q.skel[:1])
            score += 3
        elif given or q.skel[:1] not in names:
            score -= 20
    return score


def match_score(query: list[Token], folded_query: str, label: list[Token], folded_label: str) -> float:
    """The score of a label for a query (0: no match)."""
    names = [q for q in query if not q.initial]
    level, free = match_words(names, label) if names else (0, label)
    if not level:
        return float(SUBSTRING_SCORE) if len(folded_query) >= 3 and folded_query in folded_label else 0.0
    score = BASE_SCORE[level] + initials_score(query, free, label)
    if all(t.initial for t in free):
        score += 5  # the label has no words the query lacks
    if folded_query == folded_label:
        score += 5
    return float(score)


@dataclass
class Label:
    """One label or name of a thing, analysed for matching."""

    text: str
    lang: str
    prop: str
    folded: str = ""
    words: list[Token] = field(default_factory=list)
    cyrillic: bool = False

    def __post_init__(self):
        if not self.folded and not self.words:
            self.folded = fold(self.text)
            self.words = folded_tokens(self.folded)
        self.cyrillic = is_cyrillic(self.text)


@dataclass
class Entry:
    """A thing of our namespace and its labels."""

    iri: str
    kind: str  # the kind in the IRI: person, organisation, ...
    class_label: str
    labels: list[Label] = field(default_factory=list)
    display: str = ""  # the display label, when it is known already

    @property
    def label(self) -> str:
        """The display label: English, then Russian, then Kazakh; a printed form only as a last resort."""
        if self.display:
            return self.display
        return min(self.labels, key=label_rank).text if self.labels else self.iri


@dataclass(frozen=True)
class Hit:
    """One result: the thing, its display label, its class label, the name that matched, the score."""

    iri: str
    kind: str
    label: str
    class_label: str
    matched: str
    score: float


PROPS = {"label": 0, "prefLabel": 0, "altLabel": 1, "printedForm": 2}
LANGS = {"en": 0, "ru": 1, "kk": 2}


def label_rank(label: Label) -> tuple[int, int]:
    """Display preference: preferred labels before alternatives before printed forms; en, ru, kk, others."""
    return PROPS.get(label.prop, 3), LANGS.get(label.lang.split("-")[0], 3)


# Kinds a filter may name: the kinds of our IRIs, and 'concept' for the SKOS vocabularies.
CONCEPT_KINDS = ("category", "charge", "measure", "role", "indicator", "unit", "qualifier", "code", "concept")
FILTER_KINDS = {**{k: (k,) for k in KINDS}, "concept": CONCEPT_KINDS, "organization": ("organisation",)}
KIND_ORDER = {k: i for i, k in enumerate(("person", "organisation", "place", "act", "event", "stage", "fond"))}


def best_hit(entry: Entry, query: list[Token], folded: str, cyrillic: bool) -> Hit | None:
    """The entry's best label for the query as a hit, or None if no label matches."""
    scored = [(score, lab) for lab in entry.labels if (score := match_score(query, folded, lab.words, lab.folded)) > 0]
    if not scored:
        return None
    # of equal scores, the name in the query's script, then the preferred label
    score, best = max(scored, key=lambda s: (s[0], s[1].cyrillic == cyrillic, [-r for r in label_rank(s[1])]))
    return Hit(entry.iri, entry.kind, entry.label, entry.class_label, best.text, score)


def rank(hits: list[Hit], limit: int) -> list[Hit]:
    """Best first: score, then kind, then display label."""
    hits.sort(key=lambda h: (-h.score, KIND_ORDER.get(h.kind, 99), fold(h.label), h.iri))
    return hits[:limit]


# --- Writing the index ---------------------------------------------------------------------------

# Every label, filtered here rather than in SPARQL: a FILTER on each of a million labels doubles the time.
LABELS_QUERY = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX kzr: <https://w3id.org/kz-repression/ontology#>
SELECT ?s ?p ?label ?lang WHERE {
  VALUES ?p { rdfs:label skos:prefLabel skos:altLabel kzr:printedForm }
  ?s ?p ?label .
  BIND(LANG(?label) AS ?lang)
}"""
LABEL_VARS = ("s", "p", "label", "lang")
# The classes of the curated things (a registry's things are named by their kind).
TYPES_QUERY = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?s ?type ?typeLabel WHERE {
  GRAPH <%(data)s> { ?s a ?type }
  OPTIONAL { ?type rdfs:label ?typeLabel FILTER(LANGMATCHES(LANG(?typeLabel), "en")) }
}"""
TYPE_VARS = ("s", "type", "typeLabel")

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE entities(id INTEGER PRIMARY KEY, iri TEXT NOT NULL, kind TEXT NOT NULL, class_label TEXT NOT NULL,
                      label TEXT NOT NULL);
CREATE TABLE labels(id INTEGER PRIMARY KEY, entity INTEGER NOT NULL, text TEXT NOT NULL, lang TEXT NOT NULL,
                    prop TEXT NOT NULL, folded TEXT NOT NULL);
CREATE VIRTUAL TABLE terms USING fts5(word, stem, skel, first, init, size, kind, content='', columnsize=0,
                                      detail=column, prefix='2 3', tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE grams USING fts5(folded, content='', columnsize=0, tokenize='trigram');
CREATE TEMP TABLE raw(s TEXT, p TEXT, label TEXT, lang TEXT);
CREATE TEMP TABLE ranks(entity INTEGER PRIMARY KEY, kind TEXT, kind_order INTEGER, sortkey TEXT);
CREATE TEMP TABLE staged(entity INTEGER, text TEXT, lang TEXT, prop TEXT, folded TEXT, word TEXT, stem TEXT, skel TEXT,
                         first TEXT, init TEXT, size TEXT);
"""
# Labels numbered in the order results of one score are shown: kind, display label.
ORDER = """
CREATE TEMP TABLE ordered AS SELECT row_number() OVER (ORDER BY r.kind_order, r.sortkey, s.entity) AS id,
       s.*, r.kind FROM staged s JOIN ranks r USING (entity);
INSERT INTO labels SELECT id, entity, text, lang, prop, folded FROM ordered ORDER BY id;
INSERT INTO terms(rowid, word, stem, skel, first, init, size, kind)
  SELECT id, word, stem, skel, first, init, size, kind FROM ordered ORDER BY id;
INSERT INTO grams(rowid, folded) SELECT id, folded FROM ordered ORDER BY id;
INSERT INTO terms(terms) VALUES ('optimize');
INSERT INTO grams(grams) VALUES ('optimize');
CREATE INDEX labels_folded ON labels(folded);
CREATE INDEX labels_entity ON labels(entity);
DROP TABLE ordered; DROP TABLE staged; DROP TABLE ranks; DROP TABLE raw;
"""


def write_index(select: Select, path: Path, namespace: str = ID) -> dict:
    """Write the text index of every label of our things into a new SQLite file; return its counts."""
    types: dict[str, list[tuple]] = {}
    for s, type_, type_label in select(TYPES_QUERY % {"data": GRAPHS["data"]}, TYPE_VARS):
        types.setdefault(s, []).append((type_, type_label))
    db = sqlite3.connect(path)
    try:
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + SCHEMA)
        db.executemany("INSERT INTO raw VALUES (?, ?, ?, ?)",
                       (row for row in select(LABELS_QUERY, LABEL_VARS) if row[3] is not None and row[0].startswith(namespace)))
        entities = labels = 0
        rows = db.execute("SELECT s, p, label, lang FROM raw ORDER BY s")
        for number, entry in enumerate(entries_of(rows, namespace, types), 1):
            _stage(db, number, entry)
            entities, labels = number, labels + len(entry.labels)
        db.executescript(ORDER)
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("namespace", namespace), ("entities", str(entities)),
                                                          ("labels", str(labels))])
        db.commit()
    finally:
        db.close()
    return {"entities": entities, "labels": labels}


def entries_of(rows: Iterable[tuple], namespace: str, types: dict[str, list[tuple]]) -> Iterator[Entry]:
    """Label rows (s, p, label, lang; ordered by subject) as entries, one per thing, each label once."""
    entry, seen = None, {}
    for s, p, text, lang in rows:
        if entry is None or entry.iri != s:
            if entry is not None:
                yield entry
            kind = s[len(namespace):].split("/", 1)[0]
            entry, seen = Entry(s, kind, kind.capitalize()), {}
            for type_, type_label in types.get(s, ()):
                _prefer_type(entry, type_, type_label)
        prop, label = re.split(r"[#/]", p)[-1], seen.get((text, lang))
        if label is None:
            label = seen[text, lang] = Label(text, lang, prop)
            entry.labels.append(label)
        elif PROPS.get(prop, 3) < PROPS.get(label.prop, 3):  # a label that is also a printed form is a label
            label.prop = prop
    if entry is not None:
        yield entry


def _prefer_type(entry: Entry, iri: str, label: str | None) -> None:
    """Keep the class of the project's ontology over other classes (qb:DataSet, skos:Concept)."""
    ours = "/kz-repression/ontology#" in iri
    if ours or entry.class_label == entry.kind.capitalize():
        entry.class_label = label or re.split(r"[#/]", iri)[-1]


def _stage(db: sqlite3.Connection, number: int, entry: Entry) -> None:
    """One thing and its labels into the staging tables, analysed."""
    db.execute("INSERT INTO entities VALUES (?, ?, ?, ?, ?)",
               (number, entry.iri, entry.kind, entry.class_label, entry.label))
    db.execute("INSERT INTO ranks VALUES (?, ?, ?, ?)",
               (number, entry.kind, KIND_ORDER.get(entry.kind, 99), fold(entry.label)))
    db.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(number, lab.text, lab.lang, lab.prop, lab.folded, *_terms(lab.words)) for lab in entry.labels])


def _terms(words: list[Token]) -> tuple[str, str, str, str, str, str]:
    """The FTS columns of a label: its names' words, stems and skeletons; first letters of all words; its initials; its size."""
    names = [t for t in words if not t.initial and _safe(t.text)]
    return (" ".join(t.text for t in names), " ".join(t.stem for t in names), " ".join(t.skel for t in names),
            " ".join(t.skel[:1] for t in words if _safe(t.skel[:1])),
            " ".join(t.skel[:1] for t in words if t.initial and _safe(t.skel[:1])), _size(len(names)))


def _size(names: int) -> str:
    """The size term of a label with this many names (words that are not initials)."""
    return f"n{names}"


def _safe(word: str) -> bool:
    """Whether the FTS tokenizer reads the word as one term (letters and digits only)."""
    return word.isalnum()


# --- Querying the index --------------------------------------------------------------------------

MAX_PAGES = 10  # pages of candidates one plan reads at most
ENTRY_ROWS = """SELECT e.iri, e.kind, e.class_label, e.label, l.text, l.lang, l.prop, l.folded
FROM labels l JOIN entities e ON e.id = l.entity %s ORDER BY l.entity, l.id"""


class SearchIndex:
    """The labels of our things in a SQLite text index (see write_index), searched read-only."""

    def __init__(self, db: Database):
        self.db = db
        self._entries: list[Entry] | None = None

    @classmethod
    def open(cls, path: Path, temporary: bool = False) -> "SearchIndex":
        return cls(Database(path, temporary))

    @classmethod
    def from_rows(cls, rows: list[dict], namespace: str = ID) -> "SearchIndex":
        """An index in a temporary file, from SELECT bindings of ?s ?p ?label (with its language) and ?type ?typeLabel."""
        def select(sparql, names):
            if names == TYPE_VARS:
                return iter([(r["s"]["value"], r["type"]["value"], r.get("typeLabel", {}).get("value"))
                             for r in rows if "type" in r])
            return iter([(r["s"]["value"], r["p"]["value"], r["label"]["value"], r["label"].get("xml:lang", ""))
                         for r in rows])
        path = temporary_path("search.sqlite")
        write_index(select, path, namespace)
        return cls.open(path, temporary=True)

    def search(self, q: str, kind: str | None = None, limit: int = 20) -> list[Hit]:
        """The things whose labels match q, best first."""
        query, folded, cyrillic = tokens(q), fold(q), is_cyrillic(q)
        kinds = FILTER_KINDS.get(kind, (kind,)) if kind else None
        cap = 3 * limit + 30
        hits: list[Hit] = []
        seen: set[int] = set()
        with self.db.connect() as db:
            for ceiling, plans in candidate_stages(query, folded, kinds):
                if len(hits) >= limit and rank(hits, limit)[-1].score > ceiling:
                    break  # nothing this stage finds can score as high as the results so far
                for sql, params in plans:
                    rows = db.execute(sql, (*params, cap * MAX_PAGES))
                    while page := rows.fetchmany(cap):  # read on while candidates prove not to match
                        found = {entity for _, entity in page} - seen
                        seen |= found
                        entries = _read_entries(db, "WHERE l.entity IN (SELECT value FROM json_each(?))",
                                                (json.dumps(sorted(found)),))
                        hits += [hit for entry in entries if (hit := best_hit(entry, query, folded, cyrillic))]
                        if len(page) < cap or len(hits) >= limit:
                            break
                    rows.close()
        return rank(hits, limit)

    @property
    def entries(self) -> list[Entry]:
        """Every thing with its labels (read once; for the reconciliation catalogue)."""
        if self._entries is None:
            with self.db.connect() as db:
                self._entries = _read_entries(db, "", ())
        return self._entries


def _read_entries(db: sqlite3.Connection, where: str, params: tuple) -> list[Entry]:
    """Entries with their analysed labels, from the rows the condition selects."""
    entries: list[Entry] = []
    for iri, kind, class_label, display, text, lang, prop, folded in db.execute(ENTRY_ROWS % where, params):
        if not entries or entries[-1].iri != iri:
            entries.append(Entry(iri, kind, class_label, display=display))
        entries[-1].labels.append(Label(text, lang, prop, folded, folded_tokens(folded)))
    return entries


def candidate_stages(query: list[Token], folded: str, kinds: tuple | None) -> list[tuple[float, list]]:
    """SQL reading the things that may match, in stages, each with the highest score a thing it alone finds can have.

    Each query takes one more parameter, how many labels to read at most; it reads them in display
    order, as (label, thing). Stages: equal words, then equal words
    or stems (each with the query's initials and no other words first, as they score highest); a
    given name written out where a label has its initial; prefixes; substrings.
    """
    kind_sql = " AND e.kind IN (SELECT value FROM json_each(?))" if kinds else ""
    kind_params = (json.dumps(kinds),) if kinds else ()
    kind_match = f" AND kind : ({' OR '.join(_quote(k) for k in kinds)})" if kinds else ""
    names = [q for q in query if not q.initial]
    whole = f"size : {_size(len(names))}"  # no words beyond the query's: a higher score
    initials = _all(f"first : {_quote(q.skel[:1])}" for q in query if q.initial and _safe(q.skel[:1]))

    def plan(expression: str) -> tuple[str, tuple]:
        return ("SELECT terms.rowid, l.entity FROM terms JOIN labels l ON l.id = terms.rowid"
                " WHERE terms MATCH ? ORDER BY terms.rowid LIMIT ?", (expression + kind_match,))

    def terms(level: str, sizes: bool = True) -> list[tuple[str, tuple]]:
        variants = ([level, initials, whole], [level, initials], [level, whole], [level]) if sizes else ([level, initials], [level])
        return [plan(expression) for expression in dict.fromkeys(_all(parts) for parts in variants)] if level else []

    equal = [("SELECT l.id, l.entity FROM labels l JOIN entities e ON e.id = l.entity WHERE l.folded = ?"
              f"{kind_sql} ORDER BY l.id LIMIT ?", (folded, *kind_params))]
    same = _all(f"word : {_quote(q.text)}" if _safe(q.text) else "" for q in names)
    # a given name written out where a label has its initial ("Alikhan" for "A."): a spelling variant
    written_out = [plan(f"{_exact(q)} AND ({' OR '.join(f'init : {_quote(o.skel[:1])}' for o in names if o is not q)})")
                   for q in names if len(names) > 1 and _exact(q)]
    substring = [("SELECT l.id, l.entity FROM grams JOIN labels l ON l.id = grams.rowid JOIN entities e ON e.id = l.entity"
                  f" WHERE grams MATCH ?{kind_sql} ORDER BY grams.rowid LIMIT ?",
                  (_quote(folded), *kind_params))] if len(folded) >= 3 else []
    bonus = 3 * (len(query) - len(names)) + 10  # what the query's initials, no other words and equal text add
    return [(float("inf"), equal + terms(same) + terms(_all(_exact(q) for q in names))),
            (BASE_SCORE[SKELETON] + bonus, written_out),
            # prefixes of several names are costly to read twice; of one name, whole labels come first ("Re" finds "Reprimand")
            (BASE_SCORE[PREFIX] + bonus, terms(_all(_loose(q, len(names) > 1) for q in names), len(names) == 1)),
            (SUBSTRING_SCORE, substring)]


def _exact(q: Token) -> str:
    """FTS: a label word equal to the query word, or with the same stem."""
    return f"(word : {_quote(q.text)} OR stem : {_quote(q.stem)})" if _safe(q.text) else ""


def _loose(q: Token, others: bool) -> str:
    """FTS: anything word_level can match, or an initial when other names are given (see match_words)."""
    if not _safe(q.text):
        return ""
    parts = [f"word : {_quote(q.text)}", f"stem : {_quote(q.stem)}"] + [f"init : {_quote(q.skel[:1])}"] * others
    if len(q.text) >= 2:
        parts.append(f"word : {_quote(q.text)}*")
    if len(q.skel) >= MIN_STEM:
        parts.append(f"skel : {_quote(q.skel)}*")
    return "(" + " OR ".join(parts) + ")"


def _all(parts: Iterable[str]) -> str:
    return " AND ".join(p for p in parts if p)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# --- One index per build, for the web app and the reconciliation service ----------------------

def build_marker(backend) -> str | None:
    """When the served build ended (the metadata graph's prov:endedAtTime), or None if it does not say."""
    return build_info(backend).get("time")


def load_index(backend, namespace: str) -> SearchIndex:
    """An index of every label of our things, read through the backend into a temporary file."""
    path = temporary_path("search.sqlite")
    write_index(backend_select(backend), path, namespace)
    return SearchIndex.open(path, temporary=True)


class IndexCache(PerBuild):
    """One index per backend and build: the store's own index file, or one read through the backend."""

    def __init__(self):
        super().__init__("search.sqlite", write_index, SearchIndex.open)
