"""/reconcile (Reconciliation Service API 0.2) over the real graph, with requests shaped as OpenRefine 3.x sends them.

OpenRefine GETs the manifest (plain or JSONP), then POSTs form-encoded `queries` in batches of the
manifest's batchSize, and calls the preview, suggest and extend services the manifest names.
"""
from __future__ import annotations

import json
import re
import urllib.parse

import pytest

KZR = "https://w3id.org/kz-repression/ontology#"
FORM = "application/x-www-form-urlencoded; charset=UTF-8"


def post_queries(client, batch: dict):
    """A batch as OpenRefine posts it: one form field `queries` holding JSON."""
    body = "queries=" + urllib.parse.quote(json.dumps(batch))
    return client.post("/reconcile", data=body, content_type=FORM)


def reconcile(client, query: str, **extra) -> list[dict]:
    """The candidates for one query."""
    response = post_queries(client, {"q0": {"query": query, "type_strict": "should", **extra}})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["q0"]["result"]


def ids(results: list[dict]) -> list[str]:
    return [r["id"] for r in results]


def matched(results: list[dict]) -> list[str]:
    return [r["id"] for r in results if r["match"]]


# --- The manifest ---------------------------------------------------------------------------------

def test_manifest(client):
    response = client.get("/reconcile")
    assert response.status_code == 200 and response.mimetype == "application/json"
    m = response.get_json()
    assert m["versions"] == ["0.2"]
    assert m["identifierSpace"] == "https://w3id.org/kz-repression/id/"
    assert m["schemaSpace"] == KZR
    assert [t["id"] for t in m["defaultTypes"]] == [KZR + n for n in (
        "Person", "Organisation", "Place", "LegalAct", "Event", "ArchivalFond", "Stage")]
    assert m["view"]["url"] == "http://localhost/id/{{id}}"
    assert m["preview"]["url"] == "http://localhost/reconcile/preview?id={{id}}"
    assert m["preview"]["width"] > 0 and m["preview"]["height"] > 0
    assert m["batchSize"] == 10
    assert m["extend"]["property_settings"] == []


def test_manifest_services_answer(client):
    """Every URL the manifest gives answers, the way OpenRefine builds it from service_url + service_path."""
    m = client.get("/reconcile").get_json()
    for kind in ("entity", "type", "property"):
        service = m["suggest"][kind]
        assert service["service_url"] == "http://localhost"
        response = client.get(service["service_path"] + "?prefix=Bu")
        assert response.status_code == 200 and "result" in response.get_json()
    propose = m["extend"]["propose_properties"]
    assert client.get(propose["service_path"] + "?type=" + KZR + "Person").status_code == 200
    top = reconcile(client, "A. Bukeikhanov")[0]["id"]
    view = m["view"]["url"].replace("{{id}}", top).replace("http://localhost", "")
    assert client.get(view, headers={"Accept": "text/html"}).status_code == 303
    preview = m["preview"]["url"].replace("{{id}}", top).replace("http://localhost", "")
    assert client.get(preview).status_code == 200


def test_manifest_jsonp(client):
    response = client.get("/reconcile?callback=jQuery34105_1700000000000")
    assert response.status_code == 200 and response.mimetype == "application/javascript"
    body = response.get_data(as_text=True)
    found = re.fullmatch(r"/\*\*/jQuery34105_1700000000000\((.*)\);", body, re.S)
    assert found and json.loads(found.group(1))["versions"] == ["0.2"]


@pytest.mark.parametrize("callback", ["alert(1)//", "a b", "x;y", "<script>", "1abc", "a" * 70, "cb\n", "имя"])
def test_jsonp_refuses_unsafe_callbacks(client, callback):
    response = client.get("/reconcile", query_string={"callback": callback})
    assert response.status_code == 400
    assert "callback" in response.get_json()["error"]
    assert callback not in response.get_data(as_text=True)


