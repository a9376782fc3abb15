"""Headless mode end to end: exit codes after faults, Ctrl+C, SIGTERM, and report paths.

The lab runs as a real `python -m lab --report` process in its own process group, so a test
can send SIGINT to the group exactly as a terminal does on Ctrl+C.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import LabProcess as Lab
from tests.conftest import LabSandbox, scenario_file
from tests.faults import fault_env, hanging

pytestmark = pytest.mark.slow

# Two rounds in one runner process per run, one pass per repeat: faults are the subject.
SCENARIO = """\
title: three runs
workload: {kind: dispatch, tasks: 20, task_us: 2000}
executors: [serial, threads, processes]
workers: [2]
repeats: 2
warmups: 0
timeout: 60
processes: 1
min_time: 0
"""


def statuses(report: dict[str, object]) -> dict[str, str]:
    runs = report["scenarios"][0]["runs"]  # type: ignore[index]
    return {r["run_id"]: r["status"] for r in runs}


def test_a_failed_run_exits_1_and_keeps_every_result(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    lab = Lab(
        lab_sandbox, "--report", str(out), scenario_file(tmp_path, SCENARIO), cwd=tmp_path,
        **fault_env("processes-2:kill@5"),
    )  # fmt: skip
    assert lab.finish() == 1, lab.stderr
    report = json.loads(out.read_text())
    assert statuses(report) == {"serial-1": "ok", "threads-2": "ok", "processes-2": "failed"}
    runs = report["scenarios"][0]["runs"]
    assert all(len(r["repeats"]) == 2 for r in runs[:2])
    assert runs[2]["error"]["kind"] == "worker_died"
    assert "was killed by SIGKILL (signal 9)" in runs[2]["error"]["message"]
    # Columns sized to the scenario's longest run id (sweep ids run long).
    assert "   serial-1    ok  " in lab.stderr
    assert re.search(r"\n   processes-2 failed    a pool worker process \(pid", lab.stderr)
    assert "Traceback" not in lab.stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.alone  # times its reaction to a signal
def test_interrupt_stops_within_two_seconds_with_a_partial_report(
    lab_sandbox: LabSandbox, tmp_path: Path, signum: int, code: int
) -> None:
    out = tmp_path / "report.json"
    # Seed 5 orders round 1 serial-1, threads-2, processes-2; threads-2 hangs, so once every
    # runner is warm and serial-1 has had its repeat, threads-2 is certainly in flight.
    lab = Lab(
        lab_sandbox, "--report", str(out), "--seed", "5", scenario_file(tmp_path, SCENARIO), cwd=tmp_path,
        **fault_env("threads-2:hang@0"),
    )  # fmt: skip
    lab.wait_for_runner()
    deadline = time.monotonic() + 60
    # processes-2 is the last to warm up: its pool is up once the forkserver has two workers.
    while len(lab.children("forkserver")) < 3:
        assert time.monotonic() < deadline and lab.proc.poll() is None, lab.stderr
        time.sleep(0.05)
    # Then serial-1 measures and threads-2 hangs: wait for the hang itself, however loaded the
    # machine (a fixed 3 s sleep was not always enough for serial-1's repeat).
    while not hanging(lab_sandbox.tmp):
        assert time.monotonic() < deadline and lab.proc.poll() is None, lab.stderr
        time.sleep(0.05)
    sent = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(lab.proc.pid, signum)  # what a terminal does on Ctrl+C
    else:
        os.kill(lab.proc.pid, signum)
    assert lab.proc.wait(10) == code
    assert time.monotonic() - sent < 2.0
    assert lab.finish() == code
    report = json.loads(out.read_text())
    assert report["interrupted"] is True
    assert report["scenarios"][0]["rounds"]["seed"] == 5
    # Interleaved rounds: no run had all its rounds, so every one is cancelled, and the report
    # keeps what each measured (serial-1's first round; threads-2 hung in its first).
    assert statuses(report) == {
        "serial-1": "cancelled",
        "threads-2": "cancelled",
        "processes-2": "cancelled",
    }
    serial, threads, processes = report["scenarios"][0]["runs"]
    assert [r["round"] for r in serial["repeats"]] == [0]
    assert threads["repeats"] == [] and processes["repeats"] == []
    assert threads["error"]["message"] == "interrupted before this run finished"
    assert lab.stderr.endswith(
        "interrupted: the report keeps the 0 runs that finished and the 1 repeats measured by "
        "the 3 runs marked cancelled; 0 marked not_run\n"
    )
    assert "Traceback" not in lab.stderr


# A pipe's smallest capacity: one page. The report is many times that, so its writer blocks.
SMALL_PIPE = 4096


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_the_report_is_written_keeps_it_whole(
    lab_sandbox: LabSandbox, tmp_path: Path, signum: int, code: int
) -> None:
    """Every run has finished and the report is on its way to stdout, whose reader is slow:
    the signal is noted, the report is written whole, then the lab exits with its status.
    (Python's own actions would cut the report short: a KeyboardInterrupt inside the write,
    or death by SIGTERM.)"""
    lab = Lab(
        lab_sandbox, "--report", "-", "--format", "json", scenario_file(tmp_path, SCENARIO),
        cwd=tmp_path,
    )  # fmt: skip
    assert lab.proc.stdout is not None
    fcntl.fcntl(lab.proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, SMALL_PIPE)
    lab.wait_for("   processes-2 ok")  # the runs' lines: the session is over
    deadline = time.monotonic() + 60
    while queued(lab.proc.stdout.fileno()) < SMALL_PIPE:  # the report fills the pipe: blocked
        assert time.monotonic() < deadline and lab.proc.poll() is None, lab.stderr
        time.sleep(0.02)
    os.killpg(lab.proc.pid, signum)
    time.sleep(0.3)
    assert lab.proc.poll() is None, lab.stderr  # still writing, not killed
    assert lab.finish() == code, lab.stderr
    report = json.loads(lab.stdout)
    assert report["interrupted"] is False
    assert set(statuses(report).values()) == {"ok"}
    assert lab.stderr.endswith("stopped: every run had finished, and the report is whole\n")
    assert "Traceback" not in lab.stderr


# The session's last event is handled, then SIGINT arrives, before the lab writes its report:
# the moment when, handed over through the event loop's self-pipe, it was dropped unread.
SIGNAL_AS_THE_SESSION_ENDS = """\
import os, signal, sys
from lab import headless
from lab.engine.events import SessionFinished
from lab.engine.plan import make_plan
from lab.scenario.loader import resolve

