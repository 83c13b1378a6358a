"""OWL reasoning with owlready2 and HermiT: consistency, and the types the reasoner infers.

owlready2 does not read Turtle, and its reasoners need a Java runtime. The build hands it a
reasoning view in N-Triples: the ontology's axioms, the individuals' types and the object
properties between individuals (literals do not change class membership here).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS

from .namespaces import ID, KZR, QB

JAVA_HINT = ("install a Java runtime (Debian/Ubuntu: apt-get install default-jre-headless) "
             "or point KZR_JAVA at the java executable")


class ReasoningError(Exception):
    """The reasoner could not run, or found the graph inconsistent."""


def java_executable() -> str:
    """The java the reasoner will run, or a ReasoningError saying what to install."""
    java = os.environ.get("KZR_JAVA", "java")
    found = shutil.which(java)
    if not found:
        raise ReasoningError(f"No Java runtime found (looked for {java!r}): the OWL reasoner HermiT needs one; {JAVA_HINT}.")
    return found


def reasoning_view(ontology: Graph, data: Graph) -> Graph:
    """The triples the reasoner needs: axioms, typed individuals, object-property assertions."""
    view = Graph()
    for s, p, o in ontology:
        # Data Cube property types pun OWL properties; owlready2 warns and HermiT needs none of them.
        if not (p == RDF.type and str(o).startswith(QB)):
            view.add((s, p, o))
    object_properties = set(ontology.subjects(RDF.type, OWL.ObjectProperty))
    classes = set(ontology.subjects(RDF.type, OWL.Class))
    for s, p, o in data:
        if not str(s).startswith(ID):
            continue
        if p == RDF.type and o in classes:
            view.add((s, p, o))
            view.add((s, RDF.type, OWL.NamedIndividual))
        elif p in object_properties and isinstance(o, URIRef) and str(o).startswith(ID):
            view.add((s, p, o))
    _all_different(view)
    return view


def _all_different(view: Graph) -> None:
    """State that distinct IRIs name distinct things (OWL has no unique-name assumption)."""
    individuals = sorted(set(view.subjects(RDF.type, OWL.NamedIndividual)))
    if len(individuals) < 2:
        return
    members = BNode()
    Collection(view, members, individuals)
    axiom = BNode()
    view.add((axiom, RDF.type, OWL.AllDifferent))
    view.add((axiom, OWL.distinctMembers, members))


def infer_types(ontology: Graph, data: Graph) -> Graph:
    """Run HermiT; return the named classes each individual belongs to beyond those asserted."""
    import owlready2

    owlready2.JAVA_EXE = java_executable()
    view = reasoning_view(ontology, data)
    with tempfile.TemporaryDirectory(prefix="kzr-reason-") as tmp:
        path = Path(tmp) / "view.nt"
        view.serialize(path, format="nt", encoding="utf-8")
        world = owlready2.World()
        world.get_ontology(path.as_uri()).load()
        try:
            with _quiet():
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            raise ReasoningError(inconsistency_message(view)) from None
        except owlready2.OwlReadyJavaError as err:
            raise ReasoningError(f"The reasoner failed to run: {err}; {JAVA_HINT}.") from None
        return _entailed_types(world, view)


def _entailed_types(world, view: Graph) -> Graph:
    """Every named class an individual belongs to that the view does not already assert."""
    inferred = Graph()
    for individual in world.individuals():
        iri = URIRef(individual.iri)
        if not str(iri).startswith(ID):
            continue
        asserted = set(view.objects(iri, RDF.type))
        for cls in individual.INDIRECT_is_a:
            cls_iri = getattr(cls, "iri", None)
            if cls_iri and URIRef(cls_iri) not in asserted and cls_iri != str(OWL.Thing):
                inferred.add((iri, RDF.type, URIRef(cls_iri)))
    return inferred


def inconsistency_message(view: Graph) -> str:
    """Name the individuals behind an inconsistency: disjoint types, or two values of a functional property."""
    closure = _type_closure(view)
    lines = []
    for a, b in view.subject_objects(OWL.disjointWith):
        for individual, types in sorted(closure.items()):
            if a in types and b in types:
                lines.append(f"{individual} is both {_short(a)} and {_short(b)}, which are disjoint")
    for prop in sorted(view.subjects(RDF.type, OWL.FunctionalProperty)):
        for individual in sorted(set(view.subjects(prop, None))):
            values = sorted(set(view.objects(individual, prop)))
            if len(values) > 1:
                lines.append(f"{individual} has {len(values)} values of the functional property {_short(prop)}: "
                             + ", ".join(str(v) for v in values))
    detail = "; ".join(lines) if lines else "the reasoner gave no further detail"
    return f"The graph is inconsistent: {detail}."


def _type_closure(view: Graph) -> dict[URIRef, set]:
    """Each individual's asserted types with all their superclasses."""
    closure = {}
    for individual in set(view.subjects(RDF.type, OWL.NamedIndividual)):
        types = set()
        for cls in view.objects(individual, RDF.type):
            types |= set(view.transitive_objects(cls, RDFS.subClassOf))
        closure[individual] = types
    return closure


def _short(iri) -> str:
    return str(iri).replace(str(KZR), "kzr:")


class _quiet:
    """Silence owlready2's progress output on stdout/stderr while the reasoner runs."""

    def __enter__(self):
        import sys

        self._saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = open(os.devnull, "w")

    def __exit__(self, *exc):
        import sys

        sys.stdout.close()
        sys.stdout, sys.stderr = self._saved
        return False
