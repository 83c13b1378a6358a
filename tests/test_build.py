"""The build: what it writes, and that a failed build leaves the previous store as it was."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from repression_kg.build import BuildError, build
from repression_kg.load import SourceError
from repression_kg.namespaces import GRAPHS
from repression_kg.query import select_rows
from repression_kg.store import current_store, open_read_only


@pytest.fixture
def previous(built, tmp_path) -> Path:
    """A copy of the session's build directory, for tests that try to break it."""
    target = tmp_path / "build"
    shutil.copytree(built, target, symlinks=True)
    return target


def fingerprint(build_dir: Path) -> tuple[str, int, str]:
    """Which store is current, how many quads it has, and the build summary."""
    store = open_read_only(build_dir)
    return os.readlink(build_dir / "store"), len(store), (build_dir / "build.json").read_text()


def test_build_writes_every_named_graph(store, built):
    _, rows = select_rows(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    sizes = {r["g"]: int(r["n"]) for r in rows}
    for role in ("ontology", "data", "inferred", "metadata"):
        assert sizes[str(GRAPHS[role])] > 0, role
    summary = json.loads((built / "build.json").read_text())
    assert summary["conforms"] is True
    assert set(summary["seconds"]) == {"parse", "validate", "reason", "store", "derive"}  # "optimize" only with --add
    assert (built / "validation.txt").read_text().startswith("Validation: the data conforms")


def test_store_is_a_symlink_swapped_in_place(built):
    assert (built / "store").is_symlink()
    assert current_store(built).name.startswith("store-")
    assert [p.name for p in built.glob("store-*")] == [current_store(built).name]


def test_broken_turtle_leaves_the_store(checkout_copy, previous):
    before = fingerprint(previous)
    path = checkout_copy / "data" / "persons.ttl"
    lines = path.read_text(encoding="utf-8").splitlines()
    number = lines.index("person:zalin-l a kzr:Person ;")
    lines[number] = 'person:zalin-l a kzr:Person "unterminated ;'
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SourceError) as err:
        build(checkout_copy, previous)
    assert str(err.value).startswith(f"{path}:{number + 1}: Turtle syntax error")
    assert fingerprint(previous) == before


def test_violation_leaves_the_store_and_names_file_and_subject(checkout_copy, previous):
    before = fingerprint(previous)
    path = checkout_copy / "data" / "fonds.ttl"
    path.write_text(path.read_text(encoding="utf-8").replace('kzr:fondNumber "708" ;', ""), encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build(checkout_copy, previous)
    assert [str(v) for v in err.value.report.violations] == [
        "data/fonds.ttl: fond:apk-708 [kzr:fondNumber]: A fond has exactly one number (kzr:fondNumber). (rule shape:Fond-number)"]
    assert fingerprint(previous) == before
    assert "fond:apk-708" in (previous / "failed-validation.txt").read_text()


def test_a_wrong_printed_total_fails_the_build(checkout_copy, previous):
    path = checkout_copy / "data" / "statistics.ttl"
    text = path.read_text(encoding="utf-8")
    assert text.count('kzr:value "1925"^^xsd:decimal') == 1
    path.write_text(text.replace('kzr:value "1925"^^xsd:decimal', 'kzr:value "1926"^^xsd:decimal'), encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build(checkout_copy, previous)
    assert [v.shape.rsplit("#")[-1] for v in err.value.report.violations] == ["PrintedTotals"]
    assert "A printed total (1926) differs from the sum of its rows (1925)" in err.value.report.text()


def test_rebuild_replaces_the_store_and_keeps_the_previous_one(checkout_copy, previous):
    old = current_store(previous)
    build(checkout_copy, previous, reason=False)
    assert current_store(previous) != old and old.is_dir()
    assert os.readlink(previous / "store.previous") == old.name
    _, rows = select_rows(open_read_only(previous), f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPHS['inferred']}> {{ ?s ?p ?o }} }}")
    assert rows[0]["n"] == "0"
