"""How a citation is shown everywhere (pages, tables, home): 'Saktaganova 2021, <section>, para. N (p. P) [N; pages]'."""
from __future__ import annotations


def short_source(iri: str | None) -> str:
    """A source's short name from its author-year slug: source/saktaganova-2021 -> 'Saktaganova 2021'."""
    return iri.rstrip("/").rsplit("/", 1)[-1].replace("-", " ").title() if iri else "source"


def locator(section=None, paragraph=None, table=None, page=None) -> str:
    """Where in the source: 'Results and Discussion, para. 10 (p. 116)' or 'Table 1'."""
    text = ", ".join(x for x in (section, paragraph and f"para. {paragraph}", table) if x)
    return text + (f" (p. {page})" if page else "")


def reference(number=None, pages=None) -> str:
    """The source's own reference: '[6; 243]', '[10]' or ''."""
    if not number:
        return ""
    return f"[{number}; {pages}]" if pages else f"[{number}]"


def citation_text(source=None, section=None, paragraph=None, table=None, page=None, number=None, pages=None) -> str:
    """The whole citation as one line of text."""
    where = ", ".join(x for x in (short_source(source), locator(section, paragraph, table, page)) if x)
    return f"{where} {reference(number, pages)}".rstrip()
