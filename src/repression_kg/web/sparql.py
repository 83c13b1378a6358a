"""The SPARQL 1.1 Protocol endpoint at /sparql, read-only (https://www.w3.org/TR/sparql11-protocol/).

GET with query=, POST form-encoded, POST application/sparql-query; default-graph-uri and
named-graph-uri; answers negotiated by Accept or chosen by format=; GET without a query gives
the query UI to browsers and the Service Description to RDF clients.
"""
from __future__ import annotations

import urllib.parse
from pathlib import Path

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request, send_from_directory, url_for

from ..backend import Answer, BackendUnavailable, FederationError, QueryError, QueryTimeout, Task, WrongKind
from ..cache import ResultCache
from ..formats import GRAPH, RESULTS, NotAcceptable, negotiate
from ..remote import TruncatedAnswer
from ..sparql_text import nesting_depth, query_form, refused_services, rewrite_services
from . import backend, errors
from .service_description import service_description
from .ui import examples

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
READ_ONLY = "This endpoint is read-only: SPARQL Update (and LOAD) is not accepted."
MAX_NESTING = 128  # brackets deeper than this are refused before the query engine reads them (its stack is finite)
UI_ASSETS = Path(__file__).resolve().parents[3] / "node_modules" / "@zazuko" / "yasgui" / "build"


@bp.route("/sparql", methods=["GET", "POST"], provide_automatic_options=False)
def endpoint():
    """Answer a SPARQL query, or describe the service."""
    query, default_graphs, named_graphs = protocol_parameters()
    if query is None:
        return describe_service()
    timeout = requested_timeout()
    cached = cached_answer(query, default_graphs, named_graphs)
    if cached is not None:  # a text in the cache has passed the checks below already
        return cached
    form = query_form(query)
    if form == "UPDATE":
        raise errors.forbidden(READ_ONLY)
    depth = nesting_depth(query)
    if depth > MAX_NESTING:
        raise errors.bad_request(f"The query nests its brackets {depth} deep; this endpoint reads at most "
                                 f"{MAX_NESTING} levels of {{ }}, ( ) and [ ].")
    refused = refused_services(query, current_app.config["SERVICE_ALLOW"])
    if refused:
        allowed = ", ".join(current_app.config["SERVICE_ALLOW"]) or "none"
        raise errors.bad_request(f"SERVICE {refused[0]} is not allowed: this endpoint federates only with {allowed}.")
    results_format, graph_format = answer_formats(form)
    relay = current_app.extensions.get("kg_federation")
    if relay is not None:
        query = rewrite_services(query, relay.routes)
    task = Task(query, results_format, graph_format, tuple(default_graphs), tuple(named_graphs),
                base_iri=current_app.config["BASE_IRI"] + "sparql")  # the protocol lets the service set the base
    return run(task, timeout)


@bp.route("/sparql", methods=["OPTIONS"])
def preflight():
    """CORS preflight: any origin may GET and POST, without credentials."""
    return Response(status=204, headers={
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Accept, Content-Type",
        "Access-Control-Max-Age": "86400",
    })


@bp.get("/ui-assets/<path:name>")
def ui_assets(name: str):
    """The YASGUI files, installed from the npm registry and served by us."""
    return send_from_directory(UI_ASSETS, name, max_age=86400)


def protocol_parameters() -> tuple[str | None, list[str], list[str]]:
    """The query and the dataset of a request, by method and Content-Type; updates are refused."""
    args = request.args
    utf8(request.query_string, "query string", percent_encoded=True)
    if request.method == "GET":
        params = args
    else:
        content_type = request.mimetype
        if content_type == FORM:
            utf8(request.get_data(), "form-encoded body", percent_encoded=True)
            params = request.form
        elif content_type == QUERY:
            return (utf8(request.get_data(), "query in the request body"), graph_iris([args], "default-graph-uri"),
                    graph_iris([args], "named-graph-uri"))
        elif content_type == UPDATE:
            raise errors.forbidden(READ_ONLY)
        else:
            raise errors.unsupported_media_type(request.content_type or "(none)")
    if "update" in params:
        raise errors.forbidden(READ_ONLY)
    queries = params.getlist("query")
    if len(queries) > 1:
        raise errors.bad_request("The parameter 'query' is given more than once.")
    sources = [params] if params is args else [params, args]
    default_graphs, named_graphs = graph_iris(sources, "default-graph-uri"), graph_iris(sources, "named-graph-uri")
    return (queries[0] if queries else None), default_graphs, named_graphs


def utf8(raw: bytes, part: str, percent_encoded: bool = False) -> str:
    """A part of the request as text; 400 if it is not UTF-8, which the protocol requires."""
    try:
        return (urllib.parse.unquote_to_bytes(raw) if percent_encoded else raw).decode("utf-8")
    except UnicodeDecodeError:
        raise errors.bad_request(f"The {part} is not valid UTF-8; SPARQL requests must be encoded in UTF-8.") from None


def graph_iris(sources: list, name: str) -> list[str]:
    """The values of default-graph-uri or named-graph-uri; 400 for one that is not an absolute IRI."""
    values = [value for source in sources for value in source.getlist(name)]
    for value in values:
        try:
            ox.NamedNode(value)
        except ValueError as err:
            raise errors.bad_request(f"The parameter '{name}' must be an absolute IRI, not {value!r} ({err}).") from None
    return values


