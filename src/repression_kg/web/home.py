"""The home page: the stages on a timeline, the statistical datasets as tables and charts; the dataset description."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, current_app, render_template, request

from .. import cite, pictures, void
from ..backend import BackendUnavailable, QueryTimeout
from ..formats import FORMATS, GRAPH, NotAcceptable, negotiate
from ..namespaces import ID, KZR, sparql_prefixes
from . import backend, dumps, errors, local_path

bp = Blueprint("home", __name__, static_folder="static", static_url_path="/static")

KINDS = ((str(KZR.RepressionStage), "Stages of repression", "#7a1f1f"),
         (str(KZR.RehabilitationStage), "Stages of rehabilitation", "#2f6b4f"))
SHORT_LABEL = re.compile(r"^Stage \d+ of \w+: (.+?)(?: \([^()]*\))?$")
LANG_RANK = {"en": 0, "ru": 1, "kk": 2}
COUNTED = (("Person", "persons"), ("Organisation", "organisations"), ("Place", "places"), ("Event", "events"),
           ("LegalAct", "legal acts"), ("ArchivalFond", "archival fonds"), ("Claim", "claims"), ("Citation", "citations"))
TABLE_1_COLUMNS = tuple((ID + f"code/nkvd-category-{c}", ID + f"code/{v}-plan") for c in (1, 2) for v in ("original", "approved"))
PLAN_COLOURS = ("#c9a9a6", "#7a1f1f")
REHABILITATED = ID + "indicator/rehabilitated-citizens-total"
SENTENCES = tuple((ID + f"indicator/postwar-share-sentenced-{n}-years", f"{n} years") for n in (5, 8, 10, 12, 15, 25))
EXAMPLE_QUERY = """PREFIX kzr: <https://w3id.org/kz-repression/ontology#>
PREFIX crm: <http://www.cidoc-crm.org/cidoc-crm/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
# Which stages overlap the year 1937?
SELECT ?stage ?label ?begin ?end WHERE {
  ?stage a kzr:Stage ; rdfs:label ?label ; kzr:timeSpan ?t .
  ?t crm:P82a_begin_of_the_begin ?begin .
  OPTIONAL { ?t crm:P82b_end_of_the_end ?end }
  FILTER(lang(?label) = "en" && ?begin <= "1937-12-31"^^xsd:date
         && (!BOUND(?end) || ?end >= "1937-01-01"^^xsd:date))
} ORDER BY ?begin"""

STAGES = """SELECT ?stage ?kind ?ordinal ?edtf ?begin ?end (GROUP_CONCAT(DISTINCT ?wording; separator=" / ") AS ?wordings)
WHERE { VALUES ?kind { kzr:RepressionStage kzr:RehabilitationStage }
  ?stage a ?kind ; kzr:ordinal ?ordinal ; kzr:timeSpan ?ts .
  OPTIONAL { ?ts kzr:edtf ?edtf } OPTIONAL { ?ts kzr:printedForm ?wording }
  OPTIONAL { ?ts crm:P82a_begin_of_the_begin ?begin } OPTIONAL { ?ts crm:P82b_end_of_the_end ?end }
} GROUP BY ?stage ?kind ?ordinal ?edtf ?begin ?end"""
TABLE_1 = """SELECT ?row ?notation ?printed ?cat ?plan ?pv ?value ?total WHERE {
  ?o qb:dataSet dataset:table-1 ; kzr:tableRow ?row ; kzr:nkvdCategory ?cat ; kzr:planVersion ?plan ; kzr:printedValue ?pv .
  OPTIONAL { ?o kzr:value ?value } OPTIONAL { ?o kzr:isPrintedTotal ?total }
  OPTIONAL { ?row skos:notation ?notation } OPTIONAL { ?row kzr:printedForm ?printed } }"""
FIGURES = """SELECT ?o ?indicator ?area ?qualifier ?pv ?value ?ts ?begin
  (GROUP_CONCAT(DISTINCT ?wording; separator="\\n") AS ?wordings) (GROUP_CONCAT(DISTINCT ?ref; separator="\\n") AS ?refs)
