"""What can be told about a SPARQL request from its text before running it: its form, whether it
is an update, and the SERVICE targets it calls (https://www.w3.org/TR/sparql11-query/#grammar)."""
from __future__ import annotations

import re

# IRIs are kept; strings and comments are dropped, so that words inside them count for nothing.
_TOKENS = re.compile(
    r'(?P<iri><[^<>"{}|^`\\\s]*>)'
    r'|(?P<long>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\')'
    r'|(?P<short>"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')'
    r'|(?P<comment>#[^\n]*)',
    re.S)
_PREFIX = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.I)
_PROLOGUE = re.compile(r"^\s*(?:(?:PREFIX\s+[\w.-]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*", re.I)
_FORM = re.compile(r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)
_UPDATE = re.compile(r"(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b", re.I)
_SERVICE = re.compile(r"\bSERVICE\s+(?:SILENT\s+)?(<[^>]*>|[?$]\w+|[A-Za-z][\w.-]*:[\w.-]*|:[\w.-]*)", re.I)


def code_only(sparql: str) -> str:
    """The text with strings and comments blanked out (same length, so positions hold); IRIs kept."""
    def keep(match: re.Match) -> str:
        return match.group("iri") or " " * len(match.group(0))
    return _TOKENS.sub(keep, sparql)


def query_form(sparql: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE; UPDATE for an update; None if it cannot be told."""
    body = _PROLOGUE.sub("", code_only(sparql), count=1)
    form = _FORM.match(body)
    if form:
        return form.group(1).upper()
    if _UPDATE.match(body):
        return "UPDATE"
    return None


def _service_spans(sparql: str) -> list[tuple[int, int, str]]:
    """(start, end, target) of every SERVICE target in the text: IRIs expanded, variables as '?name'."""
    code = code_only(sparql)
    prefixes = {(m.group(1) or ""): m.group(2) for m in _PREFIX.finditer(code)}
    spans = []
    for match in _SERVICE.finditer(code):
        target = match.group(1)
        if target.startswith("<"):
            expanded = target[1:-1]
        elif target[0] in "?$":
            expanded = "?" + target[1:]
        else:
            prefix, _, local = target.partition(":")
            expanded = prefixes[prefix] + local if prefix in prefixes else target
        spans.append((match.start(1), match.end(1), expanded))
    return spans


def service_targets(sparql: str) -> list[str]:
    """The targets of every SERVICE clause: IRIs expanded, variables as '?name'."""
    return [target for _, _, target in _service_spans(sparql)]


def rewrite_services(sparql: str, route: dict[str, str]) -> str:
    """The query with each SERVICE target in `route` replaced by the IRI it maps to."""
    out, last = [], 0
    for start, end, target in _service_spans(sparql):
        if target in route:
            out += [sparql[last:start], f"<{route[target]}>"]
            last = end
    return "".join(out) + sparql[last:]


def refused_services(sparql: str, allowed: tuple[str, ...] | list[str]) -> list[str]:
    """The SERVICE targets not on the allow-list (a variable is never allowed)."""
    allowed_set = {a.rstrip("/") for a in allowed}
    return [t for t in service_targets(sparql) if t.startswith("?") or t.rstrip("/") not in allowed_set]
