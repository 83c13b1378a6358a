"""The W3C SPARQL 1.1 Protocol test cases that apply to a read-only query service (issue 6, item 5).

The cases and their expectations are those of the SPARQL 1.1 Protocol test suite,
http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest.ttl (the same file is
sparql/sparql11/protocol/manifest.ttl in https://github.com/w3c/rdf-tests), one test per case, named
after it, each against the live server over HTTP. Where we differ from the manifest's setting:

- the endpoint is /sparql (the manifest's /sparql/ is its example service's path);
- the manifest loads data1.rdf .. data3.rdf into the service first; a read-only service loads
  nothing, so the dataset cases name the graph's own named graphs (data, inferred, ontology)
  instead, each with a control showing that the protocol's dataset decides the answer;
- the update cases expect 2xx from a writable service; this one is read-only by design, so each
  is refused with 403 and a message, and the manifest's follow-up ASK shows that nothing changed.
"""
from __future__ import annotations

import http.client
import json
import urllib.parse

import pyoxigraph as ox
import pytest

GRAPH = "https://w3id.org/kz-repression/graph/"
DATA, INFERRED, ONTOLOGY, METADATA = (GRAPH + g for g in ("data", "inferred", "ontology", "metadata"))
PERSON = "<https://w3id.org/kz-repression/id/person/bukeikhanov-a>"
# In the data graph only, in the inferred graph only, in the ontology graph only.
IN_DATA = f"{PERSON} a <https://w3id.org/kz-repression/ontology#Person>"
IN_INFERRED = f"{PERSON} a <http://www.cidoc-crm.org/cidoc-crm/E21_Person>"
IN_ONTOLOGY = "<https://w3id.org/kz-repression/ontology> a <http://www.w3.org/2002/07/owl#Ontology>"
DATA0 = "http://kasei.us/2009/09/sparql/data/data0.rdf"
BOOLEAN_TYPES = ("application/sparql-results+json", "application/sparql-results+xml")
TABULAR_TYPES = BOOLEAN_TYPES + ("text/csv", "text/tab-separated-values")
RDF_TYPES = ("text/turtle", "application/rdf+xml", "application/n-triples", "application/ld+json",
             "application/n-quads", "application/trig")
FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"


class Answer:
    """Status, media type (without parameters) and body of one exchange."""

    def __init__(self, status: int, media_type: str, body: bytes):
        self.status, self.media_type, self.body = status, media_type, body

    def boolean(self) -> bool:
        assert self.media_type == "application/sparql-results+json", self.media_type
        return json.loads(self.body)["boolean"]

    def error(self) -> str:
        assert self.media_type == "application/json", (self.status, self.media_type, self.body[:200])
        return json.loads(self.body)["error"]


@pytest.fixture(scope="module")
def server(live):
    """Send one request to the live server: method, path and query parameters, body, headers."""
    host, port = urllib.parse.urlsplit(live[0]).netloc.split(":")

    def send(method: str, params: list[tuple[str, str]] = (), body: bytes | str | None = None,
             content_type: str | None = None, raw_query: str | None = None) -> Answer:
        query = raw_query if raw_query is not None else urllib.parse.urlencode(params)
        headers = {"Content-Type": content_type} if content_type else {}
        data = body.encode("utf-8") if isinstance(body, str) else body
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request(method, "/sparql" + (f"?{query}" if query else ""), body=data, headers=headers)
            response = conn.getresponse()
            media_type = response.headers.get_content_type() if response.headers.get("Content-Type") else ""
            return Answer(response.status, media_type, response.read())
        finally:
            conn.close()

    return send


def form(**fields) -> str:
    return urllib.parse.urlencode([(k.replace("_", "-"), v) for k, v in fields.items()])


# --- The query cases ---------------------------------------------------------------------------

def test_query_get(server):
    """query_get: GET with query= (and a default-graph-uri): 2xx, boolean results, true."""
    answer = server("GET", [("query", "ASK {}"), ("default-graph-uri", DATA0)])
    assert answer.status // 100 in (2, 3) and answer.media_type in BOOLEAN_TYPES
    assert answer.boolean() is True


def test_query_post_form(server):
    """query_post_form: URL-encoded POST, default-graph-uri in the URL: 2xx, boolean results, true."""
    answer = server("POST", [("default-graph-uri", DATA0)], form(query="ASK {}"), FORM)
    assert answer.status // 100 in (2, 3) and answer.media_type in BOOLEAN_TYPES
    assert answer.boolean() is True


def test_query_post_direct(server):
    """query_post_direct: the query as an application/sparql-query body: 2xx, boolean results, true."""
    answer = server("POST", body="ASK {}", content_type=QUERY)
    assert answer.status // 100 in (2, 3) and answer.media_type in BOOLEAN_TYPES
    assert answer.boolean() is True


