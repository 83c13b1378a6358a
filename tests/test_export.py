"""Dumps: every format re-parses isomorphic to the store and is byte-identical across exports and builds;
the CSV tables; the release and its metadata (VoID, DCAT, version, citation)."""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import re
import subprocess
import sys

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from paths import ROOT
from repression_kg import __version__, export, void
from repression_kg.backend import Backend, MemoryBackend
from repression_kg.build import build
from repression_kg.cli import main
from repression_kg.namespaces import GRAPHS

RDFLIB = {"ttl": "turtle", "nt": "nt", "nq": "nquads", "trig": "trig", "jsonld": "json-ld", "rdfxml": "xml"}
BASE, SITE = "https://w3id.org/kz-repression/", "http://example.org"
DATASET = URIRef(BASE + "dataset")


@pytest.fixture(scope="module")
def kg(store):
    return MemoryBackend(store)


@pytest.fixture(scope="module")
def dumps(kg, tmp_path_factory):
    """Every format and table, plain and gzipped, exported in this process from the session's build."""
    out = tmp_path_factory.mktemp("dumps")
    kinds = [*export.RDF_FORMATS, "csv"]
    export.export(kg, out, kinds)
    export.export(kg, out, kinds, compressed=True)
    return out


def canonical(quads) -> set:
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(dataset)


def store_quads(store, roles=export.DEFAULT_ROLES) -> list:
    return [q for role in roles for q in store.quads_for_pattern(None, None, None, ox.NamedNode(export.GRAPH_IRIS[role]))]


def as_default_graph(triples) -> list:
    return [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]


def digests(directory) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --- RDF dumps ------------------------------------------------------------------------------

@pytest.mark.filterwarnings(r"ignore:Dataset\.\w+ is deprecated:DeprecationWarning")  # inside rdflib's parser
@pytest.mark.parametrize("kind", list(export.RDF_FORMATS))
def test_each_dump_reparses_isomorphic_to_the_store(kind, dumps, store):
    """rdflib (not the library that wrote the file) parses it; the canonical quads equal the store's."""
    path = dumps / export.file_name(kind)
    if kind in export.QUAD_FORMATS:
        parsed = Dataset()
        parsed.parse(data=path.read_bytes(), format=RDFLIB[kind])
        got = canonical(ox.parse(parsed.serialize(format="nquads", encoding="utf-8"), format=ox.RdfFormat.N_QUADS))
        assert {q.graph_name.value for q in got} == {q.graph_name.value for q in store_quads(store)} >= {
            str(GRAPHS[r]) for r in ("ontology", "data", "inferred")}
        assert got == canonical(store_quads(store))
    else:
        parsed = Graph()
        parsed.parse(data=path.read_bytes(), format=RDFLIB[kind])
        got = canonical(as_default_graph(ox.parse(parsed.serialize(format="nt", encoding="utf-8"),
                                                   format=ox.RdfFormat.N_TRIPLES)))
        assert got == canonical(as_default_graph({q.triple for q in store_quads(store)}))
    assert len(got) > 15000


@pytest.mark.parametrize("kind", list(export.RDF_FORMATS))
def test_gzip_holds_the_same_bytes_with_no_time_stamp(kind, dumps):
    packed = (dumps / export.file_name(kind, compressed=True)).read_bytes()
    assert gzip.decompress(packed) == (dumps / export.file_name(kind)).read_bytes()
    assert packed[4:8] == b"\0\0\0\0" and packed[3] & 0x08 == 0  # MTIME 0, no FNAME


def test_line_formats_are_sorted_and_blank_nodes_canonical(dumps):
    for kind in ("nt", "nq"):
        lines = (dumps / export.file_name(kind)).read_bytes().split(b"\n")
        assert lines[-1] == b"" and lines[:-1] == sorted(lines[:-1])
    text = (dumps / "kz-repression.nt").read_text(encoding="utf-8")
    labels = set(re.findall(r"_:(\S+)", text))
    assert labels and all(re.fullmatch(r"c14n\d+", label) for label in labels)


