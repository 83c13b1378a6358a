"""The remote backend: any SPARQL 1.1 Protocol endpoint, over one kept-alive HTTP connection per thread."""
from __future__ import annotations

import base64
import http.client
import select
import ssl
import threading
import time
import urllib.parse
import weakref
from dataclasses import dataclass

from .backend import USER_AGENT, Answer, Backend, BackendUnavailable, QueryError, QueryTimeout, Task
from .formats import by_name


class TruncatedAnswer(BackendUnavailable):
    """The endpoint sent part of an answer with a success status, and said so only in a header."""


# Virtuoso cuts an answer at ResultSetMaxRows ([SPARQL] in virtuoso.ini, 10,000 in Debian's file) and still
# answers with success (200; 206 in newer versions), adding `X-SPARQL-MaxRows: N`. Read in Virtuoso's own code
# (openlink/virtuoso-opensource: its GraphQL endpoint sets the header the same way), in R. Cyganiak's comment
# on w3c-cg/sparql-dev issue 51 (DBpedia's 10,000-row cap, "as indicated by a X-SPARQL-MaxRows header"), in
# dbcls/sparql-proxy's README ("Relaying X-SPARQL- headers": it passes the header on for that reason), and
# reproduced here with Virtuoso 7.2.5.1 (docs/scale-out.md). Virtuoso's "anytime" queries stop at a time limit
# and send what they have with 206 and `X-SQL-State` (virtuoso-opensource README.ANYTIME.md, issue 1034).
MAX_ROWS_HEADER = "X-SPARQL-MaxRows"
PARTIAL_HEADER = "X-SQL-State"
READ_CHUNK = 1 << 16
# A connection idle longer is replaced before use: servers close idle ones (`oxigraph serve` after 60 s), and
# one closing just as a query arrives may answer it with its parting words (see _has_spoken).
IDLE_SECONDS = 30.0
# How a reused connection that the server closed meanwhile fails before an answer starts. RemoteDisconnected
# (closed without a word) is both a ConnectionResetError and a BadStatusLine.
STALE = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, http.client.BadStatusLine)


