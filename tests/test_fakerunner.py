"""The in-process runner (tests/fakerunner.py) is the real runner's code on the real protocol:
a session over it gives what a session over runner processes gives, and its kill is a SIGKILL's.
"""

from __future__ import annotations

import pytest

from lab.engine.events import RunProgress
from lab.engine.plan import make_plan
from lab.engine.session import LabSession
from lab.results.model import Report
from tests import faults
from tests.cheap import cheap_scenario
from tests.fakerunner import PID_MAX_LIMIT, FakeRunners

TWO_EXECUTORS = """\
title: Two executors
workload: {kind: dispatch, tasks: 6}
executors: [serial, threads, asyncio]
workers: [2]
"""


async def run(text: str, **settings: object) -> Report:
    session = LabSession(make_plan([cheap_scenario(text, **settings)]))
    async for _ in session.events():
        pass
    return session.report


async def test_a_session_over_fake_runners_measures_every_run(fake_runners: FakeRunners) -> None:
    report = await run(TWO_EXECUTORS, repeats=2, processes=2, warmups=1)
    runs = report.scenarios[0].runs
    assert [r.run_id for r in runs] == ["serial-1", "threads-2", "asyncio-2"]
    for result in runs:
        assert result.status == "ok", (result.run_id, result.error)
        assert len(result.repeats) == 2 and len(result.warmups) == 2  # a warmup per process
        assert {r.process for r in result.repeats} == {0, 1}
        assert all(r.tasks == 6 and r.loops == 1 and r.digest for r in result.repeats)
        assert result.startup_seconds is not None
    # A runner per run and per block of rounds, none a real process.
    assert len(fake_runners.spawned) == 6
    assert all(r.pid > PID_MAX_LIMIT and r.returncode == 0 for r in fake_runners.spawned)


async def test_a_failing_task_fails_its_run_with_the_runners_reason(
    fake_runners: FakeRunners, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in faults.fault_env("threads-2:raise@1").items():
        monkeypatch.setenv(name, value)  # the runner is this process: its hook reads them here
    report = await run(TWO_EXECUTORS)
    failed = report.scenarios[0].run("threads-2")
    assert failed is not None and failed.status == "failed" and failed.error is not None
    assert failed.error.kind == "exception"
    assert "injected fault: task 1 raised" in failed.error.message, failed.error
    assert "InjectedFault" in failed.error.detail
    others = [r for r in report.scenarios[0].runs if r is not failed]
    assert [r.status for r in others] == ["ok", "ok"]


async def test_a_killed_fake_runner_is_a_crashed_run(fake_runners: FakeRunners) -> None:
    """kill_group on a fake runner's pid: the session sees what a SIGKILL gives."""
    slow = "title: t\nworkload: {kind: dispatch, tasks: 200, task_us: 20000}\nexecutors: [serial]\n"
    session = LabSession(make_plan([cheap_scenario(slow, workers=[1])]))
    async for event in session.events():
        if isinstance(event, RunProgress) and event.phase == "repeat":
            fake_runners.kill_group(fake_runners.spawned[0].pid)
    (result,) = session.report.scenarios[0].runs
    assert result.status == "failed" and result.error is not None
    assert result.error.kind == "runner_crashed"
    assert "signal 9" in result.error.message or "SIGKILL" in result.error.message, result.error