# --- Queries --------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("A. Bukeikhanov", "person/bukeikhanov-a"),
    ("Bukeikhanov A.", "person/bukeikhanov-a"),
    ("А. Букейханов", "person/bukeikhanov-a"),
    ("Bokeikhanov A.", "person/bukeikhanov-a"),
    ("H. Dosmukhamedov", "person/dosmukhamedov-h"),
    ("Kh. Dosmukhamedov", "person/dosmukhamedov-h"),
    ("Ж. Досмухамедов", "person/dosmukhamedov-zh"),
    ("M.K. Kozybayev", "person/kozybayev-m-k"),
    ("Козыбаев М.К.", "person/kozybayev-m-k"),
    ("I.M. Kozybayev", "person/kozybayev-i-m"),
    ("F.I. Goloshchekin", "person/goloshchekin-f-i"),
    ("Голощёкин Ф.И.", "person/goloshchekin-f-i"),
    ("Ye. Bekmakhanov", "person/bekmakhanov-ye"),
    ("K.-Zh. Tokayev", "person/tokayev-k-zh"),
    ("Әуезов М.", "person/auezov-m"),
    ("ОГПУ", "organisation/ogpu"),
])
def test_article_names_match(client, query, expected):
    results = reconcile(client, query)
    assert results[0]["id"] == expected and matched(results) == [expected]
    assert results[0]["score"] >= 90


@pytest.mark.parametrize("query, expected", [
    ("Bukeikhanov", "person/bukeikhanov-a"),
    ("Букейханов", "person/bukeikhanov-a"),
    ("Бөкейхан Ә.", "person/bukeikhanov-a"),
    ("Alikhan Bokeikhanov", "person/bukeikhanov-a"),
    ("Букейханов Алихан Нурмухамедович", "person/bukeikhanov-a"),
    ("Байтұрсынұлы А.", "person/baitursynov-a"),
])
def test_unconfirmed_names_are_top_but_not_matched(client, query, expected):
    """A surname alone, a given name written out, another ending: the right candidate, left for a human."""
    results = reconcile(client, query)
    assert results[0]["id"] == expected and not matched(results)
    assert results[0]["score"] < 90


@pytest.mark.parametrize("query, namesakes", [
    ("Kozybayev", {"person/kozybayev-m-k", "person/kozybayev-i-m"}),
    ("Козыбаев", {"person/kozybayev-m-k", "person/kozybayev-i-m"}),
    ("Dosmukhamedov", {"person/dosmukhamedov-h", "person/dosmukhamedov-zh"}),
    ("Досмухамедов", {"person/dosmukhamedov-h", "person/dosmukhamedov-zh"}),
])
def test_namesakes_are_not_matched_on_the_surname(client, query, namesakes):
    results = reconcile(client, query)
    assert set(ids(results[:2])) == namesakes
    assert results[0]["score"] == results[1]["score"] and not matched(results)


@pytest.mark.parametrize("query", ["B. Kozybayev", "S. Dosmukhamedov", "Букейханова А.", "Ivan Petrov", "N.A. Nazarbayev"])
def test_names_not_in_the_graph_do_not_match(client, query):
    assert not matched(reconcile(client, query))


def test_results_shape_and_order(client):
    results = reconcile(client, "M. Kozybayev", limit=3)
    assert 2 <= len(results) <= 3
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    top = results[0]
    assert set(top) == {"id", "name", "description", "type", "score", "match", "features"}
    assert top["name"] == "M.K. Kozybayev" and top["type"] == [{"id": KZR + "Person", "name": "Person"}]
    assert "academician" in top["description"]
    assert {"id": "name_score", "value": 100.0} in top["features"]
    assert all(0 <= r["score"] <= 100 and isinstance(r["match"], bool) for r in results)


