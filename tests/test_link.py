"""The linking workflow against a real `oxigraph serve` on 127.0.0.1 loaded with a small Wikidata-shaped
stand-in (tests/fixtures/wikidata/*.ttl): true matches are found and ranked first, namesakes are
refused with a reason, `link accept` writes links with evidence that keep the shapes green."""
from __future__ import annotations

import csv
import http.server
import shutil
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD
from rdflib.plugins.sparql import prepareQuery

from paths import FIXTURES
from repression_kg import link as kglink
from repression_kg.backend import MemoryBackend
from repression_kg.cli import main
from repression_kg.namespaces import GRAPHS, ID
from servers import BIN, free_port, running

WD = "http://www.wikidata.org/entity/"
SSSOM = Namespace("https://w3id.org/sssom/")
# The stand-in's true items for our things: the ground truth of the precision test.
TRUE = {
    "person/bukeikhanov-a": "Q900000001", "person/dulatov-m": "Q900000003",
    "person/dosmukhamedov-h": "Q900000006", "person/dosmukhamedov-zh": "Q900000007",
    "person/zhumabayev-m": "Q900000008", "person/bekmakhanov-ye": "Q900000009",
    "place/karaganda": "Q900000101", "place/kazakhstan": "Q900000103", "place/moscow": "Q900000105",
    "place/almaty": "Q900000106", "place/almaty-region": "Q900000107", "place/karaganda-region": "Q900000108",
    "organisation/nkvd": "Q900000201", "act/criminal-code-rsfsr-1926": "Q900000301",
}


