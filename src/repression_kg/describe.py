"""Describe one thing of the graph: its RDF description and the model of its page.

Pure logic over a Backend (no Flask): the web views parse the request, call these and render.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from . import cite
from .formats import ALIASES, FORMATS, GRAPH, Format, NotAcceptable, negotiate
from .namespaces import GRAPHS, KZR, curie

ONTOLOGY_GRAPH, INFERRED_GRAPH, LINKS_GRAPH = (str(GRAPHS[r]) for r in ("ontology", "inferred", "links"))
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
LABELS = (RDFS + "label", SKOS + "prefLabel")
MATCHES = (SKOS + "exactMatch", SKOS + "closeMatch")
HTML_TYPES = ("text/html", "application/xhtml+xml")
DATA_FORMATS = tuple(f for f in FORMATS if f.kind == GRAPH)
QUAD_FORMATS = ("nquads", "trig")
LANGS = ("en", "ru", "kk", "")
PRINTED = {str(KZR[t]) for t in ("printedForm", "position", "researchTopic", "printedValue")}
EDITORIAL = {str(KZR.editorialNote), str(KZR.likelyReading), SKOS + "editorialNote", SKOS + "scopeNote"}
SPECIAL = {RDF_TYPE, *LABELS, *MATCHES, str(KZR.citation), str(KZR.timeSpan)}
SECTIONS = ("Front matter", "Abstract", "Introduction", "Experimental", "Results and Discussion",
            "Conclusion", "Abstract (Kazakh)", "Abstract (Russian)")
PREFIXES = (f"PREFIX kzr: <{KZR}>\nPREFIX rdfs: <{RDFS}>\nPREFIX skos: <{SKOS}>\n")
_UNSAFE = re.compile(r'[\s<>"{}|\\^`]')

Href = Callable[[str], str]


def ref(iri: str) -> str:
    """An IRI as a SPARQL IRI reference; ValueError for characters that could break the query."""
    if not iri or _UNSAFE.search(iri):
        raise ValueError(f"Not a usable IRI: {iri!r}")
    return f"<{iri}>"


def choose_format(accept: str | None) -> Format | None:
    """The RDF format an Accept header prefers, or None for the HTML page; NotAcceptable if neither."""
    if not accept or not accept.strip():
        return None
    accepted = parse_accept_header(accept, MIMEAccept)
    xhtml = max((q for value, q in accepted if value == HTML_TYPES[1]), default=0)
    html_q = max(accepted.quality(HTML_TYPES[0]), xhtml)
    try:
        fmt = negotiate(GRAPH, accept)
    except NotAcceptable:
        if html_q > 0:
            return None
        raise
    names = [fmt.media_type] + [alias for alias, name in ALIASES.items() if name == fmt.name]
    return None if html_q >= max(accepted.quality(m) for m in names) else fmt


def exists(backend, iri: str) -> bool:
    """Whether any triple has this IRI as its subject."""
    return backend.ask(f"ASK {{ {ref(iri)} ?p ?o }}")


# --- The RDF description -------------------------------------------------------------------------

_DEPENDENT = "(isBlank({v}) || EXISTS {{ {v} a kzr:Citation }} || EXISTS {{ {v} a kzr:TimeSpan }})"


def _description_body(iri: str) -> str:
    """The thing's triples, those of its dependent nodes (two levels), and labels of what they point to."""
    s, dep = ref(iri), (lambda v: _DEPENDENT.format(v=v))
    return f"""
  {{ {{ BIND({s} AS ?s) }}
    UNION {{ {s} ?p1 ?s FILTER{dep('?s')} }}
    UNION {{ {s} ?p1 ?n . ?n ?p2 ?s FILTER({dep('?n')} && {dep('?s')}) }}
    GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{ONTOLOGY_GRAPH}>) }}
  UNION
  {{ {{ {s} ?x ?s }} UNION {{ {s} ?p1 ?n . ?n ?x ?s FILTER{dep('?n')} }}
    UNION {{ {s} ?p1 ?n . ?n ?p2 ?m . ?m ?x ?s FILTER({dep('?n')} && {dep('?m')}) }}
    FILTER(isIRI(?s))
    GRAPH ?g {{ ?s ?p ?o }} FILTER(?p IN (rdfs:label, skos:prefLabel, kzr:referenceNumber)) }}"""


def description(backend, iri: str, fmt: Format) -> bytes:
    """The thing's description serialised in a format; N-Quads and TriG keep the graph names."""
    body = _description_body(iri)
    if fmt.name in QUAD_FORMATS:
        return serialize_quads(description_rows(backend, iri), fmt)
    return backend.construct(f"{PREFIXES}CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SELECT DISTINCT ?s ?p ?o "
                             f"WHERE {{ {body} }} }}", fmt=fmt.name)


