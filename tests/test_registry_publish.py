"""A registry added with build --add is published: in the default dumps and its own, in VoID (with its size and
its synthetic mark), in stats and on /dumps/; the CSV tables stay the article's."""
from __future__ import annotations

import csv
import gzip
import hashlib
import json

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF

from paths import ROOT
from repression_kg import export, void
from repression_kg.backend import EmbeddedBackend, MemoryBackend
from repression_kg.build import build
from repression_kg.cli import main
from repression_kg.namespaces import GRAPHS, ID, KZR, curie, sparql_prefixes
from repression_kg.registry import REGISTRY_GRAPH
from repression_kg.stats import stats
from repression_kg.store import open_read_only
from repression_kg.synth import synthesize
from repression_kg.web import create_app

PERSONS = 300
BASE, SITE = "https://w3id.org/kz-repression/", "http://example.org"
DATASET = URIRef(BASE + "dataset")
REGISTRY = str(REGISTRY_GRAPH)


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    """The real graph built with a 300-person synthetic registry; returns the build directory."""
    registry = tmp_path_factory.mktemp("registry")
    synthesize(registry, PERSONS, seed=5)
    build_dir = tmp_path_factory.mktemp("build-add")
    build(ROOT, build_dir, add=[registry], quiet=True)
    return build_dir


@pytest.fixture(scope="module")
def store(added):
    return open_read_only(added)


@pytest.fixture(scope="module")
def kg(store):
    return MemoryBackend(store)


@pytest.fixture(scope="module")
def release(kg, tmp_path_factory):
    return export.ensure_release(kg, tmp_path_factory.mktemp("releases"))


def graph_quads(store, role: str) -> list[ox.Quad]:
    return list(store.quads_for_pattern(None, None, None, ox.NamedNode(export.GRAPH_IRIS[role])))


def canonical(quads) -> set:
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(dataset)


def count(store, query: str) -> int:
    return int(next(iter(store.query(query)))["n"].value)


# --- Export ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(export.RDF_FORMATS))
def test_the_default_dumps_hold_the_registry(kind, kg, store, tmp_path):
    """Every format of the default export re-parses to the store's published graphs, the registry among them."""
    [entry] = export.export(kg, tmp_path, [kind])
    assert entry["name"] == export.file_name(kind) and entry["graphs"] == list(export.DEFAULT_ROLES)
    published = [q for role in export.DEFAULT_ROLES for q in graph_quads(store, role)]
    fmt = export.by_name(export.RDF_FORMATS[kind]).oxigraph
    parsed = list(ox.parse(path=str(tmp_path / entry["name"]), format=fmt))
    if kind in export.QUAD_FORMATS:
        in_registry = [q for q in parsed if q.graph_name.value == REGISTRY]
        assert len(in_registry) == len(graph_quads(store, "registry")) == count(
            store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{REGISTRY}> {{ ?s ?p ?o }} }}") > 30 * PERSONS
        assert canonical(parsed) == canonical(published)
    else:
        def triples(quads):
            return {ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads}
        assert canonical(triples(parsed)) == canonical(triples(published))