@contextmanager
def wikidata_stand_in(workdir: Path):
    """An `oxigraph serve` on a free port of 127.0.0.1 loaded with the stand-in; yields its query URL."""
    location = workdir / "wikidata"
    for ttl in sorted((FIXTURES / "wikidata").glob("*.ttl")):
        subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(location), "--file", str(ttl)],
                       check=True, capture_output=True, timeout=120)
    port = free_port()
    url = f"http://127.0.0.1:{port}/query"
    with running([str(BIN / "oxigraph"), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"], url):
        yield url


@pytest.fixture(scope="module")
def wikidata(tmp_path_factory):
    with wikidata_stand_in(tmp_path_factory.mktemp("wikidata")) as url:
        yield url


@pytest.fixture(scope="module")
def review(built, wikidata, tmp_path_factory) -> Path:
    """The review file the CLI writes for every unlinked thing of the built graph."""
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("review") / "review.csv"
    result = CliRunner().invoke(main, ["link", "wikidata", "--endpoint", wikidata, "--out", str(out),
                                       "--build-dir", str(built), "--delay", "0"])
    assert result.exit_code == 0, result.output
    assert "things searched" in result.output
    return out


def by_entity(path: Path) -> dict[str, list[dict]]:
    """The review rows by entity (kind/slug), in file order."""
    rows: dict[str, list[dict]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["entity"].removeprefix(ID), []).append(row)
    return rows


def test_review_file_columns_and_empty_decisions(review):
    with review.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == kglink.COLUMNS
    assert rows and all(r["decision"] == "" for r in rows)
    assert all(r["candidate"] == "" or kglink.QID.match(r["candidate"]) for r in rows)


def searched(review: Path) -> dict[str, str]:
    """The true pairs of the things the review searched (things already linked in data/links/ are not)."""
    rows = by_entity(review)
    return {e: q for e, q in TRUE.items() if e in rows}


def linked(store) -> set[str]:
    """Things linked to Wikidata in the built links graph (kind/slug)."""
    query = (f"SELECT ?s WHERE {{ GRAPH <{GRAPHS['links']}> {{ ?s ?p ?o }} "
             f'FILTER(?p IN (<{SKOS.exactMatch}>, <{SKOS.closeMatch}>) && STRSTARTS(STR(?o), "{WD}")) }}')
    return {row["s"].value.removeprefix(ID) for row in store.query(query)}


@pytest.mark.parametrize("entity", sorted(TRUE))
def test_true_candidate_found_and_ranked_first(review, store, entity):
    if entity not in searched(review):  # not searched: it must be linked already
        assert entity in linked(store)
        return
    rows = by_entity(review)[entity]
    assert rows[0]["candidate"] == TRUE[entity], rows
    assert int(rows[0]["score"]) >= kglink.HIGH
    assert [int(r["score"]) for r in rows] == sorted((int(r["score"]) for r in rows), reverse=True)


@pytest.mark.parametrize("entity,qid,why", [
    ("person/bukeikhanov-a", "Q900000002", "impossible: born 1990, after rehabilitated"),
    ("person/dulatov-m", "Q900000004", 'impossible: initial M. contradicts the given name "yerlan"'),
    ("person/dosmukhamedov-h", "Q900000007", "contradicts the given name \"zhahansha\""),
    ("person/dosmukhamedov-zh", "Q900000006", "impossible: initial Zh. contradicts the given name \"khalel\""),
    ("person/bekmakhanov-ye", "Q900000010", "impossible: died 1930, before repressed in stage 7 of repression (1944-1956)"),
])
def test_namesakes_are_refused_with_a_reason(review, entity, qid, why):
    row = next(r for r in by_entity(review)[entity] if r["candidate"] == qid)
    assert int(row["score"]) <= kglink.REFUSED
    assert why in row["reasons"]


@pytest.mark.parametrize("entity,qid,why", [
    ("place/karaganda", "Q900000102", 'instance of "river": not a place'),
    ("organisation/nkvd", "Q900000202", 'instance of "film": not an organisation'),
    ("act/criminal-code-rsfsr-1926", "Q900000302", "dated 1960; the graph dates it 1926"),
    ("place/almaty-region", "Q900000106", "a place, but the graph has a region"),
])
def test_wrong_kind_or_date_scores_low(review, entity, qid, why):
    row = next(r for r in by_entity(review)[entity] if r["candidate"] == qid)
    assert int(row["score"]) < kglink.HIGH - 15 and why in row["reasons"]


def test_namesake_the_data_cannot_refuse_stays_below_the_true_one(review):
    rows = by_entity(review)["person/dulatov-m"]
    mukhtar = next(r for r in rows if r["candidate"] == "Q900000005")
    assert kglink.REFUSED < int(mukhtar["score"]) < kglink.HIGH
    assert 'initials agree: M. = "mukhtar"' in mukhtar["reasons"]
    assert "no birth or death date on Wikidata to compare" in mukhtar["reasons"]
    assert rows.index(mukhtar) > 0


def test_transliteration_variants_found_from_russian_labels(review):
    zhumabayev = by_entity(review)["person/zhumabayev-m"][0]  # the item has only "Мағжан Жұмабаев"@kk
    assert zhumabayev["candidate_label"] == "Мағжан Жұмабаев"
    zh = by_entity(review)["person/dosmukhamedov-zh"][0]  # only "Жаһанша Досмұхамедұлы"@kk
    assert "surname a transliteration variant" in zh["reasons"] and 'Zh. = "zhahansha"' in zh["reasons"]


def test_things_without_candidates_get_one_row_saying_what_was_searched(review):
    rows = by_entity(review)
    assert [(r["candidate"], r["reasons"]) for r in rows["person/zalin-l"]] == [("", "no candidate found for: Zalin, Залин")]
    assert rows["person/o"][0]["reasons"] == "no name to search (initials only)"


def test_precision_on_the_stand_in(review):
    """Top candidates at or above HIGH are the links a reviewer would be offered: all must be right."""
    offered = {e: rows[0]["candidate"] for e, rows in by_entity(review).items()
               if rows[0]["candidate"] and int(rows[0]["score"]) >= kglink.HIGH}
    right = {e for e, qid in offered.items() if TRUE.get(e) == qid}
    assert right == set(offered), {e: offered[e] for e in set(offered) - right}
    assert right == set(searched(review)) and len(right) >= 10


def entity(kind: str, names, spans=(), places=(), classes=()) -> kglink.Entity:
    e = kglink.Entity(ID + f"{kind}/x", kind, [(n, lang, "label") for n, lang in names])
    e.spans, e.places, e.classes = list(spans), set(places), set(classes)
    return e


def candidate(labels, types=(kglink.HUMAN,), **years) -> kglink.Candidate:
    c = kglink.Candidate(WD + "Q900000999", labels=list(labels), types=set(types),
                         classes={t: {"human"} for t in types})
    c.years = {p: [y] for p, y in years.items()}
    return c


STAGE_1 = kglink.Span("repressed in stage 1 of repression", 1917, 1926)


def test_surname_alone_does_not_score_high():
    ours = entity("person", [("A. Bukeikhanov", "en")], [STAGE_1])
    assert kglink.score(ours, candidate([("Bukeikhanov", "en")])).score < kglink.HIGH
    no_dates = kglink.score(ours, candidate([("Alikhan Bukeikhanov", "en")]))
    assert no_dates.score < kglink.HIGH and "initials agree" in "; ".join(no_dates.reasons)
    dated = kglink.score(ours, candidate([("Alikhan Bukeikhanov", "en")], P569=1866, P570=1937))
    assert dated.score >= kglink.HIGH


@pytest.mark.parametrize("label,agrees", [("Alikhan Bukeikhanov", True), ("Mukhtar Bukeikhanov", False),
                                          ("Әлихан Бөкейхан", True), ("Букейханов Алихан Нурмухамедович", True)])
def test_initials_against_the_given_name(label, agrees):
    scored = kglink.score(entity("person", [("A. Bukeikhanov", "en")]), candidate([(label, "kk")]))
    assert (scored.score > kglink.REFUSED) is agrees
    assert any(r.startswith("impossible: initial A. contradicts") for r in scored.reasons) is not agrees


@pytest.mark.parametrize("born,died,verdict", [(1990, None, "refused"), (1870, 1910, "refused"), (1870, 1937, "high"),
                                                (1915, 1990, "low")])
def test_life_against_the_repression(born, died, verdict):
    years = {"P569": born, **({"P570": died} if died else {})}
    ours = entity("person", [("A. Bukeikhanov", "en")], [STAGE_1])
    scored = kglink.score(ours, candidate([("Alikhan Bukeikhanov", "en")], **years))
    assert verdict == ("refused" if scored.score <= kglink.REFUSED else "high" if scored.score >= kglink.HIGH else "low")
    if verdict == "low":
        assert "born 1915: at most 11 years old when repressed in stage 1 of repression (1917-1926)" in scored.reasons


def test_posthumous_rehabilitation_does_not_refuse_the_dead():
    rehabilitated = kglink.Span("rehabilitated in rehabilitation/x", 1988, 1988, alive=False)
    scored = kglink.score(entity("person", [("A. Bukeikhanov", "en")], [rehabilitated]),
                          candidate([("Alikhan Bukeikhanov", "en")], P569=1866, P570=1937))
    assert scored.score >= kglink.HIGH


def test_review_cells_a_spreadsheet_would_run_are_guarded(tmp_path):
    row = {c: "" for c in kglink.COLUMNS} | {"entity": ID + "person/bukeikhanov-a", "candidate": "Q900000001",
                                              "candidate_label": "=HYPERLINK(1)", "decision": "accept",
                                              "endpoint": "http://127.0.0.1/query"}
    kglink.write_review([row], tmp_path / "r.csv")
    assert "'=HYPERLINK(1)" in (tmp_path / "r.csv").read_text(encoding="utf-8")
    [link] = kglink.accepted_links(kglink.read_review(tmp_path / "r.csv"), "Test Curator", "2026-01-02")
    assert link.candidate_label == "=HYPERLINK(1)"


def test_search_patterns_cross_scripts():
    import re

    assert re.search(kglink.pattern("Букейханов"), "Әлихан Бөкейхан", re.I)
    assert re.search(kglink.pattern("Zhumabayev"), "Magzhan Jumabaev", re.I)
    assert re.search(kglink.pattern("Karaganda"), "Karagandy", re.I)
    assert not re.search(kglink.pattern("Dulatov"), "Bukeikhanov", re.I)


def test_linked_things_are_not_searched(built):
    backend = MemoryBackend.from_build(built)
    backend.store.add(ox.Quad(ox.NamedNode(ID + "person/bukeikhanov-a"), ox.NamedNode(str(SKOS.exactMatch)),
                              ox.NamedNode(WD + "Q900000001"), ox.NamedNode(str(GRAPHS["links"]))))
    iris = {e.iri for e in kglink.read_entities(backend, ("person",))}
    assert ID + "person/dulatov-m" in iris and ID + "person/bukeikhanov-a" not in iris


def test_wikidata_query_service_gets_cirrussearch_queries():
    assert kglink.search_mode("auto", kglink.WIKIDATA) == "mwapi"
    assert kglink.search_mode("auto", "http://127.0.0.1:7878/query") == "regex"
    ours = entity("person", [("A. Bukeikhanov", "en"), ("А. Букейханов", "ru")])
    query = kglink.retrieval_query([ours], "mwapi")
    prepareQuery(query)  # parses
    assert 'wikibase:api "Search"' in query and '"inlabel:\\"Букейханов\\" haswbstatement:P31=Q5"' in query


class Flaky(http.server.BaseHTTPRequestHandler):
    """Answers 429 (Retry-After: 0) to every other request; records the User-Agent."""

    calls: list[str] = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Flaky.calls.append(self.headers.get("User-Agent"))
        if len(Flaky.calls) % 2:
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        body = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"ok"}}]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_client_retries_on_429_and_names_the_project():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = kglink.SparqlClient(f"http://127.0.0.1:{server.server_address[1]}/sparql", delay=0, backoff=0.01)
        assert client.select("SELECT * WHERE { ?s ?p ?o }") == [{"x": {"type": "literal", "value": "ok"}}]
        assert client.requests == 2 and len(Flaky.calls) == 2
        assert all(ua.startswith("repression-kg/") and "Kazakhstan repression knowledge graph" in ua for ua in Flaky.calls)
        with pytest.raises(kglink.EndpointError):
            kglink.SparqlClient("http://127.0.0.1:1/sparql", delay=0, retries=1, backoff=0.01).select("ASK {}")
    finally:
        server.shutdown()
        server.server_close()


