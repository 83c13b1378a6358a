"""/dumps/: the listing (JSON and HTML), each file with its type, ETag and Last-Modified (and 304),
no way out of the directory, no dumps where there is no local build; the home page's "Download and cite"."""
from __future__ import annotations

import gzip
import hashlib
import re
import threading
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from repression_kg import export, void
from repression_kg.backend import build_info
from repression_kg.web import create_app

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RDF_FILES = {export.file_name(kind, compressed=c) for kind in export.RDF_FORMATS for c in (False, True)}
CSV_FILES = {export.file_name(name) for name in export.TABLES}
TYPES = {"kz-repression.ttl": "text/turtle; charset=utf-8", "kz-repression.nt": "application/n-triples; charset=utf-8",
         "kz-repression.nq": "application/n-quads; charset=utf-8", "kz-repression.trig": "application/trig; charset=utf-8",
         "kz-repression.jsonld": "application/ld+json; charset=utf-8",
         "kz-repression.rdf": "application/rdf+xml; charset=utf-8",
         "kz-repression-persons.csv": "text/csv; charset=utf-8; header=present",
         "kz-repression.ttl.gz": "application/gzip", "SHA256SUMS": "text/plain; charset=utf-8"}


@pytest.fixture(scope="module")
def dumps_client(memory_backend, tmp_path_factory):
    app = create_app({"TESTING": True, "BACKEND": memory_backend, "DUMPS_DIR": str(tmp_path_factory.mktemp("served"))})
    return app.test_client()


