"""The dispatch task-size sweep: planned runs carry workload overrides, and each sweep point
gets its own serial baseline."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lab.engine.plan import plan_scenario
from lab.scenario.loader import LoadedScenario, load_builtins
from tests.synthetic import scenario, sweep_runs


def test_sweep_runs_get_their_own_serial_baseline() -> None:
    result = scenario("d", "dispatch", sweep_runs([0, 100]), task_us=0.0)
    assert result.baseline == "serial-1"
    swept = [r for r in result.runs if r.params]
    assert {r.run_id for r in swept} >= {"threads-2@{'task_us': 100}"}
    threads = next(r for r in swept if r.executor == "threads")
    assert threads.summary.speedup == pytest.approx(100.3 / 110, rel=0.01)


def test_plan_expands_the_task_size_sweep(make_scenario: Callable[..., LoadedScenario]) -> None:
    loaded = make_scenario(
        """
        title: sweep
        workload: {kind: dispatch, tasks: 100, task_us: 0, task_sizes_us: [0, 50, 10]}
        executors: [serial, asyncio, threads, processes]
        workers: [1, 2, 4]
        """
    )
    plan = plan_scenario(loaded, usable=2)
    main = [r.run_id for r in plan.runs if not r.params]
    assert main[0] == "serial-1" and "asyncio-4" in main and "processes-4" in main
    swept = [(r.run_id, r.overrides) for r in plan.runs if r.params]
    assert swept == [
        ("serial-1@task_us=10", {"task_us": 10.0}),
        ("threads-2@task_us=10", {"task_us": 10.0}),
        ("processes-2@task_us=10", {"task_us": 10.0}),
        ("serial-1@task_us=50", {"task_us": 50.0}),
        ("threads-2@task_us=50", {"task_us": 50.0}),
        ("processes-2@task_us=50", {"task_us": 50.0}),
    ]
    one = plan_scenario(loaded, usable=1)
    assert {r.workers for r in one.runs if r.params and r.executor != "serial"} == {1}


def test_builtin_dispatch_sweeps_task_size() -> None:
    builtin = next(s for s in load_builtins() if s.name == "dispatch_overhead")
    plan = plan_scenario(builtin, usable=2)
    sizes = {r.overrides.get("task_us") for r in plan.runs if r.params}
    assert len(sizes) >= 2
    assert {r.executor for r in plan.runs if r.params} == {"serial", "threads", "processes"}