# --- link accept ----------------------------------------------------------------------------------

def decide(review: Path, out: Path, accept=None, **changes) -> Path:
    """A copy of the review file with accept for the given pairs, reject for every other candidate."""
    with review.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    accept = TRUE if accept is None else accept
    for row in rows:
        if row["candidate"]:
            row["decision"] = "accept" if accept.get(row["entity"].removeprefix(ID)) == row["candidate"] else "reject"
    for key, value in changes.items():  # row3_decision="accept": column decision of the fourth row
        index, column = key.split("_", 1)
        rows[int(index.removeprefix("row"))][column] = value
    kglink.write_review(rows, out)
    return out


def run_accept(review: Path, out: Path, built: Path, *extra: str):
    from click.testing import CliRunner

    return CliRunner().invoke(main, ["link", "accept", str(review), "--curator", "Test Curator", "--date", "2026-01-02",
                                     "--out", str(out), "--build-dir", str(built), *extra])


@pytest.fixture(scope="module")
def accepted(review, built, tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("accepted")
    out = workdir / "links" / "wikidata.ttl"
    result = run_accept(decide(review, workdir / "decided.csv"), out, built)
    assert result.exit_code == 0, result.output
    assert f"{len(searched(review))} link(s) accepted" in result.output
    return out


def test_accept_writes_links_with_evidence(accepted, review, wikidata):
    g = Graph().parse(accepted, format="turtle")
    links = {(s, p, o) for s, p, o in g if p in (SKOS.exactMatch, SKOS.closeMatch)}
    expected = {(URIRef(ID + e), SKOS.closeMatch if e.startswith("place/") else SKOS.exactMatch, URIRef(WD + q))
                for e, q in searched(review).items()}
    assert links == expected
    for s, p, o in links:
        evidence = g.value(predicate=RDF.object, object=o)
        assert (evidence, RDF.type, RDF.Statement) in g
        assert g.value(evidence, RDF.subject) == s and g.value(evidence, RDF.predicate) == p
        assert g.value(evidence, PROV.wasAttributedTo) == Literal("Test Curator")
        assert g.value(evidence, DCTERMS.date) == Literal("2026-01-02", datatype=XSD.date)
        assert g.value(evidence, DCTERMS.source) == URIRef(wikidata)
        assert 0.8 <= float(g.value(evidence, SSSOM.confidence)) <= 1.0
        assert "instance of" in str(g.value(evidence, RDFS.comment))
        assert g.value(evidence, SSSOM.subject_label) and g.value(evidence, SSSOM.object_label)
    assert sum(1 for _ in ox.parse(path=str(accepted), format=ox.RdfFormat.TURTLE)) == len(g)


def test_accept_is_deterministic_and_refuses_to_accept_twice(accepted, review, built, tmp_path):
    again = tmp_path / "again.ttl"
    assert run_accept(decide(review, tmp_path / "decided.csv"), again, built).exit_code == 0
    assert again.read_bytes() == accepted.read_bytes()
    before = again.read_bytes()
    result = run_accept(tmp_path / "decided.csv", again, built)
    assert result.exit_code == 1 and "is accepted twice" in result.output
    assert again.read_bytes() == before


@pytest.mark.parametrize("changes,message", [
    ({"row0_decision": ""}, "no decision (write accept or reject)"),
    ({"row0_decision": "maybe"}, "decision 'maybe' is neither accept nor reject"),
    ({"row0_decision": "accept", "row0_candidate": "Q12x"}, "is not a Wikidata item id"),
    ({"row0_decision": "accept", "row0_entity": ID + "person/nobody"}, "person/nobody is not described in the built graph"),
    ({"row0_decision": "accept", "row0_entity": ID + "stage/repression-1"}, "is not one of our persons"),
    ({"row1_entity": ID + "person/bukeikhanov-a", "row1_candidate": "Q900000001", "row1_decision": "accept"},
     "accepted twice"),
    ({"row1_entity": ID + "person/bukeikhanov-a", "row1_candidate": "Q900000002", "row1_decision": "accept"},
     "would be an exact match of both"),
])
def test_accept_refuses_rows_it_cannot_take(review, built, tmp_path, changes, message):
    rows = by_entity(review)
    first = rows["person/bukeikhanov-a"][0]
    assert first["candidate"] == "Q900000001"
    ordered = tmp_path / "ordered.csv"
    kglink.write_review([first] + [r for e, rs in rows.items() for r in rs if r is not first], ordered)
    out = tmp_path / "links.ttl"
    result = run_accept(decide(ordered, tmp_path / "decided.csv", **changes), out, built)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert not out.exists()


def test_accept_needs_a_curator(review, built, tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["link", "accept", str(review), "--out", str(tmp_path / "x.ttl"),
                                       "--build-dir", str(built)], env={"KZR_CURATOR": ""})
    assert result.exit_code == 2 and "--curator" in result.output


def test_accepted_links_keep_the_shapes_green(accepted, checkout_copy):
    from click.testing import CliRunner

    links = checkout_copy / "data" / "links"
    shutil.copy(accepted, links / "wikidata.ttl")
    result = CliRunner().invoke(main, ["validate", "--root", str(checkout_copy)])
    assert result.exit_code == 0, result.output
    assert "conforms" in result.output
