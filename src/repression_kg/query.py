"""Run SPARQL against the built store and format the answer (table, CSV, TSV, JSON; Turtle for graphs)."""
from __future__ import annotations

import pyoxigraph as ox

from .namespaces import PREFIXES, curie

RESULT_FORMATS = {
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
}
GRAPH_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES}


class QueryError(Exception):
    """The query cannot be parsed or evaluated; the message is the engine's."""


def run(store: ox.Store, sparql: str):
    """Evaluate a query over the union of all graphs; a syntax error becomes a QueryError."""
    try:
        return store.query(sparql, use_default_graph_as_union=True)
    except SyntaxError as err:
        raise QueryError(f"SPARQL syntax error: {err}") from None
    except OSError as err:
        raise QueryError(f"Query failed: {err}") from None


def select_rows(store: ox.Store, sparql: str) -> tuple[list[str], list[dict[str, str | None]]]:
    """A SELECT query's variables and rows, each value as its plain string (IRI, literal value)."""
    solutions = run(store, sparql)
    if not isinstance(solutions, ox.QuerySolutions):
        raise QueryError("Expected a SELECT query.")
    names = [v.value for v in solutions.variables]
    rows = [{n: (None if s[n] is None else s[n].value) for n in names} for s in solutions]
    return names, rows


def format_result(result, fmt: str) -> str:
    """Serialise a query result in one of the formats above, or as an aligned text table."""
    if isinstance(result, ox.QueryBoolean):
        return ("true" if bool(result) else "false") + "\n"
    if isinstance(result, ox.QueryTriples):
        if fmt not in GRAPH_FORMATS:
            fmt = "turtle"
        return ox.serialize(result, format=GRAPH_FORMATS[fmt], prefixes=PREFIXES).decode("utf-8")
    if fmt == "table":
        return table(result)
    if fmt not in RESULT_FORMATS:
        raise QueryError(f"Unknown format {fmt!r}: use table, {', '.join(RESULT_FORMATS)} (SELECT/ASK) or turtle, nt (CONSTRUCT/DESCRIBE).")
    return result.serialize(format=RESULT_FORMATS[fmt]).decode("utf-8")


def table(solutions: ox.QuerySolutions) -> str:
    """An aligned plain-text table, IRIs shortened with the project's prefixes."""
    names = [v.value for v in solutions.variables]
    rows = [[shorten(s[n]) for n in names] for s in solutions]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(names), line(["-" * w for w in widths])] + [line(r) for r in rows]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out) + "\n"


def shorten(term) -> str:
    """A term as text: prefixed IRI, or the literal's value."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return curie(term.value)
    if isinstance(term, ox.Literal) and term.language:
        return f"{term.value}@{term.language}"
    return term.value
