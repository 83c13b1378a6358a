"""The Reconciliation Service API 0.2 at /reconcile, as OpenRefine 3.x speaks it.

Spec: https://reconciliation-api.github.io/specs/0.2/ . GET without parameters: the manifest;
`queries` (POST form or GET): a batch of reconciliation queries; `extend`: data extension;
/reconcile/preview, /reconcile/suggest/{entity,type,property}, /reconcile/propose_properties.
Every answer allows any origin (CORS); GET answers are wrapped for JSONP when `callback` is given.
The matching itself is in ..reconcile.
"""
from __future__ import annotations

import json
import re

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from .. import __version__, describe
from .. import reconcile as core
from ..backend import BackendUnavailable, QueryError, QueryTimeout
from ..namespaces import KZR
from . import backend, local_path
from .errors import bad_request, not_found, service_unavailable
from .search import index as search_index

bp = Blueprint("reconcile", __name__)

MAX_BATCH = 100          # queries in one request (the manifest asks OpenRefine for 10)
MAX_LIMIT = 100          # candidates per query
MAX_QUERY_CHARS = 300    # a name, not a document
MAX_EXTEND_IDS = 1000
CALLBACK = re.compile(r"[A-Za-z_$][\w$]{0,63}(?:\.[A-Za-z_$][\w$]{0,63}){0,3}", re.ASCII)
PREVIEW_SIZE = (430, 300)
SERVICE_NAME = "Repression in Kazakhstan, 1920s–1980s (knowledge graph)"


@bp.route("/reconcile", methods=["GET", "POST"], provide_automatic_options=False)
def service():
    """The manifest, a batch of queries, or a data extension."""
    queries, extend = request.values.get("queries"), request.values.get("extend")
    if queries is None and extend is None:
        if request.method == "POST":
            raise bad_request("Send the parameter queries (a JSON batch of reconciliation queries) "
                              "or extend (a JSON data-extension query).")
        return reply(manifest())
    if queries is not None:
        batch = parse_batch(queries)
        cat = catalogue()
        return reply({key: {"result": core.reconcile(cat, query)} for key, query in batch})
    ids, pids = parse_extend(extend)
    return reply(core.extend(catalogue(), ids, pids))


@bp.route("/reconcile", methods=["OPTIONS"])
@bp.route("/reconcile/<path:rest>", methods=["OPTIONS"])
def preflight(rest: str = ""):
    """CORS preflight: any origin may GET and POST, without credentials."""
    return Response(status=204, headers={
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Accept, Content-Type",
        "Access-Control-Max-Age": "86400",
    })


@bp.get("/reconcile/preview", provide_automatic_options=False)
def preview():
    """A small HTML card of one thing, for OpenRefine's preview iframe."""
    cat, short = catalogue(), request.args.get("id", "")
    thing = cat.by_id(short)
    if thing is None:
        raise not_found(f"Nothing in the graph has the id {short!r}; ids look like person/bukeikhanov-a.")
    base = current_app.config["BASE_IRI"]
    iri = thing.entry.iri
    cites = describe.citations(backend(), [iri], lambda i: local_path(i, base) or i).get(iri, [])
    names = describe.labels(backend(), [iri]).get(iri, {})
    printed = names.get(str(KZR.printedForm), [])
    labels = [t for p in describe.LABELS for t in names.get(p, []) if t["value"] != thing.entry.label]
    kind, slug = thing.short.split("/", 1)
    html = render_template(
        "reconcile/preview.html", thing=thing, page=url_for("entities.page", kind=kind, slug=slug),
        kinds=", ".join(cat.class_name(c) for c in thing.shown), description=core.description(cat, thing),
        printed=printed, labels=labels, citation=cites[0] if cites else None)
    return current_app.make_response(html)


@bp.get("/reconcile/suggest/entity", provide_automatic_options=False)
def suggest_entity():
    """Autocompletion of things."""
    prefix, cursor = suggest_parameters()
    types = request.args.getlist("type")
    return reply({"result": core.suggest_entities(catalogue(), prefix, types, cursor, 10)})


