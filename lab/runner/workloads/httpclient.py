"""The synchronous HTTP client of serial, threads and processes: one GET per task over a
keep-alive connection per thread, bounded in time (the whole request) and in bytes (the body).

Pool workers import this module to run `fetch`: standard library only.
"""

from __future__ import annotations

import asyncio
import errno
import http.client
import socket
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

# Keep-alive connections per thread (and so per process), keyed by (scheme, host, port).
_local = threading.local()


def _errno(exc: BaseException) -> int | None:
    """The OS error number behind exc, through aiohttp's wrappers and exception chains."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current.errno
        os_error = getattr(current, "os_error", None)  # aiohttp.ClientConnectorError
        if isinstance(os_error, OSError) and os_error.errno is not None:
            return os_error.errno
        current = current.__cause__ or current.__context__
    return None


def error_kind(exc: BaseException) -> str:
    # Out of file descriptors is this machine's limit, not the target refusing: say so.
    if _errno(exc) in (errno.EMFILE, errno.ENFILE):
        return "too_many_open_files"
    if isinstance(exc, TimeoutError | socket.timeout | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | http.client.RemoteDisconnected):
        return "reset"
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None:
        if isinstance(exc, aiohttp.ClientConnectorError):
            return "refused"
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            return "reset"
    return type(exc).__name__


BODY_TOO_LARGE = "body_too_large"  # an outcome: the target answered, with more than the cap
READ_SIZE = 65536


class RequestDeadline(TimeoutError):
    """The whole request (connect, headers, body) took longer than request_timeout."""


class _DeadlineSocket(socket.socket):
    """A socket whose every receive waits at most until its connection's deadline.

    http.client's timeout bounds one receive: a server that trickles a byte a second never
    trips it and holds a request for as long as it likes. Here each receive gets only the time
    left of the whole request.
    """

    deadline = 0.0

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RequestDeadline("the whole request took longer than request_timeout")
        self.settimeout(left)
        return super().recv_into(buffer, nbytes, flags)


def _deadline_connection(address: tuple[str, int], timeout: float, *args: Any) -> socket.socket:
    plain = socket.create_connection(address, timeout, *args)
    sock = _DeadlineSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
    sock.settimeout(timeout)
    sock.deadline = time.monotonic() + timeout
    return sock


def _connection(scheme: str, host: str, port: int, timeout: float) -> http.client.HTTPConnection:
    pool: dict[tuple[str, str, int], http.client.HTTPConnection] = (
        getattr(_local, "pool", None) or {}
    )
    _local.pool = pool
    key = (scheme, host, port)
    conn = pool.get(key)
    if conn is None:
        cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = cls(host, port, timeout=timeout)
        if scheme == "http":  # TLS wraps the socket in its own: there each receive is bounded
            conn._create_connection = _deadline_connection  # type: ignore[attr-defined]
        pool[key] = conn
    return conn


def _set_deadline(conn: http.client.HTTPConnection, deadline: float) -> None:
    sock = conn.sock
    if isinstance(sock, _DeadlineSocket):
        sock.deadline = deadline
    if sock is not None:  # a kept-alive socket still has the last request's time left
        sock.settimeout(max(0.001, deadline - time.monotonic()))


def _read_body(
    response: http.client.HTTPResponse, conn: http.client.HTTPConnection, deadline: float,
    cap: int,
) -> int | None:  # fmt: skip
    """The body's size, read in chunks and dropped; None once it passes `cap` bytes."""
    if response.length is not None and response.length > cap:
        return None  # said up front (a 10 GB Content-Length): not one byte is read
    size = 0
    while True:
        if time.monotonic() >= deadline:
            raise RequestDeadline("the whole request took longer than request_timeout")
        if conn.sock is not None and not isinstance(conn.sock, _DeadlineSocket):
            conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = response.read1(READ_SIZE)
        if not chunk:
            response.close()  # done with: the kept-alive connection takes the next request
            return size
        size += len(chunk)
        if size > cap:
            return None


def fetch(task: tuple[int, str, float, int]) -> tuple[int, str, float, int]:
    """One GET over this thread's keep-alive connection: (index, outcome, seconds, bytes).

    `request_timeout` bounds the whole request; a body past the cap is not read to its end
    (the connection is dropped) and counts as an answered but failed request."""
    index, url, timeout, cap = task
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    start = time.perf_counter()
    deadline = time.monotonic() + timeout
    conn = _connection(parts.scheme, parts.hostname or "", port, timeout)
    try:
        _set_deadline(conn, deadline)
        conn.request("GET", target)
        _set_deadline(conn, deadline)  # a new connection was made by the request
        response = conn.getresponse()
        size = _read_body(response, conn, deadline, cap)
        status = response.status
    except Exception as exc:
        conn.close()
        _local.pool.pop((parts.scheme, parts.hostname or "", port), None)
        return index, error_kind(exc), time.perf_counter() - start, 0
    elapsed = time.perf_counter() - start
    if size is None:
        conn.close()
        _local.pool.pop((parts.scheme, parts.hostname or "", port), None)
        return index, BODY_TOO_LARGE, elapsed, 0
    return index, "ok" if status < 400 else f"http_{status}", elapsed, size


def fetch_on_schedule(
    task: tuple[int, str, float, int, float],
) -> tuple[int, str, float, int, float, float]:
    """An open-loop GET: wait for its scheduled time (a perf_counter() reading, comparable
    across the processes of one machine), send it, and return fetch()'s figures with the
    scheduled and the actual send time. A request whose time has passed goes at once: late,
    never dropped."""
    index, url, timeout, cap, due = task
    wait = due - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
    sent = time.perf_counter()
    _, outcome, seconds, size = fetch((index, url, timeout, cap))
    return index, outcome, seconds, size, due, sent
