"""Federated queries: allowed SERVICE calls leave through our relay with our User-Agent and time limit."""
from __future__ import annotations

import http.server
import threading
import time

import pytest

from repression_kg.web import create_app

ANSWER = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"from the stand-in"}}]}}'


class StandIn(http.server.BaseHTTPRequestHandler):
    """A SPARQL service stand-in on 127.0.0.1 that records who called it; /slow answers after 3 s."""

    calls: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        StandIn.calls.append({"path": self.path, "ua": self.headers.get("User-Agent"), "body": body})
        if self.path.startswith("/slow"):
            time.sleep(3)
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def stand_in():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def federated_client(memory_backend, stand_in):
    app = create_app({"TESTING": True, "BACKEND": memory_backend, "FEDERATION_TIMEOUT": 1,
                      "SERVICE_ALLOW": [stand_in + "/sparql", stand_in + "/slow"]})
    yield app.test_client()
    app.extensions["kg_federation"].close()


def test_allowed_service_is_called_with_our_user_agent(federated_client, stand_in):
    StandIn.calls.clear()
    query = f"PREFIX s: <{stand_in}/> SELECT ?x WHERE {{ SERVICE s:sparql {{ ?x ?p ?o }} }}"
    response = federated_client.get("/sparql", query_string={"query": query})
    assert response.status_code == 200
    assert [b["x"]["value"] for b in response.json["results"]["bindings"]] == ["from the stand-in"]
    assert len(StandIn.calls) == 1 and StandIn.calls[0]["path"] == "/sparql"
    assert StandIn.calls[0]["ua"].startswith("repression-kg/") and "Kazakhstan repression knowledge graph" in StandIn.calls[0]["ua"]


def test_slow_service_is_cut_at_the_federation_time_limit(federated_client, stand_in):
    start = time.monotonic()
    response = federated_client.get("/sparql", query_string={"query": f"SELECT * WHERE {{ SERVICE <{stand_in}/slow> {{ ?x ?p ?o }} }}"})
    assert time.monotonic() - start < 2.5
    assert response.status_code == 504
    assert response.json["error"].startswith(f"The federated service {stand_in}/slow did not answer")
    assert "/service/" not in response.json["error"]  # the relay's own address is not shown


def test_relay_address_itself_is_not_an_allowed_service(federated_client, app):
    relay_url = next(iter(federated_client.application.extensions["kg_federation"].routes.values()))
    response = federated_client.get("/sparql", query_string={"query": f"SELECT * WHERE {{ SERVICE <{relay_url}> {{ ?x ?p ?o }} }}"})
    assert response.status_code == 400 and "is not allowed" in response.json["error"]