def test_batch_keys_and_get(client):
    batch = {"q0": {"query": "A. Bukeikhanov"}, "row-7": {"query": "OGPU", "limit": 1}, "q2": {"query": "Zzzz Qqqq"}}
    posted = post_queries(client, batch).get_json()
    assert set(posted) == set(batch)
    assert ids(posted["row-7"]["result"]) == ["organisation/ogpu"] and posted["q2"]["result"] == []
    got = client.get("/reconcile", query_string={"queries": json.dumps(batch)}).get_json()
    assert got == posted


def test_an_id_as_query(client):
    results = reconcile(client, "person/bukeikhanov-a")
    assert ids(results) == ["person/bukeikhanov-a"] and results[0]["match"] and results[0]["score"] == 100
    assert ids(reconcile(client, "https://w3id.org/kz-repression/id/organisation/nkvd")) == ["organisation/nkvd"]


# --- Types ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("type_", [KZR + "Organisation", "Organisation", "kzr:SecurityAgency", "SecurityAgency",
                                   [KZR + "Person", KZR + "StateBody"], "http://xmlns.com/foaf/0.1/Organization"])
def test_type_restriction_counts_subclasses(client, type_):
    results = reconcile(client, "NKVD", type=type_)
    assert results[0]["id"] == "organisation/nkvd" and results[0]["match"]
    assert results[0]["type"] == [{"id": KZR + "SecurityAgency", "name": "Security or punitive agency"}]
    assert {"id": "type_match", "value": True} in results[0]["features"]


@pytest.mark.parametrize("type_", [KZR + "Person", "Place", "Human", "http://www.wikidata.org/entity/Q5"])
def test_type_restriction_excludes(client, type_):
    assert reconcile(client, "NKVD", type=type_) == []


def test_type_separates_city_and_region(client):
    assert not matched(reconcile(client, "Karaganda", type="Place"))
    assert matched(reconcile(client, "Karaganda", type="Settlement")) == ["place/karaganda"]
    assert matched(reconcile(client, "Karaganda", type="Region")) == ["place/karaganda-region"]


def test_type_strict_all(client):
    both = [KZR + "Person", KZR + "RepressedPerson"]
    assert ids(reconcile(client, "A. Bukeikhanov", type=both, type_strict="all")) == ["person/bukeikhanov-a"]
    assert reconcile(client, "M.K. Kozybayev", type=both, type_strict="all") == []


# --- Properties -----------------------------------------------------------------------------------

def feature(result: dict, name: str):
    return next(f["value"] for f in result["features"] if f["id"] == name)


def test_a_role_raises_the_right_namesake(client):
    results = reconcile(client, "Kozybayev", properties=[{"pid": "role", "v": "academician"}])
    assert ids(results[:2]) == ["person/kozybayev-m-k", "person/kozybayev-i-m"]
    assert matched(results) == ["person/kozybayev-m-k"]
    assert feature(results[0], "property_role") == 1 and feature(results[1], "property_role") == -1


@pytest.mark.parametrize("value", ["2", 2, "stage/repression-2", {"id": "stage/repression-2", "name": "Stage 2"},
                                   "https://w3id.org/kz-repression/id/stage/repression-2", ["7", "2"]])
def test_a_stage_confirms_a_surname(client, value):
    results = reconcile(client, "Sadvokasov", properties=[{"pid": "stage", "v": value}])
    assert matched(results) == ["person/sadvokasov-s"] and results[0]["score"] == 95


def test_a_disagreeing_property_lowers(client):
    results = reconcile(client, "S. Seyfullin", properties=[{"pid": KZR + "stage", "v": "7"}])
    assert results[0]["id"] == "person/seyfullin-s" and results[0]["score"] == 80 and not results[0]["match"]
    assert feature(results[0], "property_stage") == -1


def test_a_property_the_graph_does_not_know_is_neutral(client):
    results = reconcile(client, "A. Bukeikhanov", properties=[{"pid": "birthPlace", "v": "Tokyrauyn"}])
    assert results[0]["score"] == 100 and results[0]["match"] and feature(results[0], "property_birthPlace") == 0


