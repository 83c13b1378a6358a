"""Faults: kill -9 of the server and of a build, damaged stores, a full disk; real processes throughout.

The last good store is always a copy of the session's real build; a fault must leave it serving,
with the same dump hash (the sha256 of its N-Quads dump, lines sorted). The builds that the tests
kill, race or starve build a small valid graph (the real ontology and tests/fixtures/shapes/valid.ttl)
so that each takes about a second; KZR_RELIABILITY=full builds the real checkout and repeats trials.
A build is stopped at an exact point by a wrapper that makes it send itself SIGSTOP there (the build
itself is the real one); then it gets SIGKILL.
"""
from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest

from reliability.conftest import FULL, scale
from paths import FIXTURES, ROOT
from repression_kg.backend import BackendUnavailable, EmbeddedBackend, Task
from repression_kg.store import PREVIOUS, current_store, open_read_only
from servers import BIN, cpu_seconds, family, free_port, processes, running

COUNT_QUADS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SCAN = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
LONG_ROWS = 5_000_000  # a query of one to a few seconds
ONE_WORKER = {**os.environ, "KZR_QUERY_WORKERS": "1"}  # for servers that answer one request or none
LONG = "SELECT (COUNT(*) AS ?n) WHERE { { SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT %d } }" % LONG_ROWS

# A build that stops itself (SIGSTOP) when module.name is called and the condition on its arguments holds.
PAUSED_BUILD = """
import os, signal, sys
from pathlib import Path
import {module} as where
real = where.{name}
def paused(*args, **kwargs):
    if {when}:
        os.kill(os.getpid(), signal.SIGSTOP)
    return real(*args, **kwargs)
where.{name} = paused
from repression_kg.cli import main
main(sys.argv[1:], prog_name="repression-kg")
"""

# Where a build is killed: the function it is stopped at (None: killed when its store directory appears).
KILL_POINTS = {
    "parse and validation": ("repression_kg.build", "validate", "True"),
    "the store write": None,
    "publish, before the swap": ("os", "replace", "Path(args[1]).name == 'store'"),
    "publish, after the swap": ("repression_kg.store", "clear_leftovers",
                                "os.readlink(Path(args[0]) / 'store').split('-')[2] == str(os.getpid())"),
}


# --- stores, commands, processes -------------------------------------------------------------------

@pytest.fixture(scope="module")
def source_root(tmp_path_factory) -> Path:
    """The checkout the fault builds build: a small valid graph (bounded run) or the real checkout (full)."""
    if FULL:
        return ROOT
    root = tmp_path_factory.mktemp("small-root")
    shutil.copytree(ROOT / "ontology", root / "ontology")
    (root / "data").mkdir()
    shutil.copy(FIXTURES / "shapes" / "valid.ttl", root / "data" / "valid.ttl")
    return root


@pytest.fixture
def previous(built, tmp_path) -> Path:
    """A private copy of the real build: the last good store, which every fault must leave serving."""
    return copy_build(built, tmp_path / "build")


def copy_build(built: Path, target: Path) -> Path:
    shutil.copytree(built, target, symlinks=True)
    return target


def dump(build_dir: Path) -> tuple[str, int]:
    """The dump hash of the current store and its quad count."""
    return dump_dir(current_store(build_dir))


def dump_dir(store_dir: Path) -> tuple[str, int]:
    """The dump hash of a store directory (sha256 of its N-Quads dump, lines sorted) and its quad count."""
    store = ox.Store.read_only(str(store_dir))
    lines = sorted(store.dump(format=ox.RdfFormat.N_QUADS).splitlines())
    del store
    return hashlib.sha256(b"\n".join(lines)).hexdigest(), len(lines)


def kzr(*args) -> list[str]:
    return [str(BIN / "repression-kg"), *map(str, args)]


def build_command(root: Path, build_dir: Path) -> list[str]:
    return kzr("build", "--no-reason", "--root", root, "--build-dir", build_dir)


def run(command: list[str], timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)


def built_quads(build_dir: Path) -> int:
    return json.loads((build_dir / "build.json").read_text())["quads"]


