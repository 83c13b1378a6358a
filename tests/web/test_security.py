"""Security headers on every kind of answer, no inline script in any page, and the per-client query limit (in-process)."""
from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from repression_kg.web import create_app
from repression_kg.web.security import is_linkable

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ASK = "ASK { ?s ?p ?o }"
PAGES = ["/", "/sparql", "/page/person/bukeikhanov-a", "/page/stage/repression-5", "/ontology",
         "/search?q=Bukeikhanov", "/.well-known/void", "/dumps/", "/facets", "/no/such/page", "/sparql?query=SELEC"]


def directives(policy: str) -> dict[str, str]:
    """A Content-Security-Policy as {directive: sources}."""
    parts = (d.strip().split(None, 1) for d in policy.split(";") if d.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


class ScriptFinder(HTMLParser):
    """Collects what would run as script: inline <script> bodies, event-handler attributes, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.found.append(f"inline <script> {attrs}")
        self.found += [f"<{tag} {k}=...>" for k in attrs if k.startswith("on")]
        self.found += [f"<{tag} {k}={v}>" for k, v in attrs.items()
                       if k in ("href", "src", "action") and v and v.strip().lower().startswith("javascript:")]


@pytest.mark.parametrize("path", PAGES)
def test_html_pages_have_a_strict_policy(client, path):
    response = client.get(path, headers=HTML)
    assert response.mimetype == "text/html"
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'" and response.headers["X-Frame-Options"] == "DENY"
    assert policy["form-action"] == "'self'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_no_inline_script(client, path):
    finder = ScriptFinder()
    finder.feed(client.get(path, headers=HTML).get_data(as_text=True))
    assert finder.found == []


@pytest.mark.parametrize("path, accept", [
    ("/sparql?query=" + ASK, "application/sparql-results+json"),
    ("/sparql", "text/turtle"),
    ("/data/person/bukeikhanov-a.ttl", "*/*"),
    ("/search?q=Bukeikhanov&format=json", "application/json"),
    ("/reconcile", "application/json"),
    ("/health", "*/*"),
    ("/no/such/page", "application/json"),
])
def test_other_answers_forbid_everything_and_keep_cors(client, path, accept):
    response = client.get(path, headers={"Accept": accept})
    assert response.mimetype != "text/html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == "'none'" and "sandbox" in policy


def test_reconcile_preview_may_be_framed_by_openrefine(client):
    response = client.get("/reconcile/preview?id=person/bukeikhanov-a", headers=HTML)
    assert response.status_code == 200
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "*" and policy["script-src"] == "'self'"
    assert "X-Frame-Options" not in response.headers


def test_a_view_header_is_kept(client):
    response = client.options("/sparql", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert response.status_code == 204
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("href, linkable", [
    ("https://www.wikidata.org/entity/Q232", True), ("http://example.org/x", True), ("/page/person/x", True),
    ("#Person", True), ("javascript:alert(1)", False), ("JavaScript:alert(1)", False),
    ("data:text/html;base64,PHNjcmlwdD4=", False), ("//evil.example/x", False), ("urn:isbn:123", False),
    (None, False), ("", False),
])
def test_only_web_iris_and_our_paths_are_linked(href, linkable):
    assert is_linkable(href) is linkable


@pytest.fixture
def limited(memory_backend):
    """An app that lets one client run one query at a time."""
    return create_app({"TESTING": True, "BACKEND": memory_backend, "CLIENT_QUERY_SLOTS": 1, "SERVICE_ALLOW": ()})


def test_a_client_past_its_slots_gets_429_and_others_are_served(limited):
    client, slots = limited.test_client(), limited.extensions["kg_slots"]
    assert slots.acquire("127.0.0.1")  # as if a query of this client were running
    try:
        refused = client.post("/sparql", data={"query": ASK}, headers={"Accept": "application/json"})
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "5"
        body = json.loads(refused.data)
        assert body["ok"] is False and body["status"] == 429
        assert "at most 1 SPARQL query from one client at a time" in body["error"]
        page = client.get("/sparql?query=" + ASK, headers=HTML)
        assert page.status_code == 429 and "Too Many Requests" in page.get_data(as_text=True)
        assert client.get("/sparql", headers=HTML).status_code == 200  # the query UI is not a query
        assert client.get("/page/person/bukeikhanov-a", headers=HTML).status_code == 200
        other = client.post("/sparql", data={"query": ASK}, environ_base={"REMOTE_ADDR": "127.0.0.9"})
        assert other.status_code == 200
    finally:
        slots.release("127.0.0.1")
    assert client.post("/sparql", data={"query": ASK}).status_code == 200


def test_a_slot_is_given_back_whatever_the_answer(limited):
    client = limited.test_client()
    for query in ("SELEC", "INSERT DATA { <a:a> <a:b> <a:c> }", ASK, ASK):
        assert client.post("/sparql", data={"query": query}).status_code in (200, 400, 403)


def test_forwarded_for_is_ignored_unless_proxies_are_configured(memory_backend):
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    for hops, expected in ((0, "127.0.0.1"), (1, "203.0.113.7")):
        app = create_app({"TESTING": True, "BACKEND": memory_backend, "CLIENT_QUERY_SLOTS": 1,
                          "SERVICE_ALLOW": (), "PROXY_HOPS": hops})
        app.extensions["kg_slots"].acquire(expected)
        response = app.test_client().post("/sparql", data={"query": ASK}, headers=forwarded)
        assert response.status_code == 429 and expected in json.loads(response.data)["error"]


def test_the_default_limit_leaves_a_worker_to_others(memory_backend):
    app = create_app({"TESTING": True, "BACKEND": memory_backend, "SERVICE_ALLOW": (), "QUERY_WORKERS": 4})
    assert app.extensions["kg_slots"].limit == 3
    app = create_app({"TESTING": True, "BACKEND": memory_backend, "SERVICE_ALLOW": (), "QUERY_WORKERS": 1})
    assert app.extensions["kg_slots"].limit == 1
