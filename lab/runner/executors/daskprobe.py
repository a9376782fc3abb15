"""Is a Dask scheduler there? Asked in plain sockets, bounded in time, before Dask is.

Dask's client trusts its peer: a port that accepts and never answers held `--cluster` and
`--fleet` for minutes (deaf to Ctrl+C, inside Dask's event-loop thread), and one that answers
garbage ended in an OverflowError traceback (its first 8 bytes read as a frame length). A
scheduler speaks first on a new connection: an 8-byte length, then its handshake (msgpack with
"compression" and "pickle-protocol"). Reading that much, within the connect timeout and from
the main thread, tells a scheduler from anything else before a Client exists.

Standard library only; tcp:// addresses only (others are left to Dask).
"""

from __future__ import annotations

import socket
import struct
import time

MAX_HANDSHAKE = 2**20  # bytes: a scheduler's first message is a few hundred
_MARKS = (b"pickle-protocol", b"compression")


class NoScheduler(Exception):
    """What answers at the address is not a Dask scheduler, or does not answer; one sentence."""


def _host_port(address: str) -> tuple[str, int] | None:
    scheme, sep, location = address.partition("://")
    if not sep or scheme != "tcp":
        return None
    host, _, port = location.rpartition(":")
    if not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _read(sock: socket.socket, size: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < size:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(min(65536, size - len(data)))
        if not chunk:
            raise EOFError
        data.extend(chunk)
    return bytes(data)


def probe(address: str, timeout: float) -> None:
    """NoScheduler unless a Dask scheduler answers at `address` within `timeout` seconds.

    Nothing listening (refused, unreachable) is left to Dask, which retries until its own
    connect timeout: a scheduler may be starting."""
    target = _host_port(address)
    if target is None:
        return
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection(target, timeout)
    except OSError:
        return  # refused, unreachable, unknown: Dask says so in its own words
    try:
        (size,) = struct.unpack("Q", _read(sock, 8, deadline))
        if not 0 < size <= MAX_HANDSHAKE:
            raise NoScheduler(
                f"it answered, but not as a Dask scheduler (its first message claims {size} bytes)"
            )
        handshake = _read(sock, size, deadline)
        if not all(mark in handshake for mark in _MARKS):
            raise NoScheduler("it answered, but not with a Dask scheduler's handshake")
    except TimeoutError:
        raise NoScheduler(
            "it accepted the connection but sent nothing a Dask scheduler sends "
            f"within {timeout:g} s"
        ) from None
    except (EOFError, OSError):
        raise NoScheduler("it closed the connection without a Dask scheduler's handshake") from None
    finally:
        sock.close()
