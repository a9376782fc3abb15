"""Faults during runs, provoked for real, inside a session of runner processes.

For every fault: the run is failed or timed out with the reason in plain words, the other runs
still happen, the report keeps every completed result, and afterwards no process of the lab
is alive and its temp folder is empty (the `lab_sandbox` fixture checks both).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from pydantic import TypeAdapter

from lab.engine.events import Event, RepeatFinished, RunProgress
from lab.engine.plan import make_plan
from lab.engine.session import LabSession
from lab.results.model import Report, RunResult
from lab.runner.workloads import provisioner
from lab.runner.workloads.base import WorkloadSetupError
from lab.scenario.loader import parse_scenario
from lab.scenario.spec import WorkloadSpec
from tests.conftest import LabSandbox
from tests.eventpipe import run_runner
from tests.faults import fault_env, hanging

pytestmark = pytest.mark.slow

# serial, threads and processes, each a fraction of a second; run by run ids below. Two rounds
# in one runner process per run, one pass per repeat: faults are the subject, not figures.
DISPATCH = """\
title: faults
workload: {kind: dispatch, tasks: 40, task_us: 2000}
executors: [serial, threads, processes]
workers: [2]
repeats: 2
warmups: 0
timeout: 20
processes: 1
min_time: 0
"""


def only(text: str, *run_ids: str) -> str:
    """The scenario with just the executors of these run ids (fewer runner processes)."""
    executors = ", ".join(r.split("-")[0] for r in run_ids)
    return text.replace("executors: [serial, threads, processes]", f"executors: [{executors}]")


def plans(*texts: str) -> list[Any]:
    return make_plan(
        [parse_scenario(textwrap.dedent(t), f"s{i}.yaml", f"s{i}") for i, t in enumerate(texts)]
    )


Hook = Callable[[Event, LabSession], Any]


async def run(*texts: str, on_event: Hook | None = None) -> Report:
    session = LabSession(plans(*texts))
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            if on_event is not None:
                await asyncio.to_thread(on_event, event, session)
    return session.report


def runs(report: Report, scenario: int = 0) -> dict[str, RunResult]:
    return {r.run_id: r for r in report.scenarios[scenario].runs}


def assert_completed(run: RunResult, repeats: int = 2) -> None:
    assert run.status == "ok", run.error
    assert len(run.repeats) == repeats
    assert (run.summary.wall_seconds.median or 0) > 0


def descendants(pattern: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if pattern in " ".join(proc.cmdline()):
                found.append(proc)
    return found


# --- A task raises, a worker dies, the runner dies ----------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind", "message"),
    [
        ("threads-2:raise@3", "exception", "a task raised InjectedFault: injected fault: task 3"),
        ("processes-2:raise@3", "exception", "a task raised InjectedFault: injected fault: task 3"),
        ("processes-2:kill@3", "worker_died", "was killed by SIGKILL (signal 9)"),
        ("processes-2:exit@3", "worker_died", "exited with code 3 on its own"),
        ("serial-1:exit@3", "runner_crashed", "the runner process exited with code 3"),
        ("threads-2:kill@3", "runner_crashed", "the runner process was killed by SIGKILL"),
    ],
)
async def test_fault_fails_only_its_run(
    lab_sandbox: LabSandbox, monkeypatch: pytest.MonkeyPatch, fault: str, kind: str, message: str
) -> None:
    for name, value in fault_env(fault).items():
        monkeypatch.setenv(name, value)
    target = fault.split(":")[0]
    report = await run(only(DISPATCH, "serial-1" if target != "serial-1" else "threads-2", target))
    by_id = runs(report)
    broken = by_id.pop(target)
    assert broken.status == "failed"
    assert broken.error is not None and broken.error.kind == kind
    assert message in broken.error.message
    for other in by_id.values():
        assert_completed(other)
    assert not report.all_ok and not report.interrupted


async def test_worker_killed_from_outside(
    lab_sandbox: LabSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SIGKILL from another process to one worker of a running process pool.

    The worker is caught in a task that hangs (its mark names it), so the kill lands in the
    run however loaded the machine: the run cannot end before it, nor the worker vanish.
    """
    for name, value in fault_env("processes-2:hang@3").items():
        monkeypatch.setenv(name, value)
    victims: list[int] = []

    async def kill_the_hanging_worker() -> None:
        while not (marks := hanging(lab_sandbox.tmp)):
            await asyncio.sleep(0.01)
        victims.append(int(marks[0].name.removeprefix("hanging-")))
        os.kill(victims[0], signal.SIGKILL)

    killer = asyncio.create_task(kill_the_hanging_worker())
    try:
        report = await run(only(DISPATCH, "serial-1", "processes-2"))
    finally:
        killer.cancel()
    by_id = runs(report)
    assert victims
    broken = by_id.pop("processes-2")
    assert broken.status == "failed" and broken.error is not None
    assert broken.error.message == (
        f"a pool worker process (pid {victims[0]}) was killed by SIGKILL (signal 9)"
    )
    for other in by_id.values():
        assert_completed(other)


