"""Validate the data against the SHACL shapes (pySHACL) and check the EDTF values."""
from __future__ import annotations

from dataclasses import dataclass, field

from edtf import parse_edtf
from edtf.parser.edtf_exceptions import EDTFParseException
from pyshacl import validate as shacl_validate
from pyshacl.errors import ReportableRuntimeError
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH

from .load import SourceError, Sources
from .namespaces import CRM, EDTF, KZR, ONTOLOGY, curie


@dataclass(frozen=True)
class Violation:
    """One failed rule: which file, which subject, which rule, what it says."""

    file: str
    focus: str
    shape: str
    path: str
    value: str
    message: str

    def __str__(self) -> str:
        detail = f" [{curie(self.path)}]" if self.path else ""
        value = f" (value: {self.value})" if self.value and self.value != self.focus else ""
        rule = curie(self.shape) if self.shape.startswith("http") else self.shape
        return f"{self.file}: {curie(self.focus)}{detail}: {self.message}{value} (rule {rule})"


@dataclass
class Report:
    """The outcome of validation: the violations and pySHACL's results graph."""

    violations: list[Violation] = field(default_factory=list)
    graph: Graph = field(default_factory=Graph)

    @property
    def conforms(self) -> bool:
        return not self.violations

    def text(self) -> str:
        if self.conforms:
            return "Validation: the data conforms to the shapes.\n"
        lines = [f"Validation: {len(self.violations)} violation(s)."]
        lines += [f"  {v}" for v in self.violations]
        return "\n".join(lines) + "\n"


def validate(sources: Sources) -> Report:
    """Validate data and links against the shapes, with the ontology for RDFS inference."""
    data = sources.data + sources.links
    try:
        _, results, _ = shacl_validate(
            data,
            shacl_graph=sources.shapes,
            ont_graph=sources.ontology,
            inference="none",
            advanced=True,
            allow_warnings=True,
        )
    except ReportableRuntimeError as err:
        raise SourceError(sources.root / "ontology" / "shapes.ttl", None, f"the shapes cannot be used: {err.message}") from None
    report = Report(graph=results)
    for result in results.subjects(RDF.type, SH.ValidationResult):
        report.violations.append(_violation(results, result, sources))
    for violation in _edtf_violations(data, sources):
        report.violations.append(violation)
        _add_result(results, violation)
    report.violations.sort(key=lambda v: (v.file, v.focus, v.shape, v.value))
    return report


def _add_result(results: Graph, violation: Violation) -> None:
    """Record a check made outside SHACL in the SHACL results graph too."""
    validation_report = results.value(predicate=RDF.type, object=SH.ValidationReport)
    results.set((validation_report, SH.conforms, Literal(False)))
    node = BNode()
    results.add((validation_report, SH.result, node))
    results.add((node, RDF.type, SH.ValidationResult))
    results.add((node, SH.focusNode, URIRef(violation.focus)))
    results.add((node, SH.resultPath, URIRef(violation.path)))
    results.add((node, SH.value, Literal(violation.value)))
    results.add((node, SH.resultSeverity, SH.Violation))
    results.add((node, SH.resultMessage, Literal(violation.message)))


def _violation(results: Graph, result, sources: Sources) -> Violation:
    """A Violation from one sh:ValidationResult."""
    focus = results.value(result, SH.focusNode)
    value = results.value(result, SH.value)
    if focus == ONTOLOGY and value is not None:  # a rule over the whole graph: the value is the culprit
        focus = value
    message = results.value(result, SH.resultMessage)
    return Violation(
        file=sources.file_of(focus),
        focus=str(focus),
        shape=_name(results.value(result, SH.sourceShape)),
        path=_name(results.value(result, SH.resultPath)),
        value=str(value) if value is not None else "",
        message=str(message) if message else "violation",
    )


def _name(node) -> str:
    """A short name for a shape or path; blank nodes have none worth printing."""
    if node is None or not hasattr(node, "n3") or node.n3().startswith("_:"):
        return ""
    return str(node)


def _edtf_violations(data: Graph, sources: Sources) -> list[Violation]:
    """Every kzr:edtf value parses as EDTF (2019), and the date bounds contain its interval."""
    found = []
    for subject, value in sorted(data.subject_objects(KZR.edtf)):
        problem = _edtf_problem(data, subject, value)
        if problem:
            found.append(Violation(
                file=sources.file_of(subject), focus=str(subject), shape="edtf",
                path=str(KZR.edtf), value=str(value), message=problem,
            ))
    return found


def _edtf_problem(data: Graph, subject, value) -> str | None:
    """Why an EDTF value is wrong for its time-span, or None."""
    if not (isinstance(value, Literal) and value.datatype == EDTF):
        return "kzr:edtf must be a literal of datatype edtf:EDTF"
    try:
        parsed = parse_edtf(str(value))
    except EDTFParseException:
        return "kzr:edtf is not a valid EDTF (2019) value"
    begin = data.value(subject, CRM.P82a_begin_of_the_begin)
    end = data.value(subject, CRM.P82b_end_of_the_end)
    lower, upper = _as_date(parsed.lower_strict()), _as_date(parsed.upper_strict())
    if isinstance(begin, Literal) and lower and str(begin.toPython()) > lower:
        return f"the begin of the begin ({begin}) is later than the EDTF value's earliest day ({lower})"
    if isinstance(end, Literal) and upper and str(end.toPython()) < upper:
        return f"the end of the end ({end}) is earlier than the EDTF value's latest day ({upper})"
    return None


def _as_date(struct) -> str | None:
    """An edtf struct_time as YYYY-MM-DD, or None for an open bound."""
    try:
        return f"{struct.tm_year:04d}-{struct.tm_mon:02d}-{struct.tm_mday:02d}"
    except AttributeError:
        return None