def test_cli_export_of_the_registry_graph(runner, added, store, tmp_path):
    result = runner.invoke(main, ["export", "--build-dir", str(added), "--graph", "registry", "--format", "nt",
                                  "--format", "nq", "--gzip", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["kz-repression-registry.nq.gz", "kz-repression-registry.nt.gz"]
    lines = gzip.decompress((tmp_path / "kz-repression-registry.nq.gz").read_bytes()).decode().splitlines()
    assert lines == sorted(lines) and all(line.endswith(f" <{REGISTRY}> .") for line in lines)
    assert len(lines) == len(graph_quads(store, "registry"))
    triples = gzip.decompress((tmp_path / "kz-repression-registry.nt.gz").read_bytes())
    assert canonical(ox.parse(triples, format=ox.RdfFormat.N_QUADS)) == canonical(
        [ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in graph_quads(store, "registry")])


def test_sorting_in_runs_gives_the_same_bytes(kg, tmp_path, monkeypatch):
    """Sorted in memory at once, or in runs of 64 KB spilled to files and merged: the same files."""
    kinds = ["nt", "nq", "ttl", "jsonld"]
    whole = export.export(kg, tmp_path / "whole", kinds)
    monkeypatch.setattr(export, "SORT_BYTES", 64 << 10)
    runs = export.export(kg, tmp_path / "runs", kinds)
    assert [e["sha256"] for e in runs] == [e["sha256"] for e in whole]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(e["name"] for e in runs)  # no scratch left


def test_the_server_backend_reads_the_store_itself(added, kg, tmp_path):
    """The embedded backend (as the server runs it) gives the same files as the in-memory one."""
    embedded = EmbeddedBackend(added, workers=1)
    try:
        served = export.export(embedded, tmp_path / "served", ["nq", "ttl"])
    finally:
        embedded.close()
    memory = export.export(kg, tmp_path / "memory", ["nq", "ttl"])
    assert [(e["name"], e["sha256"]) for e in served] == [(e["name"], e["sha256"]) for e in memory]


def test_the_tables_are_the_articles(kg, tmp_path):
    """The registry's persons and citations are not rows of the tables (its dump holds them)."""
    export.export(kg, tmp_path, ["csv"])
    with open(tmp_path / "kz-repression-persons.csv", newline="", encoding="utf-8") as f:
        persons = list(csv.DictReader(f))
    with open(tmp_path / "kz-repression-citations.csv", newline="", encoding="utf-8") as f:
        citations = list(csv.DictReader(f))
    assert len(persons) == 76 and len(citations) == 627
    assert not any("synth-" in row["iri"] for row in persons + citations)


# --- Stats ----------------------------------------------------------------------------------

def test_stats_count_the_registry_by_graph(store, runner, added):
    counts = stats(store)
    assert counts["registry_classes"][str(KZR.Person)] == PERSONS == counts["registry_classes"][str(KZR.PersonRecord)]
    assert counts["classes"][str(KZR.Person)] == 76 and str(KZR.PersonRecord) not in counts["classes"]
    assert counts["graphs"][REGISTRY] == len(graph_quads(store, "registry"))
    result = runner.invoke(main, ["stats", "--build-dir", str(added)])
    assert result.exit_code == 0, result.output
    assert "by graph:" in result.output and "registry" in result.output.splitlines()[0]
    person = next(line for line in result.output.splitlines() if line.split()[:1] == ["kzr:Person"])
    assert person.split() == ["kzr:Person", "76", str(PERSONS)]
    as_json = json.loads(runner.invoke(main, ["stats", "--build-dir", str(added), "--json"]).output)
    assert as_json["registry_classes"][str(KZR.Person)] == PERSONS


def test_stats_without_a_registry(built, runner):
    result = runner.invoke(main, ["stats", "--build-dir", str(built), "--json"])
    assert json.loads(result.output)["registry_classes"] == {}


# --- VoID -----------------------------------------------------------------------------------

def test_void_describes_the_registry_as_a_synthetic_subset(kg, store, release):
    g = void.describe(kg, BASE, SITE, release)
    subset = URIRef(REGISTRY)
    assert (DATASET, void.VOID.subset, subset) in g
    assert {void.VOID.Dataset, void.DCAT.Dataset} <= set(g.objects(subset, RDF.type))
    assert g.value(subset, void.VOID.triples) == Literal(len(graph_quads(store, "registry")))
    classes = {g.value(p, void.VOID["class"]): g.value(p, void.VOID.entities).toPython()
               for p in g.objects(subset, void.VOID.classPartition)}
    assert classes[KZR.Person] == classes[KZR.PersonRecord] == PERSONS
    assert g.value(subset, DCTERMS.type) == void.SYNTHETIC_DATA
    assert "synthetic" in str(g.value(subset, DCTERMS.title))
    assert "SYNTHETIC" in " ".join(str(d) for d in g.objects(subset, DCTERMS.description))
    assert g.value(subset, DCTERMS.source) == URIRef(ID + "source/synth-registry")
    assert REGISTRY in str(g.value(DATASET, DCTERMS.description))
    dumps = {f"{SITE}/dumps/{f['name']}" for f in release["files"] if f.get("graphs") == ["registry"]}
    assert dumps == {f"{SITE}/dumps/kz-repression-registry.nt", f"{SITE}/dumps/kz-repression-registry.nt.gz"}
    assert {str(u) for u in g.objects(subset, void.VOID.dataDump)} == dumps
    assert {str(g.value(d, void.DCAT.downloadURL)) for d in g.objects(subset, void.DCAT.distribution)} == dumps
    assert not dumps & {str(u) for u in g.objects(DATASET, void.VOID.dataDump)}
    assert g.value(DATASET, void.VOID.triples).toPython() == count(
        store, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")


def test_void_marks_only_a_synthetic_registry_synthetic():
    """A registry graph whose metadata gives no dct:type is not marked synthetic (a small store, no build)."""
    store = ox.Store()
    registry, meta = ox.NamedNode(REGISTRY), ox.NamedNode(str(GRAPHS["metadata"]))
    person = ox.NamedNode(ID + "person/memory-book-0000001")
    store.add(ox.Quad(person, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(KZR.Person)), registry))
    store.add(ox.Quad(registry, ox.NamedNode(str(DCTERMS.description)),
                      ox.Literal("memory-book: 1 records, 1 triples", language="en"), meta))
    g = void.describe(MemoryBackend(store), BASE, SITE)
    assert g.value(URIRef(REGISTRY), void.VOID.triples) == Literal(1)
    assert g.value(URIRef(REGISTRY), DCTERMS.type) is None
    assert (DATASET, void.VOID.subset, URIRef(REGISTRY)) in g
    assert (DATASET, void.VOID.subset, None) not in void.describe(MemoryBackend(ox.Store()), BASE, SITE)


# --- The site -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(added, tmp_path_factory):
    app = create_app({"TESTING": True, "BACKEND": MemoryBackend.from_build(added),
                      "DUMPS_DIR": str(tmp_path_factory.mktemp("served"))})
    return app.test_client()


def test_the_dumps_page_offers_the_registry(client, store):
    listing = client.get("/dumps/", headers={"Accept": "application/json"}).get_json()
    assert listing["graphs"] == list(export.DEFAULT_ROLES)
    files = {f["name"]: f for f in listing["files"]}
    registry = files["kz-repression-registry.nt"]
    assert registry["graphs"] == ["registry"] and files["kz-repression-registry.nt.gz"]["graphs"] == ["registry"]
    assert files["kz-repression.nq"]["graphs"] == list(export.DEFAULT_ROLES)
    with client.get("/dumps/kz-repression-registry.nt") as response:
        body = response.get_data()
    assert response.headers["Content-Type"] == "application/n-triples; charset=utf-8"
    assert hashlib.sha256(body).hexdigest() == registry["sha256"]
    assert body.count(b"\n") == len(graph_quads(store, "registry"))
    html = client.get("/dumps/", headers={"Accept": "text/html"}).get_data(as_text=True)
    section = html[html.index('<h2 id="registry">'):html.index('<h2 id="tables">')]
    assert 'href="http://localhost/dumps/kz-repression-registry.nt"' in section
    assert 'href="http://localhost/dumps/kz-repression-registry.nt.gz"' in section
    assert "synthetic registry of invented persons" in section and REGISTRY in section
    with client.get("/dumps/SHA256SUMS") as response:
        sums = response.get_data(as_text=True)
    assert f"{registry['sha256']}  kz-repression-registry.nt\n" in sums


def test_the_void_page_shows_the_registry(client):
    html = client.get("/.well-known/void?format=html").get_data(as_text=True)
    assert "synthetic registry of invented persons" in html and "SYNTHETIC_DATA" in html
    assert "kzr:PersonRecord" in html  # the subset's classes are shown with it


# --- Prefixes -------------------------------------------------------------------------------

def test_records_and_concepts_have_prefixes(store):
    assert curie(ID + "record/synth-0000001") == "record:synth-0000001"
    assert curie(ID + "concept/sentence-camp") == "concept:sentence-camp"
    rows = list(store.query(sparql_prefixes() + "SELECT ?p WHERE { record:synth-0000001 kzr:recordOf ?p }",
                            use_default_graph_as_union=True))
    assert [row["p"].value for row in rows] == [ID + "person/synth-0000001"]
