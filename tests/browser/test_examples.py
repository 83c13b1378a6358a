"""The example queries offered by the query UI (web/ui.py): no browser needed."""
from __future__ import annotations

from pathlib import Path

from repression_kg.web.ui import examples, read_header

QUERIES = Path(__file__).resolve().parents[2] / "queries"


def test_examples_are_the_query_files_in_order():
    found = examples(QUERIES)
    assert [e["name"] for e in found] == sorted(p.stem for p in QUERIES.glob("*.rq"))
    first = found[0]
    assert first["name"] == "01-repression-stages"
    assert first["title"] == "The nine stages of repression in order"
    assert first["description"].startswith("Each stage of repression with the source's wording")
    assert first["query"] == (QUERIES / "01-repression-stages.rq").read_text(encoding="utf-8")
    assert all(e["title"] and e["description"] and "SELECT" in e["query"] for e in found)


def test_header_is_read_from_the_opening_comments_only():
    text = "# title: A: with a colon\n# note: ignored\nSELECT * { ?s ?p ?o }\n# description: too late\n"
    assert read_header(text) == {"title": "A: with a colon"}


def test_a_file_without_header_is_named_by_its_stem(tmp_path):
    (tmp_path / "b.rq").write_text("ASK {}\n", encoding="utf-8")
    (tmp_path / "a.rq").write_text("# title: First\nASK {}\n", encoding="utf-8")
    assert [(e["name"], e["title"], e["description"]) for e in examples(tmp_path)] == [
        ("a", "First", ""), ("b", "b", "")]
