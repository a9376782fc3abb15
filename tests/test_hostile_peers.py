"""`--cluster` and `--fleet` at a port that is not a Dask scheduler (issue 21, section 4).

Real servers on 127.0.0.1, in this process: one accepts and never answers, one answers garbage
(eight 0xff bytes: a frame length Dask would try to allocate). The lab exits 2 with one
sentence within the documented connect timeout, and Ctrl+C (a real SIGINT) ends it at once at
any moment. A real scheduler passes the same probe.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from lab.runner.executors.daskprobe import NoScheduler, probe
from lab.runner.system.child_env import child_env
from tests.test_fleet import fleet_command

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="NOT CHECKED: Dask distributed is not installed (pip install '.[cluster]')",
)

# Seconds of connect timeout (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT for --cluster,
# lab.fleet.cluster.CONNECT_TIMEOUT for --fleet): short where a test waits it out, the real
# 3 s and 5 s where a Ctrl+C must land inside the wait at 0, 1 and 2 s.
QUICK_CONNECT = 1
CONNECT = 3


# Connections each server has accepted so far, by port: a test waits for the lab's own.
ACCEPTED: dict[int, int] = {}


def _serve(behaviour: str) -> tuple[int, socket.socket]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    port = listener.getsockname()[1]
    ACCEPTED[port] = 0

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # never closed, never answered, unless garbage
            ACCEPTED[port] += 1
            if behaviour == "garbage":
                with contextlib.suppress(OSError):
                    conn.sendall(b"\xff" * 8 + b"garbage\r\n" * 10)

    threading.Thread(target=accept, daemon=True).start()
    return port, listener


@pytest.fixture(scope="module")
def peers() -> Iterator[dict[str, int]]:
    silent, a = _serve("silent")
    garbage, b = _serve("garbage")
    yield {"silent": silent, "garbage": garbage}
    a.close()
    b.close()


def _command(option: str, port: int, connect: float | None = None) -> list[str]:
    """The lab at the peer on `port`; `connect`: the --fleet connect timeout (5 s if None)."""
    address = f"tcp://127.0.0.1:{port}"
    if option == "--fleet":
        return fleet_command(address, "--report", os.devnull, connect_timeout=connect)
    tail = [address, "local_cluster"]
    return [sys.executable, "-m", "lab", "--report", os.devnull, "--quick", option, *tail]


def _env(connect: float = CONNECT) -> dict[str, str]:
    return child_env() | {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": f"{connect:g}s"}


@pytest.mark.parametrize("option", ["--cluster", "--fleet"])
@pytest.mark.parametrize("peer", ["silent", "garbage"])
def test_not_a_scheduler_is_exit_2_within_the_connect_timeout(
    peers: dict[str, int], option: str, peer: str
) -> None:
    began = time.monotonic()
    done = subprocess.run(
        _command(option, peers[peer], QUICK_CONNECT),
        capture_output=True, text=True, timeout=120, env=_env(QUICK_CONNECT),
    )  # fmt: skip
    seconds = time.monotonic() - began
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
    address = f"tcp://127.0.0.1:{peers[peer]}"
    assert f"cannot reach the Dask scheduler at {address}: it " in done.stderr
    limit = QUICK_CONNECT
    if peer == "silent":
        assert f"sent nothing a Dask scheduler sends within {limit} s" in done.stderr
    else:
        assert "answered, but not as a Dask scheduler" in done.stderr
    # The connect timeout, plus the interpreter and Dask's import on a busy 2-core machine.
    assert seconds < limit + 20, seconds


@pytest.mark.parametrize("option", ["--cluster", "--fleet"])
@pytest.mark.parametrize("delay", [0.0, 1.0, 2.0])  # the --cluster wait lasts 3 s
def test_ctrl_c_ends_the_wait_at_any_moment(
    peers: dict[str, int], option: str, delay: float
) -> None:
    """SIGINT `delay` seconds into the wait: counted from the moment the silent peer accepted
    the lab's connection, not from the start, so that on a loaded machine the signal still
    lands in the wait (seconds after start, it landed in the interpreter's own start-up, whose
    KeyboardInterrupt traceback no code of the lab can catch)."""
    port = peers["silent"]
    before = ACCEPTED[port]
    lab = subprocess.Popen(
        _command(option, port),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while ACCEPTED[port] == before:
        assert lab.poll() is None, lab.communicate()[1]
        assert time.monotonic() < deadline, "the lab never connected to the peer"
        time.sleep(0.01)
    time.sleep(delay)
    began = time.monotonic()
    lab.send_signal(signal.SIGINT)
    try:
        _, err = lab.communicate(timeout=15)
    finally:
        lab.kill()
    assert time.monotonic() - began < 5
    assert lab.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted; nothing ran" in err


def test_a_real_scheduler_passes_the_probe() -> None:
    import asyncio

    from distributed import Scheduler

    async def check() -> None:
        async with Scheduler(
            host="127.0.0.1", port=0, dashboard_address="127.0.0.1:0"
        ) as scheduler:
            await asyncio.to_thread(probe, scheduler.address, 10)

    asyncio.run(check())


def test_the_probe_alone(peers: dict[str, int]) -> None:
    with pytest.raises(NoScheduler, match="claims 18446744073709551615 bytes"):
        probe(f"tcp://127.0.0.1:{peers['garbage']}", 2)
    began = time.monotonic()
    with pytest.raises(NoScheduler, match=r"within 0\.5 s"):
        probe(f"tcp://127.0.0.1:{peers['silent']}", 0.5)
    assert time.monotonic() - began < 1.4
