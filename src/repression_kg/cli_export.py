"""repression-kg export (being written)."""
from __future__ import annotations

import click


@click.command()
def export():
    """Write the dumps of the built store."""
    raise click.ClickException("not yet")