def served_count(build_dir: Path) -> int:
    """The number of quads `repression-kg serve` answers for (one request in-process, through its workers)."""
    done = run(kzr("serve", "--build-dir", build_dir, "--get", "/sparql?" + urllib.parse.urlencode({"query": COUNT_QUADS})),
               timeout=120, env=ONE_WORKER)
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["results"]["bindings"][0]["n"]["value"])


def leftovers(build_dir: Path) -> list[str]:
    """Store directories that no link names, and half-made links: what a killed build leaves behind."""
    named = {os.readlink(build_dir / name) for name in ("store", PREVIOUS) if (build_dir / name).is_symlink()}
    return sorted(p.name for p in build_dir.iterdir()
                  if (p.name.startswith("store-") and p.name not in named) or p.name.endswith(".tmp"))


def assert_clean_after_build(build_dir: Path, replaced: str) -> None:
    """After a successful build: the store it replaced is kept as the previous one, and nothing else is left."""
    assert leftovers(build_dir) == []
    assert os.readlink(build_dir / PREVIOUS) == replaced


def one_error_line(output: str) -> str:
    """The single line a failing command prints, with no stack trace."""
    lines = output.strip().splitlines()
    assert "Traceback" not in output and len(lines) == 1 and lines[0].startswith("Error: "), output
    return lines[0]


