"""The SPARQL Service Description of the endpoint (https://www.w3.org/TR/sparql11-service-description/)."""
from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

from ..formats import FORMATS, Format
from ..namespaces import GRAPHS

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMAT_IRIS = {
    "json": "SPARQL_Results_JSON", "xml": "SPARQL_Results_XML", "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV", "turtle": "Turtle", "ntriples": "N-Triples", "jsonld": "JSON-LD",
    "rdfxml": "RDF_XML", "nquads": "N-Quads", "trig": "TriG",
}
RDFLIB_NAMES = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml",
                "nquads": "nquads", "trig": "trig"}


def service_description(endpoint_url: str, fmt: Format) -> bytes:
    """The description serialised in an RDF format."""
    graph = Graph()
    graph.bind("sd", SD)
    service = URIRef(endpoint_url)
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, service))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    graph.add((service, SD.feature, SD.BasicFederatedQuery))
    graph.add((service, DCTERMS.title, Literal("Soviet political repression in Kazakhstan, 1920s-1980s: SPARQL endpoint (read-only)", lang="en")))
    for f in FORMATS:
        graph.add((service, SD.resultFormat, URIRef("http://www.w3.org/ns/formats/" + FORMAT_IRIS[f.name])))
    dataset = BNode("dataset")
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = BNode("default-graph")
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    for role, iri in GRAPHS.items():
        named = BNode(role)
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, iri))
    context = fmt.name if fmt.name in RDFLIB_NAMES else "turtle"
    if fmt.name in ("nquads", "trig"):
        from rdflib import Dataset

        ds = Dataset()
        ds.graph(URIRef("urn:x-sd:service-description")).__iadd__(graph)
        return ds.serialize(format=RDFLIB_NAMES[context], encoding="utf-8")
    return graph.serialize(format=RDFLIB_NAMES[context], encoding="utf-8")
