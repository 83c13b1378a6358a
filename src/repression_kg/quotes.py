"""Check that every citation's quote stands in the article at the locator it gives."""
from __future__ import annotations

import sys

from rdflib import Graph, Literal
from rdflib.namespace import RDF

from . import article
from .namespaces import KZR


def citation_problems(graph: Graph, path: str | None = None) -> list[str]:
    """One message per citation whose quote is missing or not where its locator says."""
    problems = []
    for cit in sorted(set(graph.subjects(RDF.type, KZR.Citation))):
        quote = graph.value(cit, KZR.quote)
        section = graph.value(cit, KZR.section)
        para = graph.value(cit, KZR.paragraph)
        table = graph.value(cit, KZR.table)
        if not isinstance(quote, Literal) or not str(quote).strip():
            problems.append(f"{cit}: no quote")
            continue
        if table is not None:
            if article.normalise(str(quote)) not in article.normalise(article.table_text(path)):
                problems.append(f"{cit}: quote not in {table}: {quote!s}")
            continue
        found = article.locate(str(quote), path)
        if not found:
            problems.append(f"{cit}: quote not found in the article: {quote!s}")
        elif not any(p.section == str(section) and p.number == int(para or 0) for p in found):
            where = "; ".join(p.locator for p in found)
            problems.append(f"{cit}: quote stands in {where}, not {section}, para. {para}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """python -m repression_kg.quotes FILE.ttl ...: print citation problems, exit 1 if any."""
    graph = Graph()
    for name in (sys.argv[1:] if argv is None else argv):
        graph.parse(name, format="turtle")
    problems = citation_problems(graph)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s) in {len(set(graph.subjects(RDF.type, KZR.Citation)))} citations")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
