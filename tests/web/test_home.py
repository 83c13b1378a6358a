"""The home page (timeline, Table 1, figures and charts), the dataset description, and pictures.py."""
from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from repression_kg import pictures
from repression_kg.namespaces import GRAPHS, KZR, sparql_prefixes
from repression_kg.web.home import EXAMPLE_QUERY

VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DATASET = URIRef("https://w3id.org/kz-repression/dataset")
STAGE = "https://w3id.org/kz-repression/id/stage/"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Tables(HTMLParser):
    """Collects the rows of each table (by class) as lists of cell texts; nested tables apart."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._stack: list[dict] = []  # per open table: its rows, the open row and the open cell

    def handle_starttag(self, tag, attrs):
        top = self._stack[-1] if self._stack else None
        if tag == "table":
            self._stack.append({"rows": self.tables.setdefault(dict(attrs).get("class", ""), []), "row": None, "cell": None})
        elif tag == "tr" and top:
            top["row"] = []
        elif tag in ("td", "th") and top and top["row"] is not None:
            top["cell"] = []

    def handle_endtag(self, tag):
        top = self._stack[-1] if self._stack else None
        if tag in ("td", "th") and top and top["cell"] is not None:
            top["row"].append(" ".join("".join(top["cell"]).split()))
            top["cell"] = None
        elif tag == "tr" and top and top["row"] is not None:
            top["rows"].append(top["row"])
            top["row"] = None
        elif tag == "table" and top:
            self._stack.pop()

    def handle_data(self, data):
        if self._stack and self._stack[-1]["cell"] is not None:
            self._stack[-1]["cell"].append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


@pytest.fixture(scope="module")
def home(app) -> str:
    response = app.test_client().get("/", headers={"Accept": BROWSER})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture(scope="module")
def timeline(home) -> str:
    match = re.search(r'<svg[^>]*class="timeline".*?</svg>', home, re.S)
    assert match, "no timeline SVG"
    return match.group(0)


def stage_edtf(memory_backend) -> dict[str, str]:
    rows = memory_backend.select(sparql_prefixes() + "SELECT ?s ?e WHERE { ?s a kzr:Stage ; kzr:timeSpan/kzr:edtf ?e }")
    return {r["s"]["value"][len(STAGE):]: r["e"]["value"] for r in rows}


# --- The timeline ---------------------------------------------------------------------------

def test_timeline_links_every_stage_with_a_title(timeline):
    links = re.findall(r'<a href="/page/stage/([a-z]+-\d+)" class="stage"><title>([^<]+)</title>', timeline)
    slugs = [slug for slug, _ in links]
    assert sorted(slugs) == sorted([f"repression-{n}" for n in range(1, 10)] + [f"rehabilitation-{n}" for n in range(1, 6)])
    titles = dict(links)
    assert "the Great Terror" in titles["repression-5"] and "“1937–1938”" in titles["repression-5"]
    assert "“from the mid-1920 to early 1930s”" in titles["repression-2"]  # the source's wording, misprint kept
    assert all(title.strip() for title in titles.values())


def test_timeline_rows_are_labelled_in_order(timeline):
    labels = re.findall(r'<text class="row-label"[^>]*>([^<]+)</text>', timeline)
    assert len(labels) == 14
    assert labels[0] == "1. the national intelligentsia"
    assert labels[4] == "5. the Great Terror"
    assert labels[9] == "1. after Stalin&#x27;s death"  # escaped by pictures.esc
    assert [int(label.split(".")[0]) for label in labels] == list(range(1, 10)) + list(range(1, 6))


def test_fuzzy_stages_fade_and_exact_ones_do_not(timeline, memory_backend):
    edtf = stage_edtf(memory_backend)
    fuzzy = {slug for slug, value in edtf.items() if re.search(r"[~?X]|\.\.", value)}
    assert {"repression-2", "repression-3", "rehabilitation-1", "rehabilitation-5"} <= fuzzy
    assert {"repression-4", "repression-5", "rehabilitation-3"}.isdisjoint(fuzzy)
    for slug in edtf:
        bar = re.search(rf'href="/page/stage/{slug}".*?<rect ([^>]*)/>', timeline).group(1)
        gradient = f'<linearGradient id="timeline-{slug}"'
        if slug in fuzzy:
            assert f'fill="url(#timeline-{slug})"' in bar and gradient in timeline, slug
        else:
            assert "url(" not in bar and gradient not in timeline, slug


def test_a_fuzzy_end_fades_between_the_bound_and_the_edtf_year(timeline):
    # stage 2: "1925~/1931~", bounds 1924-01-01 .. 1933-12-31: faint at both bounds, solid from 1925 to the end of 1931
    stops = re.search(r'<linearGradient id="timeline-repression-2"[^>]*>(.*?)</linearGradient>', timeline).group(1)
    offsets = [(float(o), float(a)) for o, a in re.findall(r'offset="([\d.]+)"[^>]*stop-opacity="([\d.]+)"', stops)]
    length = (date(1934, 1, 1) - date(1924, 1, 1)).days
    assert offsets[0] == (0.0, pictures.FAINT) and offsets[-1] == (1.0, pictures.FAINT)
    assert offsets[1] == (round((date(1925, 1, 1) - date(1924, 1, 1)).days / length, 4), 1.0)
    assert offsets[2] == (round((date(1932, 1, 1) - date(1924, 1, 1)).days / length, 4), 1.0)


def test_the_open_stage_is_drawn_open(timeline):
    row = re.search(r'href="/page/stage/rehabilitation-5".*?(?=<text class="row-label"|</svg>)', timeline, re.S).group(0)
    rect = re.search(r"<rect ([^>]*)/>", row).group(1)
    x, width = float(re.search(r'(?:^| )x="([\d.]+)"', rect).group(1)), float(re.search(r'width="([\d.]+)"', rect).group(1))
    assert x + width == pytest.approx(pictures.LABEL_W + pictures.AXIS_W, abs=0.2)  # runs to the right edge
    assert 'class="open-end"' in row and ">ongoing</text>" in row
    stops = re.search(r'<linearGradient id="timeline-rehabilitation-5"[^>]*>(.*?)</linearGradient>', timeline).group(1)
    assert stops.endswith(f'stop-opacity="{pictures.FAINT}"/>')  # fades out
    assert timeline.count(">ongoing</text>") == 1


def test_the_axis_has_decade_ticks_from_1917_to_2025(timeline):
    years = re.findall(r'text-anchor="middle">(\d{4})</text>', timeline)
    assert sorted(set(years)) == [str(y) for y in range(1920, 2030, 10)]
    assert ">1917</text>" in timeline and ">2025</text>" in timeline


def test_the_stages_are_also_a_plain_table(home):
    rows = [r for r in tables(home)["stages"] if r[0] != "No."]
    assert len(rows) == 14
    assert rows[4] == ["5", "Stage 5 of repression: the Great Terror (1937–1938)", "“1937–1938”", "1937/1938"]
    assert rows[-1][0] == "5" and rows[-1][3] == "2020/.."


def test_the_example_query_finds_the_stages_of_1937(memory_backend):
    rows = memory_backend.select(EXAMPLE_QUERY)
    assert {r["stage"]["value"][len(STAGE):] for r in rows} == {"repression-4", "repression-5", "repression-6"}


def test_the_home_page_names_the_source_and_how_to_query(home):
    assert 'href="https://doi.org/10.31489/2021HPh4/113-123"' in home
    assert 'href="/sparql"' in home and 'href="/.well-known/void"' in home
    assert 'href="/sparql#query=PREFIX%20kzr' in home  # opens the example in the query editor
    assert "76 persons" in home


# --- Table 1 and the figures ----------------------------------------------------------------

def test_table_1_is_the_printed_table(home):
    rows = tables(home)["table-1"]
    body = rows[2:]  # two header rows
    assert rows[0] == ["Regions", "Category 1", "Category 2"]
    assert rows[1] == ["Original plan", "Approved plan", "Original plan", "Approved plan"]
    assert [r[0] for r in body] == ["Almaty", "South Kazakhstan", "Aktobe", "Kostanay", "West Kazakhstan",
                                    "North Kazakhstan", "Karaganda", "East Kazakhstan", "Reserve", "Total"]
    assert body[0] == ["Almaty", "400", "300", "600", "500"]
    assert body[2] == ["Aktobe", "100", "150", "-", "150"]
    assert body[4] == ["West Kazakhstan", "-", "-", "200", "200"]
    assert body[-1] == ["Total", "1925", "2000", "3000", "3000"]
    assert '<tr class="total">' in home
    assert "[15; 170–171]" in home


def test_table_1_charts_show_the_numbers(home):
    for n in (1, 2):
        svg = re.search(rf'<svg[^>]*aria-labelledby="table-1-category-{n}-title.*?</svg>', home, re.S).group(0)
        assert 'role="img"' in svg and f'<title id="table-1-category-{n}-title">' in svg
        assert f'<desc id="table-1-category-{n}-desc">' in svg
        assert "Total" not in svg  # the printed totals stay in the table
    first = re.search(r'<svg[^>]*aria-labelledby="table-1-category-1-title.*?</svg>', home, re.S).group(0)
    assert "<title>Almaty, Original plan: 400</title>" in first and "<title>Almaty, Approved plan: 300</title>" in first
    assert first.count("(no figure printed)") == 2 + 2  # West Kazakhstan's two dashes: in the bars' text and the desc
    assert ">400</text>" in first


def test_the_figures_table_groups_by_indicator(home):
    rows = tables(home)["figures"]
    groups = [r[0] for r in rows if len(r) == 1]
    assert "Total rehabilitated citizens" in groups and groups == sorted(groups)
    start = rows.index(["Total rehabilitated citizens"])
    block = rows[start + 1: start + 4]
    assert [r[2] for r in block] == ["over 305,000", "327,000", "about 350 thousand"]
    assert block[0] == ["Kazakhstan", "By January 1, 2010 / As of January 1, 2010", "over 305,000", "Over", "[22; 210–212]"]
    students = [r for r in rows if len(r) == 5 and r[2] in ("about 270", "more than 300")]
    assert {r[4] for r in students} == {"[10]", "[11; 94]"}  # conflicting figures side by side, each with its source


def test_figure_charts(home):
    rehabilitated = re.search(r'<svg[^>]*aria-labelledby="rehabilitated-title.*?</svg>', home, re.S).group(0)
    assert [t for t in re.findall(r">([^<>]+)</text>", rehabilitated)] == [
        "1 January 2010", "over 305,000", "2013", "327,000", "2014", "about 350 thousand"]
    sentences = re.search(r'<svg[^>]*aria-labelledby="postwar-sentences-title.*?</svg>', home, re.S).group(0)
    assert re.findall(r">(\d+ years)</text>", sentences) == ["5 years", "8 years", "10 years", "12 years", "15 years", "25 years"]
    assert re.findall(r">(\d+ %)</text>", sentences) == ["31 %", "22 %", "41 %", "1 %", "2 %", "3 %"]
    assert "[9; 29–30]" in home


# --- The dataset description ----------------------------------------------------------------

def void_graph(client, accept=None, fmt=None, rdflib_format="turtle") -> Graph:
    response = client.get("/.well-known/void" + (f"?format={fmt}" if fmt else ""),
                          headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.data
    assert response.headers["Vary"] == "Accept"
    return Graph().parse(data=response.data, format=rdflib_format)


def test_void_in_turtle_counts_the_store(client, memory_backend):
    response = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert response.content_type == "text/turtle; charset=utf-8"
    g = Graph().parse(data=response.data, format="turtle")
    total = int(memory_backend.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"]["value"])
    assert g.value(DATASET, VOID.triples).toPython() == total
    assert set(g.objects(DATASET, RDF.type)) == {VOID.Dataset, DCAT.Dataset}
    partitions = {g.value(p, VOID["class"]): g.value(p, VOID.entities).toPython() for p in g.objects(DATASET, VOID.classPartition)}
    assert partitions[KZR.Person] == 76 and partitions[KZR.RepressionStage] == 9
    properties = {g.value(p, VOID.property): g.value(p, VOID.triples).toPython() for p in g.objects(DATASET, VOID.propertyPartition)}
    assert sum(properties.values()) == total
    assert g.value(DATASET, VOID.classes).toPython() == len(partitions)
    assert g.value(DATASET, VOID.entities).toPython() > 1000


def test_void_describes_the_dataset(client, memory_backend):
    g = void_graph(client, "text/turtle")
    assert g.value(DATASET, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert g.value(DATASET, DCTERMS.source) == URIRef("https://doi.org/10.31489/2021HPh4/113-123")
    assert g.value(DATASET, DCTERMS.title) and g.value(DATASET, DCTERMS.description)
    assert g.value(DATASET, VOID.uriSpace) == Literal("https://w3id.org/kz-repression/id/")
    assert g.value(DATASET, VOID.sparqlEndpoint) == URIRef("http://localhost/sparql")
    examples = {str(x) for x in g.objects(DATASET, VOID.exampleResource)}
    assert examples == {STAGE + "repression-5", "https://w3id.org/kz-repression/id/person/bukeikhanov-a",
                        "https://w3id.org/kz-repression/id/dataset/table-1"}
    vocabularies = set(g.objects(DATASET, VOID.vocabulary))
    assert {URIRef("https://w3id.org/kz-repression/ontology"), URIRef("http://www.cidoc-crm.org/cidoc-crm/"),
            URIRef("http://purl.org/linked-data/cube#"), URIRef("http://www.w3.org/2004/02/skos/core#")} <= vocabularies
    built = memory_backend.select(sparql_prefixes() + f"SELECT ?t WHERE {{ GRAPH <{GRAPHS['metadata']}> {{ ?a prov:endedAtTime ?t }} }}")
    modified = g.value(DATASET, DCTERMS.modified)
    assert modified.datatype == XSD.dateTime and modified.toPython() == Literal(built[0]["t"]["value"], datatype=XSD.dateTime).toPython()
    assert (DATASET, VOID.dataDump, None) not in g  # the dumps do not exist yet


def test_void_names_the_sparql_service_and_no_dumps_where_there_are_none(client):
    g = void_graph(client)  # no Accept: Turtle
    services = list(g.subjects(RDF.type, DCAT.DataService))
    assert len(services) == 1
    assert g.value(services[0], DCAT.endpointURL) == URIRef("http://localhost/sparql")
    assert g.value(services[0], DCAT.servesDataset) == DATASET
    distributions = set(g.objects(DATASET, DCAT.distribution))
    assert any(g.value(d, DCAT.accessService) == services[0] for d in distributions)
    # this app has no dumps directory: no file is claimed (tests/web/test_dumps.py covers the dumps)
    assert len(distributions) == 1 and (None, DCAT.downloadURL, None) not in g


@pytest.mark.parametrize("accept, fmt, rdflib_format", [
    ("application/ld+json", None, "json-ld"), ("application/n-triples", None, "nt"),
    ("application/rdf+xml", None, "xml"), ("*/*", None, "turtle"), (BROWSER, "jsonld", "json-ld"),
])
def test_void_formats_carry_the_same_facts(client, accept, fmt, rdflib_format):
    g = void_graph(client, accept, fmt, rdflib_format)
    turtle = void_graph(client, "text/turtle")
    assert len(g) == len(turtle)
    assert g.value(DATASET, VOID.triples) == turtle.value(DATASET, VOID.triples)


def test_void_jsonld_is_compact(client):
    response = client.get("/.well-known/void", headers={"Accept": "application/ld+json"})
    assert response.content_type == "application/ld+json; charset=utf-8"
    document = json.loads(response.data)
    assert document["@context"]["void"] == str(VOID)


def test_void_html_for_browsers(client, memory_backend):
    response = client.get("/.well-known/void", headers={"Accept": BROWSER})
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    assert response.headers["Vary"] == "Accept"
    html = response.get_data(as_text=True)
    total = memory_backend.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"]["value"]
    found = tables(html)
    dataset_rows = {row[0]: row[1] for row in found["statements"] if len(row) == 2}
    assert dataset_rows["void:triples"].startswith(total)
    assert dataset_rows["void:sparqlEndpoint"] == "http://localhost/sparql"
    assert ["kzr:Person", "76"] in found["partitions"]
    assert 'type="text/turtle"' in html


def test_void_refuses_what_it_cannot_give(client):
    response = client.get("/.well-known/void", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.headers["Vary"] == "Accept"
    assert "text/turtle" in response.get_json()["error"]


# --- pictures.py ----------------------------------------------------------------------------

FIRST, LAST = date(1917, 1, 1), date(2026, 1, 1)


def span(edtf, begin, end, label="1. a stage", title="A stage"):
    return pictures.Span("s", label, title, "/page/stage/s", edtf, begin, end)


def test_edtf_range():
    assert pictures.edtf_range("1925~") == (date(1925, 1, 1), date(1925, 12, 31))
    assert pictures.edtf_range("196X") == (date(1960, 1, 1), date(1969, 12, 31))
    assert pictures.edtf_range("1917-10") == (date(1917, 10, 1), date(1917, 10, 31))
    assert pictures.edtf_range("2004-02-XX") == (date(2004, 2, 1), date(2004, 2, 29))


def test_extent_of_approximate_unspecified_and_open_ends():
    approx = pictures.extent("1925~/1931~", date(1924, 1, 1), date(1933, 12, 31), FIRST, LAST)
    assert (approx.start, approx.solid_start, approx.solid_end, approx.stop) == (
        date(1924, 1, 1), date(1925, 1, 1), date(1932, 1, 1), date(1934, 1, 1))
    decade = pictures.extent("1953/196X", date(1953, 1, 1), date(1969, 12, 31), FIRST, LAST)
    assert (decade.solid_start, decade.solid_end, decade.fuzzy_start, decade.fuzzy_end) == (
        date(1953, 1, 1), date(1960, 1, 1), False, True)
    open_end = pictures.extent("2020/..", date(2020, 1, 1), None, FIRST, LAST)
    assert (open_end.stop, open_end.solid_end, open_end.open_end, open_end.fuzzy_end) == (LAST, date(2021, 1, 1), True, True)
    exact = pictures.extent("1937/1938", date(1937, 1, 1), date(1938, 12, 31), FIRST, LAST)
    assert not (exact.fuzzy_start or exact.fuzzy_end) and exact.stop == date(1939, 1, 1)


def test_a_bar_with_an_approximate_edtf_gets_a_gradient():
    svg = pictures.timeline([("Stages", "#7a1f1f", [span("1925~", date(1924, 1, 1), date(1926, 12, 31))])], id_prefix="t")
    assert '<linearGradient id="t-s"' in svg and 'fill="url(#t-s)"' in svg
    plain = pictures.timeline([("Stages", "#7a1f1f", [span("1937/1938", date(1937, 1, 1), date(1938, 12, 31))])], id_prefix="t")
    assert "<linearGradient" not in plain and 'fill="#7a1f1f"' in plain


def test_timeline_text_is_escaped():
    svg = pictures.timeline([("<b>heading</b>", "#000", [span("1937", date(1937, 1, 1), date(1937, 12, 31),
                                                             label="<script>", title='a "quote" & <script>')])],
                            title="<script>", desc="<desc>")
    assert "<script>" not in svg and "<b>" not in svg
    assert ">&lt;script&gt;</text>" in svg and "<title>a &quot;quote&quot; &amp; &lt;script&gt;</title>" in svg
    assert "&lt;b&gt;heading&lt;/b&gt;" in svg


def test_bar_chart_escapes_and_labels_numbers():
    svg = pictures.bar_chart("<script>", "desc & more", [("<script>", [pictures.Bar(5, "5 <b>"), pictures.Bar(None, "-")])],
                             [("one", "#111"), ("<two>", "#222")], "c")
    assert "<script>" not in svg and "<b>" not in svg and "<two>" not in svg
    assert '<title id="c-title">&lt;script&gt;</title>' in svg and '<desc id="c-desc">desc &amp; more</desc>' in svg
    assert ">5 &lt;b&gt;</text>" in svg
    assert svg.count("</rect>") == 1  # no bar where there is no figure, but its text
    assert re.search(r'<text [^>]*class="no-figure"[^>]*>-</text>', svg)


def test_the_head_holds_no_page_content_and_sections_are_unique(home):
    head = home.split("<head>", 1)[1].split("</head>", 1)[0]
    assert "<section" not in head
    assert home.count('id="download"') == 1
