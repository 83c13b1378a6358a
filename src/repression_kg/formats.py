"""The one table of formats: name, file extension, media type, kind, and Oxigraph's serialiser.

Used for content negotiation, `format=` parameters, URL suffixes and `--format` options.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

RESULTS, GRAPH = "results", "graph"


@dataclass(frozen=True)
class Format:
    """A serialisation: `kind` is RESULTS (SELECT/ASK) or GRAPH (CONSTRUCT/DESCRIBE, RDF data)."""

    name: str
    ext: str
    media_type: str
    kind: str
    oxigraph: object
    text: bool = True

    @property
    def content_type(self) -> str:
        """The media type with its charset, as sent in Content-Type."""
        return f"{self.media_type}; charset=utf-8" if self.text else self.media_type


FORMATS = (
    Format("json", "srj", "application/sparql-results+json", RESULTS, ox.QueryResultsFormat.JSON),
    Format("xml", "srx", "application/sparql-results+xml", RESULTS, ox.QueryResultsFormat.XML),
    Format("csv", "csv", "text/csv", RESULTS, ox.QueryResultsFormat.CSV),
    Format("tsv", "tsv", "text/tab-separated-values", RESULTS, ox.QueryResultsFormat.TSV),
    Format("turtle", "ttl", "text/turtle", GRAPH, ox.RdfFormat.TURTLE),
    Format("ntriples", "nt", "application/n-triples", GRAPH, ox.RdfFormat.N_TRIPLES),
    Format("jsonld", "jsonld", "application/ld+json", GRAPH, ox.RdfFormat.JSON_LD),
    Format("rdfxml", "rdf", "application/rdf+xml", GRAPH, ox.RdfFormat.RDF_XML),
    Format("nquads", "nq", "application/n-quads", GRAPH, ox.RdfFormat.N_QUADS),
    Format("trig", "trig", "application/trig", GRAPH, ox.RdfFormat.TRIG),
)

# Media types clients send that mean one of ours.
ALIASES = {
    "application/json": "json", "application/xml": "xml", "text/xml": "xml",
    "application/x-turtle": "turtle", "text/plain": "ntriples", "application/json+ld": "jsonld",
    "text/n3": "turtle",
}

DEFAULT = {RESULTS: "json", GRAPH: "turtle"}

# format= values that mean a graph format when the answer is a graph (SPARQLWrapper sends these).
GRAPH_PARAM_ALIASES = {"xml": "rdfxml", "rdf+xml": "rdfxml", "n3": "turtle", "json-ld": "jsonld",
                       "json": "jsonld", "application/json": "jsonld"}


class NotAcceptable(Exception):
    """No format of the wanted kind matches the request; the message lists those available."""

    def __init__(self, kind: str, asked: str):
        self.kind = kind
        self.available = [f.media_type for f in FORMATS if f.kind == kind]
        super().__init__(f"None of the requested formats ({asked}) is available for this answer; "
                         f"available: {', '.join(self.available)} (or format=" + "|".join(
                             f.name for f in FORMATS if f.kind == kind) + ").")


def by_name(name: str) -> Format | None:
    """A format by its name, extension or media type ('ttl', 'turtle', 'text/turtle'), or None."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    for f in FORMATS:
        if key in (f.name, f.ext, f.media_type):
            return f
    return None


def negotiate(kind: str, accept: str | None = None, format_param: str | list[str] | None = None) -> Format:
    """The best format of a kind for format= (which wins; the first value of the kind) or Accept."""
    values = (format_param,) if isinstance(format_param, str) else tuple(v for v in (format_param or []) if v)
    chosen = _negotiate(kind, accept, values)
    if chosen is None:
        raise NotAcceptable(kind, f"format={values[0]}" if values else accept)
    return chosen


@functools.lru_cache(maxsize=512)  # clients send the same few Accept headers; parsing one costs ~70 microseconds
def _negotiate(kind: str, accept: str | None, values: tuple[str, ...]) -> Format | None:
    if values:
        for value in values:
            key = value.strip().lower()
            chosen = by_name(GRAPH_PARAM_ALIASES.get(key, key) if kind == GRAPH else key)
            if chosen is not None and chosen.kind == kind:
                return chosen
        return None
    if not accept or not accept.strip():
        return by_name(DEFAULT[kind])
    offered = [f for f in FORMATS if f.kind == kind]
    accepted = parse_accept_header(accept, MIMEAccept)
    candidates = [f.media_type for f in offered] + [a for a, n in ALIASES.items() if by_name(n).kind == kind]
    # the default first, so that */* and type/* pick it
    default = by_name(DEFAULT[kind]).media_type
    candidates.sort(key=lambda m: m != default)
    best = accepted.best_match(candidates)
    return None if best is None else by_name(best)
