"""The ontology's documentation: every class and property with labels, definitions, axioms and alignments."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .describe import ONTOLOGY_GRAPH, RDF_TYPE, RDFS, SKOS, Href, Node, _facts, _Namer, ref
from .namespaces import KZR, curie

OWL = "http://www.w3.org/2002/07/owl#"
TERM_KINDS = ((OWL + "Class", "Classes"), (OWL + "ObjectProperty", "Object properties"),
              (OWL + "DatatypeProperty", "Datatype properties"), (OWL + "AnnotationProperty", "Annotation properties"))
ALIGNMENTS = (RDFS + "subClassOf", RDFS + "subPropertyOf", OWL + "equivalentClass", OWL + "equivalentProperty",
              SKOS + "exactMatch", SKOS + "closeMatch")


@dataclass
class Term:
    """A class or property of the ontology as documented."""

    name: str
    iri: str
    labels: dict[str, str]
    definitions: dict[str, str]
    supers: list[Node]
    domain: list[Node]
    range: list[Node]
    inverse: list[Node]
    alignments: list[tuple[str, Node]]
    characteristics: list[Node]
    instances: int | None = None
    defined: bool = False


@dataclass
class OntologyDoc:
    """The ontology's header and its terms, by kind."""

    iri: str
    title: dict[str, str]
    description: dict[str, str]
    version: str | None
    sections: list[tuple[str, list[Term]]]


def term_exists(backend, name: str) -> bool:
    """Whether the ontology describes a term of this local name."""
    return backend.ask(f"ASK {{ GRAPH <{ONTOLOGY_GRAPH}> {{ {ref(str(KZR) + name)} ?p ?o }} }}")


def _by_lang(terms: list[dict]) -> dict[str, str]:
    """Literals by language tag, one per language."""
    return {t.get("xml:lang", ""): t["value"] for t in sorted(terms, key=lambda t: t["value"])}


def ontology_doc(backend, ontology_iri: str, href: Href) -> OntologyDoc:
    """The documentation of every class and property of the ontology, with instance counts for classes."""
    rows = backend.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o "
                          f"FILTER(isIRI(?s) && STRSTARTS(STR(?s), \"{ontology_iri}\")) }} }}")
    counts = backend.select(f"SELECT ?c (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a ?c "
                            f"FILTER(STRSTARTS(STR(?c), \"{KZR}\")) }} GROUP BY ?c")
    instances = {r["c"]["value"]: int(r["n"]["value"]) for r in counts}
    facts, inverses = _facts(rows), defaultdict(list)
    for s, props in facts.items():
        for o in props.get(OWL + "inverseOf", []):
            inverses[s].append(o["value"])
            inverses[o["value"]].append(s)
    name = _Namer(facts, href)
    sections: dict[str, list[Term]] = {heading: [] for _, heading in TERM_KINDS}
    for iri, props in facts.items():
        types = {t["value"] for t in props.get(RDF_TYPE, [])}
        heading = next((h for t, h in TERM_KINDS if t in types), None)
        if heading and iri.startswith(str(KZR)):
            count = instances.get(iri, 0) if heading == "Classes" else None
            sections[heading].append(_term(iri, props, name, sorted(set(inverses[iri])), count))
    header = facts.get(ontology_iri, {})
    version = (header.get(OWL + "versionInfo") or [{}])[0].get("value")
    return OntologyDoc(ontology_iri, _by_lang(header.get("http://purl.org/dc/terms/title", [])),
                       _by_lang(header.get("http://purl.org/dc/terms/description", [])), version,
                       [(h, sorted(ts, key=lambda t: t.name.lower())) for h, ts in sections.items() if ts])


def _term(iri: str, props: dict, name: _Namer, inverses: list[str], instances: int | None) -> Term:
    """One term's documentation."""
    iris = lambda *ps: [t["value"] for p in ps for t in props.get(p, []) if t["type"] == "uri"]  # noqa: E731
    ours = lambda i: i.startswith(str(KZR))  # noqa: E731
    supers = [name.iri(i) for i in iris(RDFS + "subClassOf", RDFS + "subPropertyOf") if ours(i)]
    alignments = [(curie(p), name.iri(i)) for p in ALIGNMENTS for i in iris(p) if not ours(i)]
    kinds = {k for k, _ in TERM_KINDS}
    characteristics = [name.iri(i) for i in iris(RDF_TYPE) if i not in kinds]
    defined = any(t["type"] == "bnode" for t in props.get(OWL + "equivalentClass", []))
    return Term(iri[len(str(KZR)):], iri, _by_lang(props.get(RDFS + "label", [])),
                _by_lang(props.get(SKOS + "definition", [])), supers,
                [name.iri(i) for i in iris(RDFS + "domain")], [name.iri(i) for i in iris(RDFS + "range")],
                [name.iri(i) for i in inverses], alignments, characteristics, instances, defined)
