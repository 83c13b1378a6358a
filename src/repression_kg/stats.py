"""Counts over the built store: per class (in the data graph and a registry's graph), claims, citations, links,
triples per graph."""
from __future__ import annotations

import pyoxigraph as ox

from .namespaces import GRAPHS, KZR, sparql_prefixes
from .query import select_rows
from .registry import REGISTRY_GRAPH

CLASS_COUNTS = """
SELECT ?class (COUNT(DISTINCT ?x) AS ?count) WHERE {
  GRAPH <%%s> { ?x a ?class }
  FILTER (STRSTARTS(STR(?class), "%s") || ?class IN (skos:Concept, skos:ConceptScheme))
} GROUP BY ?class ORDER BY DESC(?count) ?class
""" % KZR

TOTALS = """
SELECT
  (COUNT(DISTINCT ?claim) AS ?claims)
  (COUNT(DISTINCT ?citation) AS ?citations)
WHERE {
  { ?claim a kzr:Claim } UNION { ?citation a kzr:Citation }
}
"""

LINKS = """
SELECT (COUNT(*) AS ?links) WHERE {
  GRAPH <%s> { ?s ?p ?o FILTER (?p IN (skos:exactMatch, skos:closeMatch)) }
}
""" % GRAPHS["links"]

GRAPH_SIZES = "SELECT ?graph (COUNT(*) AS ?triples) WHERE { GRAPH ?graph { ?s ?p ?o } } GROUP BY ?graph ORDER BY ?graph"


def stats(store: ox.Store) -> dict:
    """The counts as a plain dict: classes asserted in the data graph, registry_classes in the registry graph."""
    prefixes = sparql_prefixes()
    _, classes = select_rows(store, prefixes + CLASS_COUNTS % GRAPHS["data"])
    _, registry_classes = select_rows(store, prefixes + CLASS_COUNTS % REGISTRY_GRAPH)
    _, totals = select_rows(store, prefixes + TOTALS)
    _, links = select_rows(store, prefixes + LINKS)
    _, sizes = select_rows(store, GRAPH_SIZES)
    return {
        "classes": {r["class"]: int(r["count"]) for r in classes},
        "registry_classes": {r["class"]: int(r["count"]) for r in registry_classes},
        "claims": int(totals[0]["claims"]),
        "citations": int(totals[0]["citations"]),
        "links": int(links[0]["links"]),
        "graphs": {r["graph"]: int(r["triples"]) for r in sizes},
    }


def format_stats(counts: dict) -> str:
    """The counts as readable text."""
    registry = counts.get("registry_classes") or {}
    if registry:
        lines = [f"Instances per class (asserted), by graph:  {'data':>9} {'registry':>9}"]
        for cls in sorted(counts["classes"].keys() | registry.keys(),
                          key=lambda c: (-counts["classes"].get(c, 0) - registry.get(c, 0), c)):
            lines.append(f"  {_short(cls):<40} {counts['classes'].get(cls, 0):>9} {registry.get(cls, 0):>9}")
    else:
        lines = ["Instances per class (asserted, data graph):"]
        lines += [f"  {_short(cls):<32} {n:>6}" for cls, n in counts["classes"].items()]
    lines.append(f"Claims:     {counts['claims']}")
    lines.append(f"Citations:  {counts['citations']}")
    lines.append(f"Links out:  {counts['links']}")
    lines.append("Triples per graph:")
    for graph, n in counts["graphs"].items():
        lines.append(f"  {graph:<48} {n:>9}")
    return "\n".join(lines) + "\n"


def _short(cls: str) -> str:
    return cls.replace(str(KZR), "kzr:").replace("http://www.w3.org/2004/02/skos/core#", "skos:")
