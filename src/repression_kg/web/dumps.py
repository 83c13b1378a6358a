"""The dumps of the latest build under /dumps/ (being written)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dumps", __name__)
