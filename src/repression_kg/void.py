"""The dataset description (VoID and DCAT) as an rdflib Graph, counted from the store through a backend.

Pure logic (no Flask): the web view passes the backend, the base IRI and the site's own URL.
The description is cached per build (the build's time and source digest from the metadata graph),
so the counting queries run once per build, not once per request.
"""
from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, XSD

from . import __version__
from .backend import Backend, build_info
from . import namespaces
from .namespaces import GRAPHS, ID, KZR, ONTOLOGY, PREFIXES, sparql_prefixes
from .registry import REGISTRY_GRAPH as REGISTRY

VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
BIBO = Namespace("http://purl.org/ontology/bibo/")
IANA = "http://www.iana.org/assignments/media-types/"
LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")
SOURCE = URIRef("https://doi.org/10.31489/2021HPh4/113-123")
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")
# The EU Publications Office's dataset type for synthetic data (DCAT-AP's dct:type vocabulary).
SYNTHETIC_DATA = URIRef("http://publications.europa.eu/resource/authority/dataset-type/SYNTHETIC_DATA")
# The counts scan the whole store (16 M quads with a registry of 350,000 persons); they run once per build.
COUNT_TIMEOUT = 300.0
EXAMPLES = ("stage/repression-5", "person/bukeikhanov-a", "dataset/table-1")
TITLE = "Soviet political repression in Kazakhstan, 1920s-1980s: a knowledge graph"
DESCRIPTION = (
    "The nine stages of Soviet political repression in Kazakhstan (1917 to the late 1980s) and the five "
    "stages of the rehabilitation of its victims, with the persons, organisations, places, legal acts, "
    "archival fonds, events and statistics named in Z.G. Saktaganova, \u201cTo the question about the stages "
    "of political repression in Kazakhstan in the 1920s-1980s\u201d (Bulletin of the Karaganda University, "
    "2021). Every statement about the past cites the passage of the article that makes it.")
ARTICLE = ("Z.G. Saktaganova, \u201cTo the question about the stages of political repression in Kazakhstan in the "
           "1920s-1980s\u201d, Bulletin of the Karaganda University. History. Philosophy series, No. 4 (104), 2021, "
           "pp. 113\u2013123, https://doi.org/10.31489/2021HPh4/113-123")
AUTHOR = "Kazakhstan repression knowledge graph contributors"
# Known targets of links out: namespace -> (title, homepage).
TARGETS = {"http://www.wikidata.org/entity/": ("Wikidata", "https://www.wikidata.org/"),
           "https://sws.geonames.org/": ("GeoNames", "https://www.geonames.org/"),
           "http://sws.geonames.org/": ("GeoNames", "https://www.geonames.org/")}
# Vocabulary IRIs for the namespaces of classes and properties (our own: the ontology's IRI).
VOCABULARIES = {str(KZR): str(ONTOLOGY),
                **{ns: ns for p, ns in PREFIXES.items() if not ns.startswith(ID) and p not in ("kzr", "shape")}}

NAMESPACES = {**PREFIXES, "void": str(VOID), "dcat": str(DCAT), "spdx": str(SPDX)}

_cache: dict[tuple, Graph] = {}


def describe(backend: Backend, base: str, site: str, release: dict | None = None) -> Graph:
    """The VoID/DCAT description of the dataset; `site` is this server's URL without a trailing slash.

    `release` is the manifest of the dumps this server offers (export.ensure_release), or None.
    """
    build = build_info(backend)
    if not build.get("time"):  # no build metadata (a foreign store): nothing to key a cache on
        return _describe(backend, base, site, build, release)
    key = (build["time"], build.get("digest"), base, site, release and release["marker"])
    if key not in _cache:
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = _describe(backend, base, site, build, release)
    return _cache[key]


