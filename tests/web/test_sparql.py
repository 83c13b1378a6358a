"""The SPARQL 1.1 Protocol at /sparql: methods, content negotiation, errors, read-only, SERVICE, CORS."""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

KZR = "https://w3id.org/kz-repression/ontology#"
SELECT = f"SELECT ?n WHERE {{ ?s a <{KZR}RepressionStage> ; <{KZR}ordinal> ?n }} ORDER BY ?n"
ASK = f"ASK {{ ?s a <{KZR}RepressionStage> }}"
CONSTRUCT = (f"CONSTRUCT {{ ?s <{KZR}ordinal> ?n }} WHERE {{ ?s a <{KZR}RepressionStage> ; <{KZR}ordinal> ?n }}")
DESCRIBE = "DESCRIBE <https://w3id.org/kz-repression/id/stage/repression-5>"
STAGE_5 = URIRef("https://w3id.org/kz-repression/id/stage/repression-5")


def send(client, method: str, query: str, accept: str | None = None, fmt: str | None = None, **extra):
    """One request by one of the protocol's three ways."""
    headers = {"Accept": accept} if accept else {}
    params = {"query": query, **({"format": fmt} if fmt else {}), **extra}
    if method == "GET":
        return client.get("/sparql", query_string=params, headers=headers)
    if method == "POST-form":
        return client.post("/sparql", data=params, headers=headers)
    params.pop("query")
    return client.post("/sparql", data=query, query_string=params,
                       headers={**headers, "Content-Type": "application/sparql-query"})


def ordinals(body: bytes, media_type: str) -> list[int]:
    """The ?n column of a SELECT answer in any results format."""
    text = body.decode("utf-8")
    if media_type == "application/sparql-results+json":
        return [int(b["n"]["value"]) for b in json.loads(text)["results"]["bindings"]]
    if media_type == "application/sparql-results+xml":
        ns = {"r": "http://www.w3.org/2005/sparql-results#"}
        return [int(e.text) for e in ET.fromstring(text).findall(".//r:binding[@name='n']/r:literal", ns)]
    if media_type == "text/csv":
        return [int(r["n"]) for r in csv.DictReader(io.StringIO(text))]
    return [int(line.split("^^")[0].strip('"')) for line in text.splitlines()[1:]]


def parse_rdf(data: bytes, rdflib_format: str) -> Graph:
    """Parse with rdflib; quad formats with Oxigraph's parser (rdflib's warns of deprecations)."""
    graph = Graph()
    if rdflib_format in ("nquads", "trig"):
        fmt = ox.RdfFormat.N_QUADS if rdflib_format == "nquads" else ox.RdfFormat.TRIG
        for quad in ox.parse(data, format=fmt):
            graph.parse(data=f"{quad.subject} {quad.predicate} {quad.object} .", format="nt")
        return graph
    return graph.parse(data=data, format=rdflib_format)