WHERE { ?o qb:dataSet dataset:figures ; kzr:indicator ?indicator ; kzr:printedValue ?pv .
  OPTIONAL { ?o kzr:value ?value } OPTIONAL { ?o kzr:refArea ?area } OPTIONAL { ?o kzr:qualifier ?qualifier }
  OPTIONAL { ?o kzr:refPeriod ?ts OPTIONAL { ?ts kzr:printedForm ?wording } OPTIONAL { ?ts crm:P82a_begin_of_the_begin ?begin } }
  OPTIONAL { ?o kzr:citation ?c . ?c kzr:reference/kzr:referenceNumber ?n OPTIONAL { ?c kzr:referencePages ?pages }
             BIND(IF(BOUND(?pages), CONCAT(STR(?n), "; ", ?pages), STR(?n)) AS ?ref) }
} GROUP BY ?o ?indicator ?area ?qualifier ?pv ?value ?ts ?begin"""
CITATIONS = """SELECT ?c ?source ?section ?paragraph ?table ?page ?n ?pages ?quote WHERE { {subject} kzr:citation ?c .
  OPTIONAL { ?c kzr:inSource ?source } OPTIONAL { ?c kzr:section ?section } OPTIONAL { ?c kzr:paragraph ?paragraph } OPTIONAL { ?c kzr:table ?table }
  OPTIONAL { ?c kzr:page ?page } OPTIONAL { ?c kzr:reference/kzr:referenceNumber ?n } OPTIONAL { ?c kzr:referencePages ?pages }
  OPTIONAL { ?c kzr:quote ?quote } } ORDER BY ?c"""


@bp.get("/")
def index():
    """The home page."""
    stages = stage_groups()
    table, headers = table_1()
    figures = figure_rows()
    return render_template(
        "home/index.html", counts=counts(), example_query=EXAMPLE_QUERY, stages=stages,
        timeline_svg=timeline_svg(stages), table_1=table, table_1_headers=headers,
        table_1_charts=table_1_charts(table, headers), table_1_note=note("dataset:table-1"),
        table_1_citations=citations("dataset:table-1"), table_1_href=page(ID + "dataset/table-1"), figure_groups=group_figures(figures),
        figure_charts=figure_charts(figures), downloads=downloads())


def downloads() -> dict:
    """The 'Download and cite' section: the dumps of this build (if this server has them) and the citation."""
    try:
        return dumps.download_and_cite(dumps.release_or_none())
    except (QueryTimeout, BackendUnavailable) as err:
        raise errors.service_unavailable(str(err)) from None


@bp.get("/.well-known/void")
def dataset_description():
    """The VoID/DCAT description: Turtle, JSON-LD, N-Triples, RDF/XML by content negotiation, or HTML."""
    try:
        graph = void.describe(backend(), current_app.config["BASE_IRI"], request.host_url.rstrip("/"), dumps.release_or_none())
    except (QueryTimeout, BackendUnavailable) as err:
        raise errors.service_unavailable(str(err)) from None
    format_param = request.args.get("format")
    if format_param == "html" or (format_param is None and prefers_html()):
        dataset = void.URIRef(current_app.config["BASE_IRI"] + "dataset")  # the whole; its subsets are void:Datasets too
        page_html = render_template(
            "home/void.html", dataset=str(dataset), rows=void.statements(graph, dataset),
            href=lambda iri: request.path if iri == str(dataset) else page(iri),
            classes=void.partitions(graph, dataset, void.VOID.classPartition, void.VOID["class"], void.VOID.entities),
            properties=void.partitions(graph, dataset, void.VOID.propertyPartition, void.VOID.property, void.VOID.triples))
        response = Response(page_html, content_type="text/html; charset=utf-8")
    else:
        try:
            fmt = negotiate(GRAPH, request.headers.get("Accept"), format_param)
        except NotAcceptable as err:
            raise errors.not_acceptable(f"{err} An HTML page is available as text/html (or format=html).") from None
        response = Response(void.serialize(graph, fmt.name), content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return response


def prefers_html() -> bool:
    """Whether the Accept header prefers an HTML page to every RDF format (ties go to RDF)."""
    if not request.headers.get("Accept", "").strip():
        return False
    offered = [f.media_type for f in FORMATS if f.kind == GRAPH] + ["text/html", "application/xhtml+xml"]
    return request.accept_mimetypes.best_match(offered) in ("text/html", "application/xhtml+xml")


# --- Queries --------------------------------------------------------------------------------

def select(query: str, raw: bool = False) -> list[dict]:
    """Bindings of one of our queries (with all prefixes), as plain values unless raw."""
    try:
        rows = backend().select(sparql_prefixes() + query)
    except (QueryTimeout, BackendUnavailable) as err:
        raise errors.service_unavailable(str(err)) from None
    return rows if raw else [{k: v["value"] for k, v in row.items()} for row in rows]


def labels(iris) -> dict[str, str]:
    """The best label of each IRI: English, then Russian, then Kazakh, then any."""
    values = " ".join(f"<{iri}>" for iri in sorted({i for i in iris if i}))
    if not values:
        return {}
    best: dict[str, tuple] = {}
    for row in select(f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {values} }} ?x rdfs:label|skos:prefLabel ?l }}", raw=True):
        rank = (LANG_RANK.get(row["l"].get("xml:lang", ""), 3), row["l"]["value"])
        best[row["x"]["value"]] = min(best.get(row["x"]["value"], rank), rank)
    return {iri: rank[1] for iri, rank in best.items()}


def page(iri: str) -> str:
    """Where a browser reads about an IRI: our things' pages (/page/...), our other paths, or the IRI."""
    path = local_path(iri, current_app.config["BASE_IRI"])
    if path and path.startswith("/id/"):
        return "/page/" + path[len("/id/"):]
    return path or iri