def _describe(backend: Backend, base: str, site: str, build: dict, release: dict | None) -> Graph:
    """Count and describe; no caching."""
    g = Graph(bind_namespaces="core")
    for prefix, ns in NAMESPACES.items():
        g.bind(prefix, ns)
    dataset = URIRef(base + "dataset")
    _about(g, dataset, base, build)
    classes, properties = _partitions(g, dataset, backend)
    g.add((dataset, VOID.triples, Literal(_count(backend, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"))))
    g.add((dataset, VOID.entities, Literal(_count(backend, f'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a ?c FILTER(STRSTARTS(STR(?s), "{base}id/")) }}'))))
    g.add((dataset, VOID.classes, Literal(len(classes))))
    g.add((dataset, VOID.properties, Literal(len(properties))))
    for vocabulary in sorted({VOCABULARIES[ns] for ns in map(_namespace, classes + properties) if ns in VOCABULARIES}):
        g.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    g.add((dataset, DCAT.landingPage, URIRef(site + "/")))
    _registry(g, dataset, backend)
    _linksets(g, dataset, backend)
    _access(g, dataset, site)
    if release:
        _dumps(g, dataset, site, release)
    return g


def _about(g: Graph, dataset: URIRef, base: str, build: dict) -> None:
    """What the dataset is: types, title, description, licence, source, version, how to cite, IRI space, examples."""
    g.add((dataset, RDF.type, VOID.Dataset))
    g.add((dataset, RDF.type, DCAT.Dataset))
    g.add((dataset, DCTERMS.title, Literal(build.get("title") or TITLE, lang="en")))
    g.add((dataset, DCTERMS.description, Literal(DESCRIPTION, lang="en")))
    g.add((dataset, DCTERMS.license, LICENSE))
    g.add((dataset, DCTERMS.source, SOURCE))
    g.add((SOURCE, RDF.type, BIBO.AcademicArticle))
    g.add((SOURCE, BIBO.doi, Literal("10.31489/2021HPh4/113-123")))
    g.add((SOURCE, DCTERMS.bibliographicCitation, Literal(ARTICLE, lang="en")))
    g.add((dataset, DCTERMS.bibliographicCitation, Literal(citation(build, base), lang="en")))
    g.add((dataset, DCAT.version, Literal(version(build))))
    g.add((dataset, VOID.uriSpace, Literal(base + "id/")))
    for path in EXAMPLES:
        g.add((dataset, VOID.exampleResource, URIRef(base + "id/" + path)))
    if build.get("time"):
        g.add((dataset, DCTERMS.modified, Literal(build["time"], datatype=XSD.dateTime)))
        activity = BNode()
        g.add((dataset, PROV.wasGeneratedBy, activity))
        g.add((activity, RDF.type, PROV.Activity))
        g.add((activity, PROV.endedAtTime, Literal(build["time"], datatype=XSD.dateTime)))
        if build.get("digest"):
            g.add((activity, DCTERMS.identifier, Literal(build["digest"])))


def _access(g: Graph, dataset: URIRef, site: str) -> None:
    """The SPARQL endpoint: a distribution through a DataService."""
    endpoint = URIRef(site + "/sparql")
    service, distribution = BNode(), BNode()
    g.add((dataset, VOID.sparqlEndpoint, endpoint))
    g.add((dataset, DCAT.distribution, distribution))
    g.add((distribution, RDF.type, DCAT.Distribution))
    g.add((distribution, DCTERMS.title, Literal("SPARQL endpoint", lang="en")))
    g.add((distribution, DCAT.accessURL, endpoint))
    g.add((distribution, DCAT.accessService, service))
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCTERMS.title, Literal("SPARQL 1.1 query service (read-only)", lang="en")))
    g.add((service, DCAT.endpointURL, endpoint))
    g.add((service, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    g.add((service, DCAT.servesDataset, dataset))


def _registry(g: Graph, dataset: URIRef, backend: Backend) -> None:
    """The registry graph, where a build added one, as a subset: what the build's metadata says of it, its triples,
    its classes (persons, records, ...), its sources, and dct:type synthetic data where it is synthetic."""
    triples = _count(backend, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{REGISTRY}> {{ ?s ?p ?o }} }}")
    if not triples:
        return
    g.add((dataset, VOID.subset, REGISTRY))
    g.add((REGISTRY, RDF.type, VOID.Dataset))
    g.add((REGISTRY, RDF.type, DCAT.Dataset))
    rows = backend.select(f"SELECT ?p ?o WHERE {{ GRAPH <{GRAPHS['metadata']}> {{ <{REGISTRY}> ?p ?o }} }}")
    for row in rows:
        p, o = URIRef(row["p"]["value"]), _term(row["o"])
        if o is not None and p not in (RDF.type, VOID.triples):
            g.add((REGISTRY, p, o))
    g.add((REGISTRY, VOID.triples, Literal(triples)))
    classes = backend.select(f"""SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH <{REGISTRY}> {{ ?s a ?c }} }}
        GROUP BY ?c ORDER BY ?c""", COUNT_TIMEOUT)
    for row in classes:
        node = BNode()
        g.add((REGISTRY, VOID.classPartition, node))
        g.add((node, VOID["class"], URIRef(row["c"]["value"])))
        g.add((node, VOID.entities, Literal(int(row["n"]["value"]))))
    for row in backend.select(f"SELECT DISTINCT ?source WHERE {{ GRAPH <{REGISTRY}> {{ ?source a <{KZR.Source}> }} }}"):
        g.add((REGISTRY, DCTERMS.source, URIRef(row["source"]["value"])))
    title = g.value(REGISTRY, DCTERMS.title)
    g.set((dataset, DCTERMS.description, Literal(
        f"{DESCRIPTION} This build also holds a registry of persons in the graph <{REGISTRY}>"
        + (f" ({title})" if title else "") + ", described as a subset of this dataset.", lang="en")))


def _term(binding: dict):
    """A SPARQL JSON term as an rdflib term (None for a blank node)."""
    if binding["type"] == "uri":
        return URIRef(binding["value"])
    if binding["type"] == "literal" and binding.get("xml:lang"):
        return Literal(binding["value"], lang=binding["xml:lang"])
    if binding["type"] == "literal":
        return Literal(binding["value"], datatype=URIRef(binding["datatype"]) if binding.get("datatype") else None)
    return None


def _dumps(g: Graph, dataset: URIRef, site: str, release: dict) -> None:
    """One distribution per dump file (download URL, media type, size, checksum); RDF files are void:dataDumps.

    A file of the registry graph alone belongs to the registry's subset, the others to the dataset.
    """
    for f in release["files"]:
        if f["kind"] == "checksums":
            continue
        url, node, checksum = URIRef(f"{site}/dumps/{f['name']}"), BNode(), BNode()
        owner = REGISTRY if f.get("graphs") == ["registry"] else dataset
        g.add((owner, DCAT.distribution, node))
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCTERMS.title, Literal(f["title"] + (", gzip" if f["compressed"] else ""), lang="en")))
        g.add((node, DCAT.downloadURL, url))
        g.add((node, DCAT.accessURL, url))
        g.add((node, DCAT.mediaType, URIRef(IANA + f["media_type"])))
        if f["compressed"]:
            g.add((node, DCAT.compressFormat, URIRef(IANA + "application/gzip")))
        g.add((node, DCAT.byteSize, Literal(f["bytes"], datatype=XSD.nonNegativeInteger)))
        g.add((node, DCTERMS.license, LICENSE))
        g.add((node, DCTERMS.modified, Literal(release["build_time"], datatype=XSD.dateTime)))
        g.add((node, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(f["sha256"], datatype=XSD.hexBinary)))
        if f["kind"] == "rdf":
            g.add((owner, VOID.dataDump, url))


def _linksets(g: Graph, dataset: URIRef, backend: Backend) -> None:
    """A void:Linkset per target dataset and link property of the links graph (none while there are no links)."""
    known = " ".join(f'"{ns}"' for ns in TARGETS)
    rows = backend.select(sparql_prefixes() + f"""SELECT ?ns ?p (COUNT(*) AS ?n) WHERE {{
          GRAPH <{GRAPHS['links']}> {{ ?s ?p ?o FILTER(isIRI(?o) && ?p IN (skos:exactMatch, skos:closeMatch, owl:sameAs)) }}
          OPTIONAL {{ VALUES ?known {{ {known} }} FILTER(STRSTARTS(STR(?o), ?known)) }}
          BIND(COALESCE(?known, REPLACE(STR(?o), "[^/#]*[/#]?$", "")) AS ?ns)
        }} GROUP BY ?ns ?p ORDER BY ?ns ?p""")
    targets: dict[str, BNode] = {}
    for r in rows:
        ns = r["ns"]["value"]
        if ns not in targets:
            title, homepage = TARGETS.get(ns, (ns, None))
            targets[ns] = target = BNode()
            g.add((target, RDF.type, VOID.Dataset))
            g.add((target, DCTERMS.title, Literal(title)))
            g.add((target, VOID.uriSpace, Literal(ns)))
            if homepage:
                g.add((target, FOAF.homepage, URIRef(homepage)))
        linkset = BNode()
        g.add((dataset, VOID.subset, linkset))
        g.add((linkset, RDF.type, VOID.Linkset))
        g.add((linkset, VOID.subjectsTarget, dataset))
        g.add((linkset, VOID.objectsTarget, targets[ns]))
        g.add((linkset, VOID.target, dataset))
        g.add((linkset, VOID.target, targets[ns]))
        g.add((linkset, VOID.linkPredicate, URIRef(r["p"]["value"])))
        g.add((linkset, VOID.triples, Literal(int(r["n"]["value"]))))


def _partitions(g: Graph, dataset: URIRef, backend: Backend) -> tuple[list[str], list[str]]:
    """A class partition per class (entities) and a property partition per property (triples)."""
    classes = backend.select("SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c", COUNT_TIMEOUT)
    properties = backend.select("SELECT ?p (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } } GROUP BY ?p",
                                COUNT_TIMEOUT)
    for link, key, count, rows in ((VOID.classPartition, VOID["class"], VOID.entities, classes),
                                   (VOID.propertyPartition, VOID.property, VOID.triples, properties)):
        for row in sorted(rows, key=lambda r: r.get("c", r.get("p"))["value"]):
            term = row.get("c", row.get("p"))
            if term["type"] != "uri":
                continue
            node = BNode()
            g.add((dataset, link, node))
            g.add((node, key, URIRef(term["value"])))
            g.add((node, count, Literal(int(row["n"]["value"]))))
    return ([r["c"]["value"] for r in classes if r["c"]["type"] == "uri"],
            [r["p"]["value"] for r in properties])


def version(build: dict) -> str:
    """The package version, with the build's source digest as build metadata: 0.1.0+590f9ef5fb75."""
    digest = (build.get("digest") or "").split(":")[-1]
    return f"{__version__}+{digest[:12]}" if digest else __version__


def citation(build: dict, base: str) -> str:
    """The suggested citation of the dataset (the source article is named in it)."""
    year = (build.get("time") or "")[:4] or "n.d."
    return (f"{AUTHOR} ({year}). {TITLE} (version {version(build)}) [Data set]. {base}dataset. "
            f"Licence: CC BY 4.0. Derived from: {ARTICLE}.")


def _count(backend: Backend, query: str) -> int:
    """The single number a COUNT query answers."""
    rows = backend.select(query, COUNT_TIMEOUT)
    return int(rows[0]["n"]["value"]) if rows else 0


def _namespace(iri: str) -> str:
    """The namespace of a term: up to and including the last '#' or '/'."""
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1]