def test_kind_as_property(client):
    results = reconcile(client, "Karaganda", properties=[{"pid": "kind", "v": "Settlement"}])
    assert matched(results) == ["place/karaganda"]


def test_rehabilitated_by_act(client):
    prop = [{"pid": "rehabilitatedBy", "v": "act/cpk-resolution-1988"}]
    assert matched(reconcile(client, "Bukeikhanov", properties=prop)) == ["person/bukeikhanov-a"]


# --- Errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("queries, words", [
    ("{not json", "not valid JSON"),
    ("[]", "JSON object of queries"),
    ("{}", "JSON object of queries"),
    ('{"q0": "Bukeikhanov"}', 'queries["q0"] must be an object'),
    ('{"q0": {"query": 5}}', 'queries["q0"].query'),
    ('{"q0": {"type": "Person"}}', "needs a query"),
    ('{"q0": {"query": "x", "limit": 0}}', ".limit"),
    ('{"q0": {"query": "x", "limit": "5"}}', ".limit"),
    ('{"q0": {"query": "x", "type": 5}}', ".type"),
    ('{"q0": {"query": "x", "type_strict": "maybe"}}', ".type_strict"),
    ('{"q0": {"query": "x", "properties": {"pid": "role"}}}', ".properties"),
    ('{"q0": {"query": "x", "properties": [{"pid": "role"}]}}', ".properties"),
    ('{"q0": {"query": "x", "properties": [{"pid": "role", "v": [null]}]}}', ".properties"),
    (json.dumps({"q0": {"query": "x" * 301}}), ".query"),
    (json.dumps({f"q{i}": {"query": "x"} for i in range(101)}), "at most 100"),
])
def test_bad_batches_are_400_naming_queries(client, queries, words):
    response = client.post("/reconcile", data={"queries": queries})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "queries" in error and words in error
    assert "Traceback" not in response.get_data(as_text=True)


def test_post_without_parameters(client):
    response = client.post("/reconcile", data={"query": "Bukeikhanov"})
    assert response.status_code == 400 and "queries" in response.get_json()["error"]


# --- Preview --------------------------------------------------------------------------------------

def test_preview_card(client):
    response = client.get("/reconcile/preview?id=person/kozybayev-m-k")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "M.K. Kozybayev" in html and "Person" in html
    assert "“M.K Kozybayev”" in html  # printed as the source prints it
    assert 'href="/page/person/kozybayev-m-k"' in html
    assert '<blockquote class="quote" lang="en">' in html and "Saktaganova 2021, " in html
    assert '<header class="site">' not in html and "<script" not in html
    assert len(html) < 4000


def test_preview_escapes(client):
    html = client.get("/reconcile/preview?id=act/kraikom-decision-1936").get_data(as_text=True)
    assert "&#34;enemy nests&#34;" in html and '"enemy nests"' not in html


@pytest.mark.parametrize("id_", ["person/nobody", "", "../etc/passwd", "<b>x</b>"])
def test_preview_unknown_id(client, id_):
    response = client.get("/reconcile/preview", query_string={"id": id_}, headers={"Accept": "application/json"})
    assert response.status_code == 404 and "person/bukeikhanov-a" in response.get_json()["error"]
    page = client.get("/reconcile/preview", query_string={"id": id_}, headers={"Accept": "text/html"})
    assert page.status_code == 404 and "<b>x" not in page.get_data(as_text=True)


# --- Suggest and data extension -------------------------------------------------------------------

def test_suggest_entity(client):
    result = client.get("/reconcile/suggest/entity?prefix=Buk").get_json()["result"]
    assert "person/bukeikhanov-a" in ids(result)
    first = result[0]
    assert set(first) == {"id", "name", "description", "notable"} and first["notable"][0]["id"].startswith(KZR)
    assert ids(client.get("/reconcile/suggest/entity", query_string={"prefix": "Бөкей"}).get_json()["result"])[0] == "person/bukeikhanov-a"


