"""The federated queries (queries/federated/*.rq) through /sparql, their SERVICE pointed at a local
Wikidata stand-in (`oxigraph serve` loaded with tests/fixtures/wikidata/*.ttl), over the built
store plus a few test links."""
from __future__ import annotations

import pyoxigraph as ox
import pytest

from paths import ROOT
from repression_kg.backend import MemoryBackend
from repression_kg.link import WIKIDATA
from repression_kg.namespaces import GRAPHS, ID
from repression_kg.sparql_text import rewrite_services, service_targets
from repression_kg.web import create_app
from test_link import wikidata_stand_in

QUERIES = sorted((ROOT / "queries" / "federated").glob("*.rq"))
SKOS = "http://www.w3.org/2004/02/skos/core#"
WD = "http://www.wikidata.org/entity/"
# Links for the test only, to the stand-in's fictional items.
LINKS = [("person/bukeikhanov-a", "exactMatch", "Q900000001"), ("person/dosmukhamedov-h", "exactMatch", "Q900000006"),
         ("place/karaganda", "closeMatch", "Q900000101"), ("place/almaty", "closeMatch", "Q900000106")]


@pytest.fixture(scope="module")
def wikidata(tmp_path_factory):
    with wikidata_stand_in(tmp_path_factory.mktemp("wikidata")) as url:
        yield url


@pytest.fixture(scope="module")
def client(built, wikidata):
    backend = MemoryBackend.from_build(built)
    links = ox.NamedNode(str(GRAPHS["links"]))
    for thing, match, qid in LINKS:
        backend.store.add(ox.Quad(ox.NamedNode(ID + thing), ox.NamedNode(SKOS + match), ox.NamedNode(WD + qid), links))
    app = create_app({"TESTING": True, "BACKEND": backend, "SERVICE_ALLOW": [wikidata]})
    yield app.test_client()
    app.extensions["kg_federation"].close()


def answer(client, stand_in: str, name: str) -> list[dict]:
    """Run a federated query through /sparql with its SERVICE pointed at the stand-in; rows as plain values."""
    text = (ROOT / "queries" / "federated" / f"{name}.rq").read_text(encoding="utf-8")
    response = client.get("/sparql", query_string={"query": rewrite_services(text, {WIKIDATA: stand_in})},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [{k: v["value"] for k, v in row.items()} for row in response.json["results"]["bindings"]]


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_federated_query_header_and_service(query):
    text = query.read_text(encoding="utf-8")
    assert text.startswith("# title: ") and "\n# description: " in text
    assert "\n# needs: internet (Wikidata)\n" in text
    assert service_targets(text) == [WIKIDATA]


def test_federated_queries_stay_out_of_the_offline_set():
    assert QUERIES and not set(QUERIES) & set((ROOT / "queries").glob("*.rq"))


def test_linked_persons_with_their_wikidata_lives(client, wikidata):
    rows = {r["person"].removeprefix(ID): r for r in answer(client, wikidata, "01-linked-persons-in-wikidata")}
    assert set(rows) == {"person/bukeikhanov-a", "person/dosmukhamedov-h"}
    bukeikhanov = rows["person/bukeikhanov-a"]
    assert (bukeikhanov["name"], bukeikhanov["item"]) == ("A. Bukeikhanov", WD + "Q900000001")
    assert (bukeikhanov["born"][:10], bukeikhanov["birthPlace"]) == ("1866-03-05", "Tokyrauyn")
    assert (bukeikhanov["died"][:10], bukeikhanov["deathPlace"]) == ("1937-09-27", "Moscow")
    assert bukeikhanov["image"].startswith("http://commons.wikimedia.org/wiki/Special:FilePath/")
    assert sorted(bukeikhanov["wikipedia"].split()) == ["https://en.wikipedia.org/wiki/Stand-in_Alikhan_Bukeikhanov",
                                                        "https://ru.wikipedia.org/wiki/Stand-in_Bukeikhanov_ru"]
    dosmukhamedov = rows["person/dosmukhamedov-h"]  # no birth place and no image in the stand-in
    assert "birthPlace" not in dosmukhamedov and "image" not in dosmukhamedov
    assert dosmukhamedov["deathPlace"] == "Almaty"
    assert dosmukhamedov["wikipedia"] == "https://ru.wikipedia.org/wiki/Stand-in_Dosmukhamedov"


def test_linked_places_with_coordinates(client, wikidata):
    rows = answer(client, wikidata, "02-linked-places-coordinates")
    assert [(r["name"], float(r["latitude"]), float(r["longitude"])) for r in rows] == [
        ("Almaty", 43.25, 76.9), ("Karaganda", 49.8, 73.1)]
    assert [r.get("wikipedia") for r in rows] == [None, "https://en.wikipedia.org/wiki/Stand-in_Karaganda"]


def test_linked_victims_stage_beside_their_lives(client, wikidata):
    rows = answer(client, wikidata, "03-linked-victims-life-and-stage")
    got = [(r["name"], r["stage"].removeprefix(ID), r["stageBegin"], r["stageEnd"], r["bornYear"], r["diedYear"],
            r["ageAtStageStart"], r["diedDuringStage"]) for r in rows]
    assert got == [("A. Bukeikhanov", "stage/repression-1", "1917", "1926", "1866", "1937", "51", "false"),
                   ("H. Dosmukhamedov", "stage/repression-1", "1917", "1926", "1883", "1939", "34", "false")]
