"""repression-kg link wikidata | accept: candidates for review, and reviewed rows turned into links.

Exit codes: 0 success; 1 the review file cannot be accepted as it stands; 2 the store or the
endpoint cannot be reached.
"""
from __future__ import annotations

import datetime
import sys
from pathlib import Path

import click

from . import link as kglink
from .backend import MemoryBackend
from .store import StoreError, open_read_only


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _backend(build_dir: Path) -> MemoryBackend:
    """The built store, read in place."""
    try:
        return MemoryBackend(open_read_only(build_dir))
    except StoreError as err:
        _fail(str(err), 2)


def build_dir_option(f):
    """--build-dir: where the built store lives."""
    return click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default="build",
                        envvar="KZR_BUILD_DIR", show_default=True, help="Where the built store lives.")(f)


@click.group()
def link():
    """Find and accept links to Wikidata."""


@link.command()
@click.option("--endpoint", default=kglink.WIKIDATA, show_default=True, envvar="KZR_WIKIDATA_ENDPOINT",
              help="The Wikidata SPARQL endpoint to ask.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="The review file to write (CSV). Default: <build-dir>/wikidata-review.csv.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(kglink.KINDS_LINKED),
              help="Only things of this kind (repeatable). Default: all four.")
@click.option("--batch", default=10, show_default=True, type=click.IntRange(1, 200),
              help="Things per retrieval query (sent as one VALUES block).")
@click.option("--delay", default=1.0, show_default=True, type=click.FloatRange(0),
              help="Seconds between two requests to the endpoint.")
@click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(1),
              help="Seconds a request may take before it is retried.")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 50),
              help="Candidates kept per thing, best first.")
@click.option("--search", default="auto", show_default=True, type=click.Choice(["auto", "mwapi", "regex"]),
              help="mwapi: CirrusSearch inside the Wikidata Query Service; regex: label patterns any "
                   "SPARQL endpoint answers; auto: mwapi for query.wikidata.org, else regex.")
@build_dir_option
def wikidata(endpoint, out, kinds, batch, delay, timeout, limit, search, build_dir):
    """Write a review file of Wikidata candidates for every person, organisation, place and act without a link."""
    out = out or build_dir / "wikidata-review.csv"
    client = kglink.SparqlClient(endpoint, delay=delay, timeout=timeout)
    try:
        rows = kglink.find_candidates(_backend(build_dir), client, kinds or kglink.KINDS_LINKED, batch, limit,
                                      search, progress=lambda m: click.echo(m, err=True))
    except kglink.EndpointError as err:
        _fail(str(err), 2)
    kglink.write_review(rows, out)
    things = {r["entity"] for r in rows}
    found = {r["entity"] for r in rows if r["candidate"]}
    click.echo(f"{len(things)} things searched, {len(found)} with candidates, "
               f"{sum(1 for r in rows if r['candidate'])} candidates ({client.requests} requests to {endpoint}).")
    click.echo(f"Review file: {out}. Write accept or reject in its decision column, then run "
               f"'repression-kg link accept {out} --curator NAME'.")


@link.command()
@click.argument("review", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--curator", envvar="KZR_CURATOR", help="Who reviewed the rows: a name, or an IRI such as an ORCID.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default="data/links/wikidata.ttl",
              show_default=True, help="The links file to add the accepted links to.")
@click.option("--date", "day", help="The date of the review, YYYY-MM-DD. Default: today.")
@build_dir_option
def accept(review, curator, out, day, build_dir):
    """Turn the rows marked accept into links with their evidence (every row needs accept or reject)."""
    if not curator or not curator.strip():
        raise click.UsageError("Say who reviewed the rows: --curator NAME (or KZR_CURATOR).")
    try:
        day = datetime.date.fromisoformat(day).isoformat() if day else datetime.date.today().isoformat()
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date YYYY-MM-DD", param_hint="--date") from None
    try:
        added, total = kglink.accept(review, curator.strip(), day, out, _backend(build_dir))
    except kglink.ReviewError as err:
        _fail(str(err), 1)
    click.echo(f"{added} link(s) accepted; {total} in {out}. Rebuild to serve them: repression-kg build")
