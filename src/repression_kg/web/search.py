"""Search over names and labels in all languages and scripts: /search?q=... as HTML or JSON."""
from __future__ import annotations

import re
import sqlite3

from flask import Blueprint, current_app, jsonify, render_template, request

from ..backend import BackendUnavailable, QueryError, QueryTimeout
from ..store import StoreError
from ..textsearch import FILTER_KINDS, IndexCache, SearchIndex
from . import backend, local_path
from .errors import bad_request, service_unavailable, wants_html

bp = Blueprint("search", __name__)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_QUERY_CHARS = 300  # the search is linear in the words of the query
# The kinds offered in the page's filter (kind= accepts every kind of our IRIs).
KIND_CHOICES = ("person", "organisation", "place", "act", "event", "stage", "repression", "rehabilitation",
                "fond", "concept", "source", "timespan", "observation", "dataset")


@bp.get("/search")
def search():
    """Search results as HTML (browsers) or JSON (API clients: Accept: application/json or format=json)."""
    as_json = wants_json()
    q = request.args.get("q", "").strip()
    kind = parse_kind(request.args.get("kind", ""))
    limit = parse_limit(request.args.get("limit"))
    if len(q) > MAX_QUERY_CHARS:
        raise bad_request(f"The parameter q is too long: {len(q)} characters, at most {MAX_QUERY_CHARS}.")
    if not q and as_json:
        raise bad_request("The parameter q is required: give the name or label to search for, e.g. ?q=Bukeikhanov.")
    hits = run(index(), q, kind, limit) if q else []
    results = [result(hit) for hit in hits]
    if as_json:
        response = jsonify({"query": q, "results": results})
    else:
        html = render_template("search/results.html", q=q, kind=kind or "", results=results,
                               kinds=kind_choices(kind), searched=bool(q))
        response = current_app.make_response(html)
    response.headers["Vary"] = "Accept"
    return response


def wants_json() -> bool:
    """format=json or format=html decides; otherwise the Accept header (no Accept: JSON)."""
    fmt = request.args.get("format", "")
    if fmt not in ("", "json", "html"):
        raise bad_request(f"The parameter format must be json or html, not {fmt!r}.")
    return fmt == "json" if fmt else not wants_html()


def parse_limit(value: str | None) -> int:
    """The limit= parameter: a whole number from 1 to MAX_LIMIT."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not re.fullmatch(r"\s*[0-9]{1,3}\s*", value) or not 1 <= int(value) <= MAX_LIMIT:
        raise bad_request(f"The parameter limit must be a whole number from 1 to {MAX_LIMIT}, not {value!r}.")
    return int(value)


def parse_kind(value: str) -> str | None:
    """The kind= parameter: one of the kinds of our things, or 'concept'."""
    value = value.strip().lower()
    if value and value not in FILTER_KINDS:
        raise bad_request(f"The parameter kind must be one of {', '.join(sorted(FILTER_KINDS))}, not {value!r}.")
    return value or None


def kind_choices(kind: str | None) -> tuple[str, ...]:
    """The kinds offered in the page's filter, with the one asked for."""
    return KIND_CHOICES if not kind or kind in KIND_CHOICES else KIND_CHOICES + (kind,)


def index() -> SearchIndex:
    """The app's text index for the build its backend serves now (the store's own index file, see textsearch)."""
    cache = current_app.extensions.setdefault("kg_search_index", IndexCache())
    namespace = current_app.config["BASE_IRI"] + "id/"
    try:
        return cache.get(backend(), namespace)
    except (QueryTimeout, BackendUnavailable, QueryError, StoreError, sqlite3.Error) as err:
        current_app.logger.warning("The search index could not be loaded: %s", err)
        raise service_unavailable("The search index cannot be loaded from the store now; try again shortly.") from None


def run(searched: SearchIndex, q: str, kind: str | None, limit: int) -> list:
    """The hits of a search; 503 if the index file went away (a rebuild removed it meanwhile)."""
    try:
        return searched.search(q, kind, limit)
    except sqlite3.Error as err:
        current_app.logger.warning("The search index could not be read: %s", err)
        raise service_unavailable("The search index cannot be read now; try again shortly.") from None


def result(hit) -> dict:
    """One hit as JSON: the IRI, its local path (/id/...) and page (/page/...), label, class, the name matched, score."""
    base = current_app.config["BASE_IRI"]
    path = local_path(hit.iri, base)
    return {"iri": hit.iri, "path": path, "page": "/page/" + path[len("/id/"):] if path else None,
            "label": hit.label, "kind": hit.class_label, "matched": hit.matched, "score": hit.score}
