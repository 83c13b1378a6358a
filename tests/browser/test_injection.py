"""Script injection: the real graph plus script and HTML payloads, served for real, opened in Chromium.

The payloads (tests/fixtures/injection/, synthetic) sit in labels, printed forms, notes, quotes,
datatypes, IRIs and example queries of a copy of the built store. On every kind of page no script
may run (window.__pwned stays unset, no dialog opens), the Content-Security-Policy reports no
violation on the page (one would mean markup got through the escaping and only the policy stopped
it), no element carries an event handler, no link or source is a javascript: URL, and each
payload shows as text.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

import pyoxigraph as ox
import pytest
from playwright.sync_api import Error as PlaywrightError
from servers import BIN, free_port, running

from repression_kg.store import current_store

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "injection"
INJ = "urn:kzr-injection:"
ID = "https://w3id.org/kz-repression/id/"
DATA_GRAPH = "https://w3id.org/kz-repression/graph/data"
# Copy the template's statements onto every target, then drop the fixture graph.
STAMP = f"""INSERT {{ GRAPH <{DATA_GRAPH}> {{ ?t ?p ?o }} }}
WHERE {{ GRAPH <{INJ}fixture> {{ <{INJ}fixture> <{INJ}target> ?t . <{INJ}template> ?p ?o }} }} ;
DROP GRAPH <{INJ}fixture>"""
WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push({
  directive: e.violatedDirective, source: e.sourceFile,
  element: e.target instanceof Element ? e.target.outerHTML.slice(0, 200) : null}));"""
# YASGUI passes every result value through DOMPurify to index it for its filter box; DOMPurify
# parses it in an inert document, where Chromium reports (and blocks) any handler attribute.
# Those reports name YASGUI's script and no element of the page: the sanitiser at work, not an injection.
SANITISER = "/ui-assets/yasgui.min.js"
HANDLERS = """Array.from(document.querySelectorAll('*')).flatMap(e => Array.from(e.attributes)
  .filter(a => a.name.toLowerCase().startsWith('on')).map(a => e.tagName + ' ' + a.name))"""
INLINE_SCRIPTS = "script:not([src]):not([type='application/json'])"
DANGEROUS = ("[href^='javascript:' i], [src^='javascript:' i], [action^='javascript:' i], [data^='javascript:' i], "
             "a[href^='data:' i], [src^='data:text' i], iframe, object, embed, base")
# A payload without '/' for paths, and one for parameters.
IN_PATH = "<img src=x onerror=\"window.__pwned='path'\">"
QUOTE = "</blockquote><script>window.__pwned='quote'</script>"
IN_PARAM = "\"><script>window.__pwned='param'</script><img src=x onerror=alert('param')>"


@pytest.fixture(scope="module")
def fixture_graph() -> ox.Store:
    """The payload fixture, as it is in the file."""
    graph = ox.Store()
    graph.load(path=str(FIXTURE / "payloads.trig"), format=ox.RdfFormat.TRIG)
    return graph


@pytest.fixture(scope="module")
def targets(fixture_graph) -> list[str]:
    """The things that carry the template's payloads, as page paths (/page/kind/slug)."""
    quads = fixture_graph.quads_for_pattern(ox.NamedNode(INJ + "fixture"), ox.NamedNode(INJ + "target"), None)
    return sorted("/page/" + q.object.value[len(ID):] for q in quads)


@pytest.fixture(scope="module")
def template(fixture_graph) -> list[str]:
    """What every target's page must show as text: the template's literals and foreign IRIs."""
    quads = fixture_graph.quads_for_pattern(ox.NamedNode(INJ + "template"), None, None)
    return sorted({q.object.value for q in quads if not q.object.value.startswith(ID)})


@pytest.fixture(scope="module")
def injected_build(built, tmp_path_factory) -> Path:
    """A build directory whose store is the built one plus the payloads."""
    build_dir = tmp_path_factory.mktemp("injection") / "build"
    build_dir.mkdir()
    store = ox.Store(str(build_dir / "store-injected"))
    store.bulk_extend(ox.Store.read_only(str(current_store(built))).quads_for_pattern(None, None, None, None))
    store.load(path=str(FIXTURE / "payloads.trig"), format=ox.RdfFormat.TRIG)
    store.update(STAMP)
    store.flush()
    del store
    (build_dir / "store").symlink_to("store-injected")
    for name in ("build.json", "validation.txt", "validation.ttl"):
        if (built / name).exists():
            shutil.copy(built / name, build_dir / name)
    return build_dir


