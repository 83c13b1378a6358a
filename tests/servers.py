"""Real servers for the tests: a free port on 127.0.0.1, a process started and awaited by polling, its process tree."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """Poll until the URL answers 200; fail early if the process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/turtle"}), timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


@contextmanager
def running(command: list[str], ready_url: str, env: dict | None = None):
    """Start a server process, wait until it answers, stop it at the end."""
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log, \
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}) as process:
        try:
            wait_for(ready_url, process, Path(log.name))
            yield process
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def processes() -> dict[int, tuple[int, str, int, float]]:
    """pid -> (parent pid, start time, resident bytes, CPU seconds) of every live process, from /proc."""
    page, ticks, table = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK"), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), fields[19], int(fields[21]) * page,
                                  (int(fields[11]) + int(fields[12])) / ticks)
    return table


def family(pid: int, table: dict | None = None) -> list[int]:
    """A process and all its live descendants."""
    table = processes() if table is None else table
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, row in table.items() if row[0] == parent]
        found += children
        frontier += children
    return [p for p in found if p in table]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and all its live descendants."""
    table = processes()
    return sum(table[p][3] for p in family(pid, table))

