"""The synthetic registry: same bytes for a seed, three scripts that agree, real things referred to, the shapes kept."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD

from repression_kg.load import load_sources
from repression_kg.namespaces import CRM, KZR
from repression_kg.synth import KAZAKH_TO_RUSSIAN, latin, synthesize
from repression_kg.validate import validate

from paths import ROOT

PERSONS = 300


def digests(path: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(path.iterdir())}


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> tuple[Path, dict, Graph]:
    out = tmp_path_factory.mktemp("synth")
    manifest = synthesize(out, PERSONS, seed=5)
    graph = Graph()
    for name in manifest["vocabulary"] + manifest["records"]:
        graph.parse(out / name, format="nt")
    return out, manifest, graph


def test_synth_same_seed_same_bytes(tmp_path):
    synthesize(tmp_path / "a", 200, seed=11)
    synthesize(tmp_path / "b", 200, seed=11)
    synthesize(tmp_path / "c", 200, seed=12)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert digests(tmp_path / "a")["persons.nt"] != digests(tmp_path / "c")["persons.nt"]


def test_synth_manifest_says_synthetic_and_counts(registry):
    out, manifest, graph = registry
    assert json.loads((out / "registry.json").read_text(encoding="utf-8")) == manifest
    assert manifest["synthetic"] is True and manifest["persons"] == PERSONS and manifest["seed"] == 5
    assert manifest["triples"] == len(graph)
    persons = set(graph.subjects(RDF.type, KZR.Person))
    assert len(persons) == PERSONS
    per_person = len(graph) / PERSONS
    assert 25 <= per_person <= 40, per_person


def test_synth_source_is_marked_synthetic(registry):
    _, manifest, graph = registry
    source = URIRef(manifest["source"])
    assert (source, RDF.type, KZR.Source) in graph
    labels = {label.language: str(label) for label in graph.objects(source, RDFS.label)}
    assert "Synthetic" in labels["en"] and "seed 5" in labels["en"]
    assert "Синтетическая" in labels["ru"] and "синтетикалық" in labels["kk"]
    for scheme in graph.subjects(RDF.type, SKOS.ConceptScheme):
        english = [str(label) for label in graph.objects(scheme, SKOS.prefLabel) if label.language == "en"]
        assert len(english) == 1 and "(synthetic)" in english[0]
    for concept in graph.subjects(RDF.type, SKOS.Concept):
        assert any("Synthetic" in str(note) for note in graph.objects(concept, SKOS.scopeNote))
    for person in graph.subjects(RDF.type, KZR.Person):
        record = graph.value(person, KZR.describedBy)
        citation = graph.value(record, KZR.citation)
        assert graph.value(citation, KZR.inSource) == source
        assert graph.value(person, KZR.citation) == citation


def test_synth_names_agree_across_scripts(registry):
    _, _, graph = registry
    variants = 0
    kazakh_letters = 0
    for person in graph.subjects(RDF.type, KZR.Person):
        labels = {label.language: str(label) for label in graph.objects(person, RDFS.label)}
        assert set(labels) == {"kk", "ru", "en"}
        assert labels["kk"].translate(KAZAKH_TO_RUSSIAN) == labels["ru"]
        assert labels["en"] == latin(labels["ru"]) and labels["en"].isascii()
        kazakh_letters += any(ch in labels["kk"] for ch in "ӘәҒғҚқҢңӨөҰұҮүҺһІі")
        printed = str(graph.value(person, KZR.printedForm))
        if printed != labels["ru"]:
            variants += 1
            assert (person, SKOS.altLabel, Literal(latin(printed), lang="en")) in graph
    assert kazakh_letters > PERSONS // 5
    assert PERSONS // 20 < variants < PERSONS // 2


def test_synth_refers_to_real_things_of_data(registry):
    _, _, graph = registry
    core = load_sources(ROOT).data
    used = {o for p in (KZR.place, KZR.inStage, KZR.actingBody) for o in graph.objects(None, p)}
    assert used and all((thing, RDF.type, None) in core for thing in used)
    concepts = {o for p in (KZR.nationality, KZR.charge, KZR.sentence) for o in graph.objects(None, p)}
    assert concepts and all((c, RDF.type, SKOS.Concept) in graph for c in concepts)
    assert {str(o).split("/")[-1] for o in graph.objects(None, KZR.place)} <= {
        str(p).split("/")[-1] for p in core.subjects(RDF.type, KZR.Region)}


def test_synth_dates_agree_with_stages_and_each_other(registry):
    _, _, graph = registry
    core = load_sources(ROOT).data
    rehabilitated = 0
    for repression in graph.subjects(RDF.type, KZR.Repression):
        arrest = graph.value(repression, KZR.arrestDate).toPython()
        span = core.value(graph.value(repression, KZR.inStage), KZR.timeSpan)
        begin = core.value(span, CRM.P82a_begin_of_the_begin).toPython()
        end = core.value(span, CRM.P82b_end_of_the_end).toPython()
        assert begin <= arrest <= end, repression
        person = graph.value(repression, KZR.victim)
        born = graph.value(person, KZR.birthYear)
        assert born.datatype == XSD.gYear and int(str(born)) + 16 <= arrest.year
        for rehabilitation in graph.subjects(KZR.rehabilitatedPerson, person):
            rehabilitated += 1
            assert graph.value(rehabilitation, KZR.rehabilitationDate).toPython() > arrest
        quote = str(graph.value(graph.value(repression, KZR.citation), KZR.quote))
        assert f"{arrest:%d.%m.%Y}" in quote
    assert 0.75 * PERSONS < rehabilitated < 0.95 * PERSONS
    sentences = Counter(str(o).rsplit("-", 1)[-1] for o in graph.objects(None, KZR.sentence))
    assert set(sentences) == {"shooting", "camp", "exile"}


def test_synth_registry_conforms_to_the_shapes(tmp_path):
    """The project's own validation (pySHACL, every rule) over the core and a synthetic registry."""
    manifest = synthesize(tmp_path, 40, seed=3)
    sources = load_sources(ROOT)
    for name in manifest["vocabulary"] + manifest["records"]:
        sources.data.parse(tmp_path / name, format="nt")
    report = validate(sources)
    assert report.conforms, report.text()


def test_synth_refuses_data_dir(runner, tmp_path):
    from repression_kg.cli import main

    result = runner.invoke(main, ["synth", "--persons", "5", "--out", str(ROOT / "data" / "synth"), "--root", str(ROOT)])
    assert result.exit_code == 2 and "never goes into data/" in result.output
    assert not (ROOT / "data" / "synth").exists()
    result = runner.invoke(main, ["synth", "--persons", "5", "--out", str(tmp_path / "r"), "--name", "Bad Name"])
    assert result.exit_code == 2 and "--name" in result.output
    result = runner.invoke(main, ["synth", "--persons", "5", "--seed", "2", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "registry.json").read_text())["persons"] == 5
