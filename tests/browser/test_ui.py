"""The site in a real browser: the SPARQL query UI, the home timeline, an entity page, search."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from repression_kg.web.ui import examples

pytestmark = pytest.mark.browser

HOST = "127.0.0.1"  # the server's address (conftest.HOST)
EXAMPLES = examples(Path(__file__).resolve().parents[2] / "queries")
TABS = ".yasgui .tabsList .tab"
ROWS = ".yasr table.dataTable:visible tbody tr"


def foreign(urls: list[str]) -> list[str]:
    """The URLs that go to any host but ours (data: and blob: URLs stay in the page)."""
    return [url for url in urls if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != HOST]


def open_ui(page) -> None:
    """Open /sparql and wait until YASGUI has drawn its editor."""
    page.goto("/sparql")
    page.wait_for_selector(".yasgui .yasqe .CodeMirror")


def tab_names(page) -> list[str]:
    """The names on the YASGUI tabs, in order."""
    return [text.replace("✖", "").strip() for text in page.locator(TABS).all_inner_texts()]


def open_example(page, title: str) -> None:
    """Unfold the list of examples and click one."""
    page.locator("details#examples-list > summary").click()
    page.locator("button.example", has_text=title).click()


def run_query(page) -> list[str]:
    """Run the query of the visible tab; the text of each row of the result table."""
    with page.expect_response(lambda r: r.url.endswith("/sparql") and r.request.method == "POST") as answer:
        page.locator(".yasqe_queryButton:visible").click()
    assert answer.value.status == 200
    page.wait_for_selector(ROWS)
    return page.locator(ROWS).all_inner_texts()


def test_ui_loads_yasgui_from_us_with_the_first_example(page):
    open_ui(page)
    assert f"http://{HOST}" in page.locator("#yasgui").get_attribute("data-endpoint")
    paths = {urlsplit(url).path for url in page.requests}
    assert {"/ui-assets/yasgui.min.js", "/ui-assets/yasgui.min.css", "/static/ui.js"} <= paths
    assert tab_names(page) == [EXAMPLES[0]["title"]]
    assert page.evaluate("kzrYasgui.getTab().getQuery()") == EXAMPLES[0]["query"]
    assert page.locator("button.example").count() == len(EXAMPLES)
    assert page.errors == []


def test_ui_runs_the_chosen_examples(page):
    open_ui(page)
    open_example(page, "The five stages of rehabilitation in order")
    assert tab_names(page) == [EXAMPLES[0]["title"], "The five stages of rehabilitation in order"]
    assert len(run_query(page)) == 5
    open_example(page, "The nine stages of repression in order")
    assert len(tab_names(page)) == 2  # the example already open is selected, not opened again
    rows = run_query(page)
    assert len(rows) == 9
    assert any("Stage 5 of repression" in row for row in rows)
    assert foreign(page.requests) == [] and page.errors == []


def test_ui_reload_keeps_the_same_tabs(page):
    open_ui(page)
    open_example(page, "Table 1 as printed")
    before = tab_names(page)
    page.reload()
    page.wait_for_selector(".yasgui .yasqe .CodeMirror")
    assert tab_names(page) == before == [EXAMPLES[0]["title"], "Table 1 as printed"]


def test_ui_asks_no_other_host(page):
    open_ui(page)
    run_query(page)
    editor = page.locator(".yasqe .CodeMirror:visible")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # Class and property suggestions would ask lov.linkeddata.es, prefixes prefix.cc.
    page.keyboard.type("PREFIX foaf: <http://xmlns.com/foaf/0.1/>\nSELECT * WHERE { ?x a foaf:Pers")
    page.keyboard.press("Control+Space")
    page.keyboard.type("on ; foaf:nam")
    page.keyboard.press("Control+Space")
    page.wait_for_timeout(500)  # nothing to wait for: the requests must not happen at all
    assert page.requests and foreign(page.requests) == []


def test_ui_opens_and_runs_a_query_from_the_url_fragment(page):
    query = "PREFIX kzr: <https://w3id.org/kz-repression/ontology#>\nSELECT (COUNT(*) AS ?n) { ?s a kzr:RepressionStage }"
    page.goto("/sparql#query=" + quote(query) + "&tabTitle=" + quote("Count the stages"))
    page.wait_for_selector(ROWS)
    assert tab_names(page) == ["Count the stages"]
    assert page.evaluate("kzrYasgui.getTab().getQuery()") == query
    assert '"9"' in page.locator(ROWS).inner_text()


def test_home_timeline_links_the_fourteen_stages(page):
    page.goto("/")
    timeline = page.locator("main svg", has=page.locator("a[href*='/stage/']"))
    assert timeline.count() == 1 and timeline.is_visible()
    hrefs = timeline.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    stages = {href for href in hrefs if "/stage/" in href}
    assert len(stages) == 14
    assert all(page.request.get(href).status == 200 for href in stages)
    assert foreign(page.requests) == []


def test_entity_page_shows_a_citation(page):
    response = page.goto("/page/person/bukeikhanov-a")
    assert response.status == 200
    cited = page.locator("blockquote", has_text="This list of names is headed up by A. Bukeikhanov")
    assert cited.count() >= 1
    assert "Saktaganova 2021" in page.locator("main").inner_text()


def test_search_finds_a_person_from_kazakh_cyrillic(page):
    page.goto("/")
    box = page.locator("header.site form.search input[name=q]")
    box.fill("Бөкейхан")
    with page.expect_navigation():
        box.press("Enter")
    assert "/search" in page.url
    assert page.locator("main a", has_text="A. Bukeikhanov").count() >= 1
