"""/search over the real graph: scripts and transliterations, JSON and HTML, filters, validation, escaping."""
from __future__ import annotations

import gc
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pyoxigraph as ox
import pytest

from repression_kg import store
from repression_kg.backend import EmbeddedBackend
from repression_kg.derived import write_derived
from repression_kg.namespaces import GRAPHS
from repression_kg.store import current_store, sidecar
from repression_kg.textsearch import IndexCache
from repression_kg.web import create_app

ID = "https://w3id.org/kz-repression/id/"
JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def search(client, **params) -> list[dict]:
    response = client.get("/search", query_string=params, headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Vary"] == "Accept"
    return response.get_json()["results"]


def first(client, q: str, **params) -> str:
    results = search(client, q=q, **params)
    assert results, f"nothing found for {q!r}"
    return results[0]["iri"][len(ID):]


@pytest.mark.parametrize("q", ["Bukeikhanov", "Bokeikhan", "Бөкейхан", "Букейханов",
                               "A. Bukeikhanov", "Bukeikhanov A.", "bukeikhanov", "BÖKEIKHAN"])
def test_bukeikhanov_in_every_spelling(client, q):
    assert first(client, q) == "person/bukeikhanov-a"


@pytest.mark.parametrize("q", ["Baitursynov", "Байтұрсынұлы", "Байтурсынов", "A. Baitursynov"])
def test_baitursynov(client, q):
    assert first(client, q) == "person/baitursynov-a"


@pytest.mark.parametrize("q", ["Сейфуллин", "Seifullin", "Seyfullin"])
def test_seyfullin(client, q):
    assert first(client, q) == "person/seyfullin-s"


def test_dulatov_does_not_find_dulatbekov(client):
    found = {r["iri"][len(ID):] for r in search(client, q="Dulatov", limit=100)}
    assert "person/dulatov-m" in found
    assert not any("dulatbekov" in slug for slug in found)


def test_initials_rank_kozybayev(client):
    people = [r["iri"][len(ID):] for r in search(client, q="Kozybayev M.K.", kind="person")]
    assert people[:2] == ["person/kozybayev-m-k", "person/kozybayev-i-m"]


def test_json_shape(client):
    response = client.get("/search?q=Бөкейхан", headers=JSON)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["query"] == "Бөкейхан"
    top = body["results"][0]
    assert {"iri", "path", "label", "kind", "matched", "score"} <= set(top)
    assert top["iri"] == ID + "person/bukeikhanov-a"
    assert top["path"] == "/id/person/bukeikhanov-a"
    assert top["label"] == "A. Bukeikhanov"
    assert top["kind"] == "Person"
    assert isinstance(top["score"], (int, float))
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_format_json_overrides_accept(client):
    response = client.get("/search?q=Seifullin&format=json", headers=HTML)
    assert response.mimetype == "application/json"
    assert response.headers["Vary"] == "Accept"


def test_matched_name_in_the_query_script(client):
    top = search(client, q="Букейханов")[0]
    assert (top["label"], top["matched"]) == ("A. Bukeikhanov", "А. Букейханов")


def test_kind_filter(client):
    everything = {r["iri"].split("/")[-2] for r in search(client, q="Bukeikhanov")}
    assert {"person", "repression", "rehabilitation"} <= everything
    only = search(client, q="Bukeikhanov", kind="repression")
    assert only and all(r["iri"].startswith(ID + "repression/") for r in only)


def test_kind_concept_covers_the_vocabularies(client):
    results = search(client, q="kulaks", kind="concept")
    assert results and results[0]["iri"] == ID + "category/kulaks"


def test_limit(client):
    assert len(search(client, q="1937", limit=3)) == 3
    assert len(search(client, q="1937")) == 20  # the default
    assert 20 < len(search(client, q="1937", limit=100)) <= 100


@pytest.mark.parametrize("value", ["0", "101", "abc", "-1", "2.5", "²", "9" * 5000])
def test_bad_limit_is_400_naming_limit(client, value):
    response = client.get("/search", query_string={"q": "NKVD", "limit": value}, headers=JSON)
    assert response.status_code == 400
    assert "limit" in response.get_json()["error"]
    assert response.headers["Vary"] == "Accept"


def test_bad_kind_is_400_naming_kind(client):
    response = client.get("/search?q=NKVD&kind=spaceship", headers=JSON)
    assert response.status_code == 400
    assert "kind" in response.get_json()["error"]


def test_empty_query(client):
    response = client.get("/search?q=", headers=JSON)
    assert response.status_code == 400
    assert "parameter q" in response.get_json()["error"]
    page = client.get("/search", headers=HTML)
    assert page.status_code == 200
    assert "search-results" not in page.get_data(as_text=True)


def test_no_match_is_an_empty_list(client):
    assert search(client, q="Zzyzxqwv") == []
    page = client.get("/search?q=Zzyzxqwv", headers=HTML).get_data(as_text=True)
    assert "Nothing matches" in page


class Links(HTMLParser):
    """The result links of a search page and the values of its search boxes."""

    def __init__(self):
        super().__init__()
        self.results, self.boxes, self._in_results = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "ol" and "search-results" in (attrs.get("class") or ""):
            self._in_results = True
        elif tag == "a" and self._in_results:
            self.results.append(attrs["href"])
        elif tag == "input" and attrs.get("name") == "q":
            self.boxes.append(attrs.get("value"))

    def handle_endtag(self, tag):
        if tag == "ol":
            self._in_results = False


def test_html_page_with_cyrillic_query(client):
    response = client.get("/search", query_string={"q": "Бөкейхан"}, headers=HTML)
    assert response.mimetype == "text/html"
    assert response.headers["Vary"] == "Accept"
    page = Links()
    page.feed(response.get_data(as_text=True))
    assert page.results[0] == "/page/person/bukeikhanov-a"
    assert page.boxes and all(box == "Бөкейхан" for box in page.boxes)  # echoed in the search boxes


def test_html_shows_the_matched_name_when_it_differs(client):
    html = client.get("/search", query_string={"q": "Сейфуллин", "kind": "person"}, headers=HTML).get_data(as_text=True)
    item = re.search(r'<li>\s*<a href="/page/person/seyfullin-s">S\. Seyfullin</a>(.*?)</li>', html, re.S)
    assert item and "matched “С. Сейфуллин”" in item.group(1)
    assert "Person" in item.group(1)


def test_script_in_query_is_escaped(client):
    payload = '<script>alert("x")</script>'
    html = client.get("/search", query_string={"q": payload}, headers=HTML).get_data(as_text=True)
    assert payload not in html
    assert "<script" not in html
    assert "&lt;script&gt;" in html


class CountingBackend:
    """A backend wrapper that counts the label queries."""

    def __init__(self, inner):
        self.inner, self.label_queries, self.marker = inner, 0, "2021-01-01T00:00:00Z"

    def select(self, sparql, timeout=30.0):
        if "endedAtTime" in sparql:
            return [{"time": {"type": "literal", "value": self.marker}}]
        self.label_queries += "printedForm" in sparql
        return self.inner.select(sparql, timeout)


def test_index_is_kept_until_the_build_changes(memory_backend):
    """Without a store directory (in-memory or remote backends) the index is read through the backend, once per build."""
    backend, cache = CountingBackend(memory_backend), IndexCache()
    index = cache.get(backend, ID)
    assert cache.get(backend, ID) is index and backend.label_queries == 1
    backend.marker = "2099-01-01T00:00:00Z"  # a rebuild
    assert cache.get(backend, ID) is not index and backend.label_queries == 2
    assert cache.get(backend, ID).search("Bukeikhanov")[0].iri == ID + "person/bukeikhanov-a"


def test_a_temporary_index_goes_with_its_build(memory_backend):
    backend, cache = CountingBackend(memory_backend), IndexCache()
    path = cache.get(backend, ID).db.path
    assert path.exists() and str(path).startswith(tempfile.gettempdir())
    backend.marker = "2099-01-01T00:00:00Z"
    cache.get(backend, ID)
    gc.collect()
    assert not path.exists()


@pytest.fixture
def build_copy(built, tmp_path) -> Path:
    target = tmp_path / "build"
    shutil.copytree(built, target, symlinks=True)
    return target


def test_embedded_backend_reads_the_index_of_the_current_store(build_copy):
    """The embedded store's own index file is used, and a rebuild's new file replaces it."""
    backend = EmbeddedBackend(build_copy, workers=1)
    try:
        cache = IndexCache()
        index = cache.get(backend, ID)
        assert index.db.path == sidecar(current_store(build_copy), "search.sqlite")
        assert cache.get(backend, ID) is index
        new_dir = rebuild_with_label(build_copy, "person/bukeikhanov-a", "Zhyrau Bukeikhanuly")
        fresh = cache.get(backend, ID)
        assert fresh is not index and fresh.db.path == sidecar(new_dir, "search.sqlite")
        assert fresh.search("Zhyrau")[0].iri == ID + "person/bukeikhanov-a"
        assert index.search("Zhyrau") == []
    finally:
        backend.close()


def rebuild_with_label(build_dir: Path, slug: str, label: str) -> Path:
    """Publish a new store: a copy of the current one with one more label, its index written from it."""
    new_dir = store.new_store_dir(build_dir)
    shutil.copytree(current_store(build_dir), new_dir, ignore=shutil.ignore_patterns("LOCK"))
    data = ox.Store(str(new_dir))
    data.add(ox.Quad(ox.NamedNode(ID + slug), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                     ox.Literal(label, language="en"), ox.NamedNode(str(GRAPHS["data"]))))
    data.flush()
    del data
    gc.collect()
    sidecar(new_dir, "search.sqlite").unlink()
    sidecar(new_dir, "facets.sqlite").unlink()
    write_derived(new_dir)
    store.publish(build_dir, new_dir)
    return new_dir


def test_search_is_503_when_the_store_is_gone(build_copy):
    app = create_app({"TESTING": True, "BUILD_DIR": str(build_copy), "QUERY_WORKERS": 1})
    try:
        (build_copy / "store").unlink()
        response = app.test_client().get("/search?q=Bukeikhanov", headers=JSON)
        assert response.status_code == 503
        assert "search index" in response.get_json()["error"]
    finally:
        app.extensions["kg_backend"].close()


def test_build_marker_is_read_from_the_store(memory_backend):
    from repression_kg.textsearch import build_marker

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", build_marker(memory_backend))


def test_overlong_query_is_400_naming_q(client):
    response = client.get("/search", query_string={"q": "a " * 200}, headers=JSON)
    assert response.status_code == 400
    assert "parameter q" in response.get_json()["error"]
