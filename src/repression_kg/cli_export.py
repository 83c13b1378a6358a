"""repression-kg export: deterministic dumps of the built store (RDF formats and CSV tables)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import export as kgexport
from . import store as kgstore

FORMATS = (*kgexport.RDF_FORMATS, "csv")


@click.command()
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help="A format to write (repeat the option for several; default: all). csv writes every table.")
@click.option("--graph", "graphs", multiple=True, type=click.Choice((*kgexport.ROLES, "all")),
              help="A named graph to include (repeatable; default: all = every graph the store holds but "
                   "metadata, which holds the build time: ontology, data, links, inferred, and registry where "
                   "'build --add' loaded one). CSV tables read the data graph's things from the whole store.")
@click.option("--gzip", "compressed", is_flag=True, help="Write gzip files (.gz, no time stamp) instead of plain ones.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The directory to write to (default: <build-dir>/export).")
@click.option("--release", is_flag=True,
              help="Write the release the server offers under /dumps/ into <build-dir>/dumps/ and list it "
                   "(ignores the other options).")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default="build",
              envvar="KZR_BUILD_DIR", show_default=True, help="Where the built store lives.")
def export(formats, graphs, compressed, out_dir, release, build_dir):
    """Write the dumps of the built store: the same store always gives byte-identical files."""
    from .backend import MemoryBackend

    try:
        backend = MemoryBackend(kgstore.open_read_only(build_dir))
    except kgstore.StoreError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(2)
    clock = time.perf_counter()
    if release:
        try:
            manifest = kgexport.ensure_release(backend, build_dir / "dumps")
        except kgexport.ReleaseUnavailable as err:
            click.echo(f"Error: {err}", err=True)
            sys.exit(1)
        except OSError as err:
            _cannot_write(build_dir / "dumps", err)
        click.echo(f"Release {manifest['marker']} (version {manifest['version']}), "
                   f"ready in {time.perf_counter() - clock:.2f} s; the server offers it under /dumps/.")
        _report(Path(manifest["dir"]), manifest["files"])
        return
    out_dir = out_dir or build_dir / "export"
    roles = kgexport.resolve_roles(graphs, kgexport.held_roles(backend)) if graphs else None
    try:
        entries = kgexport.export(backend, out_dir, formats or FORMATS, roles, compressed)
    except kgexport.GraphNotHeld as err:
        raise click.BadParameter(f"{err}.", param_hint="--graph") from None
    except OSError as err:
        _cannot_write(out_dir, err)
    click.echo(f"Wrote {len(entries)} file(s) in {time.perf_counter() - clock:.2f} s:")
    _report(out_dir, entries)


def _cannot_write(out_dir: Path, err: OSError) -> None:
    """Exit 2 naming the directory (a full disk, a file in the way); what was written stays for a look."""
    click.echo(f"Error: cannot write the dumps into {out_dir}: {err.strerror or err}"
               + (f" ({err.filename})" if err.filename else ""), err=True)
    sys.exit(2)


def _report(out_dir: Path, entries: list[dict]) -> None:
    """The directory, then one line per file: name, size, seconds it took, the first digits of its SHA-256."""
    click.echo(f"  in {out_dir}")
    for e in entries:
        took = f"{e['seconds']:7.2f} s" if "seconds" in e else " " * 9
        click.echo(f"  {e['name']:<44} {e['bytes']:>10,} bytes {took}  sha256 {e['sha256'][:16]}")