@pytest.fixture(scope="module")
def site(injected_build):
    """A real `repression-kg serve` over the payload store, with the payload example queries."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "repression-kg"), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--build-dir", str(injected_build)]
    with running(command, base + "/health", {"KZR_QUERIES_DIR": str(FIXTURE / "queries")}):
        yield base


class Visit:
    """One page in a fresh browser context, with what it did."""

    def __init__(self, browser, base: str):
        self.context = browser.new_context(base_url=base)
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.dialogs, self.errors = [], []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str):
        response = self.page.goto(path)
        self.page.wait_for_load_state("load")
        return response

    def settle(self) -> None:
        """Let handlers and timers that a payload could have set fire."""
        self.page.wait_for_timeout(300)

    def assert_nothing_ran(self) -> None:
        self.settle()
        assert self.page.evaluate("window.__pwned") is None
        assert self.dialogs == []
        violations = self.page.evaluate("window.__violations")
        assert [v for v in violations if v["element"] or not v["source"].endswith(SANITISER)] == []
        assert self.page.evaluate(HANDLERS) == []
        assert self.page.locator(INLINE_SCRIPTS).count() == 0
        assert self.page.locator(DANGEROUS).evaluate_all("els => els.map(e => e.outerHTML)") == []

    def text(self) -> str:
        return self.page.inner_text("body")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, site):
    visits = []

    def open_visit() -> Visit:
        visits.append(Visit(browser, site))
        return visits[-1]

    yield open_visit
    for v in visits:
        v.close()


def assert_html_headers(response) -> None:
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_every_kind_of_entity_page_shows_payloads_as_text(visit, targets, template):
    kinds = {path.split("/")[2] for path in targets}
    assert {"person", "organisation", "place", "act", "event", "stage", "repression", "rehabilitation", "fond",
            "charge", "category", "source", "citation", "observation", "dataset", "timespan"} <= kinds
    v = visit()
    for path in targets:
        response = v.open(path)
        assert response.status == 200, path
        assert_html_headers(response)
        v.assert_nothing_ran()
        text = v.text()
        assert [value for value in template if value not in text] == [], path
        if "/citation/" not in path:  # a citation's page shows its own quote, not those of its citations
            assert QUOTE in text, path
    assert v.open("/page/citation/injected-zz").status == 200
    v.assert_nothing_ran()
    assert QUOTE in v.text() and "<script>window.__pwned='section'</script>" in v.text()


def test_home_ontology_void_and_dumps(visit, targets):
    v = visit()
    assert v.open("/").status == 200
    v.assert_nothing_ran()
    assert "\"><svg onload=\"window.__pwned='label-svg'\">" in v.text()  # stage 2's first label, in the table
    assert v.page.locator("svg a title", has_text="label-svg").count() >= 1  # and in the timeline
    assert v.open("/ontology").status == 200
    v.assert_nothing_ran()
    assert "</title><script>window.__pwned='ontology-label'</script>" in v.text()
    assert "<img src=x onerror=\"window.__pwned='ontology-definition'\">" in v.text()
    assert v.open("/.well-known/void").status == 200
    v.assert_nothing_ran()
    assert "Zz'onmouseover='window.__pwned=1'" in v.text()
    response = v.open("/dumps/")
    assert response.status == 200
    assert_html_headers(response)
    v.assert_nothing_ran()


def test_search_results_and_the_echoed_query(visit):
    v = visit()
    assert v.open("/search?q=Zzinjected&limit=100").status == 200
    v.assert_nothing_ran()
    assert v.text().count("Zzinjected </title><script>alert('title')</script>") >= 21
    assert v.open("/search?q=" + quote(IN_PARAM)).status == 200
    v.assert_nothing_ran()
    assert IN_PARAM in v.text()
    assert v.page.locator("main input[name=q]").input_value() == IN_PARAM


def test_registry_facets(visit):
    v = visit()
    for path in ("/facets", "/persons?region=" + quote(IN_PARAM) + "&year=" + quote(IN_PATH)):
        response = v.open(path)
        assert response.status == 200
        assert_html_headers(response)
        v.assert_nothing_ran()


def test_reconcile_preview(visit):
    v = visit()
    response = v.open("/reconcile/preview?id=person/injected-zz")
    assert response.status == 200
    v.assert_nothing_ran()
    text = v.text()
    assert "<img src=x onerror=\"window.__pwned='printed-img'\">" in text
    assert QUOTE in text


@pytest.mark.parametrize("path, status", [
    ("/page/person/" + quote(IN_PATH), 404),
    ("/id/event/" + quote(IN_PATH), 404),
    ("/data/person/" + quote(IN_PATH) + ".ttl", 404),
    ("/ontology/" + quote(IN_PATH), 404),
    ("/facets/" + quote(IN_PATH), 404),
    ("/reconcile/preview?id=" + quote(IN_PARAM), 404),
    ("/sparql?query=ASK%7B%7D&timeout=" + quote(IN_PARAM), 400),
    ("/search?q=x&limit=" + quote(IN_PARAM), 400),
    ("/sparql?query=" + quote(IN_PARAM), 400),
])
def test_error_pages_echo_payloads_as_text(visit, path, status):
    v = visit()
    response = v.open(path)
    assert response.status == status
    assert_html_headers(response)
    v.assert_nothing_ran()
    shown = v.page.locator(".error-message").inner_text()
    echoed = [p for p in (IN_PATH, IN_PARAM, repr(IN_PATH), repr(IN_PARAM)) if p in shown]
    assert echoed or "SPARQL syntax error" in shown


def test_query_ui_with_payload_examples_and_results(visit):
    v = visit()
    response = v.open("/sparql")
    assert_html_headers(response)
    v.page.wait_for_selector(".yasgui .yasqe .CodeMirror")
    v.page.locator("details#examples-list > summary").click()
    text = v.text()
    assert "</script><script>window.__pwned='example-title'</script>" in text
    assert "<img src=x onerror=\"window.__pwned='example-description'\"> {{ 7*7 }}" in text
    with v.page.expect_response(lambda r: r.url.endswith("/sparql") and r.request.method == "POST") as answer:
        v.page.locator(".yasqe_queryButton:visible").click()
    assert answer.value.status == 200
    v.page.wait_for_selector(".yasr table.dataTable tbody tr")
    v.assert_nothing_ran()
    table = v.page.locator(".yasr table.dataTable").inner_text()
    assert "<script>window.__pwned='label-script'</script>" in table
    v.page.locator(".yasr .select_response").click()
    v.assert_nothing_ran()
    assert v.errors == []


def test_query_ui_runs_a_payload_query_from_the_fragment(visit):
    query = "SELECT ?x WHERE { BIND(\"<img src=x onerror=\\\"window.__pwned='fragment'\\\">\" AS ?x) }"
    v = visit()
    v.open("/sparql#query=" + quote(query))
    v.page.wait_for_selector(".yasr table.dataTable tbody tr")
    v.assert_nothing_ran()
    assert "<img src=x onerror=\"window.__pwned='fragment'\">" in v.page.locator(".yasr table.dataTable").inner_text()
    assert v.errors == []


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_a_query_answer_opened_in_the_browser_is_not_a_page(visit, fmt):
    payload = "<script>window.__pwned='answer'</script><img src=x onerror=alert('answer')>"
    query = f"SELECT ?x WHERE {{ BIND(\"{payload}\" AS ?x) }}"
    v = visit()
    answer = v.page.request.get("/sparql?format=" + fmt + "&query=" + quote(query))
    assert answer.status == 200 and "html" not in answer.headers["content-type"]
    assert "sandbox" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    downloads = []
    v.page.on("download", lambda d: downloads.append(d))
    try:  # the browser downloads the answer, or shows it as text
        v.page.goto("/sparql?format=" + fmt + "&query=" + quote(query))
        shown = v.text()
    except PlaywrightError as err:
        assert "Download is starting" in str(err)
        download = downloads[0] if downloads else v.page.wait_for_event("download")
        shown = Path(download.path()).read_text(encoding="utf-8")
        if fmt == "xml":  # the escaped XML, read back
            shown = "".join(ElementTree.fromstring(shown).itertext())
    v.assert_nothing_ran()
    assert payload in shown
