"""The command line: repression-kg build | validate | query | stats | serve.

Exit codes: 0 success; 1 the data does not conform, the graph is inconsistent, or a query
fails; 2 something cannot be loaded (a Turtle syntax error, a missing file, no Java runtime).
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from . import query as kgquery
from . import store as kgstore
from .build import BuildError, build as run_build
from .cli_export import export
from .cli_link import link
from .load import SourceError, load_sources
from .reason import ReasoningError
from .stats import format_stats, stats as compute_stats
from .validate import validate as run_validate


def root_option(f):
    """--root: the checkout holding ontology/ and data/."""
    return click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=".",
                        envvar="KZR_ROOT", show_default=True,
                        help="The checkout that holds ontology/ and data/.")(f)


def build_dir_option(f):
    """--build-dir: where the store and reports live."""
    return click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default="build",
                        envvar="KZR_BUILD_DIR", show_default=True,
                        help="Where the built store and its reports live.")(f)


def fail(message: str, code: int) -> None:
    """Print a message to stderr and exit with the code."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def store_errors(f):
    """Turn a missing store or a bad query into a clear message."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except kgstore.StoreError as err:
            fail(str(err), 2)
        except kgquery.QueryError as err:
            fail(str(err), 1)
    return wrapper


@click.group()
@click.version_option(package_name="repression-kg")
def main():
    """The knowledge graph of Soviet political repression in Kazakhstan, 1920s-1980s."""


@main.command()
@root_option
@build_dir_option
@click.option("--no-reason", is_flag=True, help="Skip OWL reasoning (no inferred types).")
@click.option("--add", "add", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Also import the registry in this directory (with its registry.json) into the registry graph; repeatable.")
@click.option("--quiet", is_flag=True, help="No progress bar or progress messages.")
def build(root: Path, build_dir: Path, no_reason: bool, add: tuple = (), quiet: bool = False):
    """Parse, merge, validate, reason and write the store; a failure leaves the previous store as it was."""
    try:
        result = run_build(root, build_dir, reason=not no_reason, add=add, quiet=quiet)
    except SourceError as err:
        fail(f"{err}\nThe previous store is unchanged.", 2)
    except ReasoningError as err:
        fail(f"{err}\nThe previous store is unchanged.", 2 if "Java" in str(err) else 1)
    except BuildError as err:
        click.echo(err.report.text() if err.report else "", err=True, nl=False)
        fail(str(err), 1)
    except kgstore.StoreError as err:  # another build is running, or the store cannot be written
        fail(f"{err} The previous store is unchanged.", 2)
    except OSError as err:  # a full disk or a read-only build directory, past the store itself
        fail(f"Cannot write into {build_dir}: {err}. The previous store is unchanged.", 2)
    summary = result.summary()
    click.echo(f"Built {summary['quads']} quads into {result.store}")
    click.echo("  " + ", ".join(f"{k}: {v}" for k, v in summary["graphs"].items()))
    click.echo("  seconds: " + ", ".join(f"{k} {v}" for k, v in summary["seconds"].items()))
    click.echo(f"  validation: conforms (report in {build_dir / 'validation.txt'})")
    click.echo(format_stats(compute_stats(kgstore.open_read_only(build_dir))), nl=False)


@main.command()
@click.option("--persons", type=click.IntRange(min=1), required=True, help="How many persons to invent.")
@click.option("--seed", type=int, default=1, show_default=True, help="The seed: one seed, the same bytes.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The directory to write the registry into (never data/).")
@click.option("--name", default="synth", show_default=True,
              help="The registry's name, the prefix of its slugs (lower-case letters, digits, hyphens).")
@root_option
def synth(persons: int, seed: int, out: Path, name: str, root: Path):
    """Write a synthetic registry (invented persons, marked synthetic) as N-Triples for 'build --add'."""
    from .synth import SLUG, synthesize

    if not SLUG.match(name):
        raise click.BadParameter("use lower-case ASCII letters, digits and hyphens", param_hint="--name")
    data = (root / "data").resolve()
    if out.resolve() == data or data in out.resolve().parents:
        raise click.BadParameter(f"{out} is inside {data}: synthetic data never goes into data/", param_hint="--out")
    try:
        manifest = synthesize(out, persons, seed, name)
    except OSError as err:
        fail(f"Cannot write the registry into {out}: {err}", 2)
    click.echo(f"Wrote {manifest['persons']} synthetic persons ({manifest['triples']} triples, seed {seed}) into {out}")


@main.command()
@root_option
@click.option("--format", "fmt", type=click.Choice(["text", "turtle"]), default="text", show_default=True,
              help="The report as text, or as a SHACL results graph in Turtle.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to this file.")
def validate(root: Path, fmt: str, output: Path | None):
    """Validate the data against the shapes. Exit 0 conforms, 1 violations, 2 cannot load."""
    try:
        report = run_validate(load_sources(root))
    except SourceError as err:
        fail(str(err), 2)
    text = report.text() if fmt == "text" else report.graph.serialize(format="turtle")
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    sys.exit(0 if report.conforms else 1)


@main.command()
@click.argument("sparql", required=False)
@click.option("--file", "query_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the query from this file.")
@click.option("--format", "fmt", default="table", show_default=True,
              type=click.Choice(["table", "csv", "tsv", "json", "xml", "turtle", "nt"]),
              help="Output: table, csv, tsv, json, xml for SELECT/ASK; turtle, nt for CONSTRUCT/DESCRIBE.")
@build_dir_option
@store_errors
def query(sparql: str | None, query_file: Path | None, fmt: str, build_dir: Path):
    """Run a SPARQL query (given inline or with --file) against the built store."""
    if bool(sparql) == bool(query_file):
        raise click.UsageError("Give the query either inline or with --file, not both and not neither.")
    text = query_file.read_text(encoding="utf-8") if query_file else sparql
    result = kgquery.run(kgstore.open_read_only(build_dir), text)
    click.echo(kgquery.format_result(result, fmt), nl=False)


@main.command()
@build_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@store_errors
def stats(build_dir: Path, as_json: bool):
    """Counts per class, claims, citations, links and triples per graph of the built store."""
    counts = compute_stats(kgstore.open_read_only(build_dir))
    click.echo(json.dumps(counts, indent=2) if as_json else format_stats(counts), nl=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="The port to listen on.")
@root_option
@build_dir_option
@click.option("--endpoint", envvar="KZR_ENDPOINT", help="Front a remote SPARQL endpoint instead of the built store.")
@click.option("--threads", default=32, show_default=True, type=int, help="Request threads of the WSGI server.")
@click.option("--timeout", "query_timeout", type=float, help="Default query time limit in seconds (default 30).")
@click.option("--get", "get_path", help="Answer one request for this path in-process, print it, exit 0 only on 200.")
def serve(host, port, root, build_dir, endpoint, threads, query_timeout, get_path):
    """Serve the SPARQL endpoint and the linked-data site (building the store first if there is none)."""
    from .backend import BackendUnavailable
    from .web import create_app

    link = build_dir / "store"
    if not endpoint and not link.exists() and not link.is_symlink():  # a broken store is reported, not rebuilt
        click.echo(f"No store in {build_dir}: building it first.")
        build.callback(root=root, build_dir=build_dir, no_reason=False)
    config = {"BUILD_DIR": str(build_dir), "ENDPOINT": endpoint}
    if query_timeout:
        config["QUERY_TIMEOUT"] = query_timeout
    try:
        app = create_app(config)
    except (kgstore.StoreError, BackendUnavailable) as err:
        fail(str(err), 2)
    if get_path:
        sys.exit(_get(app, get_path))
    from .web.wsgi import serve as serve_wsgi

    click.echo(f"Serving the knowledge graph at http://{host}:{port}/ (SPARQL: http://{host}:{port}/sparql)")
    serve_wsgi(app, host, port, threads)


def _get(app, path: str) -> int:
    """One in-process request: print the status and the body; 0 only for 200."""
    response = app.test_client().get(path)
    click.echo(f"{response.status}", err=True)
    click.echo(response.get_data(as_text=True), nl=False)
    return 0 if response.status_code == 200 else 1


main.add_command(export)
main.add_command(link)

if __name__ == "__main__":
    main()
