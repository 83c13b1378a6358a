"""Processes for the benchmark: commands run under an RSS sampler, servers started and always stopped."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_table() -> dict[int, tuple[int, int, float]]:
    """pid -> (parent pid, resident bytes, CPU seconds) of every live process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), int(fields[21]) * PAGE, (int(fields[11]) + int(fields[12])) / TICKS)
    return table


def tree(pid: int, table: dict | None = None) -> list[int]:
    """A process and all its live descendants."""
    table = table if table is not None else _proc_table()
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, (pp, _, _) in table.items() if pp == parent]
        found += children
        frontier += children
    return [p for p in found if p in table]


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants now."""
    table = _proc_table()
    return sum(table[p][1] for p in tree(pid, table))


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants."""
    table = _proc_table()
    return sum(table[p][2] for p in tree(pid, table))


class PeakRss:
    """Samples the resident memory of a process tree in the background; .peak is the largest sum seen.

    With a limit (bytes), the process group is killed as soon as the tree passes it (.exceeded)."""

    def __init__(self, pid: int, every: float = 0.2, limit: int | None = None):
        self.pid, self.every, self.peak, self.limit, self.exceeded = pid, every, 0, limit, False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.sample() > (self.limit or float("inf")):
                self.exceeded = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                return
            self._stop.wait(self.every)

    def sample(self) -> int:
        now = tree_rss(self.pid)
        self.peak = max(self.peak, now)
        return now

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


def run_measured(command: list[str], timeout: float, log: Path, env: dict | None = None) -> dict:
    """Run a command to its end (or kill it at the timeout): wall seconds, peak RSS of its tree, exit code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                   start_new_session=True)
        with PeakRss(process.pid) as rss:
            try:
                code = process.wait(timeout)
            except subprocess.TimeoutExpired:
                kill_group(process)
                code = None
    return {"seconds": time.perf_counter() - start, "peak_rss": rss.peak, "exit": code,
            "timed_out": code is None, "log": str(log)}


def kill_group(process: subprocess.Popen) -> None:
    """Stop a process started in its own session and everything it started: TERM, then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


def answers(url: str, accept: str = "text/turtle", timeout: float = 5) -> bool:
    """Whether a GET of the URL answers 200 now."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept}), timeout=timeout) as r:
            r.read()
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


class Server:
    """A server process in its own session, logged to a file; stopped with its children by stop()."""

    def __init__(self, name: str, command: list[str], ready_url: str, log: Path, env: dict | None = None,
                 rss_limit: int | None = None):
        self.name, self.command, self.ready_url, self.log = name, command, ready_url, log
        self.env, self.rss_limit = env or {}, rss_limit
        self.process: subprocess.Popen | None = None
        self.rss: PeakRss | None = None
        self.ready_seconds = 0.0

    def start(self, timeout: float) -> "Server":
        """Start and wait until the ready URL answers 200 (or fail with the log's tail)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._out = open(self.log, "wb")
        started = time.perf_counter()
        self.process = subprocess.Popen(self.command, stdout=self._out, stderr=subprocess.STDOUT,
                                        env={**os.environ, **self.env}, start_new_session=True)
        self.rss = PeakRss(self.process.pid, limit=self.rss_limit).__enter__()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.rss.exceeded:
                raise MemoryError(f"{self.name} passed {self.rss_limit / 2**30:.1f} GB of RSS before it answered "
                                  "and was stopped")
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self.tail()}")
            if answers(self.ready_url):
                self.ready_seconds = time.perf_counter() - started
                return self
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} did not answer {self.ready_url} within {timeout:g} s: {self.tail()}")

    def tail(self, chars: int = 1500) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.rss is not None:
            self.rss.__exit__(None, None, None)
        if self.process is not None and self.process.poll() is None:
            kill_group(self.process)
        if getattr(self, "_out", None) is not None:
            self._out.close()


@contextlib.contextmanager
def serving(*servers: Server, timeout: float):
    """Start servers in order; stop all of them at the end, also on error or Ctrl-C."""
    started = []
    try:
        for server in servers:
            started.append(server)
            server.start(timeout)
        yield servers
    finally:
        for server in reversed(started):
            server.stop()


def available_memory() -> int:
    """MemAvailable of /proc/meminfo, in bytes."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def du(path: Path) -> int:
    """Bytes of the files under a directory (symlinks followed once at the top)."""
    path = Path(path).resolve()
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def machine() -> dict:
    """The machine and the versions the figures were measured with."""
    import platform

    import pyoxigraph
    import rdflib

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    oxigraph = subprocess.run([str(BIN / "oxigraph"), "--version"], capture_output=True, text=True).stdout.strip()
    versions = {"python": platform.python_version(), "pyoxigraph": pyoxigraph.__version__, "rdflib": rdflib.__version__,
                "oxigraph server": oxigraph.replace("oxigraph ", "")}
    for dist in ("rdflib-endpoint", "pyshacl", "flask", "waitress", "uvicorn"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version
            versions[dist] = version(dist)
    return {"cores": os.cpu_count(), "ram_bytes": mem, "cpu": cpu, "os": f"{platform.system()} {platform.release()}",
            "versions": versions, "load_average": os.getloadavg()}
