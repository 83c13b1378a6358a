"""Every SHACL rule: the valid fixture conforms, and each broken fixture reports exactly its rule."""
from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import SH

from repression_kg.load import Sources, parse_turtle
from repression_kg.namespaces import PREFIXES, curie, sparql_prefixes
from repression_kg.validate import validate

from paths import FIXTURES, ROOT

INVALID = sorted((FIXTURES / "shapes" / "invalid").glob("*.ru"))


def sources_with(data: Graph) -> Sources:
    """The real ontology and shapes with the given data."""
    return Sources(
        root=ROOT,
        ontology=parse_turtle(ROOT / "ontology" / "ontology.ttl"),
        shapes=parse_turtle(ROOT / "ontology" / "shapes.ttl"),
        data=data,
    )


def valid_graph() -> Graph:
    graph = parse_turtle(FIXTURES / "shapes" / "valid.ttl")
    for prefix, ns in PREFIXES.items():  # rdflib's own defaults (org:, ...) must not win in updates
        graph.bind(prefix, ns, override=True, replace=True)
    return graph


def expectations(path: Path) -> set[tuple[str, str]]:
    """The '# expect: RULE FOCUS' lines of a broken fixture."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {tuple(line.split()[2:4]) for line in lines if line.startswith("# expect:")}


def test_valid_fixture_conforms():
    report = validate(sources_with(valid_graph()))
    assert report.conforms, report.text()


def test_total_note_explains_a_differing_total():
    graph = valid_graph()
    graph.update(sparql_prefixes() + """
        DELETE WHERE { obs:test-total kzr:value ?v } ;
        INSERT DATA { obs:test-total kzr:value 4.0 .
                      dataset:test kzr:totalNote "The source's total includes a row it does not print."@en }""")
    assert validate(sources_with(graph)).conforms


@pytest.mark.parametrize("case", INVALID, ids=[p.stem for p in INVALID])
def test_broken_fixture_reports_its_rule(case: Path):
    graph = valid_graph()
    graph.update(sparql_prefixes() + case.read_text(encoding="utf-8"))
    report = validate(sources_with(graph))
    found = {(curie(v.shape) if v.shape.startswith("http") else v.shape, curie(v.focus)) for v in report.violations}
    assert found == expectations(case), report.text()


def test_every_rule_has_a_broken_fixture():
    shapes = Graph().parse(ROOT / "ontology" / "shapes.ttl")
    rules = {SH.path, SH.sparql, SH["or"]}  # shapes that report; the rest only group property shapes
    named = {curie(str(s)) for s, p in shapes.subject_predicates()
             if p in rules and str(s).startswith("https://w3id.org/kz-repression/shapes#")}
    covered = {rule for p in INVALID for rule, _ in expectations(p)}
    assert named - covered == set()
