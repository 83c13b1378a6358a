"""What can be told about a SPARQL request from its text before running it: its form, whether it
is an update, how deeply it nests, whether it names its own dataset, and the SERVICE targets it
calls (https://www.w3.org/TR/sparql11-query/#grammar).

A request may be a megabyte of anything, so every pattern here runs in time linear in the text:
no match can fail after a long scan and be tried again a little further on.
"""
from __future__ import annotations

import functools
import re
from itertools import accumulate

_IRI = r'<(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*+>'
# IRIs are kept; strings and comments are blanked, so that words inside them count for nothing.
# They end where SPARQL (and Oxigraph) end them; an unterminated one runs to the end of its line
# (or of the text). A backslash outside strings escapes one character (a local name's ex:a\#b).
_TOKENS = re.compile(
    rf'(?P<iri>{_IRI})'
    r'|(?P<long>"""(?:[^"\\]|\\.?|"(?!""))*+(?:"""|\Z)|\'\'\'(?:[^\'\\]|\\.?|\'(?!\'\'))*+(?:\'\'\'|\Z))'
    r'|(?P<short>"(?:[^"\\\r\n]|\\[^\r\n]?)*+"?|\'(?:[^\'\\\r\n]|\\[^\r\n]?)*+\'?)'
    r'|(?P<comment>#[^\r\n]*+)'
    r'|(?P<escape>\\.)',
    re.S)
_PROLOGUE = re.compile(r"^\s*(?:(?:PREFIX\s+[\w.-]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*", re.I)
_FORM = re.compile(r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)
_UPDATE = re.compile(r"(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b", re.I)
_DATASET = re.compile(r"(?<![\w?$:\\])FROM\s+(?:NAMED\s+)?(?:<|[^\W\d][\w.-]*:|:)", re.I)
_BRACKETS = re.compile(r"[{}()\[\]]")

# What separates tokens: white space and comments (a superset of what Oxigraph allows).
_SEP = r"(?:\s|#[^\r\n]*+)*+"
_DECLARATION = re.compile(_SEP + r"""(?:PREFIX""" + _SEP + r"""([^\s:<>{}()"'#,;]*):""" + _SEP
                          + r"""<([^<>]*)>|BASE""" + _SEP + r"<[^<>]*>)", re.I)
# SERVICE wherever Oxigraph could read it as the keyword, glued to its neighbours too (1SERVICE<x>,
# SERVICEex:y), except inside a variable, a prefixed or blank-node name or a language tag, which
# swallow it; those are matched whole so that the scan skips them.
_SERVICE_WORD = re.compile(r"[?$]\w*|:[\w.\-:%\\]*|@[A-Za-z]+(?:-[A-Za-z0-9]+)*|(SERVICE)", re.I)
_SILENT = re.compile(_SEP + "SILENT", re.I)
_TARGET_START = re.compile(_SEP + r"""(?=([<?$:]|[^\s<>{}()"'#,;\\0-9.\-]))""")
_IRI_TARGET = re.compile(r"<[^<>]*>")
_VAR_TARGET = re.compile(r"[?$]\w*")
_NAME_TARGET = re.compile(r"""([^\s:<>{}()"'#,;\\]{0,256}+)(?::((?:\\.|[^\s{}()<>"'#,;\\]){0,2048}+))?""")
_LOCAL_ESCAPE = re.compile(r"\\(.)")
MAX_SERVICE_WORDS = 32  # SERVICE keywords read in one query; a query with more is refused


@functools.lru_cache(maxsize=4)  # each request asks several questions of the same text
def code_only(sparql: str) -> str:
    """The text with strings and comments blanked out (same length, so positions hold); IRIs kept."""
    def keep(match: re.Match) -> str:
        return match.group("iri") or match.group("escape") or " " * len(match.group(0))
    return _TOKENS.sub(keep, sparql)


def nesting_depth(sparql: str) -> int:
    """How deeply the query nests its brackets { }, ( ) and [ ] (outside strings, comments and IRIs)."""
    code = re.sub(_IRI, "", code_only(sparql))
    steps = (1 if b in "{([" else -1 for b in _BRACKETS.findall(code))
    return max(accumulate(steps, initial=0))


def has_dataset_clause(sparql: str) -> bool:
    """Whether the query names its own dataset with FROM or FROM NAMED."""
    masked = re.sub(_IRI, lambda m: "<" + " " * (len(m.group(0)) - 2) + ">", code_only(sparql))
    return _DATASET.search(masked) is not None


