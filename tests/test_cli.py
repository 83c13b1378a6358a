"""The command line: exit codes, messages on bad input, output formats."""
from __future__ import annotations

import csv
import io
import json

import pytest

from repression_kg.cli import main

from paths import ROOT


def run(runner, *args, env=None):
    return runner.invoke(main, [str(a) for a in args], env=env)


def test_validate_conforms_exit_0(runner):
    result = run(runner, "validate", "--root", ROOT)
    assert result.exit_code == 0, result.output
    assert result.output == "Validation: the data conforms to the shapes.\n"


def test_validate_violation_exit_1_names_file_and_subject(runner, checkout_copy):
    path = checkout_copy / "data" / "persons.ttl"
    path.write_text(path.read_text(encoding="utf-8").replace('kzr:printedForm "L. Zalin"@en ;', ""), encoding="utf-8")
    result = run(runner, "validate", "--root", checkout_copy)
    assert result.exit_code == 1
    assert "data/persons.ttl: person:zalin-l [kzr:printedForm]: A person has a name as the source prints it" in result.output


def test_validate_turtle_report(runner, checkout_copy, tmp_path):
    path = checkout_copy / "data" / "persons.ttl"
    path.write_text(path.read_text(encoding="utf-8").replace('kzr:printedForm "L. Zalin"@en ;', ""), encoding="utf-8")
    out = tmp_path / "report.ttl"
    result = run(runner, "validate", "--root", checkout_copy, "--format", "turtle", "--output", out)
    assert result.exit_code == 1
    from rdflib import Graph
    from rdflib.namespace import SH
    report = Graph().parse(out)
    assert [c.toPython() for c in report.objects(None, SH.conforms)] == [False]
    focus = {str(o) for o in report.objects(None, SH.focusNode)}
    assert focus == {"https://w3id.org/kz-repression/id/person/zalin-l"}


def test_validate_broken_turtle_exit_2_names_file_and_line(runner, checkout_copy):
    path = checkout_copy / "data" / "acts.ttl"
    path.write_text(path.read_text(encoding="utf-8") + "\nact:x a kzr:Law ,, .\n", encoding="utf-8")
    result = run(runner, "validate", "--root", checkout_copy)
    assert result.exit_code == 2
    lines = path.read_text(encoding="utf-8").count("\n")
    assert f"{path}:{lines}: Turtle syntax error" in result.output


def test_build_violation_exit_1(runner, checkout_copy, tmp_path):
    path = checkout_copy / "data" / "stages.ttl"
    path.write_text(path.read_text(encoding="utf-8").replace("kzr:ordinal 9 ;", "kzr:ordinal 8 ;"), encoding="utf-8")
    result = run(runner, "build", "--root", checkout_copy, "--build-dir", tmp_path / "b")
    assert result.exit_code == 1
    assert "data/stages.ttl: stage:repression-9: Two stages of the same kind share the ordinal 8." in result.output
    assert "the previous store is unchanged" in result.output
    assert not (tmp_path / "b" / "store").exists()


def test_build_without_java_exit_2_says_what_to_install(runner, tmp_path):
    result = run(runner, "build", "--root", ROOT, "--build-dir", tmp_path / "b", env={"KZR_JAVA": "/nonexistent/java"})
    assert result.exit_code == 2
    assert "No Java runtime found" in result.output and "apt-get install default-jre-headless" in result.output
    assert "The previous store is unchanged." in result.output


def test_query_table(runner, built):
    result = run(runner, "query", "--build-dir", built, "--file", ROOT / "queries" / "03-stages-overlapping-1937.rq")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "(3 rows)"
    assert "stage:repression-5" in result.output


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json"])
def test_query_formats(runner, built, fmt):
    sparql = "PREFIX kzr: <https://w3id.org/kz-repression/ontology#> SELECT ?n WHERE { ?s a kzr:RepressionStage ; kzr:ordinal ?n } ORDER BY ?n"
    result = run(runner, "query", "--build-dir", built, "--format", fmt, sparql)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        values = [int(b["n"]["value"]) for b in json.loads(result.output)["results"]["bindings"]]
    elif fmt == "csv":
        values = [int(r["n"]) for r in csv.DictReader(io.StringIO(result.output))]
    else:
        values = [int(line.split("^^")[0].strip('"')) for line in result.output.splitlines()[1:]]
    assert values == list(range(1, 10))


def test_query_construct_turtle(runner, built):
    sparql = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <https://w3id.org/kz-repression/graph/data> { ?s ?p ?o FILTER (?s = <https://w3id.org/kz-repression/id/person/zalin-l>) } }"
    result = run(runner, "query", "--build-dir", built, "--format", "turtle", sparql)
    from rdflib import Graph, Literal
    graph = Graph().parse(data=result.output, format="turtle")
    assert Literal("L. Zalin", lang="en") in set(graph.objects())


def test_query_syntax_error_exit_1_with_position(runner, built):
    result = run(runner, "query", "--build-dir", built, "SELECT ?x WHERE { ?x ?y }")
    assert result.exit_code == 1
    assert result.output.startswith("Error: SPARQL syntax error:") and "1:" in result.output


def test_query_without_store_exit_2(runner, tmp_path):
    result = run(runner, "query", "--build-dir", tmp_path, "ASK {}")
    assert result.exit_code == 2
    assert "No built store" in result.output and "repression-kg build" in result.output


def test_query_needs_exactly_one_source(runner, built):
    result = run(runner, "query", "--build-dir", built)
    assert result.exit_code == 2 and "either inline or with --file" in result.output


def test_stats_json(runner, built):
    result = run(runner, "stats", "--build-dir", built, "--json")
    counts = json.loads(result.output)
    kzr = "https://w3id.org/kz-repression/ontology#"
    assert counts["classes"][kzr + "RepressionStage"] == 9
    assert counts["classes"][kzr + "RehabilitationStage"] == 5
    assert counts["citations"] > 500 and counts["claims"] > 200
    assert counts["links"] == 7  # data/links/places.ttl
