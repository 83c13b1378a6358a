"""The result cache: repeated queries answered from memory, keyed by build, query, formats and dataset."""
from __future__ import annotations

import gc
import json
import re
import shutil
import time

import pyoxigraph as ox
import pytest

from repression_kg import store as kgstore
from repression_kg.backend import EmbeddedBackend, MemoryBackend, Task
from repression_kg.cache import ENTRY_OVERHEAD, BuildMarker, ResultCache, cacheable
from repression_kg.namespaces import GRAPHS
from repression_kg.web import create_app

KZR = "https://w3id.org/kz-repression/ontology#"
PERSONS = f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a <{KZR}Person> }}"
STAGES = f"SELECT ?s WHERE {{ ?s a <{KZR}RepressionStage> }} ORDER BY ?s"
NEWCOMER = "https://w3id.org/kz-repression/id/person/cache-test-newcomer"


def post(client, query: str, accept: str = "application/sparql-results+json", **params):
    return client.post("/sparql", data={"query": query, **params}, headers={"Accept": accept})


def count(response) -> int:
    return int(json.loads(response.data)["results"]["bindings"][0]["n"]["value"])


@pytest.fixture
def fresh_client(memory_backend):
    """An app of its own, so that each test starts with an empty cache."""
    return create_app({"TESTING": True, "BACKEND": memory_backend}).test_client()


def test_repeated_query_is_a_hit_with_the_same_body(fresh_client):
    first, second = post(fresh_client, STAGES), post(fresh_client, STAGES)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert first.data == second.data and len(json.loads(second.data)["results"]["bindings"]) == 9
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers["Vary"] == "Accept"


def test_key_holds_the_format_and_the_dataset(fresh_client):
    post(fresh_client, STAGES)
    as_csv = post(fresh_client, STAGES, accept="text/csv")
    assert as_csv.headers["X-Cache"] == "miss" and as_csv.mimetype == "text/csv"
    assert post(fresh_client, STAGES, accept="text/csv").headers["X-Cache"] == "hit"
    only_ontology = post(fresh_client, PERSONS, **{"default-graph-uri": str(GRAPHS["ontology"])})
    union = post(fresh_client, PERSONS)
    assert (only_ontology.headers["X-Cache"], union.headers["X-Cache"]) == ("miss", "miss")
    assert count(only_ontology) == 0 and count(union) > 70


def test_the_query_text_is_the_key(fresh_client):
    post(fresh_client, STAGES)
    assert post(fresh_client, STAGES + "\n# another comment").headers["X-Cache"] == "miss"


def test_failures_are_not_cached(fresh_client):
    for _ in range(2):
        response = post(fresh_client, "SELECT ?s WHERE { ?s ?p }")
        assert response.status_code == 400 and "X-Cache" not in response.headers
    cache = fresh_client.application.extensions["kg_result_cache"]
    assert len(cache) == 0


@pytest.mark.parametrize("query", [
    "SELECT (NOW() AS ?t) WHERE {}",
    "SELECT (RAND() AS ?r) WHERE {}",
    "SELECT (STRUUID() AS ?u) WHERE {}",
])
def test_answers_that_change_without_a_build_are_not_cached(fresh_client, query):
    first, second = post(fresh_client, query), post(fresh_client, query)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("off", "off")


def test_cacheable_looks_at_code_not_strings_or_comments():
    assert cacheable('SELECT ?s WHERE { ?s ?p "NOW() and RAND()" } # SERVICE <x>')
    assert not cacheable("SELECT ?s WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }")
    assert not cacheable("select (now() as ?t) {}")


def test_zero_bytes_disables_the_cache(memory_backend, monkeypatch):
    monkeypatch.setenv("KZR_RESULT_CACHE_BYTES", "0")
    client = create_app({"TESTING": True, "BACKEND": memory_backend}).test_client()
    assert [post(client, STAGES).headers["X-Cache"] for _ in range(2)] == ["off", "off"]


def test_a_hit_does_not_evaluate_the_query(memory_backend):
    """Same build marker, store changed behind it: the second answer is the cached one."""
    store = ox.Store()
    store.bulk_extend(memory_backend.store)
    client = create_app({"TESTING": True, "BACKEND": MemoryBackend(store)}).test_client()
    before = count(post(client, PERSONS))
    store.add(newcomer())
    assert count(post(client, PERSONS)) == before
    assert count(post(client, PERSONS + " # not cached yet")) == before + 1


def test_a_hit_is_answered_before_the_text_is_parsed(fresh_client, monkeypatch):
    """The view's scans of the text (form, nesting, SERVICE) ran when the answer was kept; a hit skips them."""
    from repression_kg.web import sparql as view

    assert post(fresh_client, STAGES).headers["X-Cache"] == "miss"
    parsed = []
    real = view.query_form
    monkeypatch.setattr(view, "query_form", lambda text: parsed.append(text) or real(text))
    assert post(fresh_client, STAGES).headers["X-Cache"] == "hit" and parsed == []
    assert post(fresh_client, STAGES, accept="text/csv").headers["X-Cache"] == "miss" and parsed == [STAGES]