def test_query_dataset_default_graphs_get(server):
    """query_dataset_default_graphs_get: two default-graph-uri by GET make one default graph (their merge)."""
    query = f"ASK {{ {IN_DATA} . {IN_INFERRED} }}"
    answer = server("GET", [("query", query), ("default-graph-uri", DATA), ("default-graph-uri", INFERRED)])
    assert answer.status // 100 in (2, 3) and answer.boolean() is True
    assert server("GET", [("query", query), ("default-graph-uri", DATA)]).boolean() is False


def test_query_dataset_default_graphs_post(server):
    """query_dataset_default_graphs_post: the same with the query in a direct POST, the graphs in the URL."""
    query = f"ASK {{ {IN_DATA} . {IN_INFERRED} }}"
    answer = server("POST", [("default-graph-uri", DATA), ("default-graph-uri", INFERRED)], query, QUERY)
    assert answer.status // 100 in (2, 3) and answer.boolean() is True
    assert server("POST", [("default-graph-uri", INFERRED)], query, QUERY).boolean() is False


def test_query_dataset_named_graphs_post(server):
    """query_dataset_named_graphs_post: named-graph-uri (twice) in the URL of a direct POST; GRAPH sees them."""
    query = f"ASK {{ GRAPH ?g1 {{ {IN_DATA} }} GRAPH ?g2 {{ {IN_INFERRED} }} }}"
    answer = server("POST", [("named-graph-uri", DATA), ("named-graph-uri", INFERRED)], query, QUERY)
    assert answer.status // 100 in (2, 3) and answer.boolean() is True
    assert server("POST", [("named-graph-uri", DATA)], query, QUERY).boolean() is False


def test_query_dataset_named_graphs_get(server):
    """query_dataset_named_graphs_get: the same by GET."""
    query = f"ASK {{ GRAPH ?g1 {{ {IN_DATA} }} GRAPH ?g2 {{ {IN_INFERRED} }} }}"
    answer = server("GET", [("query", query), ("named-graph-uri", DATA), ("named-graph-uri", INFERRED)])
    assert answer.status // 100 in (2, 3) and answer.boolean() is True
    assert server("GET", [("query", query), ("named-graph-uri", INFERRED)]).boolean() is False


def test_query_dataset_full(server):
    """query_dataset_full: a default graph and two named graphs, all from the protocol."""
    query = f"ASK {{ {IN_ONTOLOGY} GRAPH ?g1 {{ {IN_DATA} }} GRAPH ?g2 {{ {IN_INFERRED} }} }}"
    params = [("default-graph-uri", ONTOLOGY), ("named-graph-uri", DATA), ("named-graph-uri", INFERRED)]
    answer = server("POST", params, query, QUERY)
    assert answer.status // 100 in (2, 3) and answer.boolean() is True
    assert server("POST", [("default-graph-uri", DATA)] + params[1:], query, QUERY).boolean() is False


def test_query_multiple_dataset(server):
    """query_multiple_dataset: a dataset in the query (FROM) and in the protocol: the protocol's is used.

    The manifest's path carries its second named-graph-uri inside the first (%26named-graph-uri%3D), a
    slip; we send two parameters, as the test's name and comment intend. The control shows both halves:
    without the protocol's graphs the query's own FROM NAMED decides, and finds nothing.
    """
    query = f"ASK FROM <{METADATA}> {{ GRAPH ?g1 {{ {IN_DATA} }} GRAPH ?g2 {{ {IN_INFERRED} }} }}"
    answer = server("POST", [("named-graph-uri", DATA), ("named-graph-uri", INFERRED)], query, QUERY)
    assert answer.status // 100 in (2, 3) and answer.boolean() is True
    own = f"ASK FROM NAMED <{METADATA}> {{ GRAPH ?g {{ {IN_DATA} }} }}"
    assert server("POST", [("named-graph-uri", DATA)], own, QUERY).boolean() is True
    assert server("POST", [], own, QUERY).boolean() is False


def test_query_content_type_select(server):
    """query_content_type_select: SELECT (1 AS ?value) {} answers in a tabular results format."""
    answer = server("POST", [("default-graph-uri", DATA0)], "SELECT (1 AS ?value) {}", QUERY)
    assert answer.status // 100 in (2, 3) and answer.media_type in TABULAR_TYPES
    assert json.loads(answer.body)["results"]["bindings"][0]["value"]["value"] == "1"


