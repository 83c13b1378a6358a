"""The web application: SPARQL endpoint, linked-data pages, home, search. Reads the built store only."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from ..backend import Backend, EmbeddedBackend, worker_count
from ..remote import RemoteBackend
from ..federation import FederationRelay

DEFAULTS = {
    "BUILD_DIR": "build",              # where `repression-kg build` wrote the store
    "ENDPOINT": None,                  # a remote SPARQL endpoint instead of the embedded store
    "BACKEND": None,                   # a Backend object (tests); overrides the two above
    "BASE_IRI": "https://w3id.org/kz-repression/",  # the IRIs served under /id/, /ontology
    "QUERY_TIMEOUT": 30.0,             # seconds a query may run by default
    "MAX_QUERY_TIMEOUT": 120.0,        # the cap on a request's timeout= parameter
    "MAX_BODY_BYTES": 1_000_000,       # request bodies larger than this get 413
    "QUERY_WORKERS": worker_count(),   # worker processes of the embedded store
    "WORKER_MEMORY_MB": 4096,          # address space a query worker may use; past it the query gets 503
    "SERVICE_ALLOW": ("https://query.wikidata.org/sparql",),  # SERVICE targets allowed
    "FEDERATION_TIMEOUT": 20.0,        # seconds a call to an allowed SERVICE may take
    "HTML_ROW_CAP": 1000,              # rows shown in an HTML table
    "RESULT_CACHE_BYTES": 64_000_000,  # SPARQL answers kept per build, least recently used out; 0: none
    "CLIENT_QUERY_SLOTS": None,        # SPARQL queries one client may run at once (None: workers - 1, at least 1)
    "RELEASE_WAIT_SECONDS": 30.0,      # a request waits this long for the dumps being written, then goes on without
    "PROXY_HOPS": 0,                   # proxies in front whose X-Forwarded-For is trusted for the client address
    "QUERIES_DIR": str(Path(__file__).resolve().parents[3] / "queries"),
}


def create_app(config: dict | None = None) -> Flask:
    """Make the app: defaults, then KZR_* environment variables, then the mapping given."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("KZR")
    if config:
        app.config.from_mapping(config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    app.extensions["kg_backend"] = make_backend(app.config)
    app.extensions["kg_federation"] = make_relay(app.config, app.extensions["kg_backend"])

    from . import dumps, entities, errors, facets, health, home, limits, reconcile, search, security, sparql

    errors.init_app(app)
    security.init_app(app)
    limits.init_app(app)
    for module in (sparql, entities, home, search, facets, dumps, reconcile, health):
        app.register_blueprint(module.bp)
    return app


def make_backend(config) -> Backend:
    """The backend the configuration asks for."""
    if config.get("BACKEND") is not None:
        return config["BACKEND"]
    if config.get("ENDPOINT"):
        return RemoteBackend(config["ENDPOINT"])
    return EmbeddedBackend(Path(config["BUILD_DIR"]), workers=int(config["QUERY_WORKERS"]),
                           memory_mb=int(config["WORKER_MEMORY_MB"]))


def make_relay(config, kg_backend: Backend) -> FederationRelay | None:
    """A relay for federated calls when queries run here (a remote endpoint makes its own calls)."""
    if isinstance(kg_backend, RemoteBackend) or not config["SERVICE_ALLOW"]:
        return None
    return FederationRelay(config["SERVICE_ALLOW"], float(config["FEDERATION_TIMEOUT"]))


def backend() -> Backend:
    """The backend of the current app."""
    from flask import current_app

    return current_app.extensions["kg_backend"]


def local_path(iri: str, base: str) -> str | None:
    """The path under which this server answers for one of our IRIs, or None for foreign IRIs."""
    if iri.startswith(base):
        return "/" + iri[len(base):]
    return None