def description_rows(backend, iri: str) -> list[dict]:
    """The thing's description as quads in SPARQL JSON terms (?g ?s ?p ?o)."""
    return backend.select(f"{PREFIXES}SELECT DISTINCT ?g ?s ?p ?o WHERE {{ {_description_body(iri)} }}")


def _ox(t: dict):
    """A SPARQL JSON term as a pyoxigraph term."""
    if t["type"] == "uri":
        return ox.NamedNode(t["value"])
    if t["type"] == "bnode":
        return ox.BlankNode(t["value"])
    if "xml:lang" in t:
        return ox.Literal(t["value"], language=t["xml:lang"])
    if "datatype" in t:
        return ox.Literal(t["value"], datatype=ox.NamedNode(t["datatype"]))
    return ox.Literal(t["value"])


def serialize_quads(rows: list[dict], fmt: Format) -> bytes:
    """Rows of ?g ?s ?p ?o serialised as quads."""
    quads = [ox.Quad(_ox(r["s"]), _ox(r["p"]), _ox(r["o"]), _ox(r["g"])) for r in rows]
    return ox.serialize(quads, format=fmt.oxigraph) or b""


def ontology_rdf(backend, fmt: Format) -> bytes:
    """The ontology graph serialised in a format."""
    where = f"WHERE {{ VALUES ?g {{ <{ONTOLOGY_GRAPH}> }} GRAPH ?g {{ ?s ?p ?o }} }}"
    if fmt.name in QUAD_FORMATS:
        return serialize_quads(backend.select(f"SELECT ?g ?s ?p ?o {where}"), fmt)
    return backend.construct(f"CONSTRUCT {{ ?s ?p ?o }} {where}", fmt=fmt.name)


# --- The page -------------------------------------------------------------------------------------

@dataclass
class Node:
    """A term as shown: its text, where it links, its language or datatype."""

    text: str
    href: str | None = None
    lang: str | None = None
    datatype: str | None = None
    note: str | None = None


@dataclass
class Citation:
    """One cited passage: source, locator, the source's reference and pages, and the quote."""

    href: str
    source: Node
    locator: str
    reference: str
    quote: Node | None
    order: tuple = ()


@dataclass
class Span:
    """A time-span: the source's wording, the EDTF value, the outer bounds and its citations."""

    node: Node
    wording: list[Node]
    edtf: str | None
    begin: str | None
    end: str | None
    citations: list[Citation] = field(default_factory=list)


@dataclass
class Group:
    """The values of one property, with a mark ("printed", "editorial") and how many were left off."""

    prop: Node
    values: list = field(default_factory=list)
    mark: str | None = None
    more: int = 0


@dataclass
class Link:
    """A thing that points here, with the citations of its claim."""

    node: Node
    citations: list[Citation] = field(default_factory=list)


@dataclass
class Page:
    """Everything an entity page shows."""

    iri: str
    curie: str
    title: Node
    labels: list[Node]
    types: list[tuple[Node, bool]]
    statements: list[Group]
    spans: list[Span]
    citations: list[Citation]
    links_out: list[Group]
    incoming: list[Group]
    incoming_total: int = 0


def _pick(terms: list[dict]) -> dict | None:
    """The preferred literal: English, then Russian, Kazakh, untagged, then any."""
    def rank(t):
        lang = t.get("xml:lang", "")
        return LANGS.index(lang) if lang in LANGS else len(LANGS)
    return min(terms, key=rank, default=None)


def _label(props: dict[str, list[dict]]) -> dict | None:
    """A thing's display label from its properties: a label, else its printed form."""
    return _pick([t for p in LABELS for t in props.get(p, [])]) or _pick(props.get(str(KZR.printedForm), []))


def _facts(rows, s="s", p="p", o="o") -> dict[str, dict[str, list[dict]]]:
    """Rows grouped as subject -> property -> distinct objects."""
    facts: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:
        values = facts[r[s]["value"]][r[p]["value"]]
        if r[o] not in values:
            values.append(r[o])
    return facts


def _literal(t: dict) -> Node:
    """A literal with its language, and its datatype unless it is a plain string."""
    dt = t.get("datatype")
    shown = curie(dt) if dt and not dt.endswith(("#string", "#langString")) else None
    return Node(t["value"], lang=t.get("xml:lang"), datatype=shown)


