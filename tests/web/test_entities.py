"""Linked data: /id/ dereferencing, /data/ descriptions, /page/ HTML pages and the ontology's documentation."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from repression_kg import describe
from repression_kg.backend import BackendUnavailable, MemoryBackend
from repression_kg.formats import NotAcceptable
from repression_kg.web import create_app

KZR = Namespace("https://w3id.org/kz-repression/ontology#")
ID = "https://w3id.org/kz-repression/id/"
QB = Namespace("http://purl.org/linked-data/cube#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
GRAPH = "https://w3id.org/kz-repression/graph/"
ZALIN = URIRef(ID + "person/zalin-l")
PAGE, DATA = "/page/person/bukeikhanov-a", "/data/person/bukeikhanov-a"


class Collector(HTMLParser):
    """Collects start tags with their attributes, in order."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str, name: str) -> list[dict]:
    parser = Collector()
    parser.feed(html)
    return [attrs for tag, attrs in parser.tags if tag == name]


def text(html: str) -> str:
    """The page's text with tags removed and white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


# --- /id/: 303 See Other by Accept ----------------------------------------------------------------

@pytest.mark.parametrize("accept, target", [
    ("text/html", PAGE),
    ("application/xhtml+xml", PAGE),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", PAGE),
    ("*/*", PAGE),
    (None, PAGE),
    ("text/turtle", DATA + ".ttl"),
    ("application/ld+json", DATA + ".jsonld"),
    ("application/n-triples", DATA + ".nt"),
    ("application/rdf+xml", DATA + ".rdf"),
    ("application/n-quads", DATA + ".nq"),
    ("application/trig", DATA + ".trig"),
    ("text/turtle;q=0.5, text/html;q=0.9", PAGE),
    ("text/html;q=0.5, text/turtle;q=0.9", DATA + ".ttl"),
    ("application/ld+json, */*;q=0.1", DATA + ".jsonld"),
])
def test_id_redirects_by_accept(client, accept, target):
    response = client.get("/id/person/bukeikhanov-a", headers={"Accept": accept} if accept else {})
    assert response.status_code == 303
    assert response.headers["Location"] == target
    assert response.headers["Vary"] == "Accept"


def test_id_answers_406_when_nothing_matches(client):
    response = client.get("/id/person/bukeikhanov-a", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.headers["Vary"] == "Accept"
    message = response.get_json()["error"]
    assert "text/html" in message and "text/turtle" in message and "application/ld+json" in message


@pytest.mark.parametrize("path", [
    "/id/person/nobody-x", "/page/person/nobody-x", "/data/person/nobody-x.ttl",
    "/id/nokind/bukeikhanov-a", "/page/person/Bukeikhanov-A", "/data/person/bukeikhanov-a.html",
    "/data/person/bukeikhanov-a", "/ontology/NoSuchTerm", "/ontology.html",
])
def test_unknown_things_are_404(client, path):
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 404
    assert response.headers["Vary"] == "Accept"


def test_404_is_a_page_for_browsers(client):
    response = client.get("/page/person/nobody-x", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "person/nobody-x" in response.get_data(as_text=True)


@pytest.mark.parametrize("accept, name", [
    (None, None), ("*/*", None), ("text/html", None), ("text/*", None),
    ("text/turtle", "turtle"), ("text/plain", "ntriples"), ("application/rdf+xml", "rdfxml"),
    ("text/html;q=0, */*", "turtle"), ("text/turtle;q=0.5, text/html;q=0.9", None),
])
def test_choose_format(accept, name):
    fmt = describe.choose_format(accept)
    assert (fmt.name if fmt else None) == name


def test_choose_format_refuses(accept="application/sparql-results+json"):
    with pytest.raises(NotAcceptable):
        describe.choose_format(accept)


# --- /data/: the description as RDF --------------------------------------------------------------

@pytest.mark.parametrize("ext, rdflib_format, media_type", [
    ("ttl", "turtle", "text/turtle"),
    ("jsonld", "json-ld", "application/ld+json"),
    ("nt", "nt", "application/n-triples"),
    ("rdf", "xml", "application/rdf+xml"),
])
def test_data_in_each_format(client, ext, rdflib_format, media_type):
    response = client.get(f"/data/person/zalin-l.{ext}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{media_type}; charset=utf-8"
    g = Graph().parse(data=response.data, format=rdflib_format)
    assert (ZALIN, KZR.printedForm, Literal("L. Zalin", lang="en")) in g
    assert (ZALIN, RDF.type, KZR.Person) in g
    citations = list(g.objects(ZALIN, KZR.citation))
    assert citations and all(g.value(c, KZR.quote) is not None for c in citations)
    assert all(g.value(c, KZR.section) is not None for c in citations)


@pytest.mark.filterwarnings(r"ignore:Dataset\.\w+ is deprecated:DeprecationWarning")  # inside rdflib's parser
@pytest.mark.parametrize("ext, rdflib_format", [("nq", "nquads"), ("trig", "trig")])
def test_data_quads_keep_graph_names(client, ext, rdflib_format):
    response = client.get(f"/data/person/bukeikhanov-a.{ext}")
    assert response.status_code == 200
    ds = Dataset()
    ds.parse(data=response.data, format=rdflib_format)
    person = URIRef(ID + "person/bukeikhanov-a")
    data, inferred = ds.graph(URIRef(GRAPH + "data")), ds.graph(URIRef(GRAPH + "inferred"))
    assert (person, KZR.printedForm, Literal("A. Bukeikhanov", lang="en")) in data
    assert (person, RDF.type, KZR.RepressedPerson) in inferred
    assert (person, RDF.type, KZR.RepressedPerson) not in data


def test_data_has_labels_of_what_it_points_to_but_not_the_ontology(client):
    g = Graph().parse(data=client.get("/data/person/zalin-l.nt").data, format="nt")
    assert (KZR.Person, RDFS.label, Literal("Person", lang="en")) in g
    assert set(g.predicates(KZR.Person, None)) == {RDFS.label}
    org = URIRef(ID + "organisation/nkvd-kazakhstan")
    assert (ZALIN, KZR.affiliation, org) in g and g.value(org, RDFS.label) is not None
    assert set(g.predicates(org, None)) <= {RDFS.label, SKOS.prefLabel}


def test_data_includes_time_span_and_blank_components(client):
    g = Graph().parse(data=client.get("/data/stage/repression-5.ttl").data, format="turtle")
    span = g.value(URIRef(ID + "stage/repression-5"), KZR.timeSpan)
    assert str(g.value(span, KZR.edtf)) == "1937/1938"
    assert g.value(span, KZR.citation) is not None  # the time-span's own citation, two levels down
    g = Graph().parse(data=client.get("/data/dataset/table-1-structure.ttl").data, format="turtle")
    components = list(g.objects(URIRef(ID + "dataset/table-1-structure"), QB.component))
    assert len(components) == 8
    assert all(len(list(g.predicate_objects(c))) >= 1 for c in components)
    assert (None, QB.dimension, KZR.tableRow) in g


def test_data_links_to_the_other_formats_and_the_page(client):
    link = client.get(DATA + ".ttl").headers["Link"]
    assert f'<{PAGE}>; rel="alternate"; type="text/html"' in link
    assert f'<{DATA}.jsonld>; rel="alternate"; type="application/ld+json"' in link
    assert f'<{DATA}.ttl>' not in link


# --- /page/: the HTML page ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def person_page(app):
    response = app.test_client().get(PAGE)
    assert response.status_code == 200
    return response


def test_page_shows_label_and_types(person_page):
    html = person_page.get_data(as_text=True)
    assert re.search(r'<h1 lang="en">A\. Bukeikhanov</h1>', html)
    assert "А. Букейханов" in html
    assert re.search(r'<li><a href="/ontology#Person" lang="en">Person</a></li>', html)
    assert re.search(r'<li><a href="/ontology#RepressedPerson" lang="en">Repressed person</a> '
                     r'<span class="note">inferred by the reasoner</span></li>', html)


def test_page_shows_citations_with_locator_and_quote(person_page):
    page_text = text(person_page.get_data(as_text=True))
    assert "This list of names is headed up by A. Bukeikhanov" in page_text
    assert "Saktaganova 2021, Results and Discussion, para. 6" in page_text
    assert "as printed in the source" in page_text


def test_page_links_to_the_claims_about_the_person_with_their_quotes(person_page):
    html = person_page.get_data(as_text=True)
    hrefs = {a.get("href") for a in tags(html, "a")}
    assert "/id/repression/bukeikhanov-a-stage-1" in hrefs
    assert "/id/rehabilitation/cpk-resolution-1988-bukeikhanov-a" in hrefs
    rehab = html[html.index("/id/rehabilitation/cpk-resolution-1988-bukeikhanov-a"):]
    assert "In 1988, a resolution of the Central Committee" in rehab.split("</tr>")[0]


def test_citations_show_reference_number_and_pages(client):
    page_text = text(client.get("/page/person/zalin-l").get_data(as_text=True))
    assert "Saktaganova 2021, Results and Discussion, para. 9 [4; 111–112]" in page_text
    assert "L. Zalin in his speech, in June, 1937" in page_text
    html = client.get("/page/citation/person-zalin-l-1").get_data(as_text=True)
    assert "<h1>Saktaganova 2021, Results and Discussion, para. 9 [4; 111–112]</h1>" in html
    assert 'href="/id/person/zalin-l"' in html  # the thing it is cited for, among the incoming links


def test_page_advertises_alternates(person_page):
    links = [a for a in tags(person_page.get_data(as_text=True), "link") if a.get("rel") == "alternate"]
    assert {"type": "text/turtle", "href": DATA + ".ttl"}.items() <= next(
        a for a in links if a["type"] == "text/turtle").items()
    assert {a["type"] for a in links} >= {"application/ld+json", "application/n-triples", "application/rdf+xml"}
    assert f'<{DATA}.ttl>; rel="alternate"; type="text/turtle"' in person_page.headers["Link"]


def test_stage_page_shows_its_time_span(client):
    html = client.get("/page/stage/repression-5").get_data(as_text=True)
    section = html[html.index('<section class="time-span">'):]
    section = section[:section.index("</section>")]
    assert "1937–1938" in section and "as printed in the source" in section
    assert '<code class="edtf">1937/1938</code>' in section
    assert "1937-01-01" in section and "1938-12-31" in section
    assert "Results and Discussion, para. 10 (p. 116)" in text(section)


def test_page_marks_editorial_notes(client):
    html = client.get("/page/stage/repression-5").get_data(as_text=True)
    row = re.search(r'<tr class="editorial">.*?</tr>', html, re.S).group(0)
    assert "editorial note" in row and "entencing" in row


def test_page_caps_incoming_links(memory_backend):
    client = create_app({"TESTING": True, "BACKEND": memory_backend, "HTML_ROW_CAP": 5}).test_client()
    html = client.get("/page/source/saktaganova-2021").get_data(as_text=True)
    assert html.count('class="incoming-link"') == 5
    more = sum(int(n) for n in re.findall(r"and (\d+) more not shown", html))
    total = int(re.search(r"(\d+) links to this", html).group(1))
    assert total > 600 and more == total - 5


@pytest.fixture(scope="module")
def linked_client(memory_backend):
    """An app over a copy of the store with one (made-up, test-only) link in the links graph."""
    store = ox.Store()
    store.bulk_extend(memory_backend.store)
    store.add(ox.Quad(ox.NamedNode(str(ZALIN)), ox.NamedNode(str(SKOS.exactMatch)),
                      ox.NamedNode("http://www.wikidata.org/entity/Q0"), ox.NamedNode(GRAPH + "links")))
    return create_app({"TESTING": True, "BACKEND": MemoryBackend(store)}).test_client()


def test_page_shows_links_out(linked_client, client):
    html = linked_client.get("/page/person/zalin-l").get_data(as_text=True)
    section = html[html.index('<section class="links-out">'):]
    assert '<a href="http://www.wikidata.org/entity/Q0">wd:Q0</a>' in section
    assert "verified link" in section
    assert 'class="links-out"' not in client.get("/page/person/zalin-l").get_data(as_text=True)


# --- The ontology -------------------------------------------------------------------------------

def test_ontology_page_documents_every_term(client):
    response = client.get("/ontology")
    assert response.status_code == 200 and response.headers["Vary"] == "Accept"
    html = response.get_data(as_text=True)
    ids = {a["id"] for a in tags(html, "section") if "id" in a}
    assert {"Person", "RepressedPerson", "victim", "victimOf", "printedForm", "quote"} <= ids
    person = html[html.index('id="Person"'):]
    person = person[:person.index("</section>")]
    assert "Тұлға" in person and "Персона" in person and "A human being named in a source." in person
    assert "wd:Q5" in person and "crm:E21_Person" in person
    assert re.search(r"<dt>Instances</dt><dd>\d+</dd>", person)
    victim = html[html.index('id="victim"'):]
    victim = victim[:victim.index("</section>")]
    assert 'href="/ontology#victimOf"' in victim and 'href="/ontology#Repression"' in victim


def test_ontology_alternate_links(client):
    response = client.get("/ontology")
    links = [a for a in tags(response.get_data(as_text=True), "link") if a.get("rel") == "alternate"]
    assert any(a["type"] == "text/turtle" and a["href"] == "/ontology.ttl" for a in links)
    assert '</ontology.jsonld>; rel="alternate"; type="application/ld+json"' in response.headers["Link"]


@pytest.mark.parametrize("request_args, rdflib_format", [
    ({"path": "/ontology", "headers": {"Accept": "text/turtle"}}, "turtle"),
    ({"path": "/ontology", "headers": {"Accept": "application/ld+json"}}, "json-ld"),
    ({"path": "/ontology.ttl"}, "turtle"),
    ({"path": "/ontology.jsonld"}, "json-ld"),
    ({"path": "/ontology.nt"}, "nt"),
])
def test_ontology_as_rdf(client, request_args, rdflib_format):
    response = client.get(**request_args)
    assert response.status_code == 200
    g = Graph().parse(data=response.data, format=rdflib_format)
    assert (KZR.Person, RDF.type, OWL.Class) in g
    assert (KZR.Person, RDFS.label, Literal("Тұлға", lang="kk")) in g


@pytest.mark.parametrize("accept, target", [
    ("text/html", "/ontology#Person"), (None, "/ontology#Person"), ("text/turtle", "/ontology.ttl"),
])
def test_ontology_terms_redirect(client, accept, target):
    response = client.get("/ontology/Person", headers={"Accept": accept} if accept else {})
    assert response.status_code == 303
    assert response.headers["Location"] == target
    assert response.headers["Vary"] == "Accept"


class Unavailable(MemoryBackend):
    """A backend whose store cannot answer."""

    def __init__(self):
        pass

    def answer(self, task, timeout):
        raise BackendUnavailable("The store is being rebuilt.")


@pytest.mark.parametrize("path", ["/id/person/zalin-l", "/page/person/zalin-l", "/data/person/zalin-l.ttl",
                                  "/ontology"])
def test_store_failure_is_503(path):
    client = create_app({"TESTING": True, "BACKEND": Unavailable()}).test_client()
    response = client.get(path)
    assert response.status_code == 503
    assert response.get_json()["error"] == "The store is being rebuilt."
