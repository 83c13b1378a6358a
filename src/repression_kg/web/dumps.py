"""The dumps of the latest build under /dumps/: a listing (HTML or JSON) and the files themselves.

The files are written on first use per build (export.ensure_release, in a background thread that a
request waits for up to RELEASE_WAIT_SECONDS; then 503 until they are complete) from the store this
server queries, into DUMPS_DIR or <build dir>/dumps/. Each file is served from a whitelist (the
release's manifest) with its SHA-256 as ETag and the build time as Last-Modified; .gz files are
downloads of type application/gzip, not a Content-Encoding.
"""
from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, request, send_file, url_for

from .. import export, void
from ..backend import BackendUnavailable, EmbeddedBackend, QueryTimeout, build_info
from ..remote import RemoteBackend
from ..formats import by_name
from ..namespaces import GRAPHS
from . import backend, errors

bp = Blueprint("dumps", __name__)

PUBLIC = ("name", "title", "kind", "format", "media_type", "compressed", "bytes", "sha256")
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
TABLE_NOTES = {
    "persons": "every person the article names: labels, printed forms, roles, positions, the stages of repression "
               "in which the article places a repression of the person, what rehabilitated them, citations",
    "organisations": "parties, state and party bodies, security agencies, courts, archives, institutions",
    "acts": "laws, decrees, orders, resolutions, letters and code articles, with their dates, issuers and stages",
    "fonds": "archival fonds: number, holding archive, creator",
    "events": "cases, operations, deportations, the famine, protests, speeches, campaigns, denunciations",
    "observations": "every figure: dataset, indicator or Table 1 row, area, period as worded, the printed value, "
                    "the value, unit, qualifier and the passage with its reference [N; pages] and quote",
    "citations": "every cited passage: section, paragraph, page, the article's reference and pages, the quote, "
                 "and the things that cite it",
}


def dumps_root() -> Path | None:
    """Where this server keeps its dumps: DUMPS_DIR, else <build dir>/dumps of the embedded store, else None."""
    if current_app.config.get("DUMPS_DIR"):
        return Path(current_app.config["DUMPS_DIR"])
    kg = backend()
    return kg.build_dir / "dumps" if isinstance(kg, EmbeddedBackend) else None


def release() -> dict:
    """The manifest of the current build's dumps (written on first use); 404 where this server has none."""
    root = dumps_root()
    if root is None:
        why = ("fronts a remote SPARQL endpoint and has no local build" if isinstance(backend(), RemoteBackend)
               else "has no directory for dumps (set DUMPS_DIR)")
        raise errors.not_found(f"Dumps are not available: this server {why}. "
                               "The SPARQL endpoint at /sparql answers queries over the same data.")
    try:
        return _written(root)
    except ReleasePending as err:
        raise errors.service_unavailable(str(err), retry_after=30) from None
    except export.ReleaseUnavailable as err:
        raise errors.not_found(f"Dumps are not available: {err}") from None
    except (QueryTimeout, BackendUnavailable) as err:
        raise errors.service_unavailable(str(err)) from None
    except OSError:
        current_app.logger.exception("The dumps could not be written into %s", root)
        raise errors.service_unavailable("The dumps could not be written on this server; "
                                         "the error has been logged.", retry_after=60) from None


class ReleasePending(Exception):
    """The dumps of this build are being written (a large registry takes minutes)."""


class _Writing(threading.Thread):
    """export.ensure_release in the background: the request that started it need not wait minutes."""

    def __init__(self, kg, root: Path):
        super().__init__(daemon=True, name="dumps-writer")
        self.kg, self.root, self.result, self.error = kg, root, None, None

    def run(self) -> None:
        try:
            self.result = export.ensure_release(self.kg, self.root)
        except Exception as err:  # handed to the request that collects it
            self.error = err


_writers: dict[Path, _Writing] = {}
_writers_lock = threading.Lock()


def _written(root: Path) -> dict:
    """The release under root, if it is (or becomes) ready within RELEASE_WAIT_SECONDS; else ReleasePending."""
    with _writers_lock:
        job = _writers.get(root)
        if job is None:
            job = _writers[root] = _Writing(backend(), root)
            job.start()
    job.join(float(current_app.config["RELEASE_WAIT_SECONDS"]))
    if job.is_alive():
        raise ReleasePending("The dumps of this build are being written; they will be listed here when they are "
                             "complete (with a large registry this takes minutes).")
    with _writers_lock:
        if _writers.get(root) is job:
            del _writers[root]  # the next request asks again: a new build needs a new release
    if job.error is not None:
        raise job.error
    return job.result


