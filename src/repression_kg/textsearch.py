"""Name search across scripts: folding (Cyrillic to Latin, case, diacritics), phonetic skeletons, an in-memory index.

Matching levels, best first: the folded name is equal; the skeletons of the stems are equal
(transliteration variants and surname endings merged); a name is a prefix of a label's word;
the query is a substring of the label. Initials refine the ranking but never make a match.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field

from .backend import build_info
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
# Skeleton rewrites, in order: digraphs first, then single letters.
DIGRAPHS = (("shch", "sh"), ("sch", "sh"), ("tch", "ch"), ("dzh", "j"), ("dj", "j"), ("zh", "j"),
            ("kh", "h"), ("gh", "g"), ("ck", "k"), ("ts", "c"), ("tz", "c"), ("ph", "f"))
LETTERS = str.maketrans({"x": "h", "q": "k", "y": "i", "w": "v", "o": "u"})
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
    text = transliterate(unicodedata.normalize("NFC", text).casefold())
    text = "".join(LATIN.get(ch, ch) for ch in text)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = re.sub(f"[{APOSTROPHES}]s\\b", "", text)  # English possessive: "Smagulov's father"
    text = "".join(ch for ch in text if ch not in APOSTROPHES)
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def _collapse(word: str) -> str:
    """Double letters become single."""
    return re.sub(r"(.)\1+", r"\1", word)


def skeleton(word: str) -> str:
    """The phonetic skeleton of a folded word: kh/h/x, zh/j, ts/c, y/i, o/u merged, glides and doubles dropped."""
    for old, new in DIGRAPHS:
        word = word.replace(old, new)
    word = _collapse(word.translate(LETTERS))
    word = re.sub(r"(?<=[aeu])i(?=[aeu])", "", word)  # Kozybayev = Козыбаев
    word = re.sub(r"^i(?=[aeu])", "", word)  # Yezhov = Ежов
    return _collapse(word)


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
    words = [w for w in fold(text).split() if skeleton(w) not in PATRONYMIC_WORDS]
    names = [w for w in words if not is_initial(w)]
    return [Token.of(w, bool(names) and is_initial(w)) for w in words]


def word_level(q: Token, t: Token) -> int:
    """How well a query word matches a label word (not an initial): EXACT, SKELETON, PREFIX or 0."""
    if q.text == t.text:
        return EXACT
    if q.stem == t.stem:
        return SKELETON
    if len(q.text) >= 2 and (t.text.startswith(q.text) or t.skel.startswith(q.skel)):
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
        self.folded, self.words, self.cyrillic = fold(self.text), tokens(self.text), is_cyrillic(self.text)


@dataclass
class Entry:
    """A thing of our namespace and its labels."""

    iri: str
    kind: str  # the kind in the IRI: person, organisation, ...
    class_label: str
    labels: list[Label] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The display label: English, then Russian, then Kazakh; a printed form only as a last resort."""
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
CONCEPT_KINDS = ("category", "charge", "measure", "role", "indicator", "unit", "qualifier", "code")
FILTER_KINDS = {**{k: (k,) for k in KINDS}, "concept": CONCEPT_KINDS, "organization": ("organisation",)}
KIND_ORDER = {k: i for i, k in enumerate(("person", "organisation", "place", "act", "event", "stage", "fond"))}


class SearchIndex:
    """Labels of our things, searched in memory. The seam for a real text index: from_rows() and search()."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries

    @classmethod
    def from_rows(cls, rows: list[dict], namespace: str = ID) -> "SearchIndex":
        """Build from SELECT bindings of ?s ?p ?label (with its language) ?type ?typeLabel."""
        entries: dict[str, Entry] = {}
        seen: set[tuple[str, str, str]] = set()
        for row in rows:
            iri = row["s"]["value"]
            entry = entries.get(iri)
            if entry is None:
                kind = iri[len(namespace):].split("/", 1)[0]
                entry = entries[iri] = Entry(iri, kind, kind.capitalize())
            if "type" in row:
                _prefer_type(entry, row)
            text, lang = row["label"]["value"], row["label"].get("xml:lang", "")
            if (iri, text, lang) not in seen:
                seen.add((iri, text, lang))
                prop = re.split(r"[#/]", row["p"]["value"])[-1]
                entry.labels.append(Label(text, lang, prop))
        return cls(list(entries.values()))

    def search(self, q: str, kind: str | None = None, limit: int = 20) -> list[Hit]:
        """The things whose labels match q, best first."""
        query, folded, cyrillic = tokens(q), fold(q), is_cyrillic(q)
        kinds = FILTER_KINDS.get(kind, (kind,)) if kind else None
        hits = []
        for entry in self.entries:
            if kinds and entry.kind not in kinds:
                continue
            scored = [(score, lab) for lab in entry.labels
                      if (score := match_score(query, folded, lab.words, lab.folded)) > 0]
            if scored:  # of equal scores, the name in the query's script, then the preferred label
                score, best = max(scored, key=lambda s: (s[0], s[1].cyrillic == cyrillic, [-r for r in label_rank(s[1])]))
                hits.append(Hit(entry.iri, entry.kind, entry.label, entry.class_label, best.text, score))
        hits.sort(key=lambda h: (-h.score, KIND_ORDER.get(h.kind, 99), fold(h.label), h.iri))
        return hits[:limit]


def _prefer_type(entry: Entry, row: dict) -> None:
    """Keep the class of the project's ontology over other classes (qb:DataSet, skos:Concept)."""
    iri = row["type"]["value"]
    ours = "/kz-repression/ontology#" in iri
    if ours or entry.class_label == entry.kind.capitalize():
        label = row.get("typeLabel", {}).get("value") or re.split(r"[#/]", iri)[-1]
        entry.class_label = label


LABELS_QUERY = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX kzr: <https://w3id.org/kz-repression/ontology#>
SELECT ?s ?p ?label ?type ?typeLabel WHERE {
  VALUES ?p { rdfs:label skos:prefLabel skos:altLabel kzr:printedForm }
  ?s ?p ?label .
  FILTER(isIRI(?s) && STRSTARTS(STR(?s), "%(namespace)s") && isLiteral(?label))
  OPTIONAL {
    GRAPH <%(data)s> { ?s a ?type }
    OPTIONAL { ?type rdfs:label ?typeLabel FILTER(LANGMATCHES(LANG(?typeLabel), "en")) }
  }
}"""

def build_marker(backend) -> str | None:
    """When the served build ended (the metadata graph's prov:endedAtTime), or None if it does not say."""
    return build_info(backend).get("time")


def load_index(backend, namespace: str) -> SearchIndex:
    """Read every label of our things through the backend, in one query."""
    rows = backend.select(LABELS_QUERY % {"namespace": namespace, "data": GRAPHS["data"]})
    return SearchIndex.from_rows(rows, namespace)


class IndexCache:
    """One index per backend and build: rebuilt when the backend's build marker changes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._index: SearchIndex | None = None

    def get(self, backend, namespace: str) -> SearchIndex:
        """The index for this backend's current build, loaded when first needed."""
        key = (backend, namespace, build_marker(backend))
        with self._lock:
            if self._index is None or key != self._key:
                self._index, self._key = load_index(backend, namespace), key
            return self._index
