"""The registry benchmark: synthetic registries of N persons, built and served side by side with the peers.

    .venv/bin/python bench/registry.py --sizes 10000,100000,350000

For each size: `repression-kg synth`, `repression-kg build --add`, a dump of the built store,
raw pyoxigraph and `oxigraph load` of that dump, `repression-kg export` per format, then the
standard set (bench/probes.py) against raw pyoxigraph in process, `oxigraph serve` (the floor),
our server over that `oxigraph serve` (--endpoint), our server on the embedded store and
rdflib-endpoint (the Python peer), one server at a time, each stopped at the end of its stage.
Every stage's figures are written to WORK/results-N.json as soon as it ends, so a run that is
stopped resumes where it was (--redo STAGE runs a stage again). At the end docs/benchmarks.md
gets the tables (bench/report.py). --huge runs the 3,777,380-person attempt through the remote
backend only (bench/huge.py).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import harness
import huge
import measure
import report
from harness import BIN, run_measured
from stages import Results, checked, log, stage

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("synth", "build", "dump", "raw_load", "oxigraph_load", "export", "inproc", "oxigraph", "embedded", "rdflib")
EXPORT_FORMATS = ("ttl", "nt", "nq", "trig", "jsonld", "rdfxml", "csv")


def run_size(n: int, args, machine: dict) -> dict:
    """Every stage for a registry of n persons."""
    work = args.work / f"n{n}"
    work.mkdir(parents=True, exist_ok=True)
    results = Results(args.work / f"results-{n}.json")
    results.data.setdefault("persons", n)
    results.data.setdefault("machine", {**machine, "date": time.strftime("%Y-%m-%d"), "command": args.command})
    registry_dir, build_dir, dump = work / "registry", work / "build", work / "all.nq"
    timeout = args.stage_timeout
    log(f"registry of {n:,} persons (work dir {work})")

    def synth():
        if registry_dir.exists():
            shutil.rmtree(registry_dir)
        command = [str(BIN / "repression-kg"), "synth", "--root", str(ROOT), "--persons", str(n),
                   "--seed", str(args.seed), "--out", str(registry_dir)]
        r = checked(run_measured(command, timeout, work / "synth.log"), "synth")
        return {**r, "manifest": json.loads((registry_dir / "registry.json").read_text())}

    def build():
        if build_dir.exists():
            shutil.rmtree(build_dir)
        command = [str(BIN / "repression-kg"), "build", "--root", str(ROOT), "--build-dir", str(build_dir),
                   "--add", str(registry_dir)] + (["--no-reason"] if args.no_reason else [])
        r = checked(run_measured(command, timeout, work / "build.log"), "build")
        store = (build_dir / "store").resolve()
        sidecars = {p.name: harness.du(p) for p in store.glob("kzr-*")}
        return {**r, "summary": json.loads((build_dir / "build.json").read_text()), "store_bytes": harness.du(store),
                "sidecar_bytes": sidecars}

    stage(results, "synth", args, synth)
    stage(results, "build", args, build)
    stage(results, "dump", args, lambda: measure.dump(build_dir, dump, timeout, work))
    stage(results, "raw_load", args, lambda: measure.raw_load(registry_dir, work / "raw-store", timeout, work))
    stage(results, "oxigraph_load", args, lambda: measure.oxigraph_load(dump, work / "oxigraph", timeout, work))
    stage(results, "export", args, lambda: measure.exports(build_dir, work / "export", args.formats, timeout, work))
    registry = measure.registry_of(build_dir, n) if (build_dir / "store").exists() else None
    stage(results, "inproc", args, lambda: measure.inproc(build_dir, registry, args))
    stage(results, "oxigraph", args, lambda: measure.oxigraph_and_remote(work, registry, args))
    stage(results, "embedded", args, lambda: measure.embedded(work, build_dir, registry, args))
    stage(results, "rdflib", args, lambda: measure.rdflib(work, dump, registry, args))
    if not args.keep:
        for big in (dump, work / "raw-store", work / "export"):
            shutil.rmtree(big, ignore_errors=True) if big.is_dir() else big.unlink(missing_ok=True)
    return results.data


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000,350000", help="persons per registry, comma-separated")
    p.add_argument("--work", type=Path, default=Path("/tmp/kzr-bench"), help="where data, stores and results go")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=20, help="requests per query and target (latency)")
    p.add_argument("--seconds", type=float, default=10.0, help="at most this long per query and target (latency)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per throughput measurement")
    p.add_argument("--clients", default="1,4,16", help="concurrent clients for throughput, comma-separated")
    p.add_argument("--request-timeout", type=float, default=120.0, help="a request slower than this is a timeout")
    p.add_argument("--stage-timeout", type=float, default=3600.0, help="a command slower than this is stopped")
    p.add_argument("--series-budget", type=float, default=1800.0,
                   help="seconds for one target's series of queries; the queries left are skipped")
    p.add_argument("--stages", default=",".join(STAGES), help="the stages to run (default: all)")
    p.add_argument("--redo", default="", help="stages to run again even if their figures exist")
    p.add_argument("--formats", default=",".join(EXPORT_FORMATS), help="export formats to time")
    p.add_argument("--peers", default="rdflib", help="peers to run: rdflib, or none")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md", help="the document to update")
    p.add_argument("--keep", action="store_true", help="keep the dump, the raw store and the exports")
    p.add_argument("--no-reason", action="store_true", help="build without OWL reasoning (a quick check only)")
    p.add_argument("--huge", action="store_true", help="the 3,777,380-person attempt through the remote backend")
    p.add_argument("--huge-persons", type=int, default=huge.PERSONS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.command = " ".join(["bench/registry.py", *(sys.argv[1:] if argv is None else argv)])
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.clients = [int(c) for c in args.clients.split(",") if c]
    args.stages = set(args.stages.split(","))
    args.redo = set(filter(None, args.redo.split(",")))
    args.formats = [f for f in args.formats.split(",") if f]
    unknown = (args.stages | args.redo) - set(STAGES) - set(huge.STAGES)
    if unknown:
        p.error(f"unknown stage(s): {', '.join(sorted(unknown))}; the stages are {', '.join(STAGES)}")
    if args.huge and args.stages == set(STAGES):
        args.stages = set(huge.STAGES)
    if "rdflib" not in args.peers.split(","):
        args.stages.discard("rdflib")
    args.work.mkdir(parents=True, exist_ok=True)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    machine = {**harness.machine(), "ours": report.our_defaults()}
    log(f"machine: {machine['cores']} cores, {machine['ram_bytes'] / 2**30:.1f} GiB, {machine['cpu']}, "
        f"load {machine['load_average'][0]:.2f}")
    if args.huge:
        figures = huge.run(args, log)
        report.write_huge(args.doc, machine, figures)
        log(f"wrote {args.doc}")
        return 0
    sizes = {n: run_size(n, args, machine) for n in args.sizes}
    report.write(args.doc, machine, sizes, args)
    log(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
