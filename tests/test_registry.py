"""Registries added to the build: checked in batches, loaded into their graph, typed like the core, all or nothing."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from repression_kg import registry as kgregistry
from repression_kg.build import build
from repression_kg.cli import main
from repression_kg.load import SourceError, load_sources
from repression_kg.namespaces import CRM, GRAPHS, ID, KZR
from repression_kg.reason import infer_types
from repression_kg.store import open_read_only
from repression_kg.synth import synthesize

from paths import ROOT

REGISTRY = kgregistry.REGISTRY_GRAPH
TERM = "<https://w3id.org/kz-repression/ontology#termYears>"


@pytest.fixture(scope="module")
def sources():
    return load_sources(ROOT)


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("registry")
    synthesize(out, 300, seed=9)
    return out


@pytest.fixture(scope="module")
def added(tmp_path_factory, registry_dir) -> Path:
    """The real graph built with a 300-person synthetic registry; returns the build directory."""
    build_dir = tmp_path_factory.mktemp("build-add")
    build(ROOT, build_dir, add=[registry_dir], quiet=True)
    return build_dir


def broken_copy(source: Path, target: Path, record: int, triple: str) -> int:
    """A copy of a registry with a triple added to the block of one record; returns the triple's line."""
    shutil.copytree(source, target)
    lines = (target / "persons.nt").read_text(encoding="utf-8").split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"<{ID}repression/synth-{record:07d}> "))
    lines.insert(at, triple)
    (target / "persons.nt").write_text("\n".join(lines), encoding="utf-8")
    return at + 1


def ask(store, query: str) -> int:
    return int(next(iter(store.query(query)))["n"].value)


def dump_digest(build_dir: Path) -> str:
    store = open_read_only(build_dir)
    lines = sorted(store.dump(format=ox.RdfFormat.N_QUADS).splitlines())
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


def test_build_add_loads_the_registry_graph(added, registry_dir):
    store = open_read_only(added)
    manifest = kgregistry.open_registry(registry_dir).manifest
    triples = ask(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{REGISTRY}> {{ ?s ?p ?o }} }}")
    assert triples == manifest["triples"]
    assert ask(store, f"SELECT (COUNT(?p) AS ?n) WHERE {{ GRAPH <{REGISTRY}> {{ ?p a <{KZR.Person}> }} }}") == 300
    assert ask(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPHS['data']}> {{ ?p a <{KZR.PersonRecord}> }} }}") == 0
    meta = {row["p"].value: row["o"].value for row in store.query(
        f"SELECT ?p ?o WHERE {{ GRAPH <{GRAPHS['metadata']}> {{ <{REGISTRY}> ?p ?o }} }}")}
    assert int(meta["http://rdfs.org/ns/void#triples"]) == triples
    assert "synthetic" in meta["http://purl.org/dc/terms/title"]
    assert "SYNTHETIC" in meta["http://purl.org/dc/terms/description"]
    inferred = ask(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPHS['inferred']}> {{ ?s ?p ?o }} }}")
    counted = ask(store, f"""SELECT ?n WHERE {{ GRAPH <{GRAPHS['metadata']}> {{
        <{GRAPHS['inferred']}> <http://rdfs.org/ns/void#triples> ?n }} }}""")
    assert counted == inferred
    summary = (added / "build.json").read_text()
    assert f'"registry": {triples}' in summary and f'"inferred": {inferred}' in summary
    steps = json.loads(summary)["seconds"]
    assert {"registry-check", "registry-load", "registry-infer", "optimize", "derive"} <= set(steps)
    assert meta["http://purl.org/dc/terms/type"] == kgregistry.SYNTHETIC_DATA


