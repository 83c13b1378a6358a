"""The stages of the registry benchmark that load, export and serve: each returns its figures as a dict."""
from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pyoxigraph as ox

import harness
from clients import Client, Timeout, latency, throughput
from harness import BIN, Server, run_measured, serving
from probes import LOOKUP, Registry, Sparql, repeated_set, standard_set
from stages import checked

PYTHON = sys.executable
REGISTRY_GRAPH = "https://w3id.org/kz-repression/graph/registry"
ASK = "ASK { ?s ?p ?o }"
SERVER_START = 120.0          # seconds a server may take to answer (rdflib-endpoint: its own figure below)
RDFLIB_START = 3 * 3600.0     # rdflib parses N-Quads at ~12,000 quads/s here: 57 M would take hours
RDFLIB_MEMORY_SHARE = 0.8     # rdflib-endpoint is stopped past this share of the memory available at its start


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))


def dump(build_dir: Path, out: Path, timeout: float, work: Path) -> dict:
    """All graphs of the built store as one N-Quads file: what the other targets load."""
    store = (build_dir / "store").resolve()
    code = (f"import pyoxigraph as ox; s = ox.Store.read_only({str(store)!r}); "
            f"s.dump(output={str(out)!r}, format=ox.RdfFormat.N_QUADS)")
    r = checked(run_measured([PYTHON, "-c", code], timeout, work / "dump.log"), "dump")
    return {**r, "quads": _count_lines(out), "bytes": out.stat().st_size}


def raw_load(registry_dir: Path, target: Path, timeout: float, work: Path) -> dict:
    """pyoxigraph's bulk loader alone: the registry's N-Triples into the registry graph of a new on-disk store.

    The same input and graph as our build's registry-load step, without anything else around it."""
    shutil.rmtree(target, ignore_errors=True)
    files = [str(p) for p in sorted(registry_dir.glob("*.nt"))]
    code = (f"import pyoxigraph as ox; s = ox.Store({str(target)!r}); g = ox.NamedNode({REGISTRY_GRAPH!r})\n"
            f"for f in {files!r}: s.bulk_load(path=f, format=ox.RdfFormat.N_TRIPLES, to_graph=g)\n"
            f"s.flush(); print(len(s))")
    r = checked(run_measured([PYTHON, "-c", code], timeout, work / "raw-load.log"), "raw pyoxigraph load")
    quads = int(Path(r["log"]).read_text().split()[-1])
    return {**r, "quads": quads, "per_second": quads / r["seconds"], "store_bytes": harness.du(target)}


def oxigraph_load(dump_file: Path, target: Path, timeout: float, work: Path) -> dict:
    """`oxigraph load` of the dump into the store `oxigraph serve` will serve."""
    shutil.rmtree(target, ignore_errors=True)
    r = checked(run_measured([str(BIN / "oxigraph"), "load", "--location", str(target), "--file", str(dump_file)],
                              timeout, work / "oxigraph-load.log"), "oxigraph load")
    quads = _count_lines(dump_file)
    return {**r, "quads": quads, "per_second": quads / r["seconds"], "store_bytes": harness.du(target)}


def exports(build_dir: Path, out: Path, formats: list[str], timeout: float, work: Path) -> dict:
    """`repression-kg export` once per format: its own seconds per file, the command's wall time and peak RSS."""
    figures = {}
    for fmt in formats:
        shutil.rmtree(out, ignore_errors=True)
        r = run_measured([str(BIN / "repression-kg"), "export", "--build-dir", str(build_dir), "--out", str(out),
                          "--format", fmt], timeout, work / f"export-{fmt}.log")
        files = re.findall(r"^\s+(\S+)\s+([\d,]+) bytes\s+([\d.]+) s", Path(r["log"]).read_text(), re.M)
        figures[fmt] = {**r, "files": {name: {"bytes": int(size.replace(",", "")), "seconds": float(sec)}
                                       for name, size, sec in files}}
    shutil.rmtree(out, ignore_errors=True)
    failed = [f"--format {fmt} exited {f['exit']} (log {f['log']})" for fmt, f in figures.items() if f["exit"] != 0]
    if failed:  # kept with the figures, and the stage runs again next time
        figures["error"] = "; ".join(failed)
    return figures


