"""A peer cannot make a run read without end or wait without end (issue 21, section 3).

Real servers on 127.0.0.1, in this process: one that never stops sending a body, one that
trickles a byte every TICK seconds, one that announces a 10 GB body. Every model (serial, threads and
processes use the synchronous client; asyncio uses aiohttp) stops at the body cap
(`max_body_size`) and within `request_timeout` for the whole request, and says why.
"""

from __future__ import annotations

import json
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.runner.system.child_env import child_env
from lab.runner.workloads.httpclient import BODY_TOO_LARGE, fetch

MODELS = "serial, threads, processes, asyncio"
HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
# Seconds between two trickled bytes: well under a trickle test's request_timeout, so that a
# per-receive timeout never trips; 100 of them well over it.
TICK = 0.2


class Hostile(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(120)
        request = b""
        try:
            while b"\r\n\r\n" not in request:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1]
            if path == b"/endless":
                sock.sendall(HEADERS + b"Connection: close\r\n\r\n")
                block = b"x" * 65536
                while True:
                    sock.sendall(block)
            elif path == b"/trickle":
                sock.sendall(HEADERS + b"Content-Length: 100\r\n\r\n")
                for _ in range(100):
                    time.sleep(TICK)
                    sock.sendall(b"x")
            elif path == b"/trickle-headers":
                for byte in HEADERS:
                    time.sleep(TICK)
                    sock.sendall(bytes([byte]))
            elif path == b"/huge":
                sock.sendall(HEADERS + b"Content-Length: 10000000000\r\n\r\n" + b"x" * 1000)
                time.sleep(60)
            else:
                sock.sendall(HEADERS + b"Connection: close\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            return  # the client gave up: what the test wants


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def hostile() -> Iterator[int]:
    server = Server(("127.0.0.1", 0), Hostile)
    # A short poll: shutdown() waits for one at teardown.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def lab_run(
    tmp_path: Path, port: int, paths: list[str], extra: str = "", request_timeout: float = 2
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]], float]:
    """Two requests a run, spread over `paths` in turn."""
    urls = ", ".join(f'"http://127.0.0.1:{port}{path}"' for path in paths)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        textwrap.dedent(f"""\
        title: hostile peer
        workload:
          kind: http
          requests: 2
          urls: [{urls}]
          request_timeout: {request_timeout}
          max_error_share: 0
        {extra}
        executors: [{MODELS}]
        workers: [2]
        repeats: 1
        warmups: 0
        processes: 1
        min_time: 0
        timeout: 90
        """)
    )
    out = tmp_path / "r.json"
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--report", str(out), str(scenario)],
        capture_output=True, text=True, timeout=300, env=child_env(), cwd=tmp_path,
    )  # fmt: skip
    seconds = time.monotonic() - began
    runs = {r["run_id"]: r for r in json.loads(out.read_text())["scenarios"][0]["runs"]}
    return done, runs, seconds


def test_an_endless_body_and_a_10_gb_content_length_stop_at_the_cap(
    tmp_path: Path, hostile: int
) -> None:
    """One request of each a run: the endless body is cut at the cap, the announced 10 GB
    refused up front (read to the cap it would wait out request_timeout: '1 timeout')."""
    done, runs, _ = lab_run(tmp_path, hostile, ["/endless", "/huge"])
    assert done.returncode == 1, done.stderr
    assert set(runs) == {"serial-1", "threads-2", "processes-2", "asyncio-2"}
    for run_id, run in runs.items():
        assert run["status"] == "failed", run_id
        message = run["error"]["message"]
        assert "2 of 2 requests failed (2 body too large)" in message, (run_id, message)
        assert "larger than max_body_size (4.0 MiB)" in message, message
        assert "MemoryError" not in message and "is the target up" not in message
        # The runner's whole tree, pool included, never held the endless body.
        assert run["memory"]["peak_rss_bytes"] < 400 * 2**20, run_id
    assert "Traceback" not in done.stderr


def test_the_cap_is_a_scenario_key(tmp_path: Path, hostile: int) -> None:
    done, runs, _ = lab_run(tmp_path, hostile, ["/endless"], "  max_body_size: 64 KiB")
    assert done.returncode == 1
    for run in runs.values():
        assert "larger than max_body_size (64.0 KiB)" in run["error"]["message"]


def test_a_trickle_is_bounded_by_request_timeout_in_every_model(
    tmp_path: Path, hostile: int
) -> None:
    """A byte every TICK seconds (in the body, or in the headers: one request of each a run)
    never trips a per-receive timeout; the whole request's does: at most 0.5 s a request."""
    done, runs, seconds = lab_run(
        tmp_path, hostile, ["/trickle", "/trickle-headers"], request_timeout=0.5
    )
    assert done.returncode == 1, done.stderr
    assert set(runs) == {"serial-1", "threads-2", "processes-2", "asyncio-2"}
    for run_id, run in runs.items():
        assert run["status"] == "failed", run_id
        assert run["error"]["kind"] == "unreachable", (run_id, run["error"])
        assert "(2 timeout)" in run["error"]["message"], (run_id, run["error"])
    # Unbounded, a trickled body takes 100 ticks (20 s), trickled headers 57 ticks and then
    # no answer: serial's two requests in turn, then each other model's pair side by side,
    # take 90 s or more.
    assert seconds < 60, seconds


def test_fetch_alone(hostile: int) -> None:
    """The synchronous client by itself: the answer, the cap, the whole-request deadline."""
    base = f"http://127.0.0.1:{hostile}"
    assert fetch((0, f"{base}/ok", 2.0, 100))[1:2] == ("ok",)
    assert fetch((1, f"{base}/huge", 2.0, 2**20))[1] == BODY_TOO_LARGE
    assert fetch((2, f"{base}/endless", 2.0, 2**20))[1] == BODY_TOO_LARGE
    began = time.monotonic()
    assert fetch((3, f"{base}/trickle", 1.0, 2**20))[1] == "timeout"
    assert time.monotonic() - began < 1.8