def test_build_add_types_registry_persons_like_the_core(added):
    store = open_read_only(added)
    for cls in (KZR.RepressedPerson, CRM.E21_Person):
        assert ask(store, f"""SELECT (COUNT(?p) AS ?n) WHERE {{ GRAPH <{REGISTRY}> {{ ?p a <{KZR.Person}> }}
            GRAPH <{GRAPHS['inferred']}> {{ ?p a <{cls}> }} }}""") == 300
    rehabilitated = ask(store, f"""SELECT (COUNT(?p) AS ?n) WHERE {{
        GRAPH <{REGISTRY}> {{ ?r <{KZR.rehabilitatedPerson}> ?p }} }}""")
    assert ask(store, f"""SELECT (COUNT(?p) AS ?n) WHERE {{ GRAPH <{REGISTRY}> {{ ?p a <{KZR.Person}> }}
        GRAPH <{GRAPHS['inferred']}> {{ ?p a <{KZR.RehabilitatedPerson}> }} }}""") == rehabilitated < 300
    assert ask(store, f"""SELECT (COUNT(?r) AS ?n) WHERE {{ GRAPH <{REGISTRY}> {{ ?r a <{KZR.PersonRecord}> }}
        GRAPH <{GRAPHS['inferred']}> {{ ?r a <{CRM.E31_Document}> }} }}""") == 300


def test_load_without_reasoning_adds_no_types(tmp_path, registry_dir):
    """build --no-reason: neither HermiT for the core nor the SPARQL rules for the registry."""
    registries = kgregistry.open_registries([registry_dir])
    loaded = kgregistry.load(tmp_path / "store", registries, quiet=True, infer=False)
    assert loaded["counts"]["registry"] == registries[0].manifest["triples"]
    assert loaded["counts"]["inferred"] == 0


def test_registry_types_are_what_hermit_infers(tmp_path, sources):
    """The SPARQL rules give the registry's individuals the very types HermiT gives them."""
    manifest = synthesize(tmp_path / "r", 12, seed=4)
    registry = Graph()
    for name in manifest["vocabulary"] + manifest["records"]:
        registry.parse(tmp_path / "r" / name, format="nt")
    hermit = infer_types(sources.ontology, sources.data + registry)
    store = ox.Store()
    store.bulk_load(input=sources.ontology.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES,
                    to_graph=ox.NamedNode(str(GRAPHS["ontology"])))
    for name in manifest["vocabulary"] + manifest["records"]:
        store.bulk_load(path=str(tmp_path / "r" / name), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(REGISTRY)))
    kgregistry.infer_types(store, tmp_path)
    sparql = {(URIRef(q.subject.value), URIRef(q.object.value))
              for q in store.quads_for_pattern(None, None, None, ox.NamedNode(str(GRAPHS["inferred"])))}
    subjects = set(registry.subjects())
    assert {(s, o) for s, o in hermit.subject_objects(RDF.type) if s in subjects} == {
        (s, o) for s, o in sparql if s in subjects}
    assert {(s, o) for s, o in sparql if s not in subjects} <= set(hermit.subject_objects(RDF.type))


def test_check_names_a_violation_deep_in_the_registry(tmp_path, registry_dir, sources):
    line = broken_copy(registry_dir, tmp_path / "bad", 280,
                       f'<{ID}repression/synth-0000280> {TERM} "40"^^<http://www.w3.org/2001/XMLSchema#integer> .')
    registries = kgregistry.open_registries([tmp_path / "bad"])
    with pytest.raises(kgregistry.RegistryViolations) as caught:
        kgregistry.check(registries, sources, quiet=True, workers=2, batch_bytes=1 << 16)
    assert registries[0].records_count > 200  # the batches before it were checked and passed
    found = [v for v in caught.value.report.violations if v.value == "40"]
    assert len(found) == 1, caught.value.report.text()
    violation = found[0]
    assert (violation.file, violation.line) == (str(tmp_path / "bad" / "persons.nt"), line)
    assert violation.record == f"{ID}record/synth-0000280"
    assert violation.shape.endswith("#Repression-term") and "from 1 to 25" in violation.message
    assert f"persons.nt:{line}: record <{ID}record/synth-0000280>" in str(violation)


def test_build_with_a_violation_leaves_the_previous_store(runner, added, registry_dir, tmp_path):
    build_dir = tmp_path / "build"
    shutil.copytree(added, build_dir, symlinks=True)
    before, target = dump_digest(build_dir), (build_dir / "store").resolve()
    line = broken_copy(registry_dir, tmp_path / "bad", 290,
                       f"<{ID}repression/synth-0000290> <{KZR.place}> <{ID}organisation/special-board> .")
    result = runner.invoke(main, ["build", "--root", str(ROOT), "--build-dir", str(build_dir),
                                  "--add", str(tmp_path / "bad")])
    assert result.exit_code == 1, result.output
    assert f"persons.nt:{line}: record <{ID}record/synth-0000290>" in result.output
    assert "shape:Repression-place" in result.output and "previous store is unchanged" in result.output
    assert "checking registry" not in result.output  # no progress bar when stderr is not a terminal
    assert (build_dir / "store").resolve() == target and dump_digest(build_dir) == before
    assert "synth-0000290" in (build_dir / "failed-validation.txt").read_text()