def test_query_content_type_ask(server):
    """query_content_type_ask: ASK {} answers in a boolean results format."""
    answer = server("POST", [("default-graph-uri", DATA0)], "ASK {}", QUERY)
    assert answer.status // 100 in (2, 3) and answer.media_type in BOOLEAN_TYPES


def test_query_content_type_describe(server):
    """query_content_type_describe: DESCRIBE <http://example.org/> answers in an RDF format."""
    answer = server("POST", [("default-graph-uri", DATA0)], "DESCRIBE <http://example.org/>", QUERY)
    assert answer.status // 100 in (2, 3) and answer.media_type in RDF_TYPES


def test_query_content_type_construct(server):
    """query_content_type_construct: CONSTRUCT { <s> <p> 1 } WHERE {} answers in an RDF format.

    The template's IRIs are relative: the service resolves them against its base IRI (the protocol lets
    the service choose it; ours is the endpoint's public IRI, https://w3id.org/kz-repression/sparql).
    """
    answer = server("POST", [("default-graph-uri", DATA0)], "CONSTRUCT { <s> <p> 1 } WHERE {}", QUERY)
    assert answer.status // 100 in (2, 3) and answer.media_type in RDF_TYPES
    triples = list(ox.parse(answer.body, format=ox.RdfFormat.TURTLE))
    assert [(t.subject.value, t.predicate.value, t.object.value) for t in triples] == [
        ("https://w3id.org/kz-repression/s", "https://w3id.org/kz-repression/p", "1")]


# --- The bad query cases: 4xx ------------------------------------------------------------------

def test_bad_query_method(server):
    """bad_query_method: PUT is not a query operation: 4xx (405, with Allow)."""
    answer = server("PUT", [("query", "ASK {}"), ("default-graph-uri", DATA0)], b"", FORM)
    assert answer.status // 100 == 4 and answer.error()


def test_bad_multiple_queries(server):
    """bad_multiple_queries: two query parameters: 4xx."""
    answer = server("GET", [("query", "ASK {}"), ("query", "SELECT * {}")])
    assert answer.status // 100 == 4 and "more than once" in answer.error()


def test_bad_query_wrong_media_type(server):
    """bad_query_wrong_media_type: a POST body of type text/plain: 4xx (415)."""
    answer = server("POST", body="ASK {}", content_type="text/plain")
    assert answer.status // 100 == 4 and "Content-Type" in answer.error()


def test_bad_query_missing_form_type(server):
    """bad_query_missing_form_type: a URL-encoded body without its media type: 4xx (415)."""
    answer = server("POST", body="query=ASK%20%7B%7D")
    assert answer.status // 100 == 4 and answer.error()


def test_bad_query_missing_direct_type(server):
    """bad_query_missing_direct_type: a query body without application/sparql-query: 4xx (415)."""
    answer = server("POST", body="ASK {}")
    assert answer.status // 100 == 4 and answer.error()


def test_bad_query_non_utf8(server):
    """bad_query_non_utf8: a direct POST in UTF-16 (with its BOM): 4xx (400, naming UTF-8)."""
    answer = server("POST", body="ASK {}".encode("utf-16"), content_type=f"{QUERY}; charset=UTF-16")
    assert answer.status // 100 == 4 and "UTF-8" in answer.error()


def test_bad_query_syntax(server):
    """bad_query_syntax: ASK { is not a query: 4xx (400 with the parser's message)."""
    answer = server("GET", raw_query="query=ASK%20%7B")
    assert answer.status // 100 == 4 and "syntax error" in answer.error()


# --- The update cases: refused by this read-only service ---------------------------------------

UPDATE_DATASET = """PREFIX dc: <http://purl.org/dc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
CLEAR ALL ;
INSERT DATA { GRAPH <http://kasei.us/2009/09/sparql/data/data1.rdf> {
    <http://kasei.us/2009/09/sparql/data/data1.rdf> a foaf:Document } } ;
INSERT { GRAPH <http://example.org/protocol-update-dataset-test/> { ?s a dc:BibliographicResource } }
WHERE { ?s a foaf:Document }"""
UPDATE_EFFECT = """ASK { GRAPH <http://example.org/protocol-update-dataset-test/> {
    <http://kasei.us/2009/09/sparql/data/data1.rdf> a <http://purl.org/dc/terms/BibliographicResource> } }"""


def refused(answer: Answer) -> bool:
    return answer.status == 403 and "read-only" in answer.error()


