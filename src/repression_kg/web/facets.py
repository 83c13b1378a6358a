"""Facets of the registry: /facets, /facets/<facet> and the faceted person list /persons, as HTML or JSON.

The counts come from the facet tables written with the store (..facets); a filter is a query
parameter per facet (/persons?region=place/almaty-region&year=1937), repeated for several values
of one facet (either of them), so every page is a plain link that works without script.
"""
from __future__ import annotations

import math
import re

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from ..backend import BackendUnavailable, QueryError, QueryTimeout
from ..facets import BY_NAME, FACETS, FacetCache, FacetIndex, Person, Value
from ..store import StoreError
from . import backend, local_path
from .errors import bad_request, not_found, service_unavailable
from .search import wants_json

bp = Blueprint("facets", __name__)

OVERVIEW_VALUES = 12   # values of each facet on /facets (all on /facets/<facet>)
DEFAULT_LIMIT = 50     # persons per page
MAX_LIMIT = 500
NO_REGISTRY = ("No registry is loaded in this build: the graph holds only the persons the source article names. "
               "Facets count the persons of a registry (a Memory Book); build one in with "
               "'repression-kg build --add DIR'.")
OTHER_PARAMETERS = ("page", "limit", "format")


@bp.get("/facets")
def overview():
    """Every facet with its values and counts over the whole registry."""
    as_json, index = wants_json(), facet_index()
    facets = [facet_json(f, [(v, v.count) for v in index.values(f.name)], {}) for f in FACETS]
    if as_json:
        return reply(jsonify({"persons": index.persons, "registry": bool(index.persons),
                              **({"facets": facets} if index.persons else {"note": NO_REGISTRY})}))
    return reply(render_template("facets/index.html", persons=index.persons, facets=facets, note=NO_REGISTRY,
                                 shown=OVERVIEW_VALUES))


@bp.get("/facets/<name>")
def facet(name: str):
    """One facet with all its values and counts."""
    as_json, index = wants_json(), facet_index()
    if name not in BY_NAME:
        raise not_found(f"There is no facet {name!r}; the facets are {', '.join(BY_NAME)}.")
    one = facet_json(BY_NAME[name], [(v, v.count) for v in index.values(name)], {})
    if as_json:
        return reply(jsonify({"persons": index.persons, "registry": bool(index.persons), **one,
                              **({} if index.persons else {"note": NO_REGISTRY})}))
    return reply(render_template("facets/facet.html", persons=index.persons, facet=one, note=NO_REGISTRY))