def registry_of(build_dir: Path, persons: int) -> Registry:
    """The registry as the benchmark addresses it: person numbers and a name to search for."""
    store = ox.Store.read_only(str((build_dir / "store").resolve()))
    probe = Registry(persons, 7, "")
    person = probe.person(persons // 2)
    rows = list(store.query(f'SELECT ?l WHERE {{ <{person}> <http://www.w3.org/2000/01/rdf-schema#label> ?l '
                            f'FILTER (LANG(?l) = "en") }}', use_default_graph_as_union=True))
    if not rows:
        raise RuntimeError(f"{person} has no English label in {build_dir}: is the registry loaded?")
    del store
    return Registry(persons, 7, rows[0]["l"].value)


# --- Targets ------------------------------------------------------------------------------------

class Inproc:
    """pyoxigraph in this process, behind the same interface as an HTTP client."""

    def __init__(self, store: ox.Store):
        self.store = store

    def fetch(self, request) -> tuple[int, bytes]:
        """Evaluate the request's query and serialise the answer (SPARQL JSON, or N-Triples for graphs)."""
        result = self.store.query(request.body.decode("utf-8"), use_default_graph_as_union=True)
        if isinstance(result, ox.QueryTriples):
            return 200, ox.serialize(result, format=ox.RdfFormat.N_TRIPLES) or b""
        return 200, result.serialize(format=ox.QueryResultsFormat.JSON) or b""


def series_latency(client, probes, args, alive=None) -> dict:
    """Latency of each probe; after a timeout, wait for the server (alive()) or give up on it.

    A series stops at --series-budget seconds: the probes left are reported as skipped."""
    figures, dead, ends = {}, False, time.monotonic() + args.series_budget
    for name, make in probes:
        if dead or time.monotonic() > ends:
            figures[name] = {"status": "skipped: " + ("the server did not recover from a timeout" if dead else
                                                      f"the series took more than {args.series_budget:g} s")}
            continue
        try:
            figures[name] = latency(client, make, args.runs, args.seconds)
        except Timeout as err:
            figures[name] = {"status": f"timeout ({err})"}
            dead = alive is not None and not alive()
        except OSError as err:
            figures[name] = {"status": f"error ({err})"}
            dead = alive is not None and not alive()
        print(f"    {name:<38} {_short(figures[name])}", flush=True)
    return figures


def _short(f: dict) -> str:
    return f"p50 {f['p50']:.1f} ms, p95 {f['p95']:.1f} ms ({f['runs']} runs)" if "p50" in f else str(f.get("status"))


def recovered(port: int, path: str, seconds: float) -> bool:
    """Whether the server answers a trivial query within `seconds` (it may still be busy with the last one)."""
    try:
        status, _, _ = Client(port, seconds).time(Sparql(path, ASK, False)(0))
        return status == 200
    except (Timeout, OSError):
        return False


def http_target(server: Server, port: int, kind: str, sparql_path: str, registry: Registry, args) -> dict:
    """The standard set, the repeated set (site only) and the throughput of one running server."""
    series = f"{server.name}-{time.time_ns()}"
    client = Client(port, args.request_timeout)
    server.rss.peak = 0  # from here on: serving
    alive = lambda: recovered(port, sparql_path, max(args.request_timeout, 600))  # noqa: E731
    figures = {"ready_seconds": server.ready_seconds,
               "cold": series_latency(client, standard_set(kind, sparql_path, registry, series), args, alive)}
    if kind == "site":
        figures["repeated"] = series_latency(client, repeated_set(sparql_path, registry), args, alive)
    client.close()
    figures["throughput"] = {}
    for n in args.clients:
        figures["throughput"][str(n)] = throughput(port, Sparql(sparql_path, LOOKUP, True, registry, f"{series}-t{n}"),
                                                   n, args.duration, args.request_timeout)
        print(f"    lookups, {n} clients: {figures['throughput'][str(n)]['per_second']:.0f}/s", flush=True)
    if kind == "site":
        fixed = Sparql(sparql_path, LOOKUP.replace("{person}", registry.person(0)), False)
        figures["throughput_repeated"] = throughput(port, fixed, 4, args.duration, args.request_timeout)
    figures["serving_peak_rss"] = server.rss.peak
    if server.rss.exceeded:
        figures["stopped"] = f"killed when its RSS passed {server.rss_limit / 2**30:.1f} GB"
    return figures


def inproc(build_dir: Path, registry: Registry, args) -> dict:
    """Raw pyoxigraph in this process, on the built store opened read-only: the standard set's SPARQL."""
    store = ox.Store.read_only(str((build_dir / "store").resolve()))
    probes = [(n, m) for n, m in standard_set("sparql", "", registry, f"inproc-{time.time_ns()}")]
    return {"cold": series_latency(Inproc(store), probes, args)}


# Every benchmark client connects from 127.0.0.1, so the per-client limit on concurrent queries
# (web/limits.py: one fewer than the query workers) would make 4 clients look like one; it is raised
# for the run. 16 distinct clients, each waiting for its answer, meet no limit either way.
ONE_ADDRESS_MANY_CLIENTS = {"KZR_CLIENT_QUERY_SLOTS": "64"}


def ours(name: str, port: int, work: Path, extra: list[str]) -> Server:
    """`repression-kg serve` on 127.0.0.1 (waitress, 8 threads; the embedded store has one worker per core)."""
    return Server(name, [str(BIN / "repression-kg"), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
                  f"http://127.0.0.1:{port}/sparql", work / f"{name}.log", ONE_ADDRESS_MANY_CLIENTS)


def oxigraph_and_remote(work: Path, registry: Registry, args) -> dict:
    """`oxigraph serve` measured alone (the floor), then our server in front of it (--endpoint)."""
    port, site_port = harness.free_port(), harness.free_port()
    floor = Server("oxigraph-serve", [str(BIN / "oxigraph"), "serve", "--location", str(work / "oxigraph"),
                                      "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                   f"http://127.0.0.1:{port}/query", work / "oxigraph-serve.log")
    figures = {}
    with serving(floor, timeout=SERVER_START):
        print("   oxigraph serve", flush=True)
        figures["oxigraph"] = http_target(floor, port, "sparql", "/query", registry, args)
        site = ours("ours-remote", site_port, work, ["--endpoint", f"http://127.0.0.1:{port}/query"])
        floor.rss.peak = 0
        with serving(site, timeout=SERVER_START):
            print("   our server over oxigraph serve (--endpoint)", flush=True)
            figures["remote"] = http_target(site, site_port, "site", "/sparql", registry, args)
        figures["remote"]["oxigraph_peak_rss"] = floor.rss.peak
    return figures


def embedded(work: Path, build_dir: Path, registry: Registry, args) -> dict:
    """Our server on the embedded store (waitress, query worker processes)."""
    port = harness.free_port()
    site = ours("ours-embedded", port, work, ["--build-dir", str(build_dir)])
    with serving(site, timeout=SERVER_START):
        print("   our server, embedded store", flush=True)
        return http_target(site, port, "site", "/sparql", registry, args)


def rdflib(work: Path, dump_file: Path, registry: Registry, args) -> dict:
    """rdflib-endpoint serving the dump (rdflib Dataset in memory, uvicorn): load time and RSS, then the set."""
    port = harness.free_port()
    limit = int(RDFLIB_MEMORY_SHARE * harness.available_memory())  # the machine must survive the peer
    peer = Server("rdflib-endpoint", [str(BIN / "rdflib-endpoint"), "serve", str(dump_file), "--host", "127.0.0.1",
                                      "--port", str(port)], f"http://127.0.0.1:{port}/", work / "rdflib-endpoint.log",
                  rss_limit=limit)
    with serving(peer, timeout=min(RDFLIB_START, args.stage_timeout)):
        load_rss = peer.rss.peak
        print(f"   rdflib-endpoint (loaded in {peer.ready_seconds:.1f} s)", flush=True)
        figures = http_target(peer, port, "sparql", "/", registry, args)
    quads = _count_lines(dump_file)
    return {**figures, "load_seconds": peer.ready_seconds, "load_peak_rss": load_rss,
            "load_per_second": quads / peer.ready_seconds}

