"""Hypothesis strategies for SPARQL 1.1 queries, built from the grammar's productions
(https://www.w3.org/TR/sparql11-query/#sparqlGrammar), and near-valid variants of them.

`queries()` draws a Query (Prologue, then SelectQuery, ConstructQuery, DescribeQuery or AskQuery,
with DatasetClause, WhereClause and SolutionModifier) whose terms come from the graph's own
vocabulary, so that many of them match data. `near_valid_queries()` takes such a query and breaks
it a little (a span deleted, a token inserted, a span repeated, a cut, a character changed), the
way a typo or a careless generator does.
"""
from __future__ import annotations

import functools

from hypothesis import strategies as st

PREFIXES = {
    "kzr": "https://w3id.org/kz-repression/ontology#",
    "id": "https://w3id.org/kz-repression/id/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "crm": "http://www.cidoc-crm.org/cidoc-crm/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "qb": "http://purl.org/linked-data/cube#",
}
GRAPHS = [f"<https://w3id.org/kz-repression/graph/{g}>" for g in ("data", "ontology", "links", "inferred", "metadata")]
PREDICATES = ["rdf:type", "a", "rdfs:label", "kzr:citation", "kzr:quote", "kzr:inSource", "kzr:section",
              "skos:prefLabel", "skos:inScheme", "skos:definition", "kzr:printedForm", "kzr:timeSpan",
              "kzr:value", "qb:dataSet", "crm:P82a_begin_of_the_begin", "<http://www.w3.org/2000/01/rdf-schema#label>"]
CLASSES = ["kzr:Person", "kzr:Citation", "kzr:Claim", "skos:Concept", "qb:Observation", "crm:E21_Person",
           "kzr:TimeSpan", "kzr:Stage", "<http://xmlns.com/foaf/0.1/Person>"]
THINGS = ["<https://w3id.org/kz-repression/id/person/bukeikhanov-a>", "id:person\\/baitursynov-a",
          "<https://w3id.org/kz-repression/id/place/karaganda>", "kzr:Person", "<http://example.org/nothing>"]
VARIABLES = ["?a", "?b", "?c", "?d", "$e"]
FUNCTIONS_1 = ["STR", "LANG", "DATATYPE", "STRLEN", "UCASE", "LCASE", "isIRI", "isLiteral", "isBlank",
               "ABS", "ROUND", "CEIL", "YEAR", "ENCODE_FOR_URI", "STRUUID", "BOUND", "IRI", "MD5"]
FUNCTIONS_2 = ["CONTAINS", "STRSTARTS", "STRENDS", "LANGMATCHES", "sameTerm", "STRBEFORE", "STRAFTER", "REGEX"]
OPERATORS = ["||", "&&", "=", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/"]
AGGREGATES = ["COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE"]
# Tokens that near-valid queries gain in the wrong place.
TOKENS = ["{", "}", "(", ")", "[", "]", ".", ";", ",", "?", "$", "<", ">", "<<", "\"", "'", "#", "\\",
          "SELECT", "WHERE", "FILTER", "OPTIONAL", "UNION", "GRAPH", "SERVICE", "BIND", "AS", "VALUES",
          "LIMIT 0", "ORDER BY", "GROUP BY", "a", "^^", "@en", "UNDEF", "*", "|", "/", "^", "!", "+",
          "\u0000", "\ufffd", "\u202e", "\U0001f600", "\r", "\n", "\t", " ", "1e999", "-0", "9" * 40]

variables = st.sampled_from(VARIABLES)


@functools.cache  # built once: hypothesis validates a strategy on its first draw
def literals() -> st.SearchStrategy[str]:
    """RDFLiteral, NumericLiteral and BooleanLiteral, with awkward contents."""
    text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters='"\\\n\r'), max_size=12)
    return st.one_of(
        text.map(lambda t: f'"{t}"'),
        st.tuples(text, st.sampled_from(["en", "ru", "kk", "kk-Cyrl"])).map(lambda p: f'"{p[0]}"@{p[1]}'),
        st.tuples(st.integers(-10**6, 10**6), st.sampled_from(["xsd:integer", "xsd:decimal", "xsd:string",
                                                                "xsd:date", "xsd:gYear"]))
        .map(lambda p: f'"{p[0]}"^^{p[1]}'),
        st.integers(-10**9, 10**9).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f"{f:e}"),
        st.sampled_from(["true", "false", "1.5", "-0.0", "'''x\ny'''", '"a\\tb"', '"\\u0041"']),
    )


