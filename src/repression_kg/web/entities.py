"""Linked data: /id/... dereferences to /page/... (HTML) and /data/... (RDF); ontology terms document themselves.

303 See Other from the thing's IRI to a document about it, as in "Cool URIs for the Semantic Web"
(https://www.w3.org/TR/cooluris/#r303gendocument); the hash IRIs of the ontology resolve to /ontology.
"""
from __future__ import annotations

import functools
import re

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for

from .. import describe, ontology_doc
from ..backend import BackendUnavailable, QueryTimeout
from ..formats import NotAcceptable, by_name
from . import backend, local_path
from .errors import not_acceptable, not_found, service_unavailable

bp = Blueprint("entities", __name__)

KIND = re.compile(r"^[a-z]+$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TERM = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
ONTOLOGY_FORMATS = ("ttl", "jsonld", "nt", "rdf", "nq", "trig")


def store_errors(view):
    """Answer 503 when the store or the remote endpoint cannot answer in time."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except (QueryTimeout, BackendUnavailable) as err:
            raise service_unavailable(str(err)) from None
    return wrapped


def _base() -> str:
    """The base of our IRIs."""
    return current_app.config["BASE_IRI"]


def _href(iri: str) -> str:
    """Where a page links for an IRI: the local path for ours, the IRI itself for others."""
    return local_path(iri, _base()) or iri


def _thing(kind: str, slug: str) -> str:
    """The IRI of a thing that the graph describes, or 404."""
    iri = f"{_base()}id/{kind}/{slug}"
    if not (KIND.match(kind) and SLUG.match(slug)) or not describe.exists(backend(), iri):
        raise not_found(f"Nothing in the graph is known as {iri}.")
    return iri


def _negotiate():
    """The RDF format the request prefers, or None for HTML; 406 when it accepts neither."""
    try:
        return describe.choose_format(request.headers.get("Accept"))
    except NotAcceptable as err:
        available = ", ".join(["text/html", "application/xhtml+xml", *err.available])
        raise not_acceptable(f"None of the requested formats ({request.headers.get('Accept')}) is available; "
                             f"available: {available}.") from None


def _see_other(target: str):
    """A 303 See Other that varies on Accept."""
    response = redirect(target, code=303)
    response.headers["Vary"] = "Accept"
    return response


def _alternates(kind: str, slug: str, page: bool = True) -> list[dict]:
    """The other representations of a thing: its RDF formats and, optionally, its page."""
    links = [{"href": url_for("entities.data", kind=kind, filename=f"{slug}.{f.ext}"), "type": f.media_type,
              "title": f.name} for f in describe.DATA_FORMATS]
    if page:
        links.append({"href": url_for("entities.page", kind=kind, slug=slug), "type": "text/html", "title": "page"})
    return links


def _link_header(links: list[dict]) -> str:
    """A Link header with one alternate per representation."""
    return ", ".join(f'<{a["href"]}>; rel="alternate"; type="{a["type"]}"' for a in links)


@bp.get("/id/<kind>/<slug>")
@store_errors
def identify(kind: str, slug: str):
    """The IRI of a thing: 303 to its page for browsers, to its data for RDF clients."""
    _thing(kind, slug)
    fmt = _negotiate()
    if fmt is None:
        return _see_other(url_for("entities.page", kind=kind, slug=slug))
    return _see_other(url_for("entities.data", kind=kind, filename=f"{slug}.{fmt.ext}"))


@bp.get("/page/<kind>/<slug>")
@store_errors
def page(kind: str, slug: str):
    """A thing's HTML page."""
    iri = _thing(kind, slug)
    model = describe.page(backend(), iri, _href, int(current_app.config["HTML_ROW_CAP"]),
                          cite_incoming=kind in ("person", "organisation"))
    alternates = _alternates(kind, slug, page=False)
    response = make_response(render_template("entities/page.html", page=model, alternates=alternates))
    response.headers["Link"] = _link_header(alternates)
    return response


@bp.get("/data/<kind>/<filename>")
@store_errors
def data(kind: str, filename: str):
    """A thing's description as RDF, in the format its extension names."""
    slug, _, ext = filename.rpartition(".")
    fmt = by_name(ext) if slug else None
    if fmt is None or fmt not in describe.DATA_FORMATS or fmt.ext != ext:
        known = ", ".join("." + f.ext for f in describe.DATA_FORMATS)
        raise not_found(f"No data at {request.path}: the extension must be one of {known}.")
    iri = _thing(kind, slug)
    response = make_response(describe.description(backend(), iri, fmt))
    response.headers["Content-Type"] = fmt.content_type
    others = [a for a in _alternates(kind, slug) if a["type"] != fmt.media_type]
    response.headers["Link"] = _link_header(others)
    return response


def _ontology_alternates() -> list[dict]:
    """The ontology's RDF representations."""
    return [{"href": url_for("entities.ontology_data", ext=ext), "type": by_name(ext).media_type,
             "title": by_name(ext).name} for ext in ONTOLOGY_FORMATS]


def _ontology_rdf(ext: str):
    """The ontology graph as a response in the format of an extension."""
    fmt = by_name(ext)
    response = make_response(describe.ontology_rdf(backend(), fmt))
    response.headers["Content-Type"] = fmt.content_type
    response.headers["Link"] = _link_header([a for a in _ontology_alternates() if a["type"] != fmt.media_type])
    return response


@bp.get("/ontology")
@store_errors
def ontology():
    """The ontology: its documentation for browsers, its graph for RDF clients."""
    fmt = _negotiate()
    if fmt is not None:
        response = _ontology_rdf(fmt.ext)
        response.headers["Content-Location"] = url_for("entities.ontology_data", ext=fmt.ext)
    else:
        doc = ontology_doc.ontology_doc(backend(), _base() + "ontology", _href)
        alternates = _ontology_alternates()
        response = make_response(render_template("entities/ontology.html", doc=doc, alternates=alternates))
        response.headers["Link"] = _link_header(alternates)
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/ontology.<ext>")
@store_errors
def ontology_data(ext: str):
    """The ontology graph in the format its extension names."""
    if ext not in ONTOLOGY_FORMATS:
        raise not_found(f"No ontology at {request.path}: the extension must be one of "
                        + ", ".join("." + e for e in ONTOLOGY_FORMATS) + ".")
    return _ontology_rdf(ext)


@bp.get("/ontology/<name>")
@store_errors
def term(name: str):
    """An ontology term: 303 to its entry in the documentation, or to the ontology graph for RDF clients."""
    if not TERM.match(name) or not ontology_doc.term_exists(backend(), name):
        raise not_found(f"The ontology has no term {name!r}.")
    fmt = _negotiate()
    if fmt is None:
        return _see_other(url_for("entities.ontology") + "#" + name)
    return _see_other(url_for("entities.ontology_data", ext=fmt.ext))