@bp.get("/persons")
def persons():
    """The registry's persons that have the chosen values, a page at a time, with every facet's counts."""
    as_json, index = wants_json(), facet_index()
    if not index.persons:
        if as_json:
            return reply(jsonify({"persons": 0, "registry": False, "note": NO_REGISTRY}))
        return reply(render_template("facets/persons.html", persons=0, note=NO_REGISTRY))
    chosen = parse_filters(index)
    limit = parse_number("limit", request.args.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
    mask = index.mask(chosen)
    total = index.total(mask)
    pages = max(1, math.ceil(total / limit))
    page = parse_number("page", request.args.get("page"), 1, pages)
    counts = index.counts(chosen)
    body = {
        "persons": index.persons, "registry": True, "matching": total, "page": page, "pages": pages, "limit": limit,
        "filters": {f: [v.key for v in vs] for f, vs in chosen.items()},
        "facets": [facet_json(f, counts[f.name], chosen) for f in FACETS],
        "results": [person_json(p) for p in index.page(mask, (page - 1) * limit, limit)],
        "prev": page_link(chosen, page - 1, limit) if page > 1 else None,
        "next": page_link(chosen, page + 1, limit) if page < pages else None,
    }
    if as_json:
        return reply(jsonify(body))
    return reply(render_template("facets/persons.html", note=NO_REGISTRY, clear=url_for("facets.persons"),
                                 removals=removal_links(chosen), json_href=page_link(chosen, page, limit, "json"),
                                 **body))


def facet_index() -> FacetIndex:
    """The facet tables of the build the backend serves now."""
    cache = current_app.extensions.setdefault("kg_facets", FacetCache())
    try:
        return cache.get(backend(), current_app.config["BASE_IRI"] + "id/")
    except (QueryTimeout, BackendUnavailable, QueryError, StoreError) as err:
        current_app.logger.warning("The facet tables could not be loaded: %s", err)
        raise service_unavailable("The facet counts cannot be loaded from the store now; try again shortly.") from None


def parse_filters(index: FacetIndex) -> dict[str, list[Value]]:
    """The chosen values of each facet, from the query parameters named after the facets."""
    unknown = [name for name in request.args if name not in BY_NAME and name not in OTHER_PARAMETERS]
    if unknown:
        raise bad_request(f"Unknown parameter {unknown[0]!r}: /persons takes the facets "
                          f"{', '.join(BY_NAME)}, and {', '.join(OTHER_PARAMETERS)}.")
    chosen = {}
    for name in BY_NAME:
        values = []
        for key in dict.fromkeys(request.args.getlist(name)):
            value = index.by_key.get((name, key.strip()))
            if value is None:
                raise bad_request(f"The parameter {name} has no value {key!r}; its values are listed at "
                                  f"{url_for('facets.facet', name=name)}.")
            values.append(value)
        if values:
            chosen[name] = values
    return chosen


def parse_number(name: str, value: str | None, default: int, highest: int) -> int:
    """A whole-number parameter from 1 to highest."""
    if value is None or value == "":
        return default
    if not re.fullmatch(r"\s*[0-9]{1,9}\s*", value) or not 1 <= int(value) <= highest:
        raise bad_request(f"The parameter {name} must be a whole number from 1 to {highest}, not {value!r}.")
    return int(value)


def facet_json(facet, counted: list[tuple[Value, int]], chosen: dict[str, list[Value]]) -> dict:
    """A facet with its values: key, IRI, label, count, whether chosen, and the link that toggles it."""
    mine = chosen.get(facet.name, [])
    values = [{"key": v.key, "iri": v.iri, "label": v.label, "count": count, "selected": v in mine,
               "href": toggle_link(chosen, facet.name, v)} for v, count in counted]
    return {"name": facet.name, "label": facet.label, "href": url_for("facets.facet", name=facet.name),
            "values": values, "max": max((v["count"] for v in values), default=0)}


def person_json(person: Person) -> dict:
    """A person of the list: IRI, local path and page, label, and the keys and labels of its facet values."""
    path = local_path(person.iri, current_app.config["BASE_IRI"])
    values: dict[str, list[dict]] = {}
    for v in person.values:
        values.setdefault(v.facet, []).append({"key": v.key, "label": v.label})
    return {"iri": person.iri, "path": path, "page": "/page/" + path[len("/id/"):] if path else None,
            "label": person.label, "values": {f.name: values[f.name] for f in FACETS if f.name in values}}


def query_of(chosen: dict[str, list[Value]]) -> dict[str, list[str]]:
    """Query parameters for a choice of values."""
    return {name: [v.key for v in values] for name, values in chosen.items() if values}


def toggle_link(chosen: dict[str, list[Value]], name: str, value: Value) -> str:
    """The list with this value added to the choice, or taken out of it."""
    mine = chosen.get(name, [])
    changed = {**chosen, name: [v for v in mine if v is not value] if value in mine else [*mine, value]}
    return url_for("facets.persons", **query_of(changed))


def removal_links(chosen: dict[str, list[Value]]) -> list[dict]:
    """For each chosen value, its facet, its label and the link without it."""
    return [{"facet": BY_NAME[name].label, "label": v.label, "href": toggle_link(chosen, name, v)}
            for name, values in chosen.items() for v in values]


def page_link(chosen: dict[str, list[Value]], page: int, limit: int, fmt: str | None = None) -> str:
    """A page of the same list (in a format, if given)."""
    extra = {"limit": limit} if limit != DEFAULT_LIMIT else {}
    return url_for("facets.persons", **query_of(chosen), page=page, **extra, **({"format": fmt} if fmt else {}))


def reply(response):
    """Every answer here depends on Accept."""
    response = current_app.make_response(response)
    response.headers["Vary"] = "Accept"
    return response