iris = st.sampled_from(THINGS + CLASSES)
terms = st.one_of(variables, iris, literals())


@functools.cache
def paths() -> st.SearchStrategy[str]:
    """PropertyPath: sequences, alternatives, inverses, repetition and negated sets of the graph's predicates."""
    base = st.sampled_from([p for p in PREDICATES if p != "a"])
    return st.recursive(base, lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"{p[0]}/{p[1]}"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]}|{p[1]})"),
        inner.map(lambda p: f"^({p})"),
        st.tuples(inner, st.sampled_from(["*", "+", "?"])).map(lambda p: f"({p[0]}){p[1]}"),
        base.map(lambda p: f"!({p})"),
    ), max_leaves=4)


@functools.cache
def expressions() -> st.SearchStrategy[str]:
    """Expression: terms, built-in calls, operators, IN, IF, COALESCE and EXISTS."""
    return st.recursive(terms, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
        st.tuples(st.sampled_from(["!", "-", "+"]), inner).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(st.sampled_from(FUNCTIONS_1), inner).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(st.sampled_from(FUNCTIONS_2), inner, inner).map(lambda p: f"{p[0]}({p[1]}, {p[2]})"),
        st.tuples(inner, inner, inner).map(lambda p: f"IF({p[0]}, {p[1]}, {p[2]})"),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: f"COALESCE({', '.join(xs)})"),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: f"CONCAT({', '.join(xs)})"),
        st.tuples(inner, st.sampled_from(["IN", "NOT IN"]), st.lists(inner, max_size=3))
        .map(lambda p: f"({p[0]} {p[1]} ({', '.join(p[2])}))"),
        st.tuples(st.sampled_from(["EXISTS", "NOT EXISTS"]), triples()).map(lambda p: f"{p[0]} {{ {p[1]} }}"),
    ), max_leaves=6)


@functools.cache
def triples(with_paths: bool = True) -> st.SearchStrategy[str]:
    """TriplesSameSubjectPath (or, without paths, a TriplesTemplate's triple): subject, predicate, object."""
    predicate = st.one_of(st.sampled_from(PREDICATES), variables, *([paths()] if with_paths else []))
    return st.tuples(st.one_of(variables, iris), predicate, st.one_of(terms, st.sampled_from(CLASSES))) \
        .map(lambda p: f"{p[0]} {p[1]} {p[2]} .")


@functools.cache
def group_patterns() -> st.SearchStrategy[str]:
    """GroupGraphPattern: triples, OPTIONAL, UNION, MINUS, GRAPH, FILTER, BIND, VALUES and sub-selects."""
    element = st.one_of(
        triples(),
        expressions().map(lambda e: f"FILTER ({e})"),
        st.tuples(expressions(), st.sampled_from(["?x", "?y", "?z"])).map(lambda p: f"BIND ({p[0]} AS {p[1]})"),
        st.tuples(variables, st.lists(st.one_of(iris, literals(), st.just("UNDEF")), max_size=4))
        .map(lambda p: f"VALUES {p[0]} {{ {' '.join(p[1])} }}"),
    )

    def group(elements):
        return st.lists(elements, max_size=3).map(lambda es: "{ " + " ".join(es) + " }")

    def extend(inner):
        return group(st.one_of(
            element,
            inner,
            inner.map(lambda g: f"OPTIONAL {g}"),
            st.tuples(inner, inner).map(lambda p: f"{p[0]} UNION {p[1]}"),
            inner.map(lambda g: f"MINUS {g}"),
            st.tuples(st.one_of(variables, st.sampled_from(GRAPHS)), inner).map(lambda p: f"GRAPH {p[0]} {p[1]}"),
            st.tuples(variables, inner).map(lambda p: f"{{ SELECT {p[0]} WHERE {p[1]} LIMIT 5 }}"),
        ))

    return st.recursive(group(element), extend, max_leaves=5)


