"""The Reconciliation Service API 0.2 at /reconcile (being written)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reconcile", __name__)