def test_turtle_uses_the_project_prefixes_in_order(dumps):
    text = (dumps / "kz-repression.ttl").read_text(encoding="utf-8")
    prefixes = re.findall(r"^@prefix (\w+): ", text, flags=re.M)
    assert prefixes == sorted(prefixes) and {"kzr", "person", "crm", "skos"} <= set(prefixes)
    assert re.search(r"^person:bukeikhanov-a a crm:E21_Person , .*kzr:Person , kzr:RehabilitatedPerson , "
                     r"kzr:RepressedPerson ;\n\trdfs:label ", text, flags=re.M)


def test_the_default_dumps_leave_out_the_build_time(dumps):
    text = (dumps / "kz-repression.nq").read_text(encoding="utf-8")
    assert str(GRAPHS["metadata"]) not in text and "endedAtTime" not in text


def test_graph_selection(kg, store, tmp_path):
    held = export.held_roles(kg)
    assert held == ("ontology", "data", "links", "inferred", "metadata")  # this build has no registry
    core = ("ontology", "data", "links", "inferred")
    assert export.resolve_roles((), held) == export.resolve_roles(["all"], held) == core
    assert export.resolve_roles(["metadata", "all"], held) == core + ("metadata",)
    assert export.resolve_roles(["data", "ontology", "data"], held) == ("ontology", "data")
    [entry] = export.export(kg, tmp_path, ["nq"], ("data", "metadata"))
    assert entry["name"] == "kz-repression-data+metadata.nq"
    quads = list(ox.parse((tmp_path / entry["name"]).read_bytes(), format=ox.RdfFormat.N_QUADS))
    assert {q.graph_name.value for q in quads} == {str(GRAPHS["data"]), str(GRAPHS["metadata"])}
    assert len(quads) == len(store_quads(store, ("data", "metadata")))
    assert any(q.predicate.value.endswith("#endedAtTime") for q in quads)  # asked for: the build time is there


def test_a_backend_that_only_answers_queries_gives_the_same_files(kg, dumps, tmp_path):
    """A backend with no store in this process (a remote endpoint) is read by CONSTRUCT: the same bytes."""
    class QueriesOnly(Backend):
        def answer(self, task, timeout):
            return kg.answer(task, timeout)

    assert export.local_store(QueriesOnly()) is None
    entries = export.export(QueriesOnly(), tmp_path, ["nq", "ttl"])
    assert [e["name"] for e in entries] == ["kz-repression.nq", "kz-repression.ttl"]
    assert all((tmp_path / e["name"]).read_bytes() == (dumps / e["name"]).read_bytes() for e in entries)


def test_two_builds_and_two_processes_give_byte_identical_files(dumps, tmp_path):
    """A second build of the same checkout, exported by the CLI in fresh processes with other hash seeds."""
    second = tmp_path / "second-build"
    build(ROOT, second)
    for seed, extra in (("1", []), ("2", ["--gzip"])):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "repression_kg.cli", "export", "--build-dir", str(second),
                        "--out", str(tmp_path / "out"), *extra], check=True, env=env, capture_output=True)
    ours = digests(tmp_path / "out")
    assert len(ours) == 2 * (len(export.RDF_FORMATS) + len(export.TABLES))
    assert ours == digests(dumps)


