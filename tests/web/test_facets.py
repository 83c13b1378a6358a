"""Facets of a registry: counts checked against SPARQL on the real built store, filters, paging, HTML, errors."""
from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser

import pyoxigraph as ox
import pytest

from paths import ROOT
from servers import BIN, free_port, running
from repression_kg.backend import MemoryBackend
from repression_kg.build import build
from repression_kg.facets import FACETS, FacetIndex, set_bits
from repression_kg.store import current_store, open_read_only, sidecar
from repression_kg.synth import synthesize
from repression_kg.textsearch import fold
from repression_kg.web import create_app

ID = "https://w3id.org/kz-repression/id/"
REGISTRY = "https://w3id.org/kz-repression/graph/registry"
JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}
PERSONS = 240


@pytest.fixture(scope="module")
def registry_build(tmp_path_factory):
    """The real graph with a small synthetic registry, built once for this module."""
    base = tmp_path_factory.mktemp("registry")
    synthesize(base / "registry", persons=PERSONS, seed=11)
    build(ROOT, base / "build", add=[base / "registry"], quiet=True)
    return base / "build"


@pytest.fixture(scope="module")
def registry_app(registry_build):
    """The app over the embedded store of that build (it reads the facet file written with the store)."""
    app = create_app({"TESTING": True, "BUILD_DIR": str(registry_build), "QUERY_WORKERS": 1})
    yield app
    app.extensions["kg_backend"].close()


@pytest.fixture
def rclient(registry_app):
    return registry_app.test_client()


@pytest.fixture(scope="module")
def store(registry_build):
    return open_read_only(registry_build)


PATTERNS = {  # what each facet counts, written here as SPARQL to check the precomputed counts
    "region": "?r kzr:victim ?person ; kzr:place ?v", "stage": "?r kzr:victim ?person ; kzr:inStage ?v",
    "charge": "?r kzr:victim ?person ; kzr:charge ?v", "sentence": "?r kzr:victim ?person ; kzr:sentence ?v",
    "nationality": "?person kzr:nationality ?v",
    "year": "?r kzr:victim ?person ; kzr:arrestDate ?d BIND(STR(YEAR(?d)) AS ?v)",
}


def sparql_counts(store, facet: str, filters: dict[str, list[str]] = {}) -> dict[str, int]:
    """Persons per value of a facet among the persons that have, for each filter facet, one of its values."""
    where = "".join(f"{{ {PATTERNS[f].replace('?r ', f'?r_{f} ').replace('?v', f'?v_{f}').replace('?d', f'?d_{f}')} "
                    f"VALUES ?v_{f} {{ {' '.join(term(f, k) for k in keys)} }} }}" for f, keys in filters.items())
    query = f"""PREFIX kzr: <https://w3id.org/kz-repression/ontology#>
    SELECT ?v (COUNT(DISTINCT ?person) AS ?n) WHERE {{ GRAPH <{REGISTRY}> {{ ?person a kzr:Person . {PATTERNS[facet]} {where} }} }}
    GROUP BY ?v"""
    return {key(facet, row["v"].value): int(row["n"].value) for row in store.query(query)}


def term(facet: str, k: str) -> str:
    return f'"{k}"' if facet == "year" else f"<{ID}{k}>"


def key(facet: str, value: str) -> str:
    return value if facet == "year" else value[len(ID):]


