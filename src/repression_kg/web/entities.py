"""Linked data: /id/... dereferences to /page/... (HTML) and /data/... (RDF); ontology terms document themselves."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("entities", __name__)