def counts() -> list[tuple[int, str]]:
    """How many things of the main kinds the graph holds."""
    values = " ".join(f"kzr:{name}" for name, _ in COUNTED)
    found = {r["kind"]: int(r["n"]) for r in select(
        f"SELECT ?kind (COUNT(DISTINCT ?x) AS ?n) WHERE {{ VALUES ?kind {{ {values} }} ?x a ?kind }} GROUP BY ?kind")}
    return [(found.get(str(KZR[name]), 0), noun) for name, noun in COUNTED]


def citations(subject: str) -> list[dict]:
    """The citations of a subject as shown: 'Saktaganova 2021, <section>, para. N (p. P) [N; pages]' and the quote."""
    shown = []
    for r in select(CITATIONS.replace("{subject}", subject)):
        reference = cite.reference(r.get("n"), r.get("pages"))
        text = cite.citation_text(r.get("source"), r.get("section"), r.get("paragraph"), r.get("table"),
                                  r.get("page"), r.get("n"), r.get("pages"))
        shown.append({"text": text, "reference": reference, "quote": r.get("quote", "")})
    return shown


def note(subject: str) -> str:
    """A subject's editorial note, if any."""
    rows = select(f"SELECT ?note WHERE {{ {subject} kzr:editorialNote ?note }} LIMIT 1")
    return rows[0]["note"] if rows else ""


# --- The stages -----------------------------------------------------------------------------

def stage_groups() -> list[dict]:
    """The stages of repression and of rehabilitation, each in order, with their time-spans."""
    rows = select(STAGES)
    names = labels(r["stage"] for r in rows)
    groups = []
    for kind, heading, colour in KINDS:
        stages = sorted((stage(r, names) for r in rows if r["kind"] == kind), key=lambda s: s["ordinal"])
        groups.append({"heading": heading, "colour": colour, "stages": stages})
    return groups


def stage(row: dict, names: dict) -> dict:
    """One stage as the page shows it."""
    label, ordinal = names.get(row["stage"], row["stage"]), int(row["ordinal"])
    short = SHORT_LABEL.match(label)
    return {"key": row["stage"].rsplit("/", 1)[-1], "href": page(row["stage"]), "ordinal": ordinal,
            "label": label, "row_label": f"{ordinal}. {short.group(1) if short else label}",
            "wording": row.get("wordings", ""), "edtf": row.get("edtf", ""),
            "begin": _date(row.get("begin")), "end": _date(row.get("end"))}


def _date(value: str | None) -> date | None:
    """An xsd:date value as a date."""
    return date.fromisoformat(value[:10]) if value else None


def timeline_svg(groups: list[dict]) -> str:
    """The stages as an SVG timeline."""
    rows = [(g["heading"], g["colour"], [pictures.Span(
        s["key"], s["row_label"], f"{s['label']}. The source: \u201c{s['wording']}\u201d (EDTF {s['edtf']})",
        s["href"], s["edtf"], s["begin"], s["end"]) for s in g["stages"]]) for g in groups]
    return pictures.timeline(
        rows, title="The stages of repression and rehabilitation, 1917–2025",
        desc="One bar per stage on a time axis in years. A bar fades where the source dates a stage only "
             "approximately or to a decade; an arrow marks a stage that is still open. The same stages are "
             "listed, with the source's wording and the EDTF value, in the table below.")


# --- Table 1 and the figures ----------------------------------------------------------------