def test_suggest_entity_type_and_cursor(client):
    everything = ids(client.get("/reconcile/suggest/entity?prefix=Karaganda").get_json()["result"])
    places = ids(client.get("/reconcile/suggest/entity?prefix=Karaganda&type=Place").get_json()["result"])
    assert set(places) == {"place/karaganda", "place/karaganda-region"} < set(everything)
    page = ids(client.get("/reconcile/suggest/entity?prefix=Karaganda&cursor=1").get_json()["result"])
    assert len(everything) == len(page) == 10 and page[:9] == everything[1:]


def test_suggest_type(client):
    result = client.get("/reconcile/suggest/type?prefix=Org").get_json()["result"]
    assert result[0] == {"id": KZR + "Organisation", "name": "Organisation", "description": "48 things"}
    assert KZR + "SecurityAgency" in ids(client.get("/reconcile/suggest/type?prefix=secur").get_json()["result"])
    assert KZR + "Person" in ids(client.get("/reconcile/suggest/type", query_string={"prefix": "Персона"}).get_json()["result"])


def test_suggest_property(client):
    assert ids(client.get("/reconcile/suggest/property?prefix=stage").get_json()["result"]) == ["stage"]
    assert "role" in ids(client.get("/reconcile/suggest/property?prefix=ro").get_json()["result"])


@pytest.mark.parametrize("path", ["/reconcile/suggest/entity", "/reconcile/suggest/type?prefix=", "/reconcile/suggest/entity?prefix=a&cursor=-1"])
def test_suggest_bad_parameters(client, path):
    response = client.get(path)
    assert response.status_code == 400 and re.search(r"prefix|cursor", response.get_json()["error"])


def test_suggest_jsonp(client):
    body = client.get("/reconcile/suggest/entity?prefix=Buk&callback=cb").get_data(as_text=True)
    assert body.startswith("/**/cb(") and "bukeikhanov-a" in body


def test_propose_properties(client):
    person = client.get("/reconcile/propose_properties", query_string={"type": KZR + "Person"}).get_json()
    assert [p["id"] for p in person["properties"]] == ["label_ru", "printedForm", "role", "stage", "rehabilitatedBy"]
    place = client.get("/reconcile/propose_properties?type=Place").get_json()
    assert [p["id"] for p in place["properties"]] == ["label_ru", "printedForm"]


def test_extend(client):
    query = {"ids": ["person/bukeikhanov-a", "person/kozybayev-m-k", "person/nobody"],
             "properties": [{"id": "label_ru"}, {"id": "printedForm"}, {"id": "role"}, {"id": "stage"}, {"id": "rehabilitatedBy"}]}
    body = client.post("/reconcile", data={"extend": json.dumps(query)}).get_json()
    assert [m["id"] for m in body["meta"]] == [p["id"] for p in query["properties"]]
    assert body["meta"][3]["type"] == {"id": KZR + "Stage", "name": "Stage"}
    row = body["rows"]["person/bukeikhanov-a"]
    assert row["label_ru"] == [{"str": "А. Букейханов"}] and row["printedForm"] == [{"str": "A. Bukeikhanov"}]
    assert row["stage"][0]["id"] == "stage/repression-1" and row["rehabilitatedBy"][0]["id"] == "act/cpk-resolution-1988"
    assert {"str": "M.K Kozybayev"} in body["rows"]["person/kozybayev-m-k"]["printedForm"]
    assert {v["id"] for v in body["rows"]["person/kozybayev-m-k"]["role"]} == {"role/historian", "role/academician"}
    assert body["rows"]["person/nobody"] == {p["id"]: [] for p in query["properties"]}


@pytest.mark.parametrize("extend", ["{", '{"ids": "x"}', '{"ids": ["person/lapin-s"], "properties": [{"id": "birthDate"}]}'])
def test_extend_errors_name_extend(client, extend):
    response = client.post("/reconcile", data={"extend": extend})
    assert response.status_code == 400 and "extend" in response.get_json()["error"]