METHODS = ["GET", "POST-form", "POST-query"]
RESULT_CASES = [  # (Accept, format=, expected media type)
    (None, None, "application/sparql-results+json"),
    ("*/*", None, "application/sparql-results+json"),
    ("application/sparql-results+json", None, "application/sparql-results+json"),
    ("application/sparql-results+xml", None, "application/sparql-results+xml"),
    ("text/csv", None, "text/csv"),
    ("text/tab-separated-values", None, "text/tab-separated-values"),
    ("application/json", None, "application/sparql-results+json"),
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", None, "application/sparql-results+xml"),
    ("text/*", None, "text/csv"),
    ("text/html", "tsv", "text/tab-separated-values"),
    (None, "xml", "application/sparql-results+xml"),
    (None, "application/sparql-results+json", "application/sparql-results+json"),
]
GRAPH_CASES = [
    (None, None, "text/turtle", "turtle"),
    ("*/*", None, "text/turtle", "turtle"),
    ("text/turtle", None, "text/turtle", "turtle"),
    ("application/n-triples", None, "application/n-triples", "nt"),
    ("application/ld+json", None, "application/ld+json", "json-ld"),
    ("application/rdf+xml", None, "application/rdf+xml", "xml"),
    ("application/n-quads", None, "application/n-quads", "nquads"),
    ("application/trig", None, "application/trig", "trig"),
    ("application/rdf+xml;q=0.2, application/ld+json;q=0.8", None, "application/ld+json", "json-ld"),
    (None, "nt", "application/n-triples", "nt"),
    ("text/csv", "jsonld", "application/ld+json", "json-ld"),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("accept,fmt,media_type", RESULT_CASES)
def test_select(client, method, accept, fmt, media_type):
    response = send(client, method, SELECT, accept, fmt)
    assert response.status_code == 200, response.data
    assert response.mimetype == media_type
    assert response.headers["Vary"] == "Accept"
    assert "charset=utf-8" in response.headers["Content-Type"]
    assert ordinals(response.data, media_type) == list(range(1, 10))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("accept,fmt,media_type", RESULT_CASES[:5])
def test_ask(client, method, accept, fmt, media_type):
    response = send(client, method, ASK, accept, fmt)
    assert response.status_code == 200 and response.mimetype == media_type
    text = response.data.decode()
    if media_type.endswith("json"):
        assert json.loads(text)["boolean"] is True
    elif media_type.endswith("xml"):
        assert ET.fromstring(text).find("{http://www.w3.org/2005/sparql-results#}boolean").text == "true"
    else:
        assert text.strip().splitlines()[-1] == "true"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("accept,fmt,media_type,rdflib_format", GRAPH_CASES)
def test_construct_and_describe(client, method, accept, fmt, media_type, rdflib_format):
    for query in (CONSTRUCT, DESCRIBE):
        response = send(client, method, query, accept, fmt)
        assert response.status_code == 200, response.data
        assert response.mimetype == media_type
        assert response.headers["Vary"] == "Accept"
        graph = parse_rdf(response.data, rdflib_format)
        if query is CONSTRUCT:
            assert (STAGE_5, URIRef(KZR + "ordinal"), Literal(5)) in graph
        else:
            assert (STAGE_5, RDF.type, URIRef(KZR + "RepressionStage")) in graph


@pytest.mark.parametrize("query,accept", [(SELECT, "text/turtle"), (CONSTRUCT, "text/csv"),
                                          (ASK, "application/ld+json"), (SELECT, "image/png")])
def test_not_acceptable_names_the_available_types(client, query, accept):
    response = send(client, "GET", query, accept)
    assert response.status_code == 406
    assert response.json["ok"] is False and "available:" in response.json["error"]


def test_unknown_format_parameter_is_406(client):
    response = send(client, "GET", SELECT, None, "png")
    assert response.status_code == 406 and "format=json|xml|csv|tsv" in response.json["error"]


def test_default_and_named_graph_uris(client):
    inferred = "https://w3id.org/kz-repression/graph/inferred"
    query = f"ASK {{ ?p a <{KZR}RepressedPerson> }}"
    assert send(client, "GET", query, **{"default-graph-uri": inferred}).json["boolean"] is True
    data = "https://w3id.org/kz-repression/graph/data"
    assert send(client, "POST-form", query, **{"default-graph-uri": data}).json["boolean"] is False
    named = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = send(client, "POST-query", named, **{"named-graph-uri": inferred})
    assert [b["g"]["value"] for b in response.json["results"]["bindings"]] == [inferred]


@pytest.mark.parametrize("method", METHODS)
def test_syntax_error_is_400_with_the_parser_message(client, method):
    response = send(client, method, "SELECT ?x WHERE { ?x ?y }")
    assert response.status_code == 400
    assert response.json == {"ok": False, "status": 400, "error": response.json["error"]}
    assert response.json["error"].startswith("SPARQL syntax error: error at 1:")


def test_error_page_for_browsers(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/sparql", query_string={"query": "SELEC"}, headers={"Accept": browser})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert b"SPARQL syntax error" in response.data and b"Traceback" not in response.data


@pytest.mark.parametrize("update", [
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }", "DELETE WHERE { ?s ?p ?o }", "LOAD <http://example.org/x.ttl>",
    "CLEAR ALL", "DROP GRAPH <urn:g>", "CREATE GRAPH <urn:g>", "PREFIX x: <urn:x> INSERT { ?s ?p ?o } WHERE { ?s ?p ?o }"])
def test_updates_are_refused_403(client, update):
    assert send(client, "GET", update).status_code == 403
    assert client.post("/sparql", data={"update": update}).status_code == 403
    response = client.post("/sparql", data=update, headers={"Content-Type": "application/sparql-update"})
    assert response.status_code == 403 and "read-only" in response.json["error"]


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:7878/query", "http://localhost/sparql", "http://10.0.0.1/sparql", "http://192.168.1.1/sparql",
    "http://169.254.169.254/latest/meta-data", "file:///etc/passwd", "http://[::1]/sparql", "https://dbpedia.org/sparql"])