def table_1() -> tuple[list[dict], list[str]]:
    """Table 1 as printed: rows in notation order, four columns, printed values (dashes kept)."""
    rows = {}
    found = select(TABLE_1)
    for r in found:
        row = rows.setdefault(r["row"], {"label": r.get("printed", r["row"]), "order": int(r.get("notation", 999)),
                                         "total": r.get("total") == "true", "cells": {}})
        row["cells"][(r["cat"], r["plan"])] = pictures.Bar(float(r["value"]) if "value" in r else None, r["pv"])
    for row in rows.values():
        row["cells"] = [row["cells"].get(column, pictures.Bar(None, "")) for column in TABLE_1_COLUMNS]
    names = labels(iri for column in TABLE_1_COLUMNS for iri in column)
    return sorted(rows.values(), key=lambda r: r["order"]), [names.get(c, c) for c, _ in TABLE_1_COLUMNS[::2]] + [
        names.get(v, v) for _, v in TABLE_1_COLUMNS[:2]]


def table_1_charts(table: list[dict], headers: list[str]) -> list[str]:
    """Per category, a grouped bar chart of the regions (and reserve): original against approved plan."""
    series = list(zip(headers[2:], PLAN_COLOURS))
    rows = [row for row in table if not row["total"]]
    maximum = max((bar.value for row in rows for bar in row["cells"] if bar.value is not None), default=None)
    charts = []
    for index, category in enumerate(headers[:2]):
        groups = [(row["label"], [_shown(bar) for bar in row["cells"][2 * index: 2 * index + 2]]) for row in rows]
        desc = "; ".join(f"{label}: " + ", ".join(f"{name} {bar.text}" for (name, _), bar in zip(series, bars))
                         for label, bars in groups)
        title = f"Table 1, {category}: original and approved plan by region (persons)"
        charts.append({"title": title, "svg": pictures.bar_chart(
            title, desc + ".", groups, series, f"table-1-category-{index + 1}", maximum)})
    return charts


def _shown(bar: pictures.Bar) -> pictures.Bar:
    """A printed dash says so in a chart."""
    return bar if bar.value is not None else pictures.Bar(None, f"{bar.text} (no figure printed)")


def figure_rows() -> list[dict]:
    """The scattered figures: indicator, area, period wording, printed value, qualifier, references."""
    rows = select(FIGURES)
    names = labels(r.get(k) for r in rows for k in ("indicator", "area", "qualifier", "ts"))
    figures = []
    for r in rows:
        wordings = list(dict.fromkeys(w for w in r.get("wordings", "").split("\n") if w))
        unique = [w for i, w in enumerate(wordings) if w.lower() not in {x.lower() for x in wordings[:i]}]
        refs = sorted((x for x in r.get("refs", "").split("\n") if x), key=lambda x: int(x.split(";")[0]))
        figures.append({"href": page(r["o"]), "indicator": r["indicator"], "indicator_label": names.get(r["indicator"], r["indicator"]),
                        "area": names.get(r.get("area"), ""), "period": " / ".join(unique),
                        "period_label": names.get(r.get("ts"), ""), "begin": r.get("begin", ""), "printed": r["pv"],
                        "value": float(r["value"]) if "value" in r else None,
                        "qualifier": names.get(r.get("qualifier"), ""), "refs": " ".join(f"[{x}]" for x in refs)})
    return sorted(figures, key=lambda f: (f["indicator_label"], f["begin"], f["area"]))


def group_figures(figures: list[dict]) -> list[tuple[str, list[dict]]]:
    """The figures grouped by indicator."""
    groups: dict[str, list[dict]] = {}
    for figure in figures:
        groups.setdefault(figure["indicator_label"], []).append(figure)
    return list(groups.items())


def figure_charts(figures: list[dict]) -> list[dict]:
    """Two charts of the figures: rehabilitated citizens over time; post-war sentences by term."""
    totals = [f for f in figures if f["indicator"] == REHABILITATED]
    terms = dict(SENTENCES)
    shares = sorted((f for f in figures if f["indicator"] in terms), key=lambda f: list(terms).index(f["indicator"]))
    charts = []
    for title, items, label, prefix in (
            ("Total rehabilitated citizens of Kazakhstan", totals, lambda f: f["period_label"] or f["period"], "rehabilitated"),
            ("Post-war political repressed of East Kazakhstan region by length of sentence (per cent)", shares,
             lambda f: terms[f["indicator"]], "postwar-sentences")):
        groups = [(label(f), [pictures.Bar(f["value"], f["printed"])]) for f in items]
        refs = " ".join(dict.fromkeys(f["refs"] for f in items if f["refs"]))
        desc = "; ".join(f"{name}: {bars[0].text}" for name, bars in groups) + f". Source: {refs}."
        charts.append({"svg": pictures.bar_chart(title, desc, groups, [("", "#2f6b4f")], prefix),
                       "refs": refs, "title": title})
    return charts
