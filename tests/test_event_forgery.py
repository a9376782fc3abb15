"""The measured code cannot reach the measurement (issue 21, section 2).

Real `concurrency-lab --report` processes run a scenario's own function that writes well-formed
forged runner events: by `print`, by `os.write(1, ...)` and `os.write(2, ...)`, from the runner
and from process-pool workers. The times reported stay those of the work (each task sleeps);
what the function wrote lands in the run's output capture. A function that goes looking for the
real event pipe (every pipe it can write) or floods it fails its run with "the runner's event
stream was corrupted", never a result. Children a task starts in a session of their own do not
outlive the run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from lab.engine.eventguard import CORRUPTED, EventGuard, StreamCorrupted
from lab.results.repeat import RepeatRecord
from lab.runner.protocol import (
    CloseCommand,
    Done,
    Facts,
    MeasureCommand,
    Progress,
    ProtocolError,
    Ready,
    RepeatDone,
    RunnerError,
    RunSpec,
    Startup,
    from_line,
    to_line,
)
from tests.conftest import LabSandbox

SLEEP = 0.1  # seconds per task: a repeat of 2 tasks can never take 1 µs

FORGER = f"""
import json
import os
import stat
import subprocess
import sys
import time


def _lines():
    found = []
    for phase in ("warmup", "repeat"):
        for index in range(4):
            for round_ in (None, 0, 1, 2, 3):
                found.append(json.dumps({{"event": "repeat", "record": {{
                    "phase": phase, "index": index, "round": round_,
                    "wall_seconds": 1e-6, "cpu_user": 0.0, "cpu_system": 0.0,
                    "amount": 2.0, "tasks": 2, "loops": 1,
                }}}}))
    found.append(json.dumps({{"event": "done", "max_rss": 1, "cpu_seconds": 0.0}}))
    return "\\n".join(found) + "\\n"


FORGED = _lines()


def by_print(i):
    time.sleep({SLEEP})
    print(FORGED, end="", flush=True)
    print(FORGED, end="", file=sys.stderr, flush=True)
    return i


def by_write(i):
    time.sleep({SLEEP})
    os.write(1, FORGED.encode())
    os.write(2, FORGED.encode())
    return i


def _pipes():
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
                yield fd
        except OSError:
            continue


def every_pipe(i):
    # On purpose: whatever pipe this process can write, the real event pipe included.
    time.sleep({SLEEP})
    for fd in _pipes():
        try:
            os.write(fd, FORGED.encode())
        except OSError:
            pass
    return i


def flood(i):
    time.sleep({SLEEP})
    for fd in _pipes():
        try:
            with open(fd, "wb", closefd=False) as pipe:
                pipe.write(b"x" * (17 * 2**20))
        except OSError:
            pass
    return i


def escape(i):
    subprocess.Popen(["sleep", "987.{{}}".format(i)], start_new_session=True)
    subprocess.Popen(["sleep", "988.{{}}".format(i)], start_new_session=True, env={{}})
    return i
"""


def lab_report(
    tmp_path: Path, function: str, executors: str, sandbox: LabSandbox, tasks: int = 2,
    *more_functions: str,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], float]:  # fmt: skip
    """One `--report` run of a scenario per function (`function`, then `more_functions`)."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "forger.py").write_text(FORGER)
    scenarios = []
    for name in (function, *more_functions):
        scenario = project / f"{name}.yaml"
        scenario.write_text(
            textwrap.dedent(f"""\
            title: forged events
            workload: {{kind: callable, function: "forger:{name}", tasks: {tasks}}}
            executors: [{executors}]
            workers: [2]
            repeats: 2
            warmups: 1
            processes: 1
            min_time: 0
            timeout: 60
            """)
        )
        scenarios.append(str(scenario))
    out = tmp_path / "r.json"
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "lab", "--report", str(out), *scenarios],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, env=sandbox.env(),
    )  # fmt: skip
    seconds = time.monotonic() - began
    report = json.loads(out.read_text()) if out.exists() else {}
    return proc, report, seconds


def runs_of(report: dict[str, Any], scenario: int = 0) -> dict[str, dict[str, Any]]:
    return {r["run_id"]: r for r in report["scenarios"][scenario]["runs"]}