class _Namer:
    """Turns terms into Nodes with labels (from known facts) and local links."""

    def __init__(self, facts: dict, href: Href):
        self.facts, self.href = facts, href

    def iri(self, iri: str) -> Node:
        """An IRI with its display label (or its CURIE) and its link."""
        label = _label(self.facts.get(iri, {}))
        return Node(label["value"] if label else curie(iri), self.href(iri), label.get("xml:lang") if label else None)

    def term(self, t: dict, depth: int = 0) -> Node:
        """An IRI with its label, a literal, or a blank node spelled out from its statements (two levels)."""
        if t["type"] == "uri":
            return self.iri(t["value"])
        if t["type"] == "bnode":
            props = self.facts.get(t["value"], {}) if depth < 2 else {}
            parts = [f"{self.iri(p).text}: {self.term(v, depth + 1).text}" for p, vs in props.items()
                     for v in vs if p != RDF_TYPE]
            return Node("; ".join(sorted(parts)) or "(blank node)")
        return _literal(t)


def labels(backend, iris) -> dict[str, dict[str, list[dict]]]:
    """Labels and printed forms of some IRIs, as facts."""
    iris = sorted({i for i in iris if not _UNSAFE.search(i)})
    if not iris:
        return {}
    values = " ".join(f"<{i}>" for i in iris)
    # A FILTER, not a second VALUES: Oxigraph joined two VALUES by scanning every label triple.
    rows = backend.select(f"{PREFIXES}SELECT DISTINCT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} ?s ?p ?o "
                          "FILTER(?p IN (rdfs:label, skos:prefLabel, kzr:printedForm)) }")
    return _facts(rows)


def citations(backend, subjects, href: Href) -> dict[str, list[Citation]]:
    """The citations of some things, each sorted in the order of the source."""
    subjects = sorted({s for s in subjects if not _UNSAFE.search(s)})
    if not subjects:
        return {}
    values = " ".join(f"<{s}>" for s in subjects)
    rows = backend.select(f"""{PREFIXES}SELECT DISTINCT ?s ?c ?p ?o WHERE {{ VALUES ?s {{ {values} }}
        ?s kzr:citation ?c . {{ ?c ?p ?o }} UNION {{ ?c kzr:reference ?r . ?r kzr:referenceNumber ?o
        BIND(kzr:referenceNumber AS ?p) }} }}""")
    facts, owners = _facts(rows, s="c"), defaultdict(set)
    for r in rows:
        owners[r["s"]["value"]].add(r["c"]["value"])
    built = {c: _citation(c, props, href) for c, props in facts.items()}
    return {s: sorted((built[c] for c in cs), key=lambda c: c.order) for s, cs in owners.items()}


def _one(props: dict, name: str) -> str | None:
    """The first value of one of our properties, or None."""
    values = props.get(str(KZR[name]), [])
    return values[0]["value"] if values else None


def _citation(iri: str, props: dict, href: Href) -> Citation:
    """A citation node as shown: "Saktaganova 2021, <section>, para. N (p. P) [N; pages]"."""
    section, para, table, page = (_one(props, n) for n in ("section", "paragraph", "table", "page"))
    source = _one(props, "inSource") or ""
    quote = _pick(props.get(str(KZR.quote), []))
    order = (SECTIONS.index(section) if section in SECTIONS else len(SECTIONS), int(para or 0), table or "", iri)
    return Citation(href(iri), Node(cite.short_source(source), href(source) if source else None),
                    cite.locator(section, para, table, page),
                    cite.reference(_one(props, "referenceNumber"), _one(props, "referencePages")),
                    quote and Node(quote["value"], lang=quote.get("xml:lang")), order)


