"""Search over names and labels in all languages and scripts."""
from __future__ import annotations

from flask import Blueprint, render_template, request

bp = Blueprint("search", __name__)


@bp.get("/search")
def search():
    """Search results as HTML or JSON."""
    return render_template("search/results.html", q=request.args.get("q", ""), results=[])
