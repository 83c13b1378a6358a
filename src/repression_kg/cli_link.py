"""repression-kg link (being written)."""
from __future__ import annotations

import click


@click.group()
def link():
    """Find and accept links to Wikidata."""