async def test_runner_killed_from_outside(lab_sandbox: LabSandbox) -> None:
    killed: list[int] = []

    def kill_runner(event: Event, session: LabSession) -> None:
        if not killed and isinstance(event, RunProgress) and event.run_id == "threads-2":
            # threads-2's runner is the first started: on a loaded machine processes-2's may
            # already be starting by the time this hook runs, and must be left alone.
            runners = descendants("lab.runner.main")
            if runners:
                runner = min(runners, key=lambda p: (p.create_time(), p.pid))
                killed.append(runner.pid)
                runner.kill()

    slow = only(DISPATCH, "threads-2", "processes-2").replace("task_us: 2000", "task_us: 20000")
    report = await run(slow, on_event=kill_runner)
    by_id = runs(report)
    broken = by_id.pop("threads-2")
    assert killed and broken.status == "failed" and broken.error is not None
    assert broken.error.message.startswith(
        "the runner process was killed by SIGKILL (signal 9): by another process, or by the "
        "kernel when memory ran out"
    )
    for other in by_id.values():
        assert_completed(other)


# --- Hangs and timeouts -------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["threads-2:hang@3", "processes-2:hang@3", "serial-1:hang@0"])
async def test_hung_task_times_out(
    lab_sandbox: LabSandbox, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    for name, value in fault_env(fault).items():
        monkeypatch.setenv(name, value)
    target = fault.split(":")[0]
    other = "serial-1" if target != "serial-1" else "threads-2"
    # 5 s, not less: the budget also pays the healthy run's start-up, which a loaded 2-core
    # machine stretched past 3 s (serial-1 timed out beside 4 other test sessions).
    report = await run(only(DISPATCH, other, target).replace("timeout: 20", "timeout: 5"))
    by_id = runs(report)
    hung = by_id.pop(target)
    assert hung.status == "timeout" and hung.error is not None
    assert hung.error.message.startswith(
        "the run did not finish within its 5 s timeout (stuck in repeat 1"
    )
    assert hung.error.message.endswith("; it was stopped")
    for other in by_id.values():
        assert_completed(other)


# --- The embedded server dies; a target refuses connections -------------------------------

HTTP = """\
title: http
workload: {kind: http, requests: 3000, latency_ms: 2, payload_size: 64}
executors: [threads, asyncio]
workers: [8]
repeats: 1
warmups: 0
timeout: 60
"""


async def test_embedded_server_dies_mid_run(lab_sandbox: LabSandbox) -> None:
    killed: list[int] = []

    def kill_server(event: Event, session: LabSession) -> None:
        if killed or not isinstance(event, RunProgress) or event.run_id != "threads-8":
            return
        if event.phase == "repeat" and event.done > 0:
            for server in descendants("lab.runner.server"):
                killed.append(server.pid)
                server.kill()

    report = await run(HTTP, on_event=kill_server)
    by_id = runs(report)
    assert killed
    broken = by_id["threads-8"]
    assert broken.status == "failed" and broken.error is not None
    assert broken.error.kind == "resource_died"
    assert broken.error.message == "the embedded HTTP server was killed by SIGKILL (signal 9)"
    # The server was restarted for the next run, which completed against it.
    after = by_id["asyncio-8"]
    assert_completed(after, repeats=1)
    assert after.summary.error_count == 0
    assert report.scenarios[0].error is None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_refused_target_fails_its_scenario_and_the_next_runs(
    lab_sandbox: LabSandbox,
) -> None:
    port = closed_port()
    refused = HTTP.replace(
        "{kind: http, requests: 3000, latency_ms: 2, payload_size: 64}",
        f"{{kind: http, requests: 20, urls: ['http://127.0.0.1:{port}/x']}}",
    )
    report = await run(refused, only(DISPATCH, "serial-1"))
    first = report.scenarios[0]
    assert first.error == (
        f"http://127.0.0.1:{port}/x refused the connection: nothing listens on "
        f"127.0.0.1:{port} (is the server running?)"
    )
    assert all(r.status == "failed" and r.error and r.error.kind == "setup" for r in first.runs)
    for other in runs(report, 1).values():
        assert_completed(other)


def test_runner_fails_a_run_where_no_request_got_an_answer(lab_sandbox: LabSandbox) -> None:
    """Past the pre-flight check (the target went away later): every request refused."""
    port = closed_port()
    spec = {
        "run_id": "threads-4",
        "workload": {"kind": "http", "requests": 20, "urls": [f"http://127.0.0.1:{port}/"]},
        "context": {"urls": [f"http://127.0.0.1:{port}/"]},
        "executor": "threads",
        "workers": 4,
        "start_method": "forkserver",
        "warmups": 0,
        "repeats": 1,
    }
    code, events, _ = run_runner(spec, lab_sandbox.env())
    assert code == 1
    error = events[-1]
    assert error["event"] == "error" and error["kind"] == "unreachable"
    assert error["message"] == (
        "none of the 20 requests got a response (20 refused): is the target up?"
    )


# --- The disk fills while the corpus is written -------------------------------------------

HASHING = """\
title: hashing
workload: {kind: hashing, files: 6, file_size: 256 KiB, chunk_size: 64 KiB}
executors: [serial]
repeats: 1
warmups: 0
"""


async def test_not_enough_free_space_for_the_corpus(
    lab_sandbox: LabSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.disk_usage

    def small_disk(path: Any) -> Any:
        usage = real(path)
        return usage._replace(free=50 * 1024 * 1024)  # 50 MiB: less than the 64 MiB margin

    monkeypatch.setattr("lab.runner.workloads.hashing.shutil.disk_usage", small_disk)
    report = await run(HASHING, only(DISPATCH, "serial-1"))
    first = report.scenarios[0]
    assert first.error is not None
    assert first.error.startswith("the hashing corpus needs 1.5 MiB in ")
    assert "but only 50.0 MiB is free (the lab keeps 64.0 MiB spare)" in first.error
    assert all(r.status == "failed" for r in first.runs)
    for other in runs(report, 1).values():
        assert_completed(other)


async def test_disk_full_while_writing_the_corpus(
    lab_sandbox: LabSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ENOSPC from the kernel: the fourth corpus file is /dev/full."""
    workdir = lab_sandbox.tmp / "concurrency-lab-full"
    (workdir / "corpus").mkdir(parents=True)
    (workdir / "corpus" / "file-000003.bin").symlink_to("/dev/full")
    real = tempfile.mkdtemp
    made = [str(workdir)]
    monkeypatch.setattr(
        "lab.engine.session.tempfile.mkdtemp", lambda **kw: made.pop() if made else real(**kw)
    )
    report = await run(HASHING, only(DISPATCH, "serial-1"))
    first = report.scenarios[0]
    assert first.error is not None
    assert first.error.startswith(
        f"the disk filled up while writing the hashing corpus in {workdir} "
        "(No space left on device after 768.0 KiB of 1.5 MiB)"
    )
    assert all(r.status == "failed" and r.error and r.error.kind == "setup" for r in first.runs)
    for other in runs(report, 1).values():
        assert_completed(other)
    assert not workdir.exists()


async def test_enospc_in_provision_removes_the_partial_corpus(tmp_path: Path) -> None:
    spec = TypeAdapter(WorkloadSpec).validate_python(
        {"kind": "hashing", "files": 4, "file_size": 4096}
    )
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "file-000002.bin").symlink_to("/dev/full")
    with pytest.raises(WorkloadSetupError, match="the disk filled up"):
        async with provisioner("hashing")(spec, tmp_path):
            pass
    assert list(tmp_path.iterdir()) == []
    assert os.path.exists("/dev/full")  # the symlink went, not what it pointed to


# --- Interrupts: cancelling the session, closing the stream, cancelling one run -----------

SLOW = DISPATCH.replace("task_us: 2000", "task_us: 30000")  # threads-2 takes about a second


async def test_cancelled_session_marks_what_did_not_run(
    lab_sandbox: LabSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while threads-2 hangs in its first repeat (round 0, after serial-1's)."""
    for name, value in fault_env("threads-2:hang@3").items():
        monkeypatch.setenv(name, value)
    session = LabSession(plans(DISPATCH, only(DISPATCH, "serial-1")), seed=5)
    measured: list[tuple[str, int | None]] = []

    async def consume() -> None:
        async with contextlib.aclosing(session.events()) as events:
            async for event in events:
                if isinstance(event, RepeatFinished) and event.record.phase == "repeat":
                    measured.append((event.run_id, event.record.round))

    task = asyncio.create_task(consume())
    deadline = asyncio.get_running_loop().time() + 30
    while not hanging(lab_sandbox.tmp):
        assert not task.done() and asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    report = session.report
    by_id = runs(report)
    assert report.interrupted
    # Rounds interleave the runs: none had all its rounds, every one keeps what it measured.
    assert [r.status for r in by_id.values()] == ["cancelled"] * 3
    assert by_id["threads-2"].error is not None
    assert by_id["threads-2"].error.message == "interrupted before this run finished"
    kept = [(rid, r.round) for rid, run in by_id.items() for r in run.repeats]
    assert sorted(kept) == sorted(measured) and ("serial-1", 0) in kept
    assert [r.status for r in runs(report, 1).values()] == ["not_run"]


async def test_closing_the_stream_stops_the_run_in_flight(lab_sandbox: LabSandbox) -> None:
    """What quitting the app does: stop reading and close the event stream."""
    session = LabSession(plans(SLOW, only(DISPATCH, "serial-1")))
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            if isinstance(event, RunProgress) and event.run_id == "processes-2":
                break  # its runner process is running, the others' are warm
    by_id = runs(session.report)
    assert session.report.interrupted
    assert [r.status for r in by_id.values()] == ["cancelled", "cancelled", "cancelled"]
    assert [r.status for r in runs(session.report, 1).values()] == ["not_run"]
    assert not descendants("lab.runner.main")


async def test_cancel_run_goes_on_with_the_next(
    lab_sandbox: LabSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """threads-2 hangs at its fourth task: only the cancel can end it (long before its
    timeout), and the cancel comes once it hangs, however loaded the machine."""
    for name, value in fault_env("threads-2:hang@3").items():
        monkeypatch.setenv(name, value)
    session = LabSession(plans(DISPATCH))

    async def cancel_the_hung_run() -> None:
        while not hanging(lab_sandbox.tmp):
            await asyncio.sleep(0.01)
        session.cancel_run()

    canceller = asyncio.create_task(cancel_the_hung_run())
    try:
        async with contextlib.aclosing(session.events()) as events:
            async for _ in events:
                pass
    finally:
        canceller.cancel()
    report = session.report
    by_id = runs(report)
    assert canceller.done() and not canceller.cancelled()
    assert by_id["threads-2"].status == "cancelled"
    assert by_id["threads-2"].error is not None
    assert by_id["threads-2"].error.message == "cancelled by the user"
    assert_completed(by_id["serial-1"])
    assert_completed(by_id["processes-2"])
    assert not report.interrupted