def test_check_names_a_syntax_error_with_file_and_line(tmp_path, registry_dir, sources):
    shutil.copytree(registry_dir, tmp_path / "bad")
    path = tmp_path / "bad" / "persons.nt"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[4000] = lines[4000].replace("> <", "> ", 1)
    path.write_text("\n".join(lines), encoding="utf-8")
    for workers in (1, 2):
        with pytest.raises(SourceError) as caught:
            kgregistry.check(kgregistry.open_registries([tmp_path / "bad"]), sources, quiet=True, workers=workers,
                             batch_bytes=1 << 18)
        assert str(caught.value).startswith(f"{path}:4001: N-Triples syntax error")


def test_check_refuses_to_describe_the_core(tmp_path, registry_dir, sources):
    line = broken_copy(registry_dir, tmp_path / "bad", 7,
                       f'<{ID}person/bukeikhanov-a> <{KZR.birthYear}> "1866"^^<http://www.w3.org/2001/XMLSchema#gYear> .')
    with pytest.raises(kgregistry.RegistryViolations) as caught:
        kgregistry.check(kgregistry.open_registries([tmp_path / "bad"]), sources, quiet=True, workers=1)
    found = {(v.shape, v.focus, v.line) for v in caught.value.report.violations}
    assert ("registry-core", f"{ID}person/bukeikhanov-a", line) in found


def test_identifier_rules_agree_with_pyshacl(tmp_path, sources):
    """shape:Identifiers in Python (registries) reports what pySHACL's SPARQL reports, on the same graph."""
    from repression_kg.load import Sources
    from repression_kg.validate import validate

    manifest = synthesize(tmp_path / "r", 3, seed=1)
    path = tmp_path / "r" / "persons.nt"
    text = path.read_text(encoding="utf-8").replace(f"<{ID}place/", f"<{ID}place/Bad_Slug-", 1)
    text = text.replace(f"<{ID}concept/sentence-", f"<{ID}concept/no-such-", 1)
    path.write_text(text, encoding="utf-8")
    checker = kgregistry.Checker(kgregistry.rules_for(sources))
    vocabulary = tmp_path / "r" / manifest["vocabulary"][0]
    checker.add_context(kgregistry._types_of(vocabulary))

    def kinds(violations):
        return {(v.focus, "never described" in v.message) for v in violations if v.shape.endswith("#Identifiers")}

    ours = kinds(checker.check(str(path), 1, path.read_bytes()).violations)
    data = Graph().parse(path, format="nt").parse(vocabulary, format="nt")
    context = {o for o in data.objects() if isinstance(o, URIRef) and (o, None, None) not in data
               and (o, RDF.type, None) in sources.data}
    for thing in context:  # the core's things as a batch sees them: their types
        for cls in sources.data.objects(thing, RDF.type):
            data.add((thing, RDF.type, cls))
    report = validate(Sources(root=ROOT, ontology=sources.ontology, shapes=sources.shapes, data=data))
    theirs = kinds(v for v in report.violations if URIRef(v.focus) not in context)
    bad = re.search(f"<({ID}place/Bad_Slug-[^>]+)>", text).group(1)
    missing = re.search(f"<({ID}concept/no-such-[^>]+)>", text).group(1)
    assert ours == theirs == {(bad, False), (bad, True), (missing, True)}


def test_add_needs_a_manifest_and_distinct_names(runner, tmp_path, registry_dir):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(main, ["build", "--root", str(ROOT), "--build-dir", str(tmp_path / "b"),
                                  "--add", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "registry.json" in result.output and "previous store is unchanged" in result.output
    result = runner.invoke(main, ["build", "--root", str(ROOT), "--build-dir", str(tmp_path / "b"),
                                  "--add", str(registry_dir), "--add", str(registry_dir)])
    assert result.exit_code == 2 and "already added" in result.output
    assert not (tmp_path / "b" / "store").exists()