# --- CORS -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/reconcile"), ("POST", "/reconcile"), ("GET", "/reconcile/preview?id=person/lapin-s"),
    ("GET", "/reconcile/suggest/entity?prefix=La"), ("GET", "/reconcile/suggest/type?prefix=Pe"),
    ("GET", "/reconcile/suggest/property?prefix=r"), ("GET", "/reconcile/propose_properties?type=Person"),
    ("GET", "/reconcile?queries=%7Bbad"),
])
def test_cors_on_every_answer(client, method, path):
    data = {"queries": json.dumps({"q0": {"query": "Lapin"}})} if method == "POST" else None
    response = client.open(path, method=method, data=data, headers={"Origin": "https://openrefine.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/reconcile", "/reconcile/suggest/entity", "/reconcile/preview"])
def test_cors_preflight(client, path):
    response = client.options(path, headers={"Origin": "https://openrefine.example", "Access-Control-Request-Method": "POST"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


# --- The labelled set: precision of `match` and top-1 accuracy -------------------------------------
# (query, acceptable top candidates (none: not in the graph), type, whether `match` is expected).
# DEVELOPMENT was written with the scorer and used to tune it; HELD_OUT was written before it was
# first run and not used to tune (one label there was wrong and is corrected: the Academy is in the graph).

DEVELOPMENT = [
    # Latin, as printed (initials first)
    ("A. Bukeikhanov", "person/bukeikhanov-a", None, True),
    ("A. Baitursynov", "person/baitursynov-a", None, True),
    ("M. Dulatov", "person/dulatov-m", None, True),
    ("H. Dosmukhamedov", "person/dosmukhamedov-h", None, True),
    ("Zh. Dosmukhamedov", "person/dosmukhamedov-zh", None, True),
    ("M.K. Kozybayev", "person/kozybayev-m-k", None, True),
    ("I.M. Kozybayev", "person/kozybayev-i-m", None, True),
    ("F.I. Goloshchekin", "person/goloshchekin-f-i", None, True),
    ("S. Seyfullin", "person/seyfullin-s", None, True),
    ("T. Ryskulov", "person/ryskulov-t", None, True),
    ("S. Sadvokasov", "person/sadvokasov-s", None, True),
    ("L. Zalin", "person/zalin-l", None, True),
    ("K. Satpayev", "person/satpayev-k-i", None, True),
    ("Ye. Bekmakhanov", "person/bekmakhanov-ye", None, True),
    ("Sh. Kudaiberdiyev", "person/kudaiberdiyev-sh", None, True),
    ("Zh. Aymauytov", "person/aymauytov-zh", None, True),
    ("K.-Zh. Tokayev", "person/tokayev-k-zh", None, True),
    ("I.V. Stalin", "person/stalin-i-v", None, True),
    # Latin, surname first, other spellings
    ("Bukeikhanov A.", "person/bukeikhanov-a", None, True),
    ("Bokeikhanov A.", "person/bukeikhanov-a", None, True),
    ("Kozybaev M.K.", "person/kozybayev-m-k", None, True),
    ("Goloschekin F.I.", "person/goloshchekin-f-i", None, True),
    ("Seifullin S.", "person/seyfullin-s", None, True),
    ("Khojanov S.", "person/khodzhanov-s", None, True),
    # given names written out: the graph knows only the initial
    ("Alikhan Bokeikhanov", "person/bukeikhanov-a", None, False),
    ("Akhmet Baitursynov", "person/baitursynov-a", None, False),
    ("Turar Ryskulov", "person/ryskulov-t", None, False),
    ("Kanysh Satpayev", "person/satpayev-k-i", None, False),
    # surname only
    ("Bukeikhanov", "person/bukeikhanov-a", None, False),
    ("Goloshchekin", "person/goloshchekin-f-i", None, False),
    ("Auezov", "person/auezov-m", None, False),
    ("Tulegenov", "person/tulegenov", None, True),
    ("Kozybayev", "person/kozybayev-m-k person/kozybayev-i-m", None, False),
    ("Dosmukhamedov", "person/dosmukhamedov-h person/dosmukhamedov-zh", None, False),
    # Russian
    ("А. Букейханов", "person/bukeikhanov-a", None, True),
    ("Букейханов", "person/bukeikhanov-a", None, False),
    ("Байтурсынов А.", "person/baitursynov-a", None, True),
    ("Голощёкин Ф.И.", "person/goloshchekin-f-i", None, True),
    ("Голощекин Ф.И.", "person/goloshchekin-f-i", None, True),
    ("Козыбаев М.К.", "person/kozybayev-m-k", None, True),
    ("Х. Досмухамедов", "person/dosmukhamedov-h", None, True),
    ("Ж. Досмухамедов", "person/dosmukhamedov-zh", None, True),
    ("Сатпаев К.И.", "person/satpayev-k-i", None, True),
    ("Ежов", "person/yezhov", None, True),
    ("Букейханов Алихан Нурмухамедович", "person/bukeikhanov-a", None, False),
    # Kazakh
    ("Бөкейхан Ә.", "person/bukeikhanov-a", None, False),
    ("Байтұрсынұлы А.", "person/baitursynov-a", None, False),
    ("Дулатұлы М.", "person/dulatov-m", None, False),
    ("Әуезов М.", "person/auezov-m", None, True),
    ("Сейфоллин С.", "person/seyfullin-s", None, True),
    ("Жұмабаев М.", "person/zhumabayev-m", None, True),
    ("Сәтбаев Қ.", "person/satpayev-k-i", None, True),
    # organisations, places, events, with and without a type
    ("NKVD", "organisation/nkvd", "Organisation", True),
    ("ОГПУ", "organisation/ogpu", None, True),
    ("Alash-Orda", "organisation/alash-orda", None, True),
    ("Karaganda", "place/karaganda", "Settlement", True),
    ("Karaganda", "place/karaganda place/karaganda-region", "Place", False),
    ("Государственный архив Карагандинской области", "organisation/state-archive-karaganda-region", "Organisation", True),
    ("Great Terror", "event/great-terror", "Event", True),
    ("Operational order No. 00447", "act/order-00447", "LegalAct", True),
    # not in the graph: no match
    ("Ivan Petrov", "", None, False),
    ("A. Smith", "", None, False),
    ("N.A. Nazarbayev", "", None, False),
    ("Букейханова А.", "", None, False),
    ("B. Kozybayev", "", None, False),
    ("S. Dosmukhamedov", "", None, False),
    ("Smagulova", "", None, False),
    ("Ministry of Agriculture", "", "Organisation", False),
]

HELD_OUT = [
    ("V.N. Zemskov", "person/zemskov-v-n", None, True),
    ("Земсков В.Н.", "person/zemskov-v-n", None, True),
    ("N.F. Bugai", "person/bugai-n-f", None, True),
    ("Бугай Н.Ф.", "person/bugai-n-f", None, True),
    ("K.N. Nurpeisov", "person/nurpeisov-k-n", None, True),
    ("Nurpeisov", "person/nurpeisov-k-n", None, False),
    ("Koigeldiev M.K.", "person/koigeldiyev-m-k", None, True),
    ("Т.О. Омарбеков", "person/omarbekov-t-o", None, True),
    ("Zh.B. Abylkhozhin", "person/abylkhozhin-zh-b", None, True),
    ("Абылхожин Ж.Б.", "person/abylkhozhin-zh-b", None, True),
    ("Шаймуханов Д.А.", "person/shaimukhanov-d-a", None, True),
    ("S. Mendeshev", "person/mendeshev-s", None, True),
    ("Мендешев Сейткали", "person/mendeshev-s", None, False),
    ("Y.I. Mikhailenko", "person/mikhailenko-y-i", None, True),
    ("Михайленко Ю.И.", "person/mikhailenko-y-i", None, False),
    ("P.P. Spiridonov", "person/spiridonov-p-p", None, True),
    ("Спиридонов П.П.", "person/spiridonov-p-p", None, True),
    ("Кельмансон А.И.", "person/kelmanson-a-i", None, True),
    ("N.M. Prasolov", "person/prasolov-n-m", None, True),
    ("Kuperman", "person/kuperman", None, True),
    ("Kh. Aidarova", "person/aidarova-kh", None, True),
    ("Айдарова Х.", "person/aidarova-kh", None, True),
    ("Шоинбаев Т.", "person/shoinbayev-t", None, True),
    ("A. Yakunin", "person/yakunin-a", None, True),
    ("K. Mukhamedkhanov", "person/mukhamedkhanov-k", None, True),
    ("Ленин В.И.", "person/lenin-v-i", None, True),
    ("Khrushchev", "person/khrushchev", None, True),
    ("Хрущев", "person/khrushchev", None, True),
    ("N.S. Khrushchev", "person/khrushchev", None, False),
    ("George Orwell", "person/orwell-george", None, True),
    ("Orwell", "person/orwell-george", None, False),
    ("R. Conquest", "person/conquest-r", None, True),
    ("GULAG", "organisation/gulag", "Organisation", True),
    ("ГУЛАГ", "organisation/gulag", None, True),
    ("Memorial", "organisation/memorial", None, True),
    ("Supreme Court of the Kazakh SSR", "organisation/supreme-court-kazssr", "Organisation", True),
    ("Special Board", "organisation/special-board", "Organisation", True),
    ("Москва", "place/moscow", None, True),
    ("Almaty", "place/almaty place/almaty-region", "Place", False),
    ("Law of the Republic of Kazakhstan On Rehabilitation of Victims of Mass Political Repressions", "act/law-rk-1993-04-14", "LegalAct", True),
    ("D.A. Kunayev", "", None, False),
    ("Mukhtar Shakhanov", "", None, False),
    ("Aidarov Kh.", "", None, False),
    ("Ryskulova T.", "", None, False),
    ("Z. Kozybayev", "", None, False),
    ("Academy of Sciences of the Kazakh SSR", "organisation/academy-of-sciences-kazssr", "Organisation", True),
]


def measure(client, cases) -> dict:
    """Reconcile the cases in batches of the manifest's batchSize; count top-1 hits and right matches."""
    counts = {"queries": len(cases), "with_entity": 0, "top1": 0, "matches": 0, "right_matches": 0,
              "flag_as_expected": 0}
    for start in range(0, len(cases), 10):
        chunk = cases[start:start + 10]
        batch = {f"q{i}": {"query": q, **({"type": t} if t else {})} for i, (q, _, t, _) in enumerate(chunk)}
        answer = post_queries(client, batch).get_json()
        for i, (_, gold, _, expect_match) in enumerate(chunk):
            results, acceptable = answer[f"q{i}"]["result"], gold.split()
            hits = matched(results)
            counts["with_entity"] += bool(acceptable)
            counts["top1"] += bool(acceptable and results and results[0]["id"] in acceptable)
            counts["matches"] += len(hits)
            counts["right_matches"] += len(acceptable) == 1 and hits == acceptable
            counts["flag_as_expected"] += bool(hits) == expect_match
    return counts


@pytest.mark.parametrize("cases", [DEVELOPMENT, HELD_OUT], ids=["development", "held-out"])
def test_labelled_set(client, cases):
    counts = measure(client, cases)
    assert counts["right_matches"] == counts["matches"]  # precision of match: true is 1.0
    assert counts["top1"] >= 0.95 * counts["with_entity"]
    assert counts["flag_as_expected"] >= 0.95 * counts["queries"]


def test_labelled_set_size():
    assert len(DEVELOPMENT) + len(HELD_OUT) >= 100
    assert sum(1 for c in DEVELOPMENT + HELD_OUT if not c[1]) >= 10