@pytest.fixture(scope="module")
def listing(dumps_client):
    response = dumps_client.get("/dumps/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.get_json()


class Links(HTMLParser):
    """The href of every link."""

    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href"))


class Fetched:
    """A response read and closed (a file response holds its file open until it is closed, as a WSGI server does)."""

    def __init__(self, client, path: str, method: str = "GET", **kwargs):
        with client.open(path, method=method, **kwargs) as response:
            self.status_code, self.headers, self.data = response.status_code, response.headers, response.get_data()


def links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.hrefs


def test_listing_as_json(listing, memory_backend):
    names = {f["name"] for f in listing["files"]}
    assert names == RDF_FILES | CSV_FILES | {"SHA256SUMS"}
    assert all(f["url"] == "http://localhost/dumps/" + f["name"] for f in listing["files"])
    assert listing["graphs"] == ["ontology", "data", "links", "inferred"]
    assert listing["license"] == "https://creativecommons.org/licenses/by/4.0/"
    build = build_info(memory_backend)
    assert listing["build_time"] == build["time"] and listing["source_digest"] == build["digest"]
    assert listing["version"] == void.version(build) and listing["version"] in listing["citation"]
    public = {"name", "title", "kind", "format", "media_type", "compressed", "bytes", "sha256", "url"}
    rdf = {"graphs"}  # the graphs an RDF file holds
    assert all(set(f) == public | (rdf if f["kind"] == "rdf" else set()) for f in listing["files"])  # no server paths
    assert all(f["graphs"] == listing["graphs"] for f in listing["files"] if f["kind"] == "rdf")


def test_listing_as_html(dumps_client, listing):
    response = dumps_client.get("/dumps/", headers={"Accept": BROWSER})
    assert response.status_code == 200 and response.content_type == "text/html; charset=utf-8"
    assert response.headers["Vary"] == "Accept"
    html = response.get_data(as_text=True)
    assert {f["url"] for f in listing["files"]} <= set(links(html))
    assert listing["version"] in html and "10.31489/2021HPh4/113-123" in html
    assert dumps_client.get("/dumps/?format=json", headers={"Accept": BROWSER}).is_json


@pytest.mark.parametrize("name", sorted(TYPES))
def test_each_file_has_its_type_etag_and_last_modified(dumps_client, listing, name):
    entry = next(f for f in listing["files"] if f["name"] == name)
    response = Fetched(dumps_client, f"/dumps/{name}")
    assert response.status_code == 200 and response.headers["Content-Type"] == TYPES[name]
    body = response.data
    assert len(body) == entry["bytes"] == int(response.headers["Content-Length"])
    assert response.headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"' == f'"{entry["sha256"]}"'
    assert parsedate_to_datetime(response.headers["Last-Modified"]).isoformat().replace("+00:00", "Z") == listing["build_time"]
    assert "Content-Encoding" not in response.headers
    if name.endswith(".gz"):
        assert response.headers["Content-Disposition"] == f"attachment; filename={name}"
        assert gzip.decompress(body) == Fetched(dumps_client, f"/dumps/{name[:-3]}").data


def test_conditional_requests_answer_304(dumps_client):
    first = Fetched(dumps_client, "/dumps/kz-repression.nt")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}, {"If-None-Match": f'"x", {etag}'}):
        response = Fetched(dumps_client, "/dumps/kz-repression.nt", headers=headers)
        assert response.status_code == 304 and response.data == b""
    assert Fetched(dumps_client, "/dumps/kz-repression.nt", headers={"If-None-Match": '"other"'}).status_code == 200
    assert Fetched(dumps_client, "/dumps/kz-repression.nt", headers={
        "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    head = Fetched(dumps_client, "/dumps/kz-repression.nt", method="HEAD")
    assert head.status_code == 200 and head.headers["ETag"] == etag and head.data == b""


def test_the_served_files_are_the_exports_of_the_same_store(dumps_client, memory_backend, tmp_path):
    export.export(memory_backend, tmp_path, ["nq", "csv"])
    for path in tmp_path.iterdir():
        assert Fetched(dumps_client, f"/dumps/{path.name}").data == path.read_bytes()
    sums = Fetched(dumps_client, "/dumps/SHA256SUMS").data.decode()
    assert f"{hashlib.sha256((tmp_path / 'kz-repression.nq').read_bytes()).hexdigest()}  kz-repression.nq\n" in sums


@pytest.mark.parametrize("path", [
    "/dumps/../build.json", "/dumps/%2e%2e/build.json", "/dumps/%2e%2e%2fbuild.json", "/dumps/..%2f..%2fetc%2fpasswd",
    "/dumps/..", "/dumps/%2e%2e", "/dumps//etc/passwd", "/dumps/%2Fetc%2Fpasswd", "/dumps/..%5cmanifest.json",
    "/dumps/manifest.json", "/dumps/.tmp", "/dumps/kz-repression.ttl/", "/dumps/KZ-REPRESSION.TTL", "/dumps/nope.ttl",
])
def test_nothing_outside_the_list_is_served(dumps_client, listing, path):
    response = dumps_client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["ok"] is False
    assert "root:" not in response.get_data(as_text=True)


def test_no_dumps_in_front_of_a_remote_endpoint():
    app = create_app({"TESTING": True, "ENDPOINT": "http://127.0.0.1:9/sparql"})
    for path in ("/dumps/", "/dumps/kz-repression.ttl"):
        response = app.test_client().get(path, headers={"Accept": "application/json"})
        assert response.status_code == 404
        assert "remote SPARQL endpoint" in response.get_json()["error"]


def test_no_dumps_without_a_dumps_directory(client):
    response = client.get("/dumps/", headers={"Accept": "application/json"})
    assert response.status_code == 404 and "DUMPS_DIR" in response.get_json()["error"]


def download_section(html: str) -> str:
    match = re.search(r'<section id="download">(.*?)</section>', html, flags=re.S)
    assert match, "no Download and cite section"
    return match.group(1)


def test_home_page_offers_the_dumps_and_a_citation(dumps_client, listing):
    section = download_section(dumps_client.get("/").get_data(as_text=True))
    hrefs = set(links(section))
    assert RDF_FILES | CSV_FILES == {h.rsplit("/", 1)[-1] for h in hrefs if "/dumps/" in h and h != "/dumps/"}
    assert "/dumps/" in hrefs
    assert listing["version"] in section and "Kazakhstan repression knowledge graph contributors" in section
    assert "Z.G. Saktaganova" in section and "https://doi.org/10.31489/2021HPh4/113-123" in section


def test_home_page_without_dumps_still_says_how_to_cite(client):
    section = download_section(client.get("/").get_data(as_text=True))
    assert "offers no dump files" in section and "/dumps/" not in " ".join(links(section))
    assert "Kazakhstan repression knowledge graph contributors" in section and "CC BY 4.0" in section


def test_void_lists_the_served_files(dumps_client, listing):
    g = Graph().parse(data=dumps_client.get("/.well-known/void?format=turtle").data, format="turtle")
    dataset = URIRef("https://w3id.org/kz-repression/dataset")
    sizes = {str(g.value(d, void.DCAT.downloadURL)): g.value(d, void.DCAT.byteSize)
             for d in g.objects(dataset, void.DCAT.distribution) if g.value(d, void.DCAT.downloadURL)}
    files = [f for f in listing["files"] if f["kind"] != "checksums"]
    assert sizes == {f["url"]: Literal(f["bytes"], datatype=XSD.nonNegativeInteger) for f in files}
    for url in sizes:
        head = Fetched(dumps_client, url.removeprefix("http://localhost"), method="HEAD")
        assert int(head.headers["Content-Length"]) == int(sizes[url])
    assert {str(u) for u in g.objects(dataset, void.VOID.dataDump)} == {f["url"] for f in files if f["kind"] == "rdf"}


def test_a_dumps_directory_that_cannot_be_written(memory_backend, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    client = create_app({"TESTING": True, "BACKEND": memory_backend, "DUMPS_DIR": str(blocked)}).test_client()
    response = client.get("/dumps/", headers={"Accept": "application/json"})
    assert response.status_code == 503 and "could not be written" in response.get_json()["error"]
    assert str(tmp_path) not in response.get_data(as_text=True)
    home = client.get("/")
    assert home.status_code == 200 and "offers no dump files" in download_section(home.get_data(as_text=True))


def test_dumps_being_written_answer_503_and_the_pages_go_on_without_them(memory_backend, tmp_path, monkeypatch):
    """A release that takes long (a large registry) is written in the background: nobody waits minutes for it."""
    release = threading.Event()
    real = export.write_release

    def slow(kg, out_dir):
        release.wait(60)
        return real(kg, out_dir)

    monkeypatch.setattr(export, "write_release", slow)
    client = create_app({"TESTING": True, "BACKEND": memory_backend, "DUMPS_DIR": str(tmp_path),
                         "RELEASE_WAIT_SECONDS": 0.2}).test_client()
    pending = client.get("/dumps/", headers={"Accept": "application/json"})
    assert pending.status_code == 503 and pending.headers["Retry-After"] == "30"
    assert "being written" in pending.get_json()["error"]
    home = client.get("/")
    assert home.status_code == 200 and "offers no dump files" in download_section(home.get_data(as_text=True))
    release.set()
    for _ in range(100):
        ready = client.get("/dumps/", headers={"Accept": "application/json"})
        if ready.status_code == 200:
            break
    assert ready.status_code == 200 and "kz-repression.nt" in {f["name"] for f in ready.get_json()["files"]}
