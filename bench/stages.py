"""Resumable stages: each stage's figures are kept in a JSON file as soon as the stage ends."""
from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path


class Results:
    """The figures of one size, kept in a JSON file written after every stage."""

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {}

    def put(self, stage: str, value) -> None:
        self.data[stage] = value
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        tmp.replace(self.path)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def stage(results: Results, name: str, args, fn):
    """Run a stage unless its figures are there already (or it is to be redone); keep its figures."""
    if name not in args.stages:
        return results.data.get(name)
    if name in results.data and name not in args.redo and "error" not in results.data[name]:
        log(f"  {name}: done before, kept")
        return results.data[name]
    log(f"  {name} ...")
    start = time.perf_counter()
    try:
        value = fn()
    except Exception as err:  # one failed stage is reported; the others still run
        traceback.print_exc()
        value = {"error": f"{type(err).__name__}: {err}"}
    if isinstance(value, dict):
        value["stage_seconds"] = round(time.perf_counter() - start, 2)
    results.data["load_after"] = os.getloadavg()[0]  # what else the machine was doing, for the report
    results.put(name, value)
    log(f"  {name}: {'FAILED ' + value['error'] if 'error' in value else 'done'} in {time.perf_counter() - start:.1f} s")
    return value


def checked(result: dict, what: str) -> dict:
    """A finished command's figures, or an error naming its log."""
    if result["timed_out"]:
        raise RuntimeError(f"{what} did not finish within the stage timeout (log {result['log']})")
    if result["exit"] != 0:
        tail = Path(result["log"]).read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{what} exited with {result['exit']}: {tail}")
    return result
