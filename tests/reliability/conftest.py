"""The hardening battery: a live server on 127.0.0.1, the scale of the run, and the table of figures.

Every test here is marked `reliability`. The scale is bounded by default (CI); set
KZR_RELIABILITY=full for the full run that docs/reliability.md reports. Each test records its
figures with `figures.add(...)`; the table is printed at the end of the run and written as JSON
to the file named by KZR_RELIABILITY_REPORT (default: build/reliability.json).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from paths import ROOT
from servers import BIN, free_port, running

FULL = os.environ.get("KZR_RELIABILITY", "bounded") == "full"
REPORT = Path(os.environ.get("KZR_RELIABILITY_REPORT", ROOT / "build" / "reliability.json"))


def scale(bounded: int, full: int) -> int:
    """A count (requests, seconds, clients) for this run: the bounded one unless the run is full."""
    return full if FULL else bounded


class Figures:
    """Rows of the report table: a class of trial, how many were tried, and what came back."""

    def __init__(self):
        self.rows: list[dict] = []

    def add(self, section: str, trial: str, tried: int | str, result: str, **extra) -> None:
        self.rows.append({"section": section, "trial": trial, "tried": tried, "result": result, **extra})

    def table(self) -> str:
        lines = ["| section | trial | tried | result |", "|---|---|---|---|"]
        lines += [f"| {r['section']} | {r['trial']} | {r['tried']} | {r['result']} |" for r in self.rows]
        return "\n".join(lines)


FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return FIGURES


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)


def pytest_terminal_summary(terminalreporter):
    if not FIGURES.rows:
        return
    terminalreporter.section(f"reliability figures ({'full' if FULL else 'bounded'} run)")
    terminalreporter.write_line(FIGURES.table())
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"scale": "full" if FULL else "bounded", "rows": FIGURES.rows}, indent=2),
                      encoding="utf-8")


@pytest.fixture(scope="session")
def build_copy(built, tmp_path_factory) -> Path:
    """A private copy of the built directory (store and reports), for servers the battery may abuse."""
    target = tmp_path_factory.mktemp("reliability") / "build"
    shutil.copytree(built, target, symlinks=True)
    return target


def serve_command(build_dir: Path, port: int, *extra: str) -> list[str]:
    return [str(BIN / "repression-kg"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--build-dir", str(build_dir), *extra]


@pytest.fixture(scope="module")
def live(build_copy):
    """A real `repression-kg serve` over the copy, on a free port: yields its base URL and process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(serve_command(build_copy, port, "--timeout", "5"), base + "/health") as process:
        yield base, process