@dataclass(frozen=True)
class _Reply:
    """An HTTP answer read to its end."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


class RemoteBackend(Backend):
    """Any SPARQL 1.1 Protocol endpoint (Oxigraph server, Virtuoso, QLever, Fuseki), over one kept-alive
    HTTP connection per thread."""

    name = "remote"

    def __init__(self, endpoint: str):
        parts = _endpoint_parts(endpoint)
        self.endpoint = _shown(parts)  # for messages: the password masked
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        if parts.username is not None:
            user = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self._headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode("ascii")
        self._tls = ssl.create_default_context() if self._https else None  # trusts SSL_CERT_FILE if set
        self._connections: dict[threading.Thread, http.client.HTTPConnection] = {}
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._connections)  # a backend dropped without close() leaks no socket

    def answer(self, task: Task, timeout: float) -> Answer:
        accept = ", ".join(by_name(n).media_type for n in (task.results_format, task.graph_format) if n)
        form = [("query", task.sparql)] + [("default-graph-uri", g) for g in task.default_graphs]
        form += [("named-graph-uri", g) for g in task.named_graphs]
        reply = self._post(urllib.parse.urlencode(form).encode(), {**self._headers, "Accept": accept}, timeout)
        self._check(reply)
        media_type = reply.headers.get_content_type()
        fmt = by_name(media_type)
        if fmt is None:
            raise BackendUnavailable(f"The SPARQL endpoint answered in an unexpected format: {media_type}")
        return Answer(fmt.kind, fmt.name, reply.body)

    def _check(self, reply: _Reply) -> None:
        """Raise what a refused, failed, redirected or partial answer means."""
        message = reply.body.decode("utf-8", "replace")[:2000] if reply.status >= 300 else ""
        if reply.status in (400, 406, 415):
            raise QueryError(message or f"The endpoint refused the query ({reply.status}).")
        if 300 <= reply.status < 400:
            raise BackendUnavailable(
                f"The SPARQL endpoint {self.endpoint} answered {reply.status}, pointing to "
                f"{reply.headers.get('Location', 'nowhere')}; give the endpoint's own URL instead.")
        if not 200 <= reply.status < 300:
            raise BackendUnavailable(f"The SPARQL endpoint {self.endpoint} answered {reply.status}: {message}")
        rows = reply.headers.get(MAX_ROWS_HEADER)
        if rows is not None:
            raise TruncatedAnswer(
                f"The SPARQL endpoint {self.endpoint} cut the answer at {rows.strip()} rows (Virtuoso's "
                "ResultSetMaxRows); raise that limit in virtuoso.ini ([SPARQL] ResultSetMaxRows) above the "
                "largest answer the site needs (every label and every facet value at once) and restart Virtuoso.")
        if reply.status == 206 or reply.headers.get(PARTIAL_HEADER) is not None:
            raise TruncatedAnswer(
                f"The SPARQL endpoint {self.endpoint} sent a partial answer ({reply.status}, {PARTIAL_HEADER}: "
                f"{reply.headers.get(PARTIAL_HEADER, 'none')}): it stopped the query at its own time limit "
                "(Virtuoso's anytime queries); raise MaxQueryExecutionTime in virtuoso.ini.")

    def _post(self, body: bytes, headers: dict, timeout: float) -> _Reply:
        """POST on this thread's connection and read the whole answer before the deadline."""
        deadline = time.monotonic() + timeout
        failure = "cannot be reached"
        try:
            response, sock = self._send(body, headers, deadline)
            failure = "broke off its answer"
            reply = _read(response, sock, deadline)
        except TimeoutError:
            self._discard()  # the answer may still arrive on it: it cannot carry another query
            raise QueryTimeout(timeout) from None
        except (OSError, http.client.HTTPException) as err:
            self._discard()
            why = str(err) or type(err).__name__
            raise BackendUnavailable(f"The SPARQL endpoint {self.endpoint} {failure}: {why}") from None
        self._connection().last_used = time.monotonic()
        return reply

    def _send(self, body: bytes, headers: dict, deadline: float):
        """Send the request and read the answer's head; a reused connection found closed is tried once afresh."""
        connection = self._connection()
        if connection.sock is not None and (time.monotonic() - connection.last_used > IDLE_SECONDS
                                            or _has_spoken(connection.sock)):
            self._discard()
            connection = self._connection()
        reused = connection.sock is not None
        try:
            return _request(connection, self._target, body, headers, deadline)
        except STALE:
            if not reused:
                raise
        self._discard()
        return _request(self._connection(), self._target, body, headers, deadline)

    def _connection(self) -> http.client.HTTPConnection:
        """This thread's connection, made on first use (when the connections of ended threads are closed)."""
        thread = threading.current_thread()
        connection = self._connections.get(thread)
        if connection is None:
            connection = (http.client.HTTPSConnection(self._host, self._port, context=self._tls) if self._https
                          else http.client.HTTPConnection(self._host, self._port))
            connection.last_used = time.monotonic()
            with self._lock:
                for ended in [t for t in self._connections if not t.is_alive()]:
                    self._connections.pop(ended).close()
                self._connections[thread] = connection
        return connection

    def _discard(self) -> None:
        """Close this thread's connection; its next query opens a new one."""
        with self._lock:
            connection = self._connections.pop(threading.current_thread(), None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        with self._lock:
            _close_all(self._connections)


def _close_all(connections: dict) -> None:
    """Close and forget every connection of a backend."""
    for connection in connections.values():
        connection.close()
    connections.clear()


def _endpoint_parts(endpoint: str) -> urllib.parse.SplitResult:
    """The endpoint URL split into parts, or BackendUnavailable saying what is wrong with it."""
    parts = urllib.parse.urlsplit(endpoint.strip())
    try:
        parts.port
    except ValueError as err:
        raise BackendUnavailable(f"The SPARQL endpoint URL {_shown(parts)} is not valid: {err}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendUnavailable(f"The SPARQL endpoint must be an http:// or https:// URL with a host, such as "
                                 f"http://127.0.0.1:7878/query, not {_shown(parts)!r}.")
    return parts


def _shown(parts: urllib.parse.SplitResult) -> str:
    """The URL as it may be shown: a password in it masked."""
    if parts.password is None:
        return parts.geturl()
    return parts._replace(netloc=f"{parts.username}:***@{parts.netloc.rsplit('@', 1)[1]}").geturl()


def _has_spoken(sock) -> bool:
    """Whether an idle connection has something to read: its end, or an answer to no question. (`oxigraph serve`
    0.5 writes `500 Resource temporarily unavailable (os error 11)` on a connection idle for 60 s, then closes it:
    read as the answer to the next query, it would fail that query.)"""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _request(connection: http.client.HTTPConnection, target: str, body: bytes, headers: dict, deadline: float):
    """Send a POST and read the answer's status and headers; the response and its socket."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    connection.timeout = remaining  # for connect()
    if connection.sock is not None:
        connection.sock.settimeout(remaining)
    connection.request("POST", target, body, headers)
    sock = connection.sock  # the response reads from it, even after a `Connection: close` drops it from connection
    return connection.getresponse(), sock


def _read(response: http.client.HTTPResponse, sock, deadline: float) -> _Reply:
    """Read the whole body before the deadline (a server that trickles it is stopped too)."""
    chunks = []
    try:
        while not response.isclosed():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            chunks.append(response.read(READ_CHUNK))
    finally:
        response.close()
    return _Reply(response.status, response.headers, b"".join(chunks))