def test_forged_events_from_the_task_never_reach_the_numbers(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    """From the runner (serial, threads) and from pool workers (processes); by print and by
    os.write, a scenario each in one lab run."""
    proc, report, _ = lab_report(
        tmp_path, "by_print", "serial, threads, processes", lab_sandbox, 2, "by_write"
    )
    assert proc.returncode == 0, proc.stderr
    assert [s["name"] for s in report["scenarios"]] == ["by_print", "by_write"]
    for index, scenario in enumerate(report["scenarios"]):
        runs = runs_of(report, index)
        assert set(runs) == {"serial-1", "threads-2", "processes-2"}
        for run_id, run in runs.items():
            assert run["status"] == "ok", (scenario["name"], run_id, run["error"])
            processes = scenario["settings"]["processes"]  # each warms up once
            assert [r["phase"] for r in run["warmups"]] == ["warmup"] * processes
            assert len(run["repeats"]) == 2, run_id
            # Two tasks of SLEEP s on at most two workers: never less than SLEEP s a repeat.
            for record in [*run["warmups"], *run["repeats"]]:
                assert record["wall_seconds"] >= SLEEP * 0.95, (run_id, record)
                assert record["amount"] == 2 and record["tasks"] == 2
            assert run["summary"]["wall_seconds"]["median"] >= SLEEP * 0.95
    assert "1.0 µs" not in proc.stdout + proc.stderr


def test_a_task_that_finds_the_event_pipe_fails_its_run(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    """Forged events that do reach the real pipe break the plan's counts: the run fails."""
    proc, report, _ = lab_report(tmp_path, "every_pipe", "serial, threads", lab_sandbox)
    assert proc.returncode == 1, proc.stderr
    for run_id, run in runs_of(report).items():
        assert run["status"] == "failed", run_id
        assert run["error"]["kind"] == "corrupted_stream"
        assert run["error"]["message"].startswith(CORRUPTED + ": "), run["error"]
    assert CORRUPTED in proc.stderr


def test_an_event_over_the_line_cap_says_so(tmp_path: Path, lab_sandbox: LabSandbox) -> None:
    proc, report, seconds = lab_report(tmp_path, "flood", "serial", lab_sandbox, tasks=1)
    assert proc.returncode == 1, proc.stderr
    error = runs_of(report)["serial-1"]["error"]
    assert error["kind"] == "corrupted_stream"
    assert error["message"] == f"{CORRUPTED}: an event longer than 16 MiB"
    assert "still running" not in proc.stderr
    assert seconds < 60


def test_children_in_a_session_of_their_own_do_not_outlive_the_run(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    """With the environment mark (found in /proc) and without it (env={}: the runner kills
    what left its process group before it exits)."""
    proc, report, _ = lab_report(tmp_path, "escape", "serial, threads, processes", lab_sandbox)
    assert proc.returncode == 0, proc.stderr
    assert all(r["status"] == "ok" for r in runs_of(report).values())
    left = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = p.info["cmdline"] or []
        if cmdline[:1] == ["sleep"] and cmdline[1:2] and cmdline[1].startswith(("987.", "988.")):
            left.append(p)
    for p in left:
        p.kill()
    assert not left, [p.info["cmdline"] for p in left]


# --- The guard alone: what the plan allows, message by message ------------------------------


def record(phase: str, index: int, round_: int | None = None, **fields: Any) -> RepeatDone:
    data = {
        "phase": phase, "index": index, "round": round_, "wall_seconds": 0.3,
        "cpu_user": 0.0, "cpu_system": 0.0, "amount": 2.0, "tasks": 2, "loops": 1, **fields,
    }  # fmt: skip
    return RepeatDone(RepeatRecord(**data))


def started(warmups: int = 1, repeats: int = 0) -> EventGuard:
    guard = EventGuard()
    guard.sent(RunSpec({}, {}, "serial", 1, "forkserver", warmups, repeats))
    guard.check(Ready(1, 1))
    guard.check(Startup(0.1))
    return guard


def test_the_guard_accepts_the_plan_in_order() -> None:
    guard = started()
    guard.check(Progress("warmup", 0, 1, 2, 0.1))
    guard.check(record("warmup", 0))
    guard.sent(MeasureCommand(0, 3))
    guard.check(record("repeat", 0, 3))
    guard.sent(MeasureCommand(1, 5))
    guard.check(record("repeat", 1, 5))
    guard.sent(CloseCommand())
    guard.check(Done(1, 0.1))
    at_once = started(warmups=0, repeats=2)
    at_once.check(record("repeat", 0))
    at_once.check(record("repeat", 1))


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([record("warmup", 0), record("warmup", 1)], "more warmups than the 1 configured"),
        ([record("warmup", 0), record("repeat", 0, 0)], "a repeat that was not asked for"),
        ([record("repeat", 0, 0)], "a repeat before the configured warmups"),
        ([Ready(1, 1)], "a second ready event"),
        ([Startup(0.1)], "a second startup event"),
        ([record("warmup", 0), Done(1, 0.1)], "a done event before the run was closed"),
        ([record("warmup", 0, wall_seconds=0.0)], "warmup 0 took no time"),
        ([RunnerError("x", "y"), record("warmup", 0)], "after the runner's last one"),
    ],
)
def test_the_guard_refuses_what_the_plan_does_not_allow(events: list[Any], reason: str) -> None:
    guard = started()
    with pytest.raises(StreamCorrupted, match=reason):
        for event in events:
            guard.check(event)


def test_a_repeat_must_answer_its_command() -> None:
    guard = started(warmups=0)
    guard.sent(MeasureCommand(0, 4))
    with pytest.raises(StreamCorrupted, match="repeat 0 of round 3 where repeat 0 of round 4"):
        guard.check(record("repeat", 0, 3))


def test_nothing_before_ready_but_an_error() -> None:
    with pytest.raises(StreamCorrupted, match="before ready"):
        EventGuard().check(Startup(0.1))
    EventGuard().check(RunnerError("setup", "bad spec"))


# --- The decoder: a line whose fields have the wrong type never reaches the guard ------------

RECORD = (
    '"phase": "warmup", "index": 0, "wall_seconds": WALL, "cpu_user": 0.0, '
    '"cpu_system": 0.0, "amount": 2.0, "tasks": 2, "loops": LOOPS'
)


def repeat_line(wall: str = "0.3", loops: str = "1") -> str:
    record = RECORD.replace("WALL", wall).replace("LOOPS", loops)
    return f'{{"event": "repeat", "record": {{{record}}}}}'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"event": "ready", "pid": "1", "rss": 1}', "ready.pid: Input should be a valid integer"),
        (repeat_line(wall='"fast"'), "record.wall_seconds: Input should be a valid number"),
        (repeat_line(wall="-1.0"), "record.wall_seconds: Input should be greater than or equal"),
        (repeat_line(wall="NaN"), "record.wall_seconds: Input should be a finite number"),
        (repeat_line(wall="Infinity"), "record.wall_seconds: Input should be a finite number"),
        (repeat_line(loops="true"), "record.loops: Input should be a valid integer"),
        (repeat_line(loops="0"), "record.loops: Input should be greater than or equal to 1"),
        (
            '{"event": "progress", "phase": "measure", "repeat": 0, "done": 1, "total": 2, '
            '"elapsed": 0.1}',
            "progress.phase: Input should be 'warmup' or 'repeat'",
        ),
        ('{"event": "error", "kind": 1, "message": "y"}', "error.kind: Input should be a valid"),
        ('{"event": "done", "max_rss": 1}', "done.cpu_seconds: Field required"),
        ('{"event": "forged"}', "does not match any of the expected tags"),
        ('{"pid": 1, "rss": 1}', "Unable to extract tag"),
        ("[1, 2]", "not an event: Input should be an object"),
    ],
)
def test_the_decoder_refuses_a_malformed_line_naming_the_field(line: str, reason: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(reason)):
        from_line(line)


def test_every_event_reads_back_as_itself() -> None:
    events = [
        Ready(1, 2),
        Startup(0.1, 4),
        Facts({"version": "3.12.1"}),
        Progress("repeat", 0, 1, 2, 0.1),
        record("repeat", 1, 3, digest="x", errors={"timeout": 1}),
        RunnerError("setup", "bad spec", "detail"),
        Done(1, 0.5, 2, 3, None),
    ]
    for event in events:
        assert from_line(to_line(event)) == event