handle = headless.Progress.handle

def handle_then_signal(self, event):
    handle(self, event)
    if isinstance(event, SessionFinished):
        os.kill(os.getpid(), signal.SIGINT)

headless.Progress.handle = handle_then_signal
sys.exit(headless.run_headless(make_plan(resolve([sys.argv[1]])), "-", "json", ["lab"]))
"""


def test_a_signal_as_the_session_ends_is_never_lost(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    """A Ctrl+C in the session's last instant: every run finished, so the report is whole, and
    the lab says it was stopped and exits 130 (it exited 0, the signal lost)."""
    path = scenario_file(tmp_path, SCENARIO.replace("serial, threads, processes", "serial"))
    done = subprocess.run(
        [sys.executable, "-c", SIGNAL_AS_THE_SESSION_ENDS, str(path)],
        capture_output=True, text=True, env=lab_sandbox.env(), cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 130, done.stderr
    report = json.loads(done.stdout)
    assert report["interrupted"] is False
    assert statuses(report) == {"serial-1": "ok"}
    assert done.stderr.endswith("stopped: every run had finished, and the report is whole\n")


def queued(fd: int) -> int:
    """Bytes waiting in the pipe whose read end is fd."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


@pytest.mark.alone  # times its reaction to a signal
def test_ctrl_c_while_the_corpus_is_written(lab_sandbox: LabSandbox, tmp_path: Path) -> None:
    big = """\
title: big corpus
workload: {kind: hashing, files: 400, file_size: 1 MiB}
executors: [serial]
"""
    lab = Lab(
        lab_sandbox, "--report", "-", "--format", "md", scenario_file(tmp_path, big), cwd=tmp_path
    )
    deadline = time.monotonic() + 60
    while not list(lab_sandbox.tmp.glob("concurrency-lab-*/corpus/file-*")):
        assert time.monotonic() < deadline and lab.proc.poll() is None, lab.stderr
        time.sleep(0.02)
    sent = time.monotonic()
    os.killpg(lab.proc.pid, signal.SIGINT)
    assert lab.proc.wait(10) == 130
    assert time.monotonic() - sent < 2.0
    assert lab.finish() == 130
    assert "**Interrupted:** runs marked `not_run` did not run." in lab.stdout
    assert re.search(r"\| not_run +\|", lab.stdout)
    # The fixture checks that the partial corpus is gone and no process is left.


def test_bad_report_path_exits_2_before_running(lab_sandbox: LabSandbox, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.json"
    lab = Lab(lab_sandbox, "--report", str(target), scenario_file(tmp_path, SCENARIO), cwd=tmp_path)
    assert lab.finish() == 2
    assert lab.stderr == (
        f"cannot write the report to {target}: folder {target.parent} does not exist\n"
        "\nnothing ran\n"
    )
    assert lab.stdout == ""


def test_report_folder_vanishing_mid_run_falls_back_to_stdout(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    out = folder / "r.json"
    lab = Lab(lab_sandbox, "--report", str(out), scenario_file(tmp_path, SCENARIO), cwd=tmp_path)
    lab.wait_for_runner()
    shutil.rmtree(folder)
    assert lab.finish() == 1
    assert f"cannot write the report to {out}: No such file or directory; writing it to stdout" in (
        lab.stderr
    )
    assert statuses(json.loads(lab.stdout)) == {
        "serial-1": "ok",
        "threads-2": "ok",
        "processes-2": "ok",
    }