def release_or_none() -> dict | None:
    """The manifest, or None where there are no dumps (the home page and the dataset description use it)."""
    try:
        return release()
    except errors.ApiError:
        return None


def public_files(manifest: dict) -> list[dict]:
    """The files as shown to clients: no server paths, with their URLs (and the graphs an RDF file holds)."""
    return [{**{k: f[k] for k in PUBLIC + ("graphs",) if k in f},
             "url": url_for("dumps.dump_file", name=f["name"], _external=True)} for f in manifest["files"]]


def download_and_cite(manifest: dict | None) -> dict:
    """What a page shows to download and cite: the files (or None) grouped, the version and the suggested citation."""
    build = build_info(backend())
    shown = {"files": None, "rdf": [], "registry": [], "registry_title": None,
             "registry_graph": export.GRAPH_IRIS["registry"], "tables": [], "checksums": None,
             "version": void.version(build), "build_time": build.get("time"),
             "citation": void.citation(build, current_app.config["BASE_IRI"])}
    if manifest:
        files = public_files(manifest)
        by_name = {f["name"]: f for f in files}
        shown["files"] = files
        plain = [f for f in files if f["kind"] == "rdf" and not f["compressed"]]
        plain.sort(key=lambda f: list(export.RDF_FORMATS).index(f["format"]))
        pairs = [(f, by_name.get(f["name"] + ".gz")) for f in plain]
        shown["rdf"] = [(f, gz) for f, gz in pairs if f.get("graphs", manifest["graphs"]) == manifest["graphs"]]
        shown["registry"] = [(f, gz) for f, gz in pairs if f.get("graphs") == ["registry"]]
        if shown["registry"]:
            shown["registry_title"] = registry_title()
        shown["tables"] = [dict(f, note=TABLE_NOTES.get(f["format"], "")) for f in files if f["kind"] == "csv"]
        shown["checksums"] = next((f for f in files if f["kind"] == "checksums"), None)
    return shown


def registry_title() -> str | None:
    """What the build's metadata calls the registry graph (it says whether the registry is synthetic)."""
    rows = backend().select(f"""SELECT ?title WHERE {{ GRAPH <{GRAPHS['metadata']}> {{
        <{export.GRAPH_IRIS['registry']}> <http://purl.org/dc/terms/title> ?title }} }}""")
    return rows[0]["title"]["value"] if rows else None


@bp.get("/dumps/")
def index():
    """The list of dump files: JSON for API clients (or format=json), HTML for browsers (or format=html)."""
    manifest = release()
    shown = download_and_cite(manifest)
    wanted = request.args.get("format")
    if wanted == "json" or (wanted != "html" and not errors.wants_html()):
        response = jsonify({"version": manifest["version"], "build_time": manifest["build_time"],
                            "source_digest": manifest["source_digest"], "graphs": manifest["graphs"],
                            "license": LICENSE, "citation": shown["citation"], "files": shown["files"]})
    else:
        response = Response(render_template("dumps/index.html", manifest=manifest, **shown),
                            content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/dumps/<name>")
def dump_file(name: str):
    """One file of the listing, by its exact name; 304 when the client's copy is current."""
    manifest = release()
    entry = next((f for f in manifest["files"] if f["name"] == name), None)
    if entry is None:
        raise errors.not_found(f"There is no dump named {name!r}; the list is at /dumps/.")
    built = datetime.fromisoformat(manifest["build_time"].replace("Z", "+00:00"))
    response = send_file(Path(manifest["dir"]) / entry["name"], mimetype=entry["media_type"],
                         as_attachment=entry["compressed"], download_name=entry["name"], etag=entry["sha256"],
                         last_modified=built, conditional=True, max_age=0)
    response.headers["Content-Type"] = content_type(entry)
    return response


def content_type(entry: dict) -> str:
    """The Content-Type of a file: gzip for .gz, else its format's type with the charset."""
    if entry["compressed"]:
        return "application/gzip"
    if entry["kind"] == "csv":
        return "text/csv; charset=utf-8; header=present"
    if entry["kind"] == "rdf":
        return by_name(entry["format"]).content_type
    return f"{entry['media_type']}; charset=utf-8"
