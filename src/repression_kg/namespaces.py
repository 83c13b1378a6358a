"""Namespaces, prefixes and the names of the dataset's graphs."""
from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD

KZR = Namespace("https://w3id.org/kz-repression/ontology#")
ID = "https://w3id.org/kz-repression/id/"
GRAPH = "https://w3id.org/kz-repression/graph/"
CRM = Namespace("http://www.cidoc-crm.org/cidoc-crm/")
QB = Namespace("http://purl.org/linked-data/cube#")
RICO = Namespace("https://www.ica.org/standards/RiC/ontology#")
SCHEMA = Namespace("https://schema.org/")
ONTOLOGY = URIRef("https://w3id.org/kz-repression/ontology")
EDTF = URIRef("http://id.loc.gov/datatypes/edtf/EDTF")

# The named graphs of the built dataset, by role.
GRAPHS = {role: URIRef(GRAPH + role) for role in ("ontology", "data", "links", "inferred", "metadata")}

KINDS = (
    "person", "organisation", "place", "act", "event", "stage", "repression", "rehabilitation",
    "fond", "source", "reference", "citation", "timespan", "category", "charge", "measure",
    "role", "indicator", "unit", "qualifier", "code", "scheme", "dataset", "observation",
    "record", "concept",  # a registry's records and its own concepts (repression-kg synth, build --add)
)

# Prefixes of the kinds of things, where the prefix is not the kind's own name.
KIND_PREFIX = {"organisation": "org", "rehabilitation": "rehab", "citation": "cit",
               "timespan": "ts", "reference": "ref", "observation": "obs"}

PREFIXES = {
    "kzr": str(KZR),
    "shape": "https://w3id.org/kz-repression/shapes#",
    **{KIND_PREFIX.get(kind, kind): f"{ID}{kind}/" for kind in KINDS},
    "rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL), "xsd": str(XSD), "skos": str(SKOS),
    "dct": str(DCTERMS), "prov": str(PROV), "foaf": str(FOAF), "crm": str(CRM), "qb": str(QB),
    "rico": str(RICO), "schema": str(SCHEMA), "edtf": "http://id.loc.gov/datatypes/edtf/",
    "bibo": "http://purl.org/ontology/bibo/", "time": "http://www.w3.org/2006/time#",
    "wd": "http://www.wikidata.org/entity/", "wdt": "http://www.wikidata.org/prop/direct/",
}


def sparql_prefixes() -> str:
    """The PREFIX lines for every prefix above."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())


def curie(iri: str, prefixes: dict[str, str] | None = None) -> str:
    """An IRI shortened with the longest matching prefix, or <iri>."""
    for prefix, ns in sorted((prefixes or PREFIXES).items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"
