"""OWL reasoning: the defined classes are realised, inconsistency names the individuals, Java is required."""
from __future__ import annotations

import pytest
from rdflib import Graph

from repression_kg.load import parse_turtle
from repression_kg.namespaces import sparql_prefixes
from repression_kg.query import select_rows
from repression_kg.reason import ReasoningError, infer_types

from paths import ROOT

ID = "https://w3id.org/kz-repression/id/"


def members(store, cls: str) -> set[str]:
    _, rows = select_rows(store, sparql_prefixes() + f"SELECT ?x WHERE {{ GRAPH <https://w3id.org/kz-repression/graph/inferred> {{ ?x a kzr:{cls} }} }}")
    return {r["x"].replace(ID, "") for r in rows}


def test_repressed_persons_are_realised(store):
    repressed = members(store, "RepressedPerson")
    assert {"person/bukeikhanov-a", "person/seyfullin-s", "person/satpayev-k-i", "person/tulegenov"} <= repressed
    assert "person/goloshchekin-f-i" not in repressed  # named in stage 2, but not as a victim
    assert "person/zalin-l" not in repressed


def test_rehabilitated_persons_are_the_1988_six(store):
    assert members(store, "RehabilitatedPerson") == {
        "person/kudaiberdiyev-sh", "person/baitursynov-a", "person/bukeikhanov-a",
        "person/zhumabayev-m", "person/aymauytov-zh", "person/dulatov-m"}


def test_repressive_bodies_and_informers(store):
    assert {"organisation/nkvd", "organisation/special-board", "organisation/nkvd-troikas"} <= members(store, "RepressiveBody")
    assert {"person/shoinbayev-t", "person/aidarova-kh", "person/yakunin-a", "person/o"} <= members(store, "Informer")


def test_superclasses_are_materialised(store):
    # a query in CIDOC-CRM terms finds our persons without knowing our ontology
    _, rows = select_rows(store, "SELECT (COUNT(?p) AS ?n) WHERE { ?p a <http://www.cidoc-crm.org/cidoc-crm/E21_Person> }")
    _, persons = select_rows(store, sparql_prefixes() + "SELECT (COUNT(?p) AS ?n) WHERE { ?p a kzr:Person }")
    assert int(rows[0]["n"]) == int(persons[0]["n"]) > 70


def test_inconsistency_names_the_individuals():
    ontology = parse_turtle(ROOT / "ontology" / "ontology.ttl")
    data = Graph().parse(data=f"""
        @prefix kzr: <https://w3id.org/kz-repression/ontology#> .
        <{ID}person/x> a kzr:Person .
        <{ID}organisation/x> a kzr:Organisation .
        <{ID}repression/both> a kzr:Repression , kzr:Rehabilitation .""", format="turtle")
    with pytest.raises(ReasoningError) as err:
        infer_types(ontology, data)
    message = str(err.value)
    assert "inconsistent" in message
    assert f"{ID}repression/both is both kzr:Repression and kzr:Rehabilitation" in message
    assert "two-archives" not in message


def test_distinct_iris_name_distinct_things():
    """Each IRI names a different thing, so two archives for one fond are a contradiction, not a merge."""
    ontology = parse_turtle(ROOT / "ontology" / "ontology.ttl")
    data = Graph().parse(data=f"""
        @prefix kzr: <https://w3id.org/kz-repression/ontology#> .
        <{ID}fond/two-archives> a kzr:ArchivalFond ; kzr:heldBy <{ID}organisation/a> , <{ID}organisation/b> .
        <{ID}organisation/a> a kzr:Archive . <{ID}organisation/b> a kzr:Archive .""", format="turtle")
    with pytest.raises(ReasoningError) as err:
        infer_types(ontology, data)
    assert f"{ID}fond/two-archives has 2 values of the functional property kzr:heldBy" in str(err.value)


def test_missing_java_says_what_to_install(monkeypatch):
    monkeypatch.setenv("KZR_JAVA", "/nonexistent/java")
    with pytest.raises(ReasoningError, match="No Java runtime found .*apt-get install default-jre-headless"):
        infer_types(parse_turtle(ROOT / "ontology" / "ontology.ttl"), Graph())
