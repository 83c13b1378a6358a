"""HTTP clients of the benchmark: latency over one keep-alive connection, throughput from client processes."""
from __future__ import annotations

import math
import multiprocessing
import os
import queue
import socket
import statistics
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """One HTTP request: GET of a path, or POST of a SPARQL query (application/sparql-query)."""

    path: str
    accept: str
    body: bytes | None = None

    def encode(self, port: int) -> bytes:
        """The request as bytes on the wire (HTTP/1.1, keep-alive)."""
        head = f"{'GET' if self.body is None else 'POST'} {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" \
               f"Accept: {self.accept}\r\n"
        if self.body is not None:
            head += f"Content-Type: application/sparql-query\r\nContent-Length: {len(self.body)}\r\n"
        return (head + "\r\n").encode("latin-1") + (self.body or b"")


class Timeout(Exception):
    """A request took longer than the client's limit."""


class Client:
    """One keep-alive HTTP/1.1 connection over a plain socket (http.client costs the client a core at
    thousands of requests per second on this machine); reconnects after an error or a close."""

    def __init__(self, port: int, timeout: float):
        self.port, self.timeout = port, timeout
        self.sock: socket.socket | None = None
        self.buf = b""

    def time(self, request: Request) -> tuple[int, float, int]:
        """(status, seconds, bytes) of one request; Timeout past the limit."""
        start = time.perf_counter()
        status, body = self.fetch(request)
        return status, time.perf_counter() - start, len(body)

    def fetch(self, request: Request) -> tuple[int, bytes]:
        """(status, body) of one request; Timeout past the limit."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf = b""
        try:
            self.sock.sendall(request.encode(self.port))
            return self._response()
        except (TimeoutError, socket.timeout):
            self.close()
            raise Timeout(f"no answer within {self.timeout:g} s") from None
        except OSError:
            self.close()
            raise

    def _read(self) -> None:
        chunk = self.sock.recv(1 << 18)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def _response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._read()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._chunked()
        else:
            length = int(headers.get("content-length", 0))
            while len(self.buf) < length:
                self._read()
            body, self.buf = self.buf[:length], self.buf[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def _chunked(self) -> bytes:
        parts = []
        while True:
            while b"\r\n" not in self.buf:
                self._read()
            size_line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(self.buf) < size + 2:
                self._read()
            parts.append(self.buf[:size])
            self.buf = self.buf[size + 2:]
            if size == 0:
                return b"".join(parts)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def select(port: int, path: str, sparql: str, timeout: float) -> bytes:
    """The SPARQL JSON answer of one query (raises on anything but 200)."""
    status, body = Client(port, timeout).fetch(Request(path, "application/sparql-results+json", sparql.encode()))
    if status != 200:
        raise RuntimeError(f"{path} answered {status}: {body[:500]!r}")
    return body


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile of a list (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency(client: Client, make, runs: int, seconds: float, warm: bool = True) -> dict:
    """p50 and p95 (ms) of up to `runs` requests within `seconds` (at least one); make(i) gives request i.

    The warm-up request is not counted. If it took longer than `seconds`, one more request is timed:
    the series goes on if that one is quicker (the first paid a one-time cost, such as a page whose
    tables are made from a remote endpoint on first use), else it is the only run. A non-200
    answer or a timeout ends the series and is reported."""
    first = None
    if warm:
        start = time.perf_counter()
        status, body = client.fetch(make(-1))
        if status != 200:
            return {"status": status, "runs": 0, "error": body[:300].decode("utf-8", "replace")}
        first = (time.perf_counter() - start) * 1000
        if first > seconds * 1000:
            start = time.perf_counter()
            status, body = client.fetch(make(-2))
            second = (time.perf_counter() - start) * 1000
            if status != 200:
                return {"status": status, "runs": 0, "error": body[:300].decode("utf-8", "replace")}
            if second > seconds * 1000:  # slower than the whole budget every time: this is the one run
                return {"status": 200, "runs": 1, "p50": second, "p95": second, "bytes": len(body), "first_ms": first}
    times, size, deadline = [], 0, time.monotonic() + seconds
    for i in range(runs):
        start = time.perf_counter()
        status, body = client.fetch(make(i))
        took, size = time.perf_counter() - start, len(body)
        if status != 200:
            return {"status": status, "runs": len(times), "error": body[:300].decode("utf-8", "replace")}
        times.append(took * 1000)
        if time.monotonic() > deadline:
            break
    return {"status": 200, "runs": len(times), "p50": statistics.median(times), "p95": percentile(times, 95),
            "bytes": size, "first_ms": first}


# --- Throughput: client processes, each with threads, each thread one keep-alive connection ---

def _thread_loop(port: int, make, offset: int, start_at: float, stop_at: float, timeout: float, out: list) -> None:
    client, ok, failed, i = Client(port, timeout), 0, 0, 0
    statuses: dict[int, int] = {}
    while time.time() < start_at:
        time.sleep(0.001)
    while time.time() < stop_at:
        try:
            status, _, _ = client.time(make(offset * 1_000_000 + i))
            ok += status == 200
            failed += status != 200
            if status != 200:
                statuses[status] = statuses.get(status, 0) + 1
        except (Timeout, OSError, ValueError):
            failed += 1
        i += 1
    client.close()
    out.append((ok, failed, statuses))


def _process_main(port: int, make, threads: int, first: int, start_at: float, stop_at: float, timeout: float,
                  results) -> None:
    out: list = []
    before = os.times()
    late = max(0.0, time.time() - start_at)  # a process that started after the start has less time
    workers = [threading.Thread(target=_thread_loop, args=(port, make, first + t, start_at, stop_at, timeout, out))
               for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    after = os.times()
    statuses: dict[int, int] = {}
    for _, _, s in out:
        for code, count in s.items():
            statuses[code] = statuses.get(code, 0) + count
    results.put((sum(o[0] for o in out), sum(o[1] for o in out), after.user + after.system - before.user - before.system,
                 statuses, late))


def throughput(port: int, make, clients: int, seconds: float, timeout: float = 30.0) -> dict:
    """Requests/s of `clients` concurrent keep-alive clients for `seconds`, spread over up to 4 processes.

    make(i) must be a picklable callable; counts only 200s; reports errors and the clients' CPU seconds."""
    context = multiprocessing.get_context("spawn")
    processes = min(clients, 4)
    results = context.Queue()
    start_at = time.time() + 1.5 + 0.3 * processes  # every process has started and connected by then
    stop_at = start_at + seconds
    procs, first = [], 0
    for p in range(processes):
        threads = clients // processes + (p < clients % processes)
        procs.append(context.Process(target=_process_main, args=(port, make, threads, first, start_at, stop_at,
                                                                 timeout, results), daemon=True))
        first += threads
    for proc in procs:
        proc.start()
    collected, give_up = [], stop_at + timeout + 30
    try:
        while len(collected) < len(procs) and time.time() < give_up:
            try:
                collected.append(results.get(timeout=1))
            except queue.Empty:
                if all(p.exitcode not in (None, 0) for p in procs):
                    break
        if len(collected) < len(procs):
            raise RuntimeError(f"{len(procs) - len(collected)} client process(es) failed "
                               f"(exit codes {[p.exitcode for p in procs]})")
    finally:
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
    ok, failed = sum(c[0] for c in collected), sum(c[1] for c in collected)
    statuses: dict[str, int] = {}
    for c in collected:
        for code, count in c[3].items():
            statuses[str(code)] = statuses.get(str(code), 0) + count
    return {"clients": clients, "processes": processes, "seconds": seconds, "requests": ok, "errors": failed,
            "error_statuses": statuses, "per_second": ok / seconds, "client_cpu_seconds": sum(c[2] for c in collected),
            "late_start_seconds": max(c[4] for c in collected)}