def _incoming(backend, iri: str, cap: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Counts per property of the things that point here (directly or through a blank node), and the first `cap`."""
    pattern = (f"{{ ?s ?p {ref(iri)} }} UNION {{ ?s ?q ?b . ?b ?p {ref(iri)} FILTER(isBlank(?b)) }} "
               f"FILTER(isIRI(?s) && ?s != {ref(iri)})")
    counts = backend.select(f"SELECT ?p (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {pattern} }} GROUP BY ?p")
    rows = backend.select(f"SELECT DISTINCT ?p ?s WHERE {{ {pattern} }} ORDER BY ?p ?s LIMIT {int(cap)}")
    return ({r["p"]["value"]: int(r["n"]["value"]) for r in counts},
            [(r["p"]["value"], r["s"]["value"]) for r in rows])


def _span(iri: str, facts: dict, name: _Namer, cites: dict) -> Span:
    """A time-span node as shown."""
    props = facts.get(iri, {})
    first = lambda p: (props.get(p) or [{}])[0].get("value")  # noqa: E731
    wording = [_literal(t) for t in props.get(str(KZR.printedForm), [])]
    return Span(name.iri(iri), wording, first(str(KZR.edtf)),
                first("http://www.cidoc-crm.org/cidoc-crm/P82a_begin_of_the_begin"),
                first("http://www.cidoc-crm.org/cidoc-crm/P82b_end_of_the_end"), cites.get(iri, []))


def _groups(own: dict[str, list[dict]], name: _Namer) -> list[Group]:
    """The thing's statements grouped by property: printed forms first, editorial notes last."""
    groups = []
    for p, values in own.items():
        if p in SPECIAL:
            continue
        mark = "printed" if p in PRINTED else "editorial" if p in EDITORIAL else None
        groups.append(Group(name.iri(p), [name.term(v) for v in values], mark))
    rank = {"printed": 0, None: 1, "editorial": 2}
    return sorted(groups, key=lambda g: (rank[g.mark], g.prop.text.lower()))


def _types(own: dict, graphs: dict, name: _Namer) -> list[tuple[Node, bool]]:
    """The thing's types, each with whether only the reasoner inferred it; ours and asserted first."""
    found = []
    for t in own.get(RDF_TYPE, []):
        inferred = graphs.get(t["value"], set()) == {INFERRED_GRAPH}
        found.append((name.iri(t["value"]), inferred, not t["value"].startswith(str(KZR))))
    found.sort(key=lambda x: (x[1], x[2], x[0].text.lower()))
    return [(node, inferred) for node, inferred, _ in found]


def _title(iri: str, own: dict, itself: Citation | None) -> tuple[Node, list[Node]]:
    """The page's title (the preferred label, or a citation's own wording) and the other labels beside it."""
    all_labels = [t for p in LABELS for t in own.get(p, [])]
    best = _label(own)
    if best is None:
        return Node(f"{itself.source.text}, {itself.locator} {itself.reference}".strip() if itself else curie(iri)), []
    others = [_literal(t) for t in all_labels if t != best and t["value"] != best["value"]]
    return Node(best["value"], lang=best.get("xml:lang")), others


def page(backend, iri: str, href: Href, cap: int, cite_incoming: bool = False) -> Page:
    """The model of a thing's page; `cite_incoming` adds the citations of the claims that point to it."""
    rows = description_rows(backend, iri)
    facts = _facts(rows)
    own = facts.get(iri, {})
    type_graphs = defaultdict(set)
    for r in rows:
        if r["s"]["value"] == iri and r["p"]["value"] == RDF_TYPE:
            type_graphs[r["o"]["value"]].add(r["g"]["value"])
    counts, incoming = _incoming(backend, iri, cap)
    predicates = {p for props in facts.values() for p in props} | set(counts)
    facts.update({k: v for k, v in labels(backend, predicates | {s for _, s in incoming}).items() if k not in facts})
    name = _Namer(facts, href)
    span_iris = [t["value"] for t in own.get(str(KZR.timeSpan), [])]
    cites = citations(backend, [iri, *span_iris, *(s for _, s in incoming if cite_incoming)], href)
    itself = _own_citation(iri, own, facts, href)
    if itself:
        cites[iri] = [itself]
    title, others = _title(iri, own, itself)
    return Page(iri, curie(iri), title, others, _types(own, type_graphs, name), _groups(own, name),
                [_span(s, facts, name, cites) for s in span_iris], cites.get(iri, []),
                _links_out(rows, iri, name), _incoming_groups(counts, incoming, name, cites), sum(counts.values()))


def _own_citation(iri: str, own: dict, facts: dict, href: Href) -> Citation | None:
    """A citation node's page shows the citation itself, with its reference number."""
    if not any(t["value"] == str(KZR.Citation) for t in own.get(RDF_TYPE, [])):
        return None
    number = str(KZR.referenceNumber)
    numbers = [n for r in own.get(str(KZR.reference), []) for n in facts.get(r["value"], {}).get(number, [])]
    return _citation(iri, {**own, number: numbers}, href)


def _links_out(rows: list[dict], iri: str, name: _Namer) -> list[Group]:
    """skos:exactMatch / closeMatch of the thing; a note says which stand in the links graph."""
    groups: dict[str, Group] = {}
    for r in rows:
        p = r["p"]["value"]
        if r["s"]["value"] != iri or p not in MATCHES or r["o"]["type"] != "uri":
            continue
        group = groups.setdefault(p, Group(name.iri(p)))
        target = r["o"]["value"]
        node = Node(curie(target), target, note="verified link" if r["g"]["value"] == LINKS_GRAPH else None)
        if all(v.href != target for v in group.values):
            group.values.append(node)
    return list(groups.values())


def _incoming_groups(counts: dict, incoming: list, name: _Namer, cites: dict) -> list[Group]:
    """The things that point here, grouped by property, with the count of those left off."""
    groups: dict[str, Group] = {}
    for p, s in incoming:
        groups.setdefault(p, Group(name.iri(p))).values.append(Link(name.iri(s), cites.get(s, [])))
    for p, n in counts.items():
        group = groups.setdefault(p, Group(name.iri(p)))
        group.more = n - len(group.values)
    for group in groups.values():
        group.values.sort(key=lambda link: link.node.text.lower())
    return sorted(groups.values(), key=lambda g: g.prop.text.lower())
