"""Federated queries leave through us: a loopback relay that calls the allowed SPARQL services
with our own User-Agent and time limit (Oxigraph's SERVICE client offers neither setting).

The query's SERVICE targets are rewritten to http://127.0.0.1:<port>/service/<n>; the relay
forwards each call to the n-th allowed endpoint and relays the answer.
"""
from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import __version__

USER_AGENT = (f"repression-kg/{__version__} (Kazakhstan repression knowledge graph; "
              "federated SPARQL query on behalf of a user of its endpoint)")


class FederationRelay:
    """A relay on 127.0.0.1 for the allowed SERVICE endpoints."""

    def __init__(self, allowed: list[str] | tuple[str, ...], timeout: float = 20.0):
        self.allowed = list(allowed)
        self.timeout = timeout
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="federation-relay").start()

    @property
    def routes(self) -> dict[str, str]:
        """Allowed endpoint -> the relay address that stands for it."""
        port = self._server.server_address[1]
        return {target: f"http://127.0.0.1:{port}/service/{i}" for i, target in enumerate(self.allowed)}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._forward(None)

            def do_POST(self):
                self._forward(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _forward(self, body: bytes | None) -> None:
                path, _, query = self.path.partition("?")
                index = path.removeprefix("/service/")
                if not index.isdigit() or int(index) >= len(relay.allowed):
                    self.send_error(404, "No such federated service")
                    return
                url = relay.allowed[int(index)] + (("?" + query) if query else "")
                headers = {"User-Agent": USER_AGENT, "Accept": self.headers.get("Accept", "*/*")}
                if body is not None:
                    headers["Content-Type"] = self.headers.get("Content-Type", "application/x-www-form-urlencoded")
                request = urllib.request.Request(url, data=body, headers=headers, method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=relay.timeout) as response:
                        self._relay(response.status, response.headers.get("Content-Type", ""), response.read())
                except urllib.error.HTTPError as err:
                    self._relay(err.code, err.headers.get("Content-Type", "text/plain"), err.read())
                except (urllib.error.URLError, OSError) as err:
                    self._relay(504, "text/plain", f"The federated service {url} did not answer: {err}".encode())

            def _relay(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # quiet: the app logs requests
                pass

        return Handler