def get_json(client, url: str, **params) -> dict:
    response = client.get(url, query_string=params or None, headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Vary"] == "Accept"
    return response.get_json()


def counts_of(body: dict, facet: str) -> dict[str, int]:
    one = next(f for f in body["facets"] if f["name"] == facet) if "facets" in body else body
    return {v["key"]: v["count"] for v in one["values"] if v["count"]}


# --- Counts ------------------------------------------------------------------------------------

def test_the_build_writes_the_facet_file(registry_build, registry_app):
    path = sidecar(current_store(registry_build), "facets.sqlite")
    assert path.exists() and FacetIndex.open(path).persons == PERSONS
    with registry_app.test_request_context():
        from repression_kg.web.facets import facet_index
        assert facet_index().db.path == path  # served from the store's own file, not recomputed


@pytest.mark.parametrize("facet", [f.name for f in FACETS])
def test_counts_are_those_of_the_store(rclient, store, facet):
    body = get_json(rclient, "/facets")
    assert body["persons"] == PERSONS and body["registry"] is True
    assert counts_of(body, facet) == sparql_counts(store, facet)
    assert counts_of(get_json(rclient, f"/facets/{facet}"), facet) == sparql_counts(store, facet)


def test_values_have_labels_iris_and_links(rclient):
    body = get_json(rclient, "/facets")
    region = next(f for f in body["facets"] if f["name"] == "region")
    top = region["values"][0]
    assert top["iri"] == ID + top["key"] and top["label"].endswith("Region")
    assert top["href"] == f"/persons?region={top['key']}"
    assert [v["count"] for v in region["values"]] == sorted((v["count"] for v in region["values"]), reverse=True)
    years = next(f for f in body["facets"] if f["name"] == "year")["values"]
    assert [v["key"] for v in years] == sorted(v["key"] for v in years) and years[0]["iri"] is None
    stages = next(f for f in body["facets"] if f["name"] == "stage")["values"]
    assert all(v["label"].startswith("Stage ") for v in stages)


def busiest(rclient, facet: str, n: int = 1) -> list[str]:
    """The keys of the n values of a facet with the most persons."""
    values = next(f for f in get_json(rclient, "/facets")["facets"] if f["name"] == facet)["values"]
    return [v["key"] for v in sorted(values, key=lambda v: -v["count"])[:n]]


def test_filtered_counts_are_those_of_the_store(rclient, store):
    year, region = busiest(rclient, "year")[0], busiest(rclient, "region")[0]
    body = get_json(rclient, "/persons", year=year, region=region)
    both = {"year": [year], "region": [region]}
    assert body["matching"] == sparql_counts(store, "year", both)[year]
    for facet in ("charge", "sentence", "nationality", "stage"):
        assert counts_of(body, facet) == sparql_counts(store, facet, both)
    # a facet's own choice is left out of its counts: the other regions stay in view
    assert counts_of(body, "region") == sparql_counts(store, "region", {"year": [year]})
    assert counts_of(body, "year") == sparql_counts(store, "year", {"region": [region]})
    assert body["filters"] == {"region": [region], "year": [year]}


def test_values_of_one_facet_are_either(rclient, store):
    years = busiest(rclient, "year", 2)
    body = get_json(rclient, "/persons", year=years)
    each = sparql_counts(store, "year")
    assert body["matching"] == each[years[0]] + each[years[1]]
    assert {v["key"] for f in body["facets"] if f["name"] == "year" for v in f["values"] if v["selected"]} == set(years)


def test_counts_change_with_the_filter(rclient):
    everyone = get_json(rclient, "/persons")
    sentence = busiest(rclient, "sentence")[0]
    some = get_json(rclient, "/persons", sentence=sentence)
    assert everyone["matching"] == PERSONS > some["matching"] > 0
    assert counts_of(everyone, "region") != counts_of(some, "region")
    assert sum(counts_of(some, "nationality").values()) == some["matching"]  # one nationality per person


# --- The person list ------------------------------------------------------------------------------

def test_pages_cover_the_matching_persons_once_in_order(rclient, store):
    year = busiest(rclient, "year")[0]
    first = get_json(rclient, "/persons", year=year, limit=7)
    seen, body, pages = [], first, 0
    while True:
        pages += 1
        seen += body["results"]
        if not body["next"]:
            break
        body = get_json(rclient, body["next"])
    assert pages == first["pages"] == -(-first["matching"] // 7)
    assert len(seen) == len({p["iri"] for p in seen}) == first["matching"]
    labels = [p["label"] for p in seen]
    assert [fold(label) for label in labels] == sorted(fold(label) for label in labels)
    assert all(p["values"]["year"] == [{"key": year, "label": year}] for p in seen)
    assert all(p["page"] == "/page/" + p["iri"][len(ID):] and p["path"] == "/id/" + p["iri"][len(ID):] for p in seen)
    assert body["prev"] and first["prev"] is None


def test_a_person_listed_is_a_person_of_the_registry(rclient, store):
    person = get_json(rclient, "/persons", limit=1)["results"][0]
    assert store.query(f"ASK {{ GRAPH <{REGISTRY}> {{ <{person['iri']}> a <https://w3id.org/kz-repression/ontology#Person> }} }}")
    page = rclient.get(person["page"], headers=HTML)
    assert page.status_code == 200 and person["label"] in page.get_data(as_text=True)


def test_choosing_every_value_of_a_facet_leaves_everyone(rclient):
    years = get_json(rclient, "/facets/year")["values"]
    rare = min((v for v in years if v["count"]), key=lambda v: v["count"])["key"]
    sentences = [v["key"] for v in get_json(rclient, "/facets/sentence")["values"]]
    body = get_json(rclient, "/persons", year=rare, sentence=sentences)
    assert body["matching"] == next(v["count"] for v in years if v["key"] == rare)


def test_set_bits():
    mask = sum(1 << p for p in (0, 3, 64, 65, 200, 1000))
    assert set_bits(mask, 0, 10) == [0, 3, 64, 65, 200, 1000]
    assert set_bits(mask, 2, 3) == [64, 65, 200]
    assert set_bits(mask, 6, 3) == []


# --- Pages and errors ------------------------------------------------------------------------------

class Page(HTMLParser):
    """Links, scripts and inline handlers of an HTML page."""

    def __init__(self):
        super().__init__()
        self.links, self.scripts, self.handlers = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if tag == "script":
            self.scripts.append(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_html_overview_links_values_to_the_list(rclient):
    response = rclient.get("/facets", headers=HTML)
    assert response.mimetype == "text/html" and response.headers["Vary"] == "Accept"
    page = parse(response.get_data(as_text=True))
    region = busiest(rclient, "region")[0]
    assert f"/persons?region={region}" in page.links and "/facets/year" in page.links
    assert not page.scripts and not page.handlers


def test_html_list_shows_counts_choices_and_persons(rclient):
    year = busiest(rclient, "year")[0]
    body = get_json(rclient, "/persons", year=year)
    html = rclient.get(f"/persons?year={year}", headers=HTML).get_data(as_text=True)
    page = parse(html)
    assert re.search(rf'<strong class="matching">{body["matching"]:,}</strong>', html)
    assert "/persons" in page.links  # remove the year again
    assert all(p["page"] in page.links for p in body["results"])
    assert body["next"] in page.links
    assert not page.scripts and not page.handlers
    assert f'<link rel="alternate" type="application/json" href="/persons?year={year}&amp;page=1&amp;format=json">' in html


def test_format_json_overrides_accept(rclient):
    response = rclient.get("/facets?format=json", headers=HTML)
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("url, status, words", [
    ("/persons?colour=red", 400, "colour"),
    ("/persons?region=atlantis", 400, "region"),
    ("/persons?year=1066", 400, "year"),
    ("/persons?page=0", 400, "page"),
    ("/persons?page=100000", 400, "page"),
    ("/persons?limit=501", 400, "limit"),
    ("/persons?limit=ten", 400, "limit"),
    ("/persons?format=xml", 400, "format"),
    ("/facets/colour", 404, "colour"),
])
def test_bad_requests_name_the_parameter(rclient, url, status, words):
    response = rclient.get(url, headers=JSON)
    assert response.status_code == status
    assert words in response.get_json()["error"]
    html = rclient.get(url, headers=HTML)
    assert html.status_code == status and words in html.get_data(as_text=True)


def test_a_value_with_markup_is_escaped(rclient):
    html = rclient.get("/persons", query_string={"region": "<script>x</script>"}, headers=HTML).get_data(as_text=True)
    assert "<script>x" not in html and "&lt;script&gt;" in html


# --- Without a registry, and through another backend ---------------------------------------------

@pytest.mark.parametrize("url", ["/facets", "/facets/region", "/persons", "/persons?region=place/almaty-region"])
def test_without_a_registry_the_pages_say_so(client, url):
    html = client.get(url, headers=HTML)
    assert html.status_code == 200
    assert "No registry is loaded" in html.get_data(as_text=True)
    body = get_json(client, url)
    assert body["registry"] is False and body["persons"] == 0 and "No registry" in body.get("note", "")


def test_a_backend_without_the_file_gives_the_same_counts(registry_build, rclient):
    """An in-memory copy of the store (no facet file) builds the tables from SPARQL, with the same counts."""
    app = create_app({"TESTING": True, "BACKEND": MemoryBackend.from_build(registry_build)})
    with app.test_client() as other:
        assert get_json(other, "/facets") == get_json(rclient, "/facets")
        year = busiest(rclient, "year")[0]
        assert get_json(other, "/persons", year=year) == get_json(rclient, "/persons", year=year)


def test_registry_persons_are_found_by_search_in_every_script(rclient, store):
    person = get_json(rclient, "/persons", limit=1)["results"][0]
    names = {row["l"].language: row["l"].value for row in store.query(
        f"SELECT ?l WHERE {{ GRAPH <{REGISTRY}> {{ <{person['iri']}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }} }}")}
    assert set(names) == {"en", "ru", "kk"}
    for name in names.values():
        results = get_json(rclient, "/search", q=name, kind="person", limit=100)["results"]
        assert person["iri"] in [r["iri"] for r in results if r["score"] >= 100], name


@pytest.fixture(scope="module")
def oxigraph_endpoint(registry_build, tmp_path_factory):
    """A real `oxigraph serve` on 127.0.0.1 loaded with the registry build (a remote store for --endpoint)."""
    workdir = tmp_path_factory.mktemp("remote")
    dump = workdir / "dump.nq"
    ox.Store.read_only(str(current_store(registry_build))).dump(str(dump), ox.RdfFormat.N_QUADS)
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(workdir / "db"), "--file", str(dump)],
                   check=True, capture_output=True, timeout=300)
    port = free_port()
    command = [str(BIN / "oxigraph"), "serve", "--location", str(workdir / "db"), "--bind", f"127.0.0.1:{port}",
               "--union-default-graph"]
    with running(command, f"http://127.0.0.1:{port}/query"):
        yield f"http://127.0.0.1:{port}/query"


def test_a_remote_endpoint_gives_the_same_facets_and_search(oxigraph_endpoint, rclient):
    """Through --endpoint the files are built once from the remote store's SPARQL, with the same answers."""
    app = create_app({"TESTING": True, "ENDPOINT": oxigraph_endpoint})
    with app.test_client() as remote:
        assert get_json(remote, "/facets") == get_json(rclient, "/facets")
        sentence = busiest(rclient, "sentence")[0]
        assert get_json(remote, "/persons", sentence=sentence, page=2) == get_json(rclient, "/persons", sentence=sentence, page=2)
        name = get_json(rclient, "/persons", limit=1)["results"][0]["label"]
        assert get_json(remote, "/search", q=name) == get_json(rclient, "/search", q=name)