def answer_formats(form: str | None) -> tuple[str | None, str | None]:
    """The formats the client accepts for each kind of answer; 406 if none fits this query."""
    accept, format_param = request.headers.get("Accept"), request.values.getlist("format")
    chosen = {}
    for kind in (RESULTS, GRAPH):
        try:
            chosen[kind] = negotiate(kind, accept, format_param).name
        except NotAcceptable as err:
            chosen[kind] = None
            chosen[kind + "-error"] = str(err)
    needed = {"SELECT": RESULTS, "ASK": RESULTS, "CONSTRUCT": GRAPH, "DESCRIBE": GRAPH}.get(form or "")
    if needed and chosen[needed] is None:
        raise errors.not_acceptable(chosen[needed + "-error"])
    if chosen[RESULTS] is None and chosen[GRAPH] is None:
        raise errors.not_acceptable(chosen[RESULTS + "-error"])
    return chosen[RESULTS], chosen[GRAPH]


def requested_timeout() -> float:
    """The time limit: timeout= (seconds) if given, capped by the server's maximum."""
    config = current_app.config
    raw = request.values.get("timeout")
    if raw is None:
        return float(config["QUERY_TIMEOUT"])
    try:
        value = float(raw)
    except ValueError:
        raise errors.bad_request(f"The parameter 'timeout' must be a number of seconds, not {raw!r}.") from None
    if not value > 0:
        raise errors.bad_request("The parameter 'timeout' must be a positive number of seconds.")
    return min(value, float(config["MAX_QUERY_TIMEOUT"]))


def cached_answer(query: str, default_graphs: list[str], named_graphs: list[str]) -> Response | None:
    """The cached answer to this text, dataset and the formats the client accepts, before any parsing."""
    cache = result_cache()
    if not cache.enabled:
        return None
    accept, format_param = request.headers.get("Accept"), request.values.getlist("format")
    formats = []
    for kind in (RESULTS, GRAPH):
        try:
            formats.append(negotiate(kind, accept, format_param).name)
        except NotAcceptable:
            formats.append(None)
    task = Task(query, *formats, tuple(default_graphs), tuple(named_graphs),
                base_iri=current_app.config["BASE_IRI"] + "sparql")
    answer = cache.get(cache.key(task))
    return None if answer is None else answer_response(answer, "hit")


def run(task: Task, timeout: float) -> Response:
    """Evaluate through the backend (the cache was asked first) and keep the answer; map failures to HTTP."""
    cache = result_cache()
    key = cache.key(task)
    try:
        answer = backend().answer(task, timeout)
    except QueryError as err:
        raise errors.bad_request(str(err)) from None
    except QueryTimeout as err:
        raise errors.service_unavailable(
            f"{err} The server's limit is {current_app.config['MAX_QUERY_TIMEOUT']:g} s; "
            "a smaller query, a LIMIT, or a timeout= parameter up to that limit may help.",
            retry_after=int(min(timeout, 60)) or 1) from None
    except WrongKind as err:
        raise errors.not_acceptable(str(NotAcceptable(err.kind, request.headers.get("Accept", "")))) from None
    except FederationError as err:
        raise errors.ApiError(504 if "did not answer" in str(err) else 502, str(err)) from None
    except TruncatedAnswer as err:  # a setting of the remote server: trying again would not help
        raise errors.ApiError(502, str(err)) from None
    except BackendUnavailable as err:
        raise errors.service_unavailable(str(err)) from None
    return answer_response(answer, "miss" if cache.put(key, answer) else "off")


def answer_response(answer: Answer, cache_status: str) -> Response:
    """The HTTP response for an answer; X-Cache says whether it came from the result cache."""
    response = Response(answer.body, content_type=answer.format.content_type)
    response.headers["Vary"] = "Accept"
    response.headers["X-Cache"] = cache_status
    return response


def result_cache() -> ResultCache:
    """The app's result cache, made on first use (RESULT_CACHE_BYTES; 0 disables it)."""
    cache = current_app.extensions.get("kg_result_cache")
    if cache is None:
        cache = current_app.extensions.setdefault(
            "kg_result_cache", ResultCache(backend(), int(current_app.config["RESULT_CACHE_BYTES"])))
    return cache


def describe_service() -> Response:
    """GET /sparql without a query: the query UI for browsers, the Service Description for the rest."""
    accept = request.accept_mimetypes
    if request.method == "GET" and accept.best_match(["text/html", "text/turtle"]) == "text/html" \
            and accept["text/html"] > 0 and "format" not in request.args:
        page = render_template("sparql/ui.html", examples=examples(current_app.config["QUERIES_DIR"]),
                               endpoint_url=url_for("sparql.endpoint", _external=True))
        response = Response(page, content_type="text/html; charset=utf-8")
    else:
        try:
            fmt = negotiate(GRAPH, request.headers.get("Accept"), request.args.get("format"))
        except NotAcceptable as err:
            raise errors.not_acceptable(str(err)) from None
        body = service_description(url_for("sparql.endpoint", _external=True), fmt)
        response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return response
