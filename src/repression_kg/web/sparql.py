"""The SPARQL 1.1 Protocol endpoint at /sparql (being written)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sparql", __name__)


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint():
    return "not yet", 501