def test_least_recently_used_goes_first_and_the_budget_holds(memory_backend):
    tasks = [Task(f"{STAGES} # {n}", "json", None) for n in range(5)]  # same answer, five keys
    answer = memory_backend.answer(tasks[0], 30)
    entry = len(answer.body) + len(tasks[0].sparql) + ENTRY_OVERHEAD
    cache = ResultCache(memory_backend, int(entry * 4.5))  # room for four
    keys = [cache.key(t) for t in tasks]
    for key in keys[:4]:
        cache.put(key, answer)
    assert cache.get(keys[0]) is answer  # now the most recently used
    cache.put(keys[4], answer)
    assert cache.get(keys[1]) is None  # the least recently used went
    assert all(cache.get(k) is answer for k in (keys[0], keys[2], keys[3], keys[4]))
    assert len(cache) == 4 and cache.bytes == 4 * entry <= cache.max_bytes


def test_an_answer_larger_than_a_quarter_of_the_budget_is_not_kept(memory_backend):
    answer = memory_backend.answer(Task(STAGES, "json", None), 30)
    cache = ResultCache(memory_backend, len(answer.body) * 2)
    key = cache.key(Task(STAGES, "json", None))
    cache.put(key, answer)
    assert cache.get(key) is None and cache.bytes == 0


def test_no_build_marker_no_caching():
    """A store without the metadata graph (a remote endpoint loaded without it) is not cached."""
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode(NEWCOMER), ox.NamedNode(KZR + "name"), ox.Literal("x")))
    backend = MemoryBackend(store)
    assert BuildMarker(backend).current() is None
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    assert [post(client, PERSONS).headers["X-Cache"] for _ in range(2)] == ["off", "off"]


def test_marker_of_a_store_with_metadata_is_its_build(memory_backend):
    marker = BuildMarker(memory_backend).current()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ sha256:[0-9a-f]{64}", marker)


def test_a_new_build_invalidates_the_cache(built, tmp_path):
    """Embedded store: publish a new store (one more person) and the cached count is not served."""
    build_dir = tmp_path / "build"
    shutil.copytree(built, build_dir, symlinks=True)
    backend = EmbeddedBackend(build_dir, workers=1)
    try:
        client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
        first, again = post(client, PERSONS), post(client, PERSONS)
        assert again.headers["X-Cache"] == "hit" and count(again) == count(first)
        publish_with_newcomer(build_dir)
        after = post(client, PERSONS)
        assert after.headers["X-Cache"] == "miss" and count(after) == count(first) + 1
        assert post(client, PERSONS).headers["X-Cache"] == "hit"
        cache = client.application.extensions["kg_result_cache"]
        assert len(cache) == 1  # the old build's entries are gone
    finally:
        backend.close()


def test_a_timeout_is_not_cached(built, tmp_path):
    build_dir = tmp_path / "build"
    shutil.copytree(built, build_dir, symlinks=True)
    backend = EmbeddedBackend(build_dir, workers=1)
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    try:
        client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
        for _ in range(2):
            response = post(client, runaway, timeout="0.5")
            assert response.status_code == 503 and "X-Cache" not in response.headers
        assert len(client.application.extensions["kg_result_cache"]) == 0
    finally:
        backend.close()


def publish_with_newcomer(build_dir) -> None:
    """A new store: the current one plus one person, published as the build's store."""
    new_dir = kgstore.new_store_dir(build_dir)
    store = ox.Store(str(new_dir))
    store.bulk_extend(ox.Store.read_only(str(kgstore.current_store(build_dir))))
    store.add(newcomer())
    store.flush()
    del store
    gc.collect()  # releases RocksDB's lock before the workers open the new store
    kgstore.publish(build_dir, new_dir)


def newcomer() -> ox.Quad:
    """One more person in the data graph."""
    return ox.Quad(ox.NamedNode(NEWCOMER), ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                   ox.NamedNode(KZR + "Person"), ox.NamedNode(str(GRAPHS["data"])))


def test_a_new_build_in_a_remote_store_is_seen_within_the_marker_interval(memory_backend, monkeypatch):
    """Without a store directory (a remote endpoint) the build is asked again after MARKER_SECONDS."""
    monkeypatch.setattr("repression_kg.cache.MARKER_SECONDS", 0.2)
    store = ox.Store()
    store.bulk_extend(memory_backend.store)
    client = create_app({"TESTING": True, "BACKEND": MemoryBackend(store)}).test_client()
    before = count(post(client, PERSONS))
    store.add(newcomer())
    add_later_build(store)
    assert count(post(client, PERSONS)) == before  # within the interval: the cached answer
    time.sleep(0.3)
    after = post(client, PERSONS)
    assert after.headers["X-Cache"] == "miss" and count(after) == before + 1


def add_later_build(store: ox.Store) -> None:
    """A build activity in the metadata graph that ended after every other (what a reload brings)."""
    graph = ox.NamedNode(str(GRAPHS["metadata"]))
    dataset, activity = ox.NamedNode("https://w3id.org/kz-repression/dataset"), ox.BlankNode()
    prov = "http://www.w3.org/ns/prov#"
    store.add(ox.Quad(dataset, ox.NamedNode(prov + "wasGeneratedBy"), activity, graph))
    store.add(ox.Quad(activity, ox.NamedNode(prov + "endedAtTime"),
                      ox.Literal("2999-01-01T00:00:00Z", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")),
                      graph))