@pytest.mark.parametrize("case, params", [
    ("update_dataset_default_graph", [("using-graph-uri", "http://kasei.us/2009/09/sparql/data/data1.rdf")]),
    ("update_dataset_default_graphs", [("using-graph-uri", "http://kasei.us/2009/09/sparql/data/data1.rdf"),
                                       ("using-graph-uri", "http://kasei.us/2009/09/sparql/data/data2.rdf")]),
    ("update_dataset_named_graphs", [("using-named-graph-uri", "http://kasei.us/2009/09/sparql/data/data1.rdf")]),
    ("update_dataset_full", [("using-graph-uri", "http://kasei.us/2009/09/sparql/data/data1.rdf"),
                             ("using-named-graph-uri", "http://kasei.us/2009/09/sparql/data/data2.rdf")]),
])
def test_update_dataset_cases_are_refused(server, case, params):
    """update_dataset_*: a writable service answers 2xx and its follow-up ASK is true; this read-only
    service refuses the update with 403 (deliberately) and the follow-up ASK is false: nothing changed."""
    assert refused(server("POST", params, UPDATE_DATASET, UPDATE)), case
    effect = server("POST", body=UPDATE_EFFECT, content_type=QUERY)
    assert effect.status == 200 and effect.boolean() is False


def test_update_post_form_is_refused(server):
    """update_post_form: update=CLEAR ALL, URL-encoded: 403 (read-only by design); the data is all there."""
    assert refused(server("POST", body="update=CLEAR+ALL", content_type=FORM))
    assert server("GET", [("query", f"ASK {{ {IN_DATA} }}")]).boolean() is True


def test_update_post_direct_is_refused(server):
    """update_post_direct: CLEAR ALL as application/sparql-update: 403 (read-only by design)."""
    assert refused(server("POST", body="CLEAR ALL", content_type=UPDATE))
    assert server("GET", [("query", f"ASK {{ {IN_DATA} }}")]).boolean() is True


def test_update_base_uri_is_refused(server):
    """update_base_uri: the update is refused (403, by design); its follow-up SELECT finds nothing."""
    update = ("CLEAR GRAPH <http://example.org/protocol-base-test/> ;\nINSERT DATA { GRAPH "
              "<http://example.org/protocol-base-test/> { <http://example.org/s> <http://example.org/p> <test> } }")
    assert refused(server("POST", body=update, content_type=UPDATE))
    select = ("SELECT ?o WHERE { GRAPH <http://example.org/protocol-base-test/> "
              "{ <http://example.org/s> <http://example.org/p> ?o } }")
    answer = server("POST", body=select, content_type=QUERY)
    assert answer.status == 200 and json.loads(answer.body)["results"]["bindings"] == []


# --- The bad update cases: 4xx -----------------------------------------------------------------

def test_bad_update_get(server):
    """bad_update_get: an update by GET: 4xx (403: no update is accepted here in any way)."""
    assert refused(server("GET", [("update", "CLEAR ALL")]))


def test_bad_multiple_updates(server):
    """bad_multiple_updates: two update parameters: 4xx (403)."""
    answer = server("POST", body="update=CLEAR%20NAMED&update=CLEAR%20DEFAULT", content_type=FORM)
    assert answer.status // 100 == 4 and answer.error()


def test_bad_update_wrong_media_type(server):
    """bad_update_wrong_media_type: an update body of type text/plain: 4xx (415)."""
    answer = server("POST", body="CLEAR NAMED", content_type="text/plain")
    assert answer.status // 100 == 4 and answer.error()


def test_bad_update_missing_form_type(server):
    """bad_update_missing_form_type: update=... without its media type: 4xx (415)."""
    answer = server("POST", body="update=CLEAR%20NAMED")
    assert answer.status // 100 == 4 and answer.error()


def test_bad_update_non_utf8(server):
    """bad_update_non_utf8: an update in UTF-16: 4xx (403: refused as an update before it is read)."""
    answer = server("POST", body="CLEAR NAMED".encode("utf-16"), content_type=f"{UPDATE}; charset=UTF-16")
    assert answer.status // 100 == 4 and answer.error()


def test_bad_update_syntax(server):
    """bad_update_syntax: update=CLEAR XYZ: 4xx (403)."""
    answer = server("POST", body="update=CLEAR%20XYZ", content_type=FORM)
    assert answer.status // 100 == 4 and answer.error()


def test_bad_update_dataset_conflict(server):
    """bad_update_dataset_conflict: using-named-graph-uri with a WITH clause: 4xx (403)."""
    update = ("PREFIX foaf: <http://xmlns.com/foaf/0.1/>\nWITH <http://example/addresses>\n"
              "DELETE { ?person foaf:givenName 'Bill' }\nINSERT { ?person foaf:givenName 'William' }\n"
              "WHERE { ?person foaf:givenName 'Bill' }")
    answer = server("POST", [("using-named-graph-uri", "http://example/people")], update, UPDATE)
    assert answer.status // 100 == 4 and answer.error()
