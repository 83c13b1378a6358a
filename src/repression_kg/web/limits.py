"""A per-client limit on concurrent SPARQL queries: past it, 429 Too Many Requests with Retry-After.

What counts: every query sent to /sparql (GET with query=, or POST), from its arrival until its
answer, whatever its cost. A query cannot be known to be cheap before it runs, and an open slot
costs nothing: a client that sends its queries one after another never meets the limit, while
one that sends a burst of cartesian products cannot hold every query worker. The pages' own
queries (entity pages, home, search, reconciliation) are bounded by their code and not counted.

The limit is CLIENT_QUERY_SLOTS (KZR_CLIENT_QUERY_SLOTS); by default one fewer than the query
workers, at least one, so that one client always leaves a worker to the others. The client is
the connection's address (request.remote_addr). X-Forwarded-For is trusted only for the number
of proxies set in PROXY_HOPS (KZR_PROXY_HOPS), each of which appends the address it saw.
"""
from __future__ import annotations

import threading

from flask import Flask, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import ApiError

RETRY_AFTER = 5  # seconds a refused client is asked to wait


class ClientSlots:
    """How many queries each client is running, and the limit on that number."""

    def __init__(self, limit: int):
        self.limit = limit
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, client: str) -> bool:
        """Take a slot for a client; False if it already runs as many queries as the limit allows."""
        with self._lock:
            if self._running.get(client, 0) >= self.limit:
                return False
            self._running[client] = self._running.get(client, 0) + 1
            return True

    def release(self, client: str) -> None:
        """Give a slot back."""
        with self._lock:
            left = self._running.get(client, 0) - 1
            if left > 0:
                self._running[client] = left
            else:
                self._running.pop(client, None)


def slot_limit(config) -> int:
    """The configured limit, or one fewer than the query workers (at least one)."""
    if config.get("CLIENT_QUERY_SLOTS") is not None:
        return max(1, int(config["CLIENT_QUERY_SLOTS"]))
    return max(1, int(config["QUERY_WORKERS"]) - 1)


def is_query() -> bool:
    """Whether this request asks /sparql for a query (not the query UI or the service description)."""
    if request.endpoint != "sparql.endpoint":
        return False
    return request.method == "POST" or "query" in request.args


def take_slot() -> None:
    """Before a query: take one of the client's slots, or refuse with 429."""
    if not is_query():
        return
    slots: ClientSlots = current_app.extensions["kg_slots"]
    client = request.remote_addr or "unknown"
    if not slots.acquire(client):
        raise ApiError(429, f"Too many queries at once from {client}: this endpoint runs at most {slots.limit} "
                            f"SPARQL {'query' if slots.limit == 1 else 'queries'} from one client at a time. "
                            f"Wait for an answer before sending the next query (retry after {RETRY_AFTER} s).",
                       {"Retry-After": str(RETRY_AFTER)})
    g.query_slot = client


def give_back_slot(_error=None) -> None:
    """After the request, whatever happened: give the slot back."""
    client = g.pop("query_slot", None)
    if client is not None:
        current_app.extensions["kg_slots"].release(client)


def init_app(app: Flask) -> None:
    app.extensions["kg_slots"] = ClientSlots(slot_limit(app.config))
    hops = int(app.config["PROXY_HOPS"] or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=0, x_host=0, x_port=0, x_prefix=0)
    app.before_request(take_slot)
    app.teardown_request(give_back_slot)