@bp.get("/reconcile/suggest/type", provide_automatic_options=False)
def suggest_type():
    """Autocompletion of classes."""
    prefix, cursor = suggest_parameters()
    return reply({"result": core.suggest_types(catalogue(), prefix, cursor, 10)})


@bp.get("/reconcile/suggest/property", provide_automatic_options=False)
def suggest_property():
    """Autocompletion of the properties a query may give or fetch."""
    prefix, cursor = suggest_parameters()
    return reply({"result": core.suggest_properties(prefix, cursor, 10)})


@bp.get("/reconcile/propose_properties", provide_automatic_options=False)
def propose_properties():
    """The properties worth fetching for a type (data extension)."""
    type_ = request.args.get("type") or None
    limit = parse_int(request.args.get("limit"), "limit", 1, MAX_LIMIT, default=len(core.EXTENSIBLE))
    properties = core.propose_properties(catalogue(), type_)[:limit]
    return reply({"type": type_ or "", "properties": properties, "limit": limit})


def manifest() -> dict:
    """The service manifest, with absolute URLs on this host."""
    root = request.url_root
    path = url_for("reconcile.service")
    return {
        "versions": ["0.2"],
        "name": SERVICE_NAME,
        "identifierSpace": current_app.config["BASE_IRI"] + "id/",
        "schemaSpace": core.KZR_NS,
        "serviceVersion": __version__,
        "defaultTypes": [{"id": core.KZR_NS + local, "name": name} for local, name, _ in core.DEFAULT_TYPES],
        "view": {"url": root + "id/{{id}}"},
        "preview": {"url": root + "reconcile/preview?id={{id}}", "width": PREVIEW_SIZE[0], "height": PREVIEW_SIZE[1]},
        "suggest": {kind: {"service_url": root.rstrip("/"), "service_path": f"{path}/suggest/{kind}"}
                    for kind in ("entity", "type", "property")},
        "extend": {"propose_properties": {"service_url": root.rstrip("/"), "service_path": f"{path}/propose_properties"},
                   "property_settings": []},
        "batchSize": 10,
    }


def reply(body: dict) -> Response:
    """JSON, or JSONP when a GET names a callback (a plain name: nothing else is echoed back)."""
    callback = request.args.get("callback")
    if callback is None or request.method != "GET":
        return jsonify(body)
    if not CALLBACK.fullmatch(callback):
        raise bad_request("The parameter callback must be a JavaScript name (letters, digits, _ and $, dotted).")
    text = f"/**/{callback}({json.dumps(body)});"
    return Response(text, mimetype="application/javascript")


def catalogue() -> core.Catalogue:
    """The app's reconciliation catalogue, over the same name index as /search, for the current build."""
    names = search_index()  # 503 if the store cannot answer
    cache = current_app.extensions.setdefault("kg_reconcile", core.CatalogueCache())
    try:
        return cache.get(backend(), current_app.config["BASE_IRI"] + "id/", names)
    except (QueryTimeout, BackendUnavailable, QueryError) as err:
        current_app.logger.warning("The reconciliation catalogue could not be loaded: %s", err)
        raise service_unavailable("The names cannot be loaded from the store now; try again shortly.") from None


# --- Parameters ----------------------------------------------------------------------------------

def parse_batch(text: str) -> list[tuple[str, core.Query]]:
    """The `queries` parameter: a JSON object of queries by key."""
    batch = parse_json(text, "queries")
    if not isinstance(batch, dict) or not batch:
        raise bad_request('The parameter queries must be a JSON object of queries by key, '
                          'e.g. {"q0": {"query": "A. Bukeikhanov", "type": "Person"}}.')
    if len(batch) > MAX_BATCH:
        raise bad_request(f"The parameter queries holds {len(batch)} queries; at most {MAX_BATCH} per request.")
    return [(str(key), parse_query(str(key), value)) for key, value in batch.items()]


