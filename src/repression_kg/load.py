"""Read the source files (ontology, shapes, data, links) into graphs, with errors that name the file and line."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef


class SourceError(Exception):
    """A source file cannot be read: the message names the file and the line."""

    def __init__(self, path: Path, line: int | None, message: str):
        self.path, self.line = path, line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class Sources:
    """The parsed source files of one build, by graph role, and which file each subject comes from."""

    root: Path
    ontology: Graph = field(default_factory=Graph)
    shapes: Graph = field(default_factory=Graph)
    data: Graph = field(default_factory=Graph)
    links: Graph = field(default_factory=Graph)
    files: list[Path] = field(default_factory=list)
    subject_file: dict[URIRef, Path] = field(default_factory=dict)
    object_file: dict[URIRef, Path] = field(default_factory=dict)

    def file_of(self, node) -> str:
        """The file (relative to the root) that describes a node, or else one that mentions it, or '?'."""
        path = self.subject_file.get(node) or self.object_file.get(node)
        return str(path.relative_to(self.root)) if path else "?"


def parse_turtle(path: Path) -> Graph:
    """Parse one Turtle file; a syntax error becomes a SourceError with the line.

    Oxigraph's parser checks the syntax first: its positions are exact, rdflib's are not.
    """
    try:
        for _ in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            pass
    except SyntaxError as err:
        message = re.sub(r"^Parser error (at|between) line \d+ column \d+( and line \d+ column \d+)?: ", "", err.msg)
        raise SourceError(path, err.lineno, f"Turtle syntax error at column {err.offset}: {message}") from None
    except (OSError, ValueError) as err:
        raise SourceError(path, None, str(err)) from None
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except Exception as err:  # rdflib rejects what Oxigraph accepted: still the file's fault
        raise SourceError(path, getattr(err, "lines", None), f"Turtle not accepted by rdflib: {err}") from None
    return graph


def source_files(root: Path) -> dict[str, list[Path]]:
    """The Turtle files of a checkout, by graph role."""
    data = sorted(p for p in (root / "data").rglob("*.ttl") if "links" not in p.relative_to(root / "data").parts)
    return {
        "ontology": sorted(p for p in (root / "ontology").glob("*.ttl") if p.name != "shapes.ttl"),
        "shapes": [root / "ontology" / "shapes.ttl"],
        "data": data,
        "links": sorted((root / "data" / "links").glob("*.ttl")),
    }


def load_sources(root: Path) -> Sources:
    """Parse every source file under root into one Sources."""
    root = Path(root).resolve()
    sources = Sources(root=root)
    for role, paths in source_files(root).items():
        target: Graph = getattr(sources, role)
        for path in paths:
            if not path.exists():
                raise SourceError(path, None, "file not found")
            graph = parse_turtle(path)
            for prefix, ns in graph.namespaces():
                target.bind(prefix, ns, override=False)
            target += graph
            sources.files.append(path)
            if role in ("data", "links"):
                for subject in set(graph.subjects()):
                    sources.subject_file.setdefault(subject, path)
                for obj in set(graph.objects()):
                    sources.object_file.setdefault(obj, path)
    return sources