def test_service_outside_the_allow_list_is_refused_before_evaluation(client, target):
    response = send(client, "GET", f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}")
    assert response.status_code == 400
    assert f"SERVICE {target} is not allowed" in response.json["error"]
    assert "https://query.wikidata.org/sparql" in response.json["error"]


def test_service_with_a_variable_or_prefixed_name_is_refused(client):
    assert send(client, "GET", "SELECT * WHERE { SERVICE ?s { ?a ?b ?c } }").status_code == 400
    query = "PREFIX loc: <http://127.0.0.1:9999/> SELECT * WHERE { SERVICE SILENT loc:sparql { ?a ?b ?c } }"
    response = send(client, "GET", query)
    assert response.status_code == 400 and "http://127.0.0.1:9999/sparql" in response.json["error"]


def test_service_in_a_string_or_comment_is_not_a_service(client):
    query = 'SELECT ?x WHERE { BIND ("SERVICE <http://127.0.0.1/>" AS ?x) } # SERVICE <file:///x>'
    assert send(client, "GET", query).status_code == 200


def test_wrong_content_type_is_415(client):
    response = client.post("/sparql", data=SELECT, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415 and "application/sparql-query" in response.json["error"]


def test_repeated_query_parameter_is_400(client):
    response = client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D")
    assert response.status_code == 400 and "'query' is given more than once" in response.json["error"]


def test_body_over_the_limit_is_413(app):
    client = app.test_client()
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * (app.config["MAX_BODY_BYTES"] + 1)
    response = client.post("/sparql", data=big, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413 and "larger than the limit" in response.json["error"]


@pytest.mark.parametrize("value", ["abc", "-1", "0"])
def test_bad_timeout_parameter_is_400(client, value):
    response = send(client, "GET", ASK, timeout=value)
    assert response.status_code == 400 and "'timeout'" in response.json["error"]


def test_cors(client):
    response = client.options("/sparql", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert send(client, "GET", ASK).headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("accept,fmt,rdflib_format", [
    ("text/turtle", None, "turtle"), ("application/ld+json", None, "json-ld"), (None, "nt", "nt"),
    ("application/rdf+xml", None, "xml")])
def test_service_description(client, accept, fmt, rdflib_format):
    response = client.get("/sparql", headers={"Accept": accept} if accept else {},
                          query_string={"format": fmt} if fmt else {})
    assert response.status_code == 200 and response.headers["Vary"] == "Accept"
    graph = Graph().parse(data=response.data, format=rdflib_format)
    sd = "http://www.w3.org/ns/sparql-service-description#"
    service = graph.value(predicate=RDF.type, object=URIRef(sd + "Service"))
    assert service is not None and str(service).endswith("/sparql")
    assert (service, URIRef(sd + "supportedLanguage"), URIRef(sd + "SPARQL11Query")) in graph
    assert (service, URIRef(sd + "resultFormat"), URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON")) in graph
    names = set(graph.objects(None, URIRef(sd + "name")))
    assert URIRef("https://w3id.org/kz-repression/graph/inferred") in names


def test_browser_gets_the_query_ui(client):
    response = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert b"/ui-assets/" in response.data and b"cdn" not in response.data.lower()
