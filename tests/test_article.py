"""Every quote in the data stands in the article, at the section and paragraph its citation gives."""
from __future__ import annotations

import pytest
from rdflib import Graph

from repression_kg import article
from repression_kg.load import load_sources
from repression_kg.quotes import citation_problems

from paths import ROOT

pytestmark = pytest.mark.skipif(not article.article_path().exists(),
                                reason=f"the source article is not at {article.article_path()} (set KZR_ARTICLE)")


def test_every_quote_stands_where_its_citation_says():
    sources = load_sources(ROOT)
    assert citation_problems(sources.data + sources.links) == []


def test_paragraphs_cover_every_section():
    sections = {p.section for p in article.paragraphs()}
    assert {"Abstract", "Introduction", "Experimental", "Results and Discussion", "Conclusion"} <= sections
    results = [p for p in article.paragraphs() if p.section == "Results and Discussion"]
    assert results[5].text.startswith("The 1st stage is repressions")
    assert results[9].page == "116" and results[9].text.startswith("The 5th stage")


def test_locate_folds_line_break_hyphens():
    # printed "Japanese-\nGerman agents" at a line end, and "di-\nrections" inside a word
    assert [p.locator for p in article.locate("Japanese-German agents")] == ["Results and Discussion, para. 9"]
    assert [p.locator for p in article.locate("the main directions of the socio-economic")] == ["Abstract, para. 1"]


def test_a_quote_not_in_the_article_is_reported():
    graph = Graph().parse(data="""
        @prefix kzr: <https://w3id.org/kz-repression/ontology#> .
        <https://w3id.org/kz-repression/id/citation/x> a kzr:Citation ;
            kzr:section "Results and Discussion" ; kzr:paragraph 9 ;
            kzr:quote "Alikhan Bukeikhanov was born in 1866"@en .
        <https://w3id.org/kz-repression/id/citation/y> a kzr:Citation ;
            kzr:section "Introduction" ; kzr:paragraph 1 ;
            kzr:quote "The 1st stage is repressions"@en .""", format="turtle")
    problems = citation_problems(graph)
    assert any("citation/x: quote not found" in p for p in problems)
    assert any("citation/y: quote stands in Results and Discussion, para. 6, not Introduction, para. 1" in p for p in problems)