# --- Serialisation and the HTML view --------------------------------------------------------

RDFLIB_FORMATS = {"turtle": "turtle", "ntriples": "nt", "nquads": "nt", "jsonld": "json-ld",
                  "rdfxml": "xml", "trig": "trig"}


def serialize(g: Graph, format_name: str) -> bytes:
    """The graph in one of our formats (N-Quads of one default graph are N-Triples)."""
    rdflib_format = RDFLIB_FORMATS[format_name]
    if rdflib_format == "json-ld":
        return g.serialize(format="json-ld", context=NAMESPACES, encoding="utf-8")
    return g.serialize(format=rdflib_format, encoding="utf-8")


def curie(iri: str) -> str:
    """An IRI shortened with the longest matching prefix (VoID and DCAT included), or the IRI."""
    return namespaces.curie(iri, NAMESPACES).removeprefix("<").removesuffix(">")


def statements(g: Graph, subject, skip=(VOID.classPartition, VOID.propertyPartition)) -> list[dict]:
    """The statements about a subject as rows {property, iri, values}, rdf:type first; blank nodes and subsets nested."""
    rows = []
    for p in sorted(set(g.predicates(subject)) - set(skip), key=lambda p: (p != RDF.type, curie(str(p)))):
        values = [_cell(g, p, o) for o in sorted(g.objects(subject, p), key=str)]
        rows.append({"property": curie(str(p)), "iri": str(p), "values": values})
    return rows


def _cell(g: Graph, p, o) -> dict:
    """One object: an IRI, a literal (with its language or datatype), or a nested description (a blank node, or a
    subset with its classes)."""
    if isinstance(o, BNode):
        return {"rows": statements(g, o)}
    if p == VOID.subset and (o, RDF.type, VOID.Dataset) in g:
        return {"rows": statements(g, o, skip=())}
    if isinstance(o, URIRef):
        return {"iri": str(o), "curie": curie(str(o))}
    return {"text": str(o), "lang": o.language, "datatype": curie(str(o.datatype)) if o.datatype else None}


def partitions(g: Graph, dataset, link, key, count) -> list[dict]:
    """The class or property partitions as rows {iri, curie, count}, largest first."""
    rows = []
    for node in g.objects(dataset, link):
        term, n = g.value(node, key), g.value(node, count)
        rows.append({"iri": str(term), "curie": curie(str(term)), "count": int(n)})
    return sorted(rows, key=lambda r: (-r["count"], r["iri"]))