@functools.cache
def modifiers() -> st.SearchStrategy[str]:
    """SolutionModifier: ORDER BY, LIMIT and OFFSET (a LIMIT always, to keep answers small)."""
    order = st.one_of(st.just(""), st.tuples(st.sampled_from(["ASC", "DESC", ""]), variables)
                      .map(lambda p: f"ORDER BY {p[0]}({p[1]})" if p[0] else f"ORDER BY {p[1]}"))
    return st.tuples(order, st.integers(0, 50), st.integers(0, 5)) \
        .map(lambda p: f"{p[0]} LIMIT {p[1]}" + (f" OFFSET {p[2]}" if p[2] else ""))


@functools.cache
def prologues() -> st.SearchStrategy[str]:
    """Prologue: the PREFIX declarations in some order, and sometimes a BASE."""
    declarations = st.permutations(sorted(PREFIXES)).map(lambda names: "\n".join(f"PREFIX {n}: <{PREFIXES[n]}>"
                                                                                 for n in names))
    base = st.sampled_from(["", "BASE <https://w3id.org/kz-repression/>\n"])
    return st.tuples(base, declarations).map(lambda p: p[0] + p[1] + "\n")


@functools.cache
def select_clauses() -> st.SearchStrategy[str]:
    """SelectClause: *, variables, (expression AS ?var), and an aggregate with its GROUP BY."""
    plain = st.one_of(
        st.just("*"),
        st.lists(variables, min_size=1, max_size=3, unique=True).map(" ".join),
        st.tuples(expressions(), variables).map(lambda p: f"({p[0]} AS ?out)"),
    )
    distinct = st.sampled_from(["", "DISTINCT ", "REDUCED "])
    return st.tuples(distinct, plain).map(lambda p: f"SELECT {p[0]}{p[1]}")


@functools.cache
def queries() -> st.SearchStrategy[str]:
    """A whole Query, as the grammar's Query production allows it."""
    dataset = st.one_of(st.just(""), st.sampled_from(GRAPHS).map(lambda g: f"FROM {g}\n"),
                        st.sampled_from(GRAPHS).map(lambda g: f"FROM NAMED {g}\n"))
    where, mods = group_patterns(), modifiers()
    select = st.tuples(select_clauses(), dataset, where, mods).map(lambda p: f"{p[0]}\n{p[1]}WHERE {p[2]}\n{p[3]}")
    grouped = st.tuples(st.sampled_from(AGGREGATES), variables, dataset, where, st.integers(0, 20)).map(
        lambda p: f"SELECT {p[1]} ({p[0]}({p[1]}) AS ?n)\n{p[2]}WHERE {p[3]}\nGROUP BY {p[1]} "
                  f"HAVING (COUNT(*) >= 0) LIMIT {p[4]}")
    concat = st.tuples(dataset, where).map(
        lambda p: f"SELECT (GROUP_CONCAT(DISTINCT STR(?a); separator=\", \") AS ?all)\n{p[0]}WHERE {p[1]}")
    construct = st.tuples(st.lists(triples(with_paths=False), max_size=3), dataset, where, mods).map(
        lambda p: f"CONSTRUCT {{ {' '.join(p[0])} }}\n{p[1]}WHERE {p[2]}\n{p[3]}")
    describe = st.tuples(st.lists(st.one_of(iris, variables), min_size=1, max_size=3, unique=True), where).map(
        lambda p: f"DESCRIBE {' '.join(p[0])} WHERE {p[1]} LIMIT 3")
    ask = st.tuples(dataset, where).map(lambda p: f"ASK\n{p[0]}{p[1]}")
    return st.tuples(prologues(), st.one_of(select, grouped, concat, construct, describe, ask)).map("".join)


@st.composite
def near_valid_queries(draw) -> str:
    """A query from the grammar with one small fault: a span deleted or repeated, a token inserted, a cut, a change."""
    text = draw(queries())
    at = draw(st.integers(0, len(text)))
    to = draw(st.integers(at, min(len(text), at + 12)))
    fault = draw(st.sampled_from(["delete", "insert", "repeat", "cut", "change", "case"]))
    if fault == "delete":
        return text[:at] + text[to:]
    if fault == "insert":
        return text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
    if fault == "repeat":
        return text[:to] + text[at:to] * draw(st.integers(2, 50)) + text[to:]
    if fault == "cut":
        return text[:at]
    if fault == "change":
        return text[:at] + draw(st.characters(exclude_categories=("Cs",))) + text[at + 1:]
    return text[:at] + text[at:to].swapcase() + text[to:]