def query_form(sparql: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE; UPDATE for an update; None if it cannot be told."""
    body = _PROLOGUE.sub("", code_only(sparql), count=1)
    form = _FORM.match(body)
    if form:
        return form.group(1).upper()
    if _UPDATE.match(body):
        return "UPDATE"
    return None


def _prologue(sparql: str) -> tuple[dict[str, str], int]:
    """The prefixes the prologue declares (the last declaration of a prefix wins), and where it ends."""
    prefixes, end = {}, 0
    while match := _DECLARATION.match(sparql, end):
        if match.group(2) is not None:
            prefixes[match.group(1)] = match.group(2)
        end = match.end()
    return prefixes, end


def _service_spans(sparql: str) -> list[tuple[int, int, str]]:
    """(start, end, target) of every SERVICE target Oxigraph could call: IRIs expanded, variables as '?name'.

    The text is read as it is, not through code_only: that view can be fooled where `<` may be an
    IRI or an operator (?a<?b#x>'''...). A SERVICE inside a string, a comment or an IRI is passed
    over only when no IRI of the code view holds # or ', the characters that could make the views
    differ. A target that cannot be read is reported as it stands, so that it is refused.
    """
    prefixes, start = _prologue(sparql)
    code = code_only(sparql)
    trusted = not any("#" in iri or "'" in iri for iri in re.findall(_IRI, code))
    plain = re.sub(_IRI, lambda iri: " " * len(iri.group()), code)  # strings, comments and IRIs blank
    spans, words = [], 0
    for word in _SERVICE_WORD.finditer(sparql, start):
        if not word.group(1) or (trusted and plain[word.start()] == " "):
            continue
        words += 1
        if words > MAX_SERVICE_WORDS:
            return spans + [(word.start(), word.start(), f"(more than {MAX_SERVICE_WORDS} SERVICE keywords)")]
        silent = _SILENT.match(sparql, word.end())
        for at in (word.end(), silent.end()) if silent else (word.end(),):
            target = _read_target(sparql, at, prefixes)
            if target:
                spans.append(target)
    return spans


def _read_target(sparql: str, at: int, prefixes: dict[str, str]) -> tuple[int, int, str] | None:
    """The SERVICE target that starts after white space at `at`, or None where no target can start."""
    begin = _TARGET_START.match(sparql, at)
    if begin is None:
        return None
    first = begin.end()
    if sparql[first] == "<":
        iri = _IRI_TARGET.match(sparql, first)
        return (first, iri.end(), iri.group()[1:-1]) if iri else (first, first, sparql[first:first + 60])
    if sparql[first] in "?$":
        var = _VAR_TARGET.match(sparql, first)
        return first, var.end(), "?" + var.group()[1:]
    name = _NAME_TARGET.match(sparql, first)
    prefix, local = name.group(1), name.group(2)
    if local is None:  # a word, not a name; unless it is too long to tell
        return (first, first, sparql[first:first + 60]) if len(prefix) == 256 else None
    if name.end() < len(sparql) and sparql[name.end()] not in " \t\r\n{#":
        return first, first, sparql[first:first + 60]  # longer than we read, or glued to something
    if prefix not in prefixes:
        return None  # Oxigraph cannot read an undeclared prefix, so this reading calls nothing
    return first, name.end(), prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)


def service_targets(sparql: str) -> list[str]:
    """The targets of every SERVICE clause: IRIs expanded, variables as '?name'."""
    return [target for _, _, target in _service_spans(sparql)]


def rewrite_services(sparql: str, route: dict[str, str]) -> str:
    """The query with each SERVICE target in `route` replaced by the IRI it maps to."""
    out, last = [], 0
    for start, end, target in sorted(_service_spans(sparql)):
        if target in route and start >= last:
            out += [sparql[last:start], f"<{route[target]}>"]
            last = end
    return "".join(out) + sparql[last:]


def refused_services(sparql: str, allowed: tuple[str, ...] | list[str]) -> list[str]:
    """The SERVICE targets not on the allow-list (a variable is never allowed)."""
    allowed_set = {a.rstrip("/") for a in allowed}
    return [t for t in service_targets(sparql) if t.startswith("?") or t.rstrip("/") not in allowed_set]