def test_cli_export(runner, built, tmp_path):
    result = runner.invoke(main, ["export", "--build-dir", str(built), "--format", "ttl", "--format", "csv",
                                  "--graph", "data", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "kz-repression-data.ttl" in result.output and "kz-repression-persons.csv" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["kz-repression-data.ttl"] + [f"kz-repression-{t}.csv" for t in export.TABLES])


def test_cli_export_of_a_graph_the_store_does_not_hold(runner, built, tmp_path):
    result = runner.invoke(main, ["export", "--build-dir", str(built), "--graph", "registry", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--graph" in result.output
    assert "the store holds no registry graph" in result.output and "build --add" in result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_export_into_a_place_it_cannot_write(runner, built, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    out = blocked / "dumps"
    result = runner.invoke(main, ["export", "--build-dir", str(built), "--format", "nt", "--out", str(out)])
    assert result.exit_code == 2 and f"cannot write the dumps into {out}: Not a directory" in result.output
    assert "Traceback" not in result.output


def test_cli_export_without_a_store(runner, tmp_path):
    result = runner.invoke(main, ["export", "--build-dir", str(tmp_path / "none")])
    assert result.exit_code == 2 and "repression-kg build" in result.output


# --- CSV tables -----------------------------------------------------------------------------

HEADERS = {
    "persons": ["iri", "label_en", "label_ru", "label_kk", "printed_forms", "roles", "positions", "affiliations",
                "research_topics", "repressed_in_stages", "charges", "measures", "rehabilitated_by",
                "rehabilitated_in_stages", "editorial_notes", "likely_readings", "citations"],
    "observations": ["iri", "label_en", "dataset", "indicator", "table_row", "nkvd_category", "plan_version", "area",
                     "period_wording", "period_begin", "period_end", "printed_value", "value", "unit", "qualifier",
                     "status", "printed_total", "conflicts_with", "section", "paragraph", "table", "reference",
                     "pages", "quote", "editorial_notes", "likely_readings", "citations"],
    "citations": ["iri", "citation", "source", "section", "paragraph", "page", "table", "reference",
                  "reference_pages", "quote", "cited_by"],
}
CLASSES = {"persons": "kzr:Person", "organisations": "kzr:Organisation", "acts": "kzr:LegalAct",
           "fonds": "kzr:ArchivalFond", "events": "kzr:Event", "observations": "qb:Observation", "citations": "kzr:Citation"}


@pytest.mark.parametrize("name", list(export.TABLES))
def test_each_table_has_a_row_per_entity_and_its_headers(name, dumps, kg):
    raw = (dumps / export.file_name(name)).read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    header = rows[0]
    assert header[0] == "iri" and len(set(header)) == len(header)
    assert header == HEADERS.get(name, header)
    if name not in ("observations", "citations"):
        assert header[header.index("label_en"):header.index("label_en") + 4] == [
            "label_en", "label_ru", "label_kk", "printed_forms"]
    count = kg.select(f"PREFIX kzr: <https://w3id.org/kz-repression/ontology#> PREFIX qb: <http://purl.org/linked-data/cube#> "
                      f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a {CLASSES[name]} }}")[0]["n"]["value"]
    assert len(rows) - 1 == int(count) > 0
    assert all(len(row) == len(header) for row in rows)
    assert [row[0] for row in rows[1:]] == sorted(row[0] for row in rows[1:])
    assert raw.count(b"\r\n") >= len(rows) and not raw.startswith(b"\xef\xbb\xbf")  # CRLF, no BOM


def test_persons_table(dumps):
    rows = read_csv(dumps / "kz-repression-persons.csv")
    assert len(rows) == 76
    bukeikhanov = next(r for r in rows if r["iri"].endswith("/person/bukeikhanov-a"))
    assert bukeikhanov["label_en"] == "A. Bukeikhanov" and bukeikhanov["label_ru"] == "А. Букейханов"
    assert bukeikhanov["printed_forms"] == "A. Bukeikhanov" and bukeikhanov["roles"] == "Named victim of repression"
    assert bukeikhanov["repressed_in_stages"] == "1" and bukeikhanov["rehabilitated_in_stages"] == "2"
    assert "rehabilitating Kazakh intellectuals (1988)" in bukeikhanov["rehabilitated_by"]
    assert bukeikhanov["citations"] == ("Saktaganova 2021, Results and Discussion, para. 6 | "
                                        "Saktaganova 2021, Results and Discussion, para. 34")


def test_quotes_and_separators_survive_csv(dumps):
    raw = (dumps / "kz-repression-persons.csv").read_text(encoding="utf-8")
    assert '""anti-heroes""' in raw  # a double quote inside a field is doubled (RFC 4180)
    aidarova = next(r for r in read_csv(dumps / "kz-repression-persons.csv") if r["iri"].endswith("/aidarova-kh"))
    assert aidarova["roles"] == "Historian | Informer" and '"anti-heroes"' in aidarova["editorial_notes"]


def test_observations_table(dumps):
    rows = {r["iri"].rsplit("/", 1)[-1]: r for r in read_csv(dumps / "kz-repression-observations.csv")}
    assert len(rows) == 114
    cell = rows["table-1-almaty-cat-1-original"]
    assert (cell["printed_value"], cell["value"], cell["unit"], cell["table"], cell["reference"], cell["pages"]) == (
        "400", "400", "Persons", "Table 1", "15", "170–171")
    assert cell["nkvd_category"] == "Category 1" and cell["plan_version"] == "Original plan"
    figure = rows["december-1986-students-expelled-270"]
    assert figure["printed_value"] == "about 270" and figure["qualifier"] == "About"
    assert figure["period_wording"] == "December, 1986" and figure["reference"] == "10"
    assert figure["conflicts_with"].endswith("/december-1986-students-expelled-300")
    assert "about 270 students were expelled" in figure["quote"]


def test_citations_table(dumps):
    rows = read_csv(dumps / "kz-repression-citations.csv")
    assert len(rows) == 627
    with_pages = [r for r in rows if r["reference_pages"]]
    assert with_pages and all(r["reference"] for r in with_pages)
    assert all(r["quote"] and r["cited_by"] for r in rows)
    row = next(r for r in rows if r["iri"].endswith("/citation/obs-table-1-almaty"))
    assert row["citation"] == "Saktaganova 2021, Results and Discussion, Table 1 [15; 170–171]"


# --- The release and its metadata --------------------------------------------------------------

@pytest.fixture(scope="module")
def release(kg, tmp_path_factory):
    root = tmp_path_factory.mktemp("releases")
    old = root / "20000101T000000Z-000000000000"
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    return export.ensure_release(kg, root)


def test_release_files_and_checksums(release, dumps, tmp_path_factory):
    directory = tmp_path_factory.getbasetemp()
    names = {f["name"] for f in release["files"]}
    assert names == {p.name for p in dumps.iterdir() if not (p.name.endswith(".csv.gz"))} | {"SHA256SUMS"}
    for f in release["files"]:
        data = (directory / release["dir"] / f["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
        if f["name"] != "SHA256SUMS":
            assert data == (dumps / f["name"]).read_bytes()
    sums = (directory / release["dir"] / "SHA256SUMS").read_text()
    assert sums.count("\n") == len(names) - 1 and "  kz-repression.ttl\n" in sums
    assert release["version"] == f"{__version__}+{release['source_digest'].split(':')[1][:12]}"
    assert release["graphs"] == ["ontology", "data", "links", "inferred"]


def test_release_is_written_once_and_replaces_older_builds(release, kg):
    root = os.path.dirname(release["dir"])
    assert os.listdir(root) == [release["marker"]]  # the older release was pruned
    stamp = os.stat(os.path.join(release["dir"], "manifest.json")).st_mtime_ns
    again = export.ensure_release(kg, root)
    assert again == release and os.stat(os.path.join(release["dir"], "manifest.json")).st_mtime_ns == stamp


def test_no_release_without_build_metadata(tmp_path):
    with pytest.raises(export.ReleaseUnavailable):
        export.ensure_release(MemoryBackend(ox.Store()), tmp_path)


DCAT = void.DCAT
VOID = void.VOID


def test_void_lists_the_dumps_as_distributions(kg, release):
    g = void.describe(kg, BASE, SITE, release)
    downloads = {}
    for d in g.objects(DATASET, DCAT.distribution):
        if g.value(d, DCAT.downloadURL) is not None:
            downloads[str(g.value(d, DCAT.downloadURL))] = d
    files = {f"{SITE}/dumps/{f['name']}": f for f in release["files"] if f["kind"] != "checksums"}
    assert downloads.keys() == files.keys()
    for url, d in downloads.items():
        f = files[url]
        assert g.value(d, DCAT.byteSize) == Literal(f["bytes"], datatype=XSD.nonNegativeInteger)
        assert g.value(d, DCAT.mediaType) == URIRef(void.IANA + f["media_type"])
        assert (g.value(d, DCAT.compressFormat) is not None) == f["compressed"]
        assert str(g.value(g.value(d, void.SPDX.checksum), void.SPDX.checksumValue)) == f["sha256"]
        assert g.value(d, DCTERMS.license) == void.LICENSE
    assert {str(u) for u in g.objects(DATASET, VOID.dataDump)} == {u for u, f in files.items() if f["kind"] == "rdf"}
    assert g.value(DATASET, DCAT.version) == Literal(release["version"])
    cite = str(g.value(DATASET, DCTERMS.bibliographicCitation))
    assert release["version"] in cite and "10.31489/2021HPh4/113-123" in cite and "CC BY 4.0" in cite
    assert g.value(void.SOURCE, void.BIBO.doi) == Literal("10.31489/2021HPh4/113-123")
    links = kg.select(f"""SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPHS['links']}> {{ ?s ?p ?o
        FILTER(?p IN (<http://www.w3.org/2004/02/skos/core#exactMatch>, <http://www.w3.org/2004/02/skos/core#closeMatch>)) }} }}""")
    linksets = list(g.subjects(RDF.type, VOID.Linkset))
    assert sum(int(g.value(ls, VOID.triples)) for ls in linksets) == int(links[0]["n"]["value"])  # none while no links


def test_void_linksets_count_links_per_target(tmp_path):
    """A small store with links: one linkset per target and property, with its count."""
    store = ox.Store()
    links, skos = ox.NamedNode(str(GRAPHS["links"])), "http://www.w3.org/2004/02/skos/core#"
    for subject, predicate, target in (("person/a", "exactMatch", "http://www.wikidata.org/entity/Q1"),
                                       ("person/b", "exactMatch", "http://www.wikidata.org/entity/Q2"),
                                       ("place/c", "closeMatch", "https://sws.geonames.org/1526384/")):
        store.add(ox.Quad(ox.NamedNode(BASE + "id/" + subject), ox.NamedNode(skos + predicate), ox.NamedNode(target), links))
    g = void.describe(MemoryBackend(store), BASE, SITE)
    found = {}
    for linkset in g.subjects(RDF.type, VOID.Linkset):
        target = g.value(linkset, VOID.objectsTarget)
        found[(str(g.value(target, DCTERMS.title)), str(g.value(linkset, VOID.linkPredicate)))] = int(g.value(linkset, VOID.triples))
        assert (DATASET, VOID.subset, linkset) in g and (linkset, VOID.target, DATASET) in g
    assert found == {("Wikidata", skos + "exactMatch"): 2, ("GeoNames", skos + "closeMatch"): 1}


def test_citation_cff_names_the_dataset_and_the_article():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    fields = dict(re.findall(r"^([a-z-]+): (.+)$", text, flags=re.M))
    assert fields["cff-version"] == "1.2.0" and fields["version"] == __version__
    assert fields["license"] == "CC-BY-4.0" and fields["type"] == "dataset"
    assert fields["title"].strip('"') == void.TITLE
    lines = {line.strip().removeprefix("- ") for line in text.splitlines()}
    assert "name: Kazakhstan repression knowledge graph contributors" in lines
    for fact in ("family-names: Saktaganova", "given-names: Z.G.", "doi: 10.31489/2021HPh4/113-123",
                 'journal: "Bulletin of the Karaganda University. History. Philosophy series"', 'issue: "4 (104)"',
                 "year: 2021", "start: 113", "end: 123",
                 'title: "To the question about the stages of political repression in Kazakhstan in the 1920s-1980s"'):
        assert fact in lines, fact