def parse_query(key: str, value) -> core.Query:
    """One query of a batch: query, type, limit, properties, type_strict."""
    where = f"queries[{json.dumps(key)}]"
    if not isinstance(value, dict):
        raise bad_request(f'{where} must be an object such as {{"query": "A. Bukeikhanov"}}.')
    text = value.get("query", "")
    if not isinstance(text, str) or len(text) > MAX_QUERY_CHARS:
        raise bad_request(f"{where}.query must be a string of at most {MAX_QUERY_CHARS} characters.")
    if "query" not in value and not value.get("properties"):
        raise bad_request(f"{where} needs a query (the name to reconcile) or properties.")
    types = value.get("type") or []
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise bad_request(f"{where}.type must be a type id or a list of type ids.")
    limit = value.get("limit", 5)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit != int(limit) or not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"{where}.limit must be a whole number from 1 to {MAX_LIMIT}.")
    strict = value.get("type_strict", "should")
    if strict not in ("any", "should", "all"):
        raise bad_request(f"{where}.type_strict must be any, should or all.")
    return core.Query(text.strip(), types, int(limit), parse_properties(where, value.get("properties", [])), strict)


def parse_properties(where: str, props) -> list[tuple[str, list]]:
    """The properties of a query: a list of {"pid": ..., "v": value or list of values}."""
    if not isinstance(props, list):
        raise bad_request(f'{where}.properties must be a list such as [{{"pid": "role", "v": "historian"}}].')
    parsed = []
    for prop in props:
        if not isinstance(prop, dict) or not isinstance(prop.get("pid"), str) or "v" not in prop:
            raise bad_request(f'{where}.properties: each property needs a pid (string) and a v, e.g. {{"pid": "stage", "v": "1"}}.')
        values = prop["v"] if isinstance(prop["v"], list) else [prop["v"]]
        if not all(isinstance(v, (str, int, float, bool)) or isinstance(v, dict) and "id" in v for v in values):
            raise bad_request(f"{where}.properties: a value v must be a string, number, boolean or {{\"id\": ...}}.")
        parsed.append((prop["pid"], values))
    return parsed


def parse_extend(text: str) -> tuple[list[str], list[str]]:
    """The `extend` parameter: {"ids": [...], "properties": [{"id": ...}]}."""
    query = parse_json(text, "extend")
    ids = query.get("ids") if isinstance(query, dict) else None
    props = query.get("properties") if isinstance(query, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not isinstance(props, list):
        raise bad_request('The parameter extend must be {"ids": ["person/bukeikhanov-a"], "properties": [{"id": "role"}]}.')
    if len(ids) > MAX_EXTEND_IDS:
        raise bad_request(f"The parameter extend names {len(ids)} ids; at most {MAX_EXTEND_IDS} per request.")
    pids = [p.get("id") if isinstance(p, dict) else None for p in props]
    unknown = [p for p in pids if p not in core.EXTENSIBLE]
    if unknown:
        raise bad_request(f"The parameter extend asks for {unknown[0]!r}; the properties are {', '.join(core.EXTENSIBLE)}.")
    return ids, pids


def parse_json(text: str, name: str):
    """A parameter's JSON value, or 400 naming the parameter."""
    try:
        return json.loads(text)
    except ValueError as err:
        raise bad_request(f"The parameter {name} is not valid JSON: {err}.") from None


def suggest_parameters() -> tuple[str, int]:
    """prefix (required) and cursor (where the page starts)."""
    prefix = request.args.get("prefix", "").strip()
    if not prefix or len(prefix) > MAX_QUERY_CHARS:
        raise bad_request(f"The parameter prefix is required: the start of a name, at most {MAX_QUERY_CHARS} characters.")
    return prefix, parse_int(request.args.get("cursor"), "cursor", 0, 10_000, default=0)


def parse_int(value: str | None, name: str, low: int, high: int, default: int) -> int:
    """A whole-number parameter within bounds."""
    if value is None or value == "":
        return default
    if not re.fullmatch(r"\s*[0-9]{1,6}\s*", value) or not low <= int(value) <= high:
        raise bad_request(f"The parameter {name} must be a whole number from {low} to {high}, not {value!r}.")
    return int(value)
