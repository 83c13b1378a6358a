"""The home page: the stages on a timeline, the statistical datasets as tables and charts; the dataset description."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("home", __name__, static_folder="static", static_url_path="/static")


@bp.get("/")
def index():
    """The home page."""
    return render_template("home/index.html")
