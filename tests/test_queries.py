"""Every query in queries/ runs against the built store and gives its pinned answer.

The pinned answers are queries/expected/*.csv (see tests/pin_queries.py); the tests below them
check what the most important answers mean, against the article itself where they can.
"""
from __future__ import annotations

import csv
import io
import re

import pytest

from repression_kg import article
from repression_kg.query import format_result, run, select_rows

from paths import ROOT

QUERIES = sorted((ROOT / "queries").glob("*.rq"))


def rows(text: str) -> list[list[str]]:
    """CSV rows, with the parts of GROUP_CONCAT cells sorted (their order is not defined)."""
    return [[", ".join(sorted(re.split(r"; |, ", cell))) for cell in row] for row in csv.reader(io.StringIO(text))]


def answer(store, name: str) -> list[dict]:
    return select_rows(store, (ROOT / "queries" / f"{name}.rq").read_text(encoding="utf-8"))[1]


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_query_gives_its_pinned_answer(store, query):
    text = query.read_text(encoding="utf-8")
    assert text.startswith("# title: ") and "\n# description: " in text
    expected = (ROOT / "queries" / "expected" / f"{query.stem}.csv").read_text(encoding="utf-8")
    got = format_result(run(store, text), "csv")
    assert rows(got) == rows(expected)
    assert len(rows(got)) > 1, "every example query has an answer"


def test_at_least_25_queries():
    assert len(QUERIES) >= 25


def test_stages_in_order_with_bounds(store):
    stages = answer(store, "01-repression-stages")
    assert [int(r["ordinal"]) for r in stages] == list(range(1, 10))
    great_terror = stages[4]
    assert (great_terror["begin"], great_terror["end"], great_terror["edtf"]) == ("1937-01-01", "1938-12-31", "1937/1938")
    assert all(r["begin"] <= r["end"] for r in stages)


def test_stages_overlapping_1937(store):
    assert {r["stage"].rsplit("/", 1)[1] for r in answer(store, "03-stages-overlapping-1937")} == {
        "repression-4", "repression-5", "repression-6"}


@pytest.mark.skipif(not article.article_path().exists(), reason="the source article is not available")
def test_table_1_is_the_printed_table(store):
    printed = {}
    for line in article.table_text().splitlines():
        m = re.match(r"^([A-Z][A-Za-z ]+?)\s+((?:[\d-]+\s*){4})$", line.strip())
        if m:
            printed[m.group(1)] = m.group(2).split()
    assert len(printed) == 10
    got = {r["row"].replace("Table 1 row: ", ""): [r["category1Original"], r["category1Approved"],
                                                   r["category2Original"], r["category2Approved"]]
           for r in answer(store, "07-table-1")}
    assert got == printed


def test_table_1_totals_agree(store):
    totals = answer(store, "08-table-1-totals-check")
    assert len(totals) == 4 and all(r["agrees"] == "true" for r in totals)


def test_conflicting_student_figures_stand_side_by_side(store):
    (row,) = answer(store, "10-conflicting-figures")
    assert {(row["printed1"], row["reference1"]), (row["printed2"], row["reference2"])} == {
        ("about 270", "10"), ("more than 300", "11")}


def test_misprints_are_kept_as_printed(store):
    printed = {r["printed"] for r in answer(store, "22-misprints")}
    assert {"31,820,211", "more than 2.5", "from the mid-1920 to early 1930s"} <= printed


def test_1988_resolution_rehabilitated_six(store):
    assert sorted(r["name"] for r in answer(store, "06-rehabilitated-by-1988-resolution")) == sorted([
        "Sh. Kudaiberdiyev", "A. Baitursynov", "A. Bukeikhanov", "M. Zhumabayev", "Zh. Aymauytov", "M. Dulatov"])


def test_every_reference_is_cited(store):
    refs = answer(store, "12-references-used")
    assert [int(r["number"]) for r in refs] == list(range(1, 28))
    assert all(int(r["citations"]) > 0 for r in refs)
