"""The real server on 127.0.0.1: time limits that stop the work, and the remote backend over a real `oxigraph serve`."""
from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest

from servers import BIN, cpu_seconds, free_port, running

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
STAGES = ("PREFIX kzr: <https://w3id.org/kz-repression/ontology#> "
          "SELECT ?n WHERE { ?s a kzr:RepressionStage ; kzr:ordinal ?n } ORDER BY ?n")


@contextmanager
def serve(build_dir: Path, *extra: str, env: dict | None = None):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "repression-kg"), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--build-dir", str(build_dir), *extra]
    with running(command, base + "/sparql", env) as process:
        yield base, process


def post_query(base: str, query: str, http_timeout: float = 30, client: str = "127.0.0.1",
               **params) -> tuple[int, dict, bytes, float]:
    """POST a query from the client address given (another loopback address is another client)."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=http_timeout, source_address=(client, 0))
    start = time.monotonic()
    try:
        connection.request("POST", "/sparql", urllib.parse.urlencode({"query": query, **params}),
                           {"Accept": "application/sparql-results+json",
                            "Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read(), time.monotonic() - start
    finally:
        connection.close()


@pytest.fixture(scope="module")
def synthetic_build(tmp_path_factory) -> Path:
    """A small synthetic store (2,000 triples): a three-way cartesian product over it never ends."""
    build_dir = tmp_path_factory.mktemp("synthetic")
    store = ox.Store(str(build_dir / "store-synthetic"))
    p = ox.NamedNode("http://example.org/p")
    store.extend(ox.Quad(ox.NamedNode(f"http://example.org/s{i}"), p, ox.Literal(i)) for i in range(2000))
    store.flush()
    del store
    (build_dir / "store").symlink_to("store-synthetic")
    return build_dir


def test_timeout_stops_the_work_and_others_are_served(synthetic_build):
    with serve(synthetic_build, "--timeout", "2") as (base, process):
        outcome = {}
        runaway = threading.Thread(target=lambda: outcome.update(r=post_query(base, RUNAWAY)))
        runaway.start()
        time.sleep(0.5)
        status, _, body, cheap_seconds = post_query(base, "ASK { ?s ?p ?o }", client="127.0.0.2")
        assert status == 200 and json.loads(body)["boolean"] is True
        assert cheap_seconds < 1.0
        runaway.join(10)
        status, headers, body, seconds = outcome["r"]
        assert status == 503
        assert 2.0 <= seconds <= 3.0
        assert "Retry-After" in headers
        assert "time limit of 2 s" in json.loads(body)["error"]
        time.sleep(1.0)  # the killed worker is gone; its replacement idles
        before = cpu_seconds(process.pid)
        time.sleep(1.0)
        assert cpu_seconds(process.pid) - before < 0.2


def test_timeout_parameter_and_its_cap(synthetic_build):
    with serve(synthetic_build, env={"KZR_MAX_QUERY_TIMEOUT": "1.5"}) as (base, _):
        status, _, body, seconds = post_query(base, RUNAWAY, timeout="1")
        assert status == 503 and 1.0 <= seconds <= 2.0
        assert "time limit of 1 s" in json.loads(body)["error"]
        status, _, body, seconds = post_query(base, RUNAWAY, timeout="1000")
        assert status == 503 and 1.5 <= seconds <= 2.5
        assert "time limit of 1.5 s" in json.loads(body)["error"]


def test_serve_get_answers_in_process(built):
    result = subprocess.run([str(BIN / "repression-kg"), "serve", "--build-dir", str(built), "--get", "/sparql?format=nt"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "<http://www.w3.org/ns/sparql-service-description#SPARQL11Query>" in result.stdout
    missing = subprocess.run([str(BIN / "repression-kg"), "serve", "--build-dir", str(built), "--get", "/no/such/page"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "404" in missing.stderr


@pytest.fixture(scope="module")
def oxigraph_server(built, tmp_path_factory):
    """A real `oxigraph serve` loaded with the built dataset, answering over the union of its graphs."""
    workdir = tmp_path_factory.mktemp("oxigraph")
    dump = workdir / "dump.nq"
    ox.Store.read_only(str((built / "store").resolve())).dump(str(dump), ox.RdfFormat.N_QUADS)
    location = workdir / "db"
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(location), "--file", str(dump)],
                   check=True, capture_output=True, timeout=120)
    port = free_port()
    command = [str(BIN / "oxigraph"), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
               "--union-default-graph"]
    with running(command, f"http://127.0.0.1:{port}/query"):
        yield f"http://127.0.0.1:{port}/query"


def test_remote_backend_gives_the_same_answers(built, oxigraph_server, tmp_path):
    with serve(tmp_path / "no-store-needed", "--endpoint", oxigraph_server) as (remote, _):
        with serve(built) as (embedded, _):
            answers = [post_query(base, STAGES) for base in (remote, embedded)]
    (status_r, _, body_r, _), (status_e, _, body_e, _) = answers
    assert status_r == status_e == 200
    assert json.loads(body_r) == json.loads(body_e)
    assert [int(b["n"]["value"]) for b in json.loads(body_r)["results"]["bindings"]] == list(range(1, 10))


def test_remote_backend_errors_and_rules(oxigraph_server, tmp_path):
    with serve(tmp_path / "none", "--endpoint", oxigraph_server) as (base, _):
        status, _, body, _ = post_query(base, "SELECT ?x WHERE { ?x ?y }")
        assert status == 400 and json.loads(body)["error"]
        status, _, body, _ = post_query(base, "INSERT DATA { <urn:a> <urn:b> <urn:c> }")
        assert status == 403
        status, _, body, _ = post_query(base, "SELECT * WHERE { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }")
        assert status == 400
        request = urllib.request.Request(base + "/sparql?query=" + urllib.parse.quote(
            "CONSTRUCT WHERE { <https://w3id.org/kz-repression/id/stage/repression-5> ?p ?o }"),
            headers={"Accept": "application/n-triples"})
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.headers.get_content_type() == "application/n-triples"
            assert b"<https://w3id.org/kz-repression/ontology#ordinal> \"5\"" in r.read()


@pytest.fixture(scope="module")
def site(built):
    with serve(built) as (base, _):
        yield base


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_sparqlwrapper_select_in_every_results_format(site, fmt):
    from SPARQLWrapper import SPARQLWrapper

    client = SPARQLWrapper(site + "/sparql", agent="repression-kg tests")
    client.setQuery(STAGES)
    client.setReturnFormat(fmt)
    result = client.query()
    converted = result.convert()
    if fmt == "json":
        values = [int(b["n"]["value"]) for b in converted["results"]["bindings"]]
    elif fmt == "xml":
        values = [int(e.firstChild.data) for e in converted.getElementsByTagName("literal")]
    else:
        text = converted.decode() if isinstance(converted, bytes) else converted
        values = [int(line.split("^^")[0].strip('"')) for line in text.splitlines()[1:]]
    assert values == list(range(1, 10))


@pytest.mark.parametrize("fmt,rdflib_format", [("turtle", "turtle"), ("n3", "turtle"), ("rdf+xml", "xml"), ("json-ld", "json-ld")])
def test_sparqlwrapper_construct_in_every_graph_format(site, fmt, rdflib_format):
    from rdflib import Graph, Literal, URIRef
    from SPARQLWrapper import SPARQLWrapper

    client = SPARQLWrapper(site + "/sparql", agent="repression-kg tests")
    client.setQuery("CONSTRUCT WHERE { <https://w3id.org/kz-repression/id/stage/repression-5> "
                    "<https://w3id.org/kz-repression/ontology#ordinal> ?n }")
    client.setReturnFormat(fmt)
    raw = client.query().response.read()
    graph = Graph().parse(data=raw, format=rdflib_format)
    assert (URIRef("https://w3id.org/kz-repression/id/stage/repression-5"),
            URIRef("https://w3id.org/kz-repression/ontology#ordinal"), Literal(5)) in graph


@pytest.mark.parametrize("accept,media_type", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"), ("text/tab-separated-values", "text/tab-separated-values")])
def test_curl_select(site, accept, media_type):
    result = subprocess.run(["curl", "-s", "-H", f"Accept: {accept}", "--data-urlencode", f"query={STAGES}",
                             "-w", "\n%{content_type}", site + "/sparql"], capture_output=True, text=True, timeout=60)
    body, content_type = result.stdout.rsplit("\n", 1)
    assert content_type.split(";")[0] == media_type
    assert "Stage" not in body and ("9" in body)


def test_curl_follows_an_iri_to_its_data(site):
    result = subprocess.run(["curl", "-s", "-L", "-H", "Accept: text/turtle", "-w", "\n%{url_effective}",
                             site + "/id/person/bukeikhanov-a"], capture_output=True, text=True, timeout=60)
    body, final_url = result.stdout.rsplit("\n", 1)
    assert final_url == site + "/data/person/bukeikhanov-a.ttl"
    from rdflib import Graph, Literal
    assert Literal("A. Bukeikhanov", lang="en") in set(Graph().parse(data=body, format="turtle").objects())
