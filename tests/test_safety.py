"""Safety: the embedded server is loopback only and follows the lab when it dies; the lab
writes only to its own temp folder and to the report path; reports are written atomically;
tasks are produced lazily, so huge task counts stay in bounded memory."""

from __future__ import annotations

import asyncio
import errno
import inspect
import os
import random
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from pydantic import TypeAdapter

from lab.core.histogram import Histogram
from lab.report import write as report_write
from lab.report.write import write_atomic
from lab.runner.executors import executor_class
from lab.runner.executors.chunked import MAX_CHUNK
from lab.runner.workloads import workload_class
from lab.runner.workloads.http import EmbeddedServer
from lab.scenario.spec import WorkloadSpec
from tests.conftest import LabSandbox, command_line

# --- The embedded server ---------------------------------------------------------------------


def other_addresses() -> list[str]:
    """IPv4 addresses of this machine that are not loopback."""
    return [
        a.address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    ]


async def test_embedded_server_listens_on_loopback_only(lab_sandbox: LabSandbox) -> None:
    server = EmbeddedServer(0, 16, 0)
    base = await server.start()
    try:
        assert base.startswith("http://127.0.0.1:")
        port = int(base.split(":")[2].split("/")[0])
        assert server.proc is not None
        listening = [
            c.laddr
            for c in psutil.Process(server.proc.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
        for address in other_addresses():
            with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
                pass
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
    finally:
        await server.stop()
    assert server.returncode is not None


def test_embedded_server_exits_when_the_lab_is_killed(lab_sandbox: LabSandbox) -> None:
    """Even a SIGKILLed lab cannot clean up; the server notices its stdin close and exits."""
    code = (
        "import asyncio, time\n"
        "from lab.runner.workloads.http import EmbeddedServer\n"
        "async def main():\n"
        "    server = EmbeddedServer(0, 16, 0)\n"
        "    print(await server.start(), flush=True)\n"
        "    await asyncio.sleep(3600)\n"
        "asyncio.run(main())\n"
    )
    lab = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=lab_sandbox.env()
    )
    assert lab.stdout is not None
    assert lab.stdout.readline().startswith("http://127.0.0.1:")
    servers = [p for p in lab_sandbox.processes() if "lab.runner.server" in command_line(p)]
    assert len(servers) == 1
    lab.kill()
    lab.wait()
    servers[0].wait(10)  # the fixture also checks that nothing of the lab is left


# --- Where the lab writes ----------------------------------------------------------------


@pytest.mark.slow
def test_lab_writes_only_its_temp_folder_and_the_report(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    work = tmp_path / "cwd"
    home = tmp_path / "home"
    work.mkdir()
    home.mkdir()
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "a.yaml").write_text(
        "title: h\nworkload: {kind: hashing, files: 3, file_size: 64 KiB}\n"
        "executors: [serial, processes]\nworkers: [2]\nrepeats: 1\nwarmups: 0\n"
    )
    (scenarios / "b.yaml").write_text(
        "title: w\nworkload: {kind: http, requests: 30, latency_ms: 0}\n"
        "executors: [asyncio, threads]\nworkers: [4]\nrepeats: 1\nwarmups: 0\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "lab", "--report", "out.md", str(scenarios)],
        capture_output=True, text=True, cwd=work, timeout=120, stdin=subprocess.DEVNULL,
        env=lab_sandbox.env(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache")),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in work.iterdir()) == ["out.md"]
    assert list(home.iterdir()) == []
    # ... and the sandbox fixture checks that the temp folder is empty again.


# --- Atomic reports ----------------------------------------------------------------------


def test_readers_never_see_half_a_report(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    versions = ["A" * 2_000_000, "B" * 3_000_000]
    write_atomic(target, versions[0])
    seen: set[int] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            text = target.read_text()
            assert text in versions, f"a reader saw {len(text)} characters"
            seen.add(len(text))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(30):
            write_atomic(target, versions[i % 2])
    finally:
        stop.set()
        reader.join()
    assert seen  # the reader did read while the writes went on
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize(
    "failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()]
)
def test_failed_write_keeps_the_old_report_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    target = tmp_path / "report.md"
    target.write_text("old report\n")

    def fail(fd: int) -> None:
        raise failure

    monkeypatch.setattr(report_write.os, "fsync", fail)
    with pytest.raises(type(failure)):
        write_atomic(target, "new report that never lands\n")
    assert target.read_text() == "old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_temp_file_is_beside_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renames: list[tuple[str, str]] = []
    real = os.replace
    monkeypatch.setattr(
        report_write.os, "replace", lambda a, b: (renames.append((str(a), str(b))), real(a, b))
    )
    write_atomic(tmp_path / "r.csv", "x\n")
    ((src, dst),) = renames
    assert Path(src).parent == Path(dst).parent == tmp_path  # same filesystem: rename is atomic
    assert Path(src).name.startswith(".r.csv.")


def test_report_gets_ordinary_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.md", "x")
        assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o644
        private = tmp_path / "private.md"
        private.write_text("old")
        private.chmod(0o600)
        write_atomic(private, "new")
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(old)


# --- Lazy tasks, bounded memory ----------------------------------------------------------


class CountingSink:
    """Counts results, and how far task production ran ahead of them."""

    def __init__(self, produced: list[int]) -> None:
        self.produced = produced
        self.consumed = 0
        self.ahead = 0

    def add(self, result: Any) -> None:
        self.consumed += 1
        self.ahead = max(self.ahead, self.produced[0] - self.consumed)

    def add_many(self, results: Iterable[Any]) -> int:
        n = 0
        for r in results:
            self.add(r)
            n += 1
        return n


def counted(tasks: Iterator[Any], produced: list[int]) -> Iterator[Any]:
    for task in tasks:
        produced[0] += 1
        yield task


@pytest.mark.parametrize(
    ("executor", "bound"),
    [
        ("serial", lambda w, n: 1024),  # adaptive batches, at most 1024
        ("threads", lambda w, n: max(16 * w, 256)),  # the sliding window
        ("asyncio", lambda w, n: w),  # one task per worker coroutine
        ("processes", lambda w, n: (2 * w + 1) * MAX_CHUNK),  # chunks in flight
    ],
)
def test_tasks_are_produced_lazily(executor: str, bound: Any) -> None:
    tasks, workers = 20_000, 2
    spec = TypeAdapter(WorkloadSpec).validate_python({"kind": "dispatch", "tasks": tasks})
    workload = workload_class("dispatch")(spec, {})
    produced = [0]
    sink = CountingSink(produced)
    # fork: a forkserver (or spawn's resource tracker) would outlive the test as a child of
    # pytest, and other tests count the children of pytest.
    ex = executor_class(executor)(workers, "fork")
    ex.start(workload)
    try:
        ex.run(workload, counted(workload.tasks(), produced), sink)
    finally:
        ex.close()
    assert sink.consumed == produced[0] == tasks
    assert sink.ahead <= bound(workers, tasks), sink.ahead


def test_http_tasks_are_a_generator_and_latency_a_histogram() -> None:
    spec = TypeAdapter(WorkloadSpec).validate_python({"kind": "http", "requests": 100_000})
    workload = workload_class("http")(spec, {"base": "http://127.0.0.1:9/item/"})
    assert inspect.isgenerator(workload.tasks())
    tally = workload.new_tally()
    rng = random.Random(1)
    for i in range(100_000):
        tally.add((i, "ok", rng.lognormvariate(-5, 1.5), 10))
    outcome = tally.finish()
    assert outcome.latency is not None and outcome.latency.count == 100_000
    assert len(outcome.latency.counts) < 1000  # buckets, not samples
    assert isinstance(outcome.latency, Histogram)
    start = time.perf_counter()
    assert outcome.latency.percentile(99) is not None
    assert time.perf_counter() - start < 5  # (sanity, not speed: a sort of 1000 buckets)
