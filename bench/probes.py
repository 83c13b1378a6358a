"""The standard set of the registry benchmark: what each target is asked, as picklable request makers.

A target is a "site" (our server: pages and /sparql), a "sparql" server (a SPARQL endpoint only)
or "inproc" (pyoxigraph in this process). Pages of the site (entity page, search, facets) are
asked of SPARQL-only targets as the SPARQL a user of such a server would have to run instead.
A "cold" series appends a distinct comment to each query text, so that no result cache (ours
or rdflib-endpoint's prepared-query cache) can answer it; a "repeated" series sends the same text.
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from clients import Request
from repression_kg.sparql_text import query_form

ROOT = Path(__file__).resolve().parents[1]
ID = "https://w3id.org/kz-repression/id/"
RESULTS_JSON = "application/sparql-results+json"
PREFIXES = """PREFIX kzr: <https://w3id.org/kz-repression/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
STRIDE = 7919  # a prime: i * STRIDE mod n visits every person before repeating (n not a multiple of it)


def accept_for(sparql: str) -> str:
    return "text/turtle" if query_form(sparql) in ("CONSTRUCT", "DESCRIBE") else RESULTS_JSON


@dataclass(frozen=True)
class Registry:
    """What the benchmark knows of the registry it loaded: size, person IRIs, a name to search."""

    persons: int
    width: int   # digits of the person numbers (person/synth-0000001: 7)
    name: str    # a person's name as printed in the registry (Latin script)

    def person(self, i: int) -> str:
        """The IRI of the i-th person, i taken modulo the registry, in a scattered order."""
        return f"{ID}person/synth-{(i * STRIDE) % self.persons + 1:0{self.width}d}"


@dataclass(frozen=True)
class Sparql:
    """A SPARQL query POSTed to `path`; a cold series makes each text distinct. `{person}` is filled per run."""

    path: str
    text: str
    cold: bool
    registry: Registry | None = None
    series: str = ""

    def __call__(self, i: int) -> Request:
        text = self.text
        if "{person}" in text:
            text = text.replace("{person}", self.registry.person(i))
        if self.cold:
            text += f"\n# cold {self.series} {i}"
        return Request(self.path, accept_for(text), text.encode("utf-8"))


@dataclass(frozen=True)
class Page:
    """A GET of a page of the site; `{num}` is filled with a person's number per run."""

    path: str
    accept: str
    registry: Registry

    def __call__(self, i: int) -> Request:
        path = self.path
        if "{num}" in path:
            path = path.replace("{num}", self.registry.person(i).rsplit("-", 1)[1])
        return Request(path, self.accept)


LOOKUP = "SELECT ?p ?o WHERE { <{person}> ?p ?o }"
STATEMENTS = """SELECT ?dir ?p ?o WHERE {
  { <{person}> ?p ?o BIND("out" AS ?dir) } UNION { ?o ?p <{person}> BIND("in" AS ?dir) } }"""
GROUP_BY = PREFIXES + """SELECT ?region (COUNT(DISTINCT ?p) AS ?persons) WHERE {
  ?r a kzr:Repression ; kzr:victim ?p ; kzr:place ?region } GROUP BY ?region ORDER BY DESC(?persons)"""
ORDER_BY = PREFIXES + """SELECT ?p ?date WHERE { ?r kzr:victim ?p ; kzr:arrestDate ?date }
ORDER BY DESC(?date) ?p LIMIT 20"""
SEARCH_SCAN = PREFIXES + """SELECT ?s ?label WHERE { ?s rdfs:label ?label
  FILTER (CONTAINS(LCASE(STR(?label)), "%s")) } LIMIT 20"""
FACETS = PREFIXES + """SELECT ?facet ?value (COUNT(DISTINCT ?p) AS ?persons) WHERE {
  { ?r kzr:victim ?p ; kzr:place ?value BIND("region" AS ?facet) }
  UNION { ?r kzr:victim ?p ; kzr:inStage ?value BIND("stage" AS ?facet) }
  UNION { ?r kzr:victim ?p ; kzr:charge ?value BIND("charge" AS ?facet) }
  UNION { ?r kzr:victim ?p ; kzr:sentence ?value BIND("sentence" AS ?facet) }
  UNION { ?p a kzr:Person ; kzr:nationality ?value BIND("nationality" AS ?facet) }
  UNION { ?r kzr:victim ?p ; kzr:arrestDate ?d BIND(YEAR(?d) AS ?value) BIND("year" AS ?facet) }
} GROUP BY ?facet ?value"""
REGION = ID + "place/karaganda-region"
# The faceted list filtered by one region: the counts of every facet among that region's persons.
FACETS_FILTERED = FACETS.replace("WHERE {\n", f"WHERE {{\n  ?rf kzr:victim ?p ; kzr:place <{REGION}> .\n", 1)

# Pages of the site and the SPARQL a SPARQL-only target runs instead (name, page path, SPARQL).
PAGES = (
    ("entity page", "/page/person/synth-{num}", STATEMENTS),
    ("search", "/search?q={name}&format=json", None),
    ("facet counts", "/facets?format=json", FACETS),
    ("faceted list (one region)", "/persons?region=place/karaganda-region&format=json", FACETS_FILTERED),
)
# Registry queries every target runs (name, SPARQL); "lookup" is also the throughput workload.
REGISTRY_QUERIES = (("registry GROUP BY", GROUP_BY), ("ORDER BY + LIMIT", ORDER_BY), ("lookup", LOOKUP))


def example_queries() -> list[tuple[str, str]]:
    """The queries of queries/*.rq, by file stem."""
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "queries").glob("*.rq"))]


def standard_set(kind: str, sparql_path: str, registry: Registry, series: str) -> list[tuple[str, object]]:
    """(probe name, request maker) of the cold series for a target of this kind."""
    probes = []
    for name, page, sparql in PAGES:
        if kind == "site":
            path = page.replace("{name}", urllib.parse.quote(registry.name))
            probes.append((name, Page(path, RESULTS_JSON if "json" in path else "text/html", registry)))
        else:
            text = sparql if sparql is not None else SEARCH_SCAN % registry.name.lower().replace('"', "")
            probes.append((name, Sparql(sparql_path, text, True, registry, series)))
    for name, text in [*REGISTRY_QUERIES, *example_queries()]:
        probes.append((name, Sparql(sparql_path, text, True, registry, series)))
    return probes


def repeated_set(sparql_path: str, registry: Registry) -> list[tuple[str, Sparql]]:
    """The SPARQL probes sent with the same text every time (the result cache's case)."""
    fixed = [(name, text.replace("{person}", registry.person(0))) for name, text in REGISTRY_QUERIES]
    return [(name, Sparql(sparql_path, text, False)) for name, text in [*fixed, *example_queries()]]