def paused_build(root: Path, build_dir: Path, module: str, name: str, when: str) -> subprocess.Popen:
    """A real build that stops itself at module.name (when the condition holds); wait_stopped waits for it."""
    code = PAUSED_BUILD.format(module=module, name=name, when=when)
    return subprocess.Popen([sys.executable, "-c", code, "build", "--no-reason", "--root", str(root),
                             "--build-dir", str(build_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_stopped(process: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while (state := process_state(process.pid)) is None or state[0] != "T":
        if process.poll() is not None:
            pytest.fail(f"the build ended (exit {process.returncode}) before its pause point: {process.stderr.read()}")
        assert time.monotonic() < deadline, "the build did not reach its pause point"
        time.sleep(0.01)


def killed_when_store_appears(root: Path, build_dir: Path) -> int:
    """Start a build, kill -9 it as soon as its store directory appears; return the files it had."""
    known = {p.name for p in build_dir.iterdir()}
    process = subprocess.Popen(build_command(root, build_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (new := [p for p in build_dir.glob("store-*") if p.name not in known]):
        assert process.poll() is None, f"the build ended before writing a store: {process.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    process.kill()
    process.communicate(timeout=30)
    return len(list(new[0].iterdir()))


def process_state(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process, from /proc; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], fields[19]


def descendants(pid: int) -> dict[int, str]:
    """Every descendant of a process, with its start time (a reused pid is not the same process)."""
    table = processes()
    return {p: table[p][1] for p in family(pid, table)[1:]}


def still_running(family: dict[int, str]) -> list[int]:
    """The processes of a family that still live (a zombie does not: it holds no file and burns no CPU)."""
    return [pid for pid, start in family.items()
            if (state := process_state(pid)) is not None and state[1] == start and state[0] != "Z"]


def wait_gone(family: dict[int, str], seconds: float = 10) -> float:
    start = time.monotonic()
    while still_running(family) and time.monotonic() - start < seconds:
        time.sleep(0.01)
    return time.monotonic() - start


def holders(path: Path) -> list[int]:
    """Processes that have a file open under path."""
    prefix = str(path.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            targets = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        if any(t.startswith(prefix) for t in targets):
            found.append(int(entry.name))
    return found


@contextmanager
def server(build_dir: Path, *extra: str):
    """A real `repression-kg serve` on a free port of 127.0.0.1."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = kzr("serve", "--host", "127.0.0.1", "--port", port, "--build-dir", build_dir, *extra)
    with running(command, base + "/health") as process:
        yield base, process


def post(base: str, query: str, timeout: float = 60) -> tuple[int, dict]:
    request = urllib.request.Request(base + "/sparql", data=urllib.parse.urlencode({"query": query}).encode(),
                                     headers={"Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def count_of(body: dict) -> int:
    return int(body["results"]["bindings"][0]["n"]["value"])


def garble_data_blocks(store_dir: Path) -> int:
    """Overwrite the start of the first data block of every sizeable .sst file, in place; return how many."""
    files = [p for p in store_dir.glob("*.sst") if p.stat().st_size > 10_000]
    for path in files:
        with open(path, "r+b") as f:
            f.seek(20)
            f.write(b"\xff" * 200)
    return len(files)


# --- 1. kill -9 of the server ----------------------------------------------------------------------

def test_kill_9_of_the_server_while_serving(previous, figures):
    """With queries in flight: no worker outlives the server, and the next start serves the same store."""
    before = dump(previous)
    trials = scale(2, 10)
    in_flight, slowest, orphans, holding = [], 0.0, 0, 0
    for trial in range(trials + 1):
        with server(previous, "--timeout", "60") as (base, process):
            status, body = post(base, COUNT_QUADS)
            assert status == 200 and count_of(body) == before[1]  # the last good store, whole
            if trial == trials:
                break
            pending, stop = [0], threading.Event()

            def client(query: str) -> None:
                while not stop.is_set():
                    pending[0] += 1
                    try:
                        post(base, query, timeout=60)
                    except Exception:  # the server is gone: what the client sees then does not matter
                        return
                    finally:
                        pending[0] -= 1

            clients = [threading.Thread(target=client, args=(q,)) for q in (RUNAWAY, COUNT_QUADS, COUNT_QUADS, SCAN)]
            for thread in clients:
                thread.start()
            time.sleep(1.0)  # the runaway holds a worker, the others come and go
            family = descendants(process.pid)
            assert len(family) >= 2
            in_flight.append(pending[0])
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            slowest = max(slowest, wait_gone(family))
            orphans += len(still_running(family))
            holding += len(holders(previous))
            stop.set()
            for thread in clients:
                thread.join(60)
        assert dump(previous) == before
    assert orphans == 0 and holding == 0
    figures.add(section="faults", trial="kill -9 of the server with queries in flight (a runaway among them)",
                tried=trials,
                result=f"requests in flight at the kill: {min(in_flight)}-{max(in_flight)}; worker processes left: "
                       f"{orphans} (all gone within {slowest:.2f} s); processes holding the store: {holding}; "
                       f"next start served the same store (dump sha256 equal, {before[1]} quads): {trials}/{trials}")


# --- 2. kill -9 of a build -------------------------------------------------------------------------

@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_of_a_build_halfway(point, previous, source_root, figures):
    """The previous store serves on, unchanged; what the killed build left is never served and goes with the next build."""
    before, link = dump(previous), os.readlink(previous / "store")
    trials = scale(1, 3)
    left_behind, files = set(), []
    for _ in range(trials):
        replaced = link
        if KILL_POINTS[point] is None:
            files.append(killed_when_store_appears(source_root, previous))
        else:
            build = paused_build(source_root, previous, *KILL_POINTS[point])
            wait_stopped(build)
            build.kill()
            build.communicate(timeout=30)
        if point == "publish, after the swap":  # the new store was whole and is published
            replaced = os.readlink(previous / "store")
            assert replaced != link and os.readlink(previous / PREVIOUS) == link
            assert len(open_read_only(previous)) == built_quads(previous)
            assert served_count(previous) == built_quads(previous)
        else:
            assert os.readlink(previous / "store") == link and dump(previous) == before
            assert served_count(previous) == before[1]
        left_behind |= {"a half-made link" if n.endswith(".tmp") else "a store directory no link names"
                        for n in leftovers(previous)}
        assert run(build_command(source_root, previous)).returncode == 0
        assert_clean_after_build(previous, replaced)
        link, before = os.readlink(previous / "store"), dump(previous)
    served = "the new store, whole (its quad count as built)" if point == "publish, after the swap" \
        else "the previous store (same dump hash)"
    figures.add(section="faults", trial=f"kill -9 of a build during {point}", tried=trials,
                result=f"next serve served {served}: {trials}/{trials}; left behind: "
                       f"{', '.join(sorted(left_behind)) or 'nothing'}"
                       f"{f' (files in it at the kill: {files})' if files else ''}; "
                       "the next build removed it and published")


def test_two_builds_at_once(previous, source_root, figures):
    """A second build fails at once with a clear message; it deletes nothing of the build that holds the lock."""
    link = os.readlink(previous / "store")
    known = {p.name for p in previous.iterdir()}
    first = paused_build(source_root, previous, "repression_kg.store", "publish", "True")
    wait_stopped(first)  # its store is written, not yet published
    written = [p for p in previous.glob("store-*") if p.name not in known]
    assert len(written) == 1
    second = run(build_command(source_root, previous))
    line = one_error_line(second.stderr)
    assert second.returncode == 2
    assert f"Another build (pid {first.pid}) is writing into {previous}" in line
    assert written[0].is_dir() and os.readlink(previous / "store") == link
    first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert current_store(previous) == written[0].resolve()
    assert_clean_after_build(previous, link)
    assert served_count(previous) == built_quads(previous)
    figures.add(section="faults", trial="two builds at once in one build directory", tried=1,
                result=f"the second exited {second.returncode} with one line ('{line[7:60]}...'); the first's "
                       "unpublished store was kept, and it published it after")


# --- 3. damaged stores ------------------------------------------------------------------------------

def truncate_sst(build_dir: Path) -> None:
    for path in current_store(build_dir).glob("*.sst"):
        os.truncate(path, path.stat().st_size // 2)


def garble_sst(build_dir: Path) -> None:
    """Random bytes from a quarter of each .sst file to its last 8 (its index, properties and footer)."""
    for path in current_store(build_dir).glob("*.sst"):
        size = path.stat().st_size
        with open(path, "r+b") as f:
            f.seek(size // 4)
            f.write(os.urandom(size - 8 - size // 4))


def delete_current(build_dir: Path) -> None:
    (current_store(build_dir) / "CURRENT").unlink()


def remove_store_dir(build_dir: Path) -> None:
    shutil.rmtree(current_store(build_dir))


def dangling_link(build_dir: Path) -> None:
    (build_dir / "store").unlink()
    (build_dir / "store").symlink_to("store-that-was-never-built")


def plain_file(build_dir: Path) -> None:
    (build_dir / "store").unlink()
    (build_dir / "store").write_text("not a store\n")


DAMAGE = {"truncated .sst files": truncate_sst, "garbled .sst files": garble_sst, "CURRENT deleted": delete_current,
          "store directory removed": remove_store_dir, "dangling store link": dangling_link,
          "store is a plain file": plain_file}


def test_damaged_store_at_start_up(built, source_root, tmp_path, figures):
    """serve: one clear line naming the path and the rebuild command, exit 2, no worker left; build recovers."""
    build_dirs, named = {}, {}
    for kind, damage in DAMAGE.items():
        build_dirs[kind] = copy_build(built, tmp_path / kind.replace(" ", "-"))
        named[kind] = os.readlink(build_dirs[kind] / "store")
        damage(build_dirs[kind])
    started = time.monotonic()
    servers = {kind: subprocess.Popen(kzr("serve", "--host", "127.0.0.1", "--port", free_port(), "--build-dir", d),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ONE_WORKER)
               for kind, d in build_dirs.items()}
    family: dict[int, str] = {}
    while any(p.poll() is None for p in servers.values()):
        for process in servers.values():
            family.update(descendants(process.pid))
        assert time.monotonic() - started < 120, "a server with a damaged store kept running"
        time.sleep(0.05)
    seconds = time.monotonic() - started
    for kind, process in servers.items():
        out, err = process.communicate()
        line = one_error_line(err)
        assert process.returncode == 2 and out == "", (kind, out)
        assert named[kind] in line or str(build_dirs[kind] / "store") in line, line
        assert f"repression-kg build --build-dir {build_dirs[kind]}" in line, line
    assert wait_gone(family) < 10 and not still_running(family)
    for kind, build_dir in build_dirs.items():
        assert holders(build_dir) == [], kind
    recovered = list(DAMAGE) if FULL else ["truncated .sst files", "store is a plain file"]
    for kind in recovered:
        assert run(build_command(source_root, build_dirs[kind])).returncode == 0, kind
        assert leftovers(build_dirs[kind]) == []
        assert served_count(build_dirs[kind]) == built_quads(build_dirs[kind]), kind
    figures.add(section="faults", trial=f"serve on a damaged store ({', '.join(DAMAGE)})", tried=len(DAMAGE),
                result=f"exit 2 with one line naming the path and 'repression-kg build --build-dir ...': "
                       f"{len(DAMAGE)}/{len(DAMAGE)}, all within {seconds:.1f} s; tracebacks 0; workers left 0; "
                       f"'repression-kg build' then served: {len(recovered)}/{len(recovered)} tried")


def test_damage_found_while_serving(previous, source_root, figures):
    """A block that fails its checksum, a store the workers cannot open: 503 with the reason, no spinning, build recovers."""
    store_dir = current_store(previous)
    damaged = previous / "store-damaged-copy"
    shutil.copytree(store_dir, damaged)
    for path in damaged.glob("*.sst"):
        os.truncate(path, path.stat().st_size // 2)
    with server(previous, "--timeout", "20") as (base, process):
        garble_data_blocks(store_dir)  # no query has read a data block yet: the workers find the damage
        status, body = post(base, SCAN)
        assert status == 503, body
        assert "is damaged: Corruption: block checksum mismatch" in body["error"] and str(store_dir) in body["error"]
        assert f"repression-kg build --build-dir {previous}" in body["error"]
        (previous / ".store-swap.tmp").symlink_to(damaged.name)  # a store that cannot be opened becomes current
        os.replace(previous / ".store-swap.tmp", previous / "store")
        answers = [post(base, COUNT_QUADS) for _ in range(5)]
        assert all(s == 503 and f"Cannot open the store at {damaged.resolve()}" in b["error"] for s, b in answers), answers
        time.sleep(0.5)
        cpu_before, workers = cpu_seconds(process.pid), len(descendants(process.pid))
        time.sleep(1.0)
        idle_cpu = cpu_seconds(process.pid) - cpu_before
        assert idle_cpu < 0.3 and len(descendants(process.pid)) <= workers
        assert run(build_command(source_root, previous)).returncode == 0
        status, body = post(base, COUNT_QUADS)
        assert status == 200 and count_of(body) == built_quads(previous)
    figures.add(section="faults", trial="damage found while serving: a garbled data block; the link moved to a "
                                        "truncated store", tried=1 + len(answers),
                result=f"503 naming the store and the rebuild command: {1 + len(answers)}/{1 + len(answers)}; "
                       f"server CPU in the second after: {idle_cpu:.2f} s; a build while serving: 200 from the new store")


def test_worker_memory_limit_stops_a_query_on_a_damaged_block(previous, figures):
    """Oxigraph counting over a damaged block allocates without end: the worker's memory limit stops it, and 503."""
    garble_data_blocks(current_store(previous))
    backend = EmbeddedBackend(previous, workers=1, memory_mb=1024)
    try:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable, match=r"A query worker stopped .* more than 1024 MB"):
            backend.answer(Task("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "json", None), 60)
        seconds = time.monotonic() - start
        assert backend.ask("ASK {}")  # its replacement answers
    finally:
        backend.close()
    figures.add(section="faults", trial="COUNT over a garbled data block (Oxigraph allocates without end)", tried=1,
                result=f"worker stopped at its address-space limit (1024 MB here, 4096 MB by default) after "
                       f"{seconds:.1f} s: 503; the replacement answered")


# --- 4. a full disk ---------------------------------------------------------------------------------

@contextmanager
def small_disk(path: Path, kb: int):
    """A tmpfs of kb kilobytes at path, or None where this machine does not let us mount one."""
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(path)],
                          capture_output=True, text=True, timeout=30) if shutil.which("mount") else None
    if done is None or done.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def size_kb(directory: Path) -> int:
    """What a directory takes on tmpfs: each file rounded up to 4 KB pages."""
    return sum(-(-p.stat().st_size // 4096) * 4 for p in directory.rglob("*") if p.is_file() and not p.is_symlink())


def test_disk_full_during_a_build(built, source_root, tmp_path, figures):
    """The build fails with one line and exit 2; no half-written store is published or left; the previous one serves."""
    margin_kb = 1024 if FULL else 256  # less than the new store needs
    file_limit = (256 if FULL else 32) * 1024
    disk_kb = size_kb(built) + 64 + margin_kb  # the previous build, the lock file and the reports fit
    with small_disk(tmp_path / "disk", disk_kb) as disk:
        build_dir = copy_build(built, (disk or tmp_path) / "build")
        before, link = dump(build_dir), os.readlink(build_dir / "store")

        def limit_file_size():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

        done = run(build_command(source_root, build_dir), preexec_fn=None if disk else limit_file_size)
        line = one_error_line(done.stderr)
        assert done.returncode == 2
        assert "Cannot write the store at" in line and ("No space left on device" in line or "File too large" in line)
        assert "The previous store is unchanged" in line
        assert os.readlink(build_dir / "store") == link and dump(build_dir) == before
        assert leftovers(build_dir) == []
        filled = disk is not None and fill(disk)
        assert served_count(build_dir) == before[1]  # even on a disk with no byte free: serving writes nothing
        method = f"a tmpfs of {disk_kb} KB" if disk else \
            f"RLIMIT_FSIZE of {file_limit // 1024} KB (mounting a tmpfs was refused)"
    figures.add(section="faults", trial=f"disk full during a build ({method})", tried=1,
                result=f"exit 2, one line ('Cannot write the store at <new store-* dir>: {line.split(': ', 2)[2][:45]}...'); "
                       f"no store published or left behind; the previous store "
                       f"served with the same dump hash{' on the disk filled to the last byte' if filled else ''}")


def fill(disk: Path) -> bool:
    """Fill a disk to its last byte."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        return True
    finally:
        os.close(fd)


# --- 5. a rebuild while a query runs on the previous store ----------------------------------------

def test_rebuild_keeps_the_previous_store_for_queries_in_flight(previous, source_root, figures):
    """A query running when a rebuild publishes ends with its answer; the previous store stays whole until the build after."""
    old_store, before = current_store(previous), dump(previous)
    with server(previous, "--timeout", "120") as (base, _):
        build = paused_build(source_root, previous, "repression_kg.store", "publish", "True")
        wait_stopped(build)  # the new store is written; publishing it is all that is left
        outcome = {}

        def long_query():
            outcome["answer"] = post(base, LONG, timeout=150)
            outcome["ended"] = time.monotonic()

        thread = threading.Thread(target=long_query)
        thread.start()
        time.sleep(0.3)
        build.send_signal(signal.SIGCONT)
        while os.readlink(previous / "store") == old_store.name and build.poll() is None:
            time.sleep(0.002)
        published = time.monotonic()
        build.communicate(timeout=120)
        assert build.returncode == 0
        thread.join(150)
        status, body = outcome["answer"]
        assert status == 200 and count_of(body) == LONG_ROWS
        assert outcome["ended"] > published, "the query ended before the rebuild published: make LONG longer"
        assert os.readlink(previous / PREVIOUS) == old_store.name
        assert dump_dir(old_store) == before  # a worker may still open it, and finds it whole
        status, body = post(base, COUNT_QUADS)
        assert status == 200 and count_of(body) == built_quads(previous)  # the next query reads the new store
    first_new = os.readlink(previous / "store")
    assert run(build_command(source_root, previous)).returncode == 0
    assert not old_store.exists() and os.readlink(previous / PREVIOUS) == first_new and leftovers(previous) == []
    figures.add(section="faults", trial="rebuild publishing while a query runs on the previous store", tried=1,
                result=f"the query ended {outcome['ended'] - published:.1f} s after the new store was published, "
                       f"200 with its full answer; the previous store was kept whole (same dump hash) until the "
                       f"build after it")
