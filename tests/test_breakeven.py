"""The dispatch task-size sweep: planning, per-size baselines and the break-even."""

from __future__ import annotations

import pytest

from lab.analysis.breakeven import breakeven, find_crossing
from tests.synthetic import TASKS, run, scenario, sweep_runs


def test_find_crossing_cases() -> None:
    assert find_crossing([0, 10], [-1.0, -2.0]) == ("always", 0)
    kind, at = find_crossing([0, 100, 200], [2.0, 1.0, -1.0])
    assert kind == "crossing" and at == pytest.approx(150.0)
    kind, at = find_crossing([0, 100, 200], [3.0, 2.0, 1.0])
    assert kind == "extrapolated" and at == pytest.approx(300.0)
    assert find_crossing([0, 100], [1.0, 2.0]) == ("never", None)


def test_breakeven_interpolates_the_known_crossing() -> None:
    # Batch: 1 ms + 2000·(10 + s) µs = 200 ms + 1000·(1.5 + s) µs  →  s = 180.5 µs
    result = scenario("d", "dispatch", sweep_runs([0, 50, 100, 200, 400]), task_us=0.0)
    be = breakeven(result)
    assert be is not None and be.tasks == TASKS
    assert [p.value for p in be.points] == [0, 50, 100, 200, 400]
    assert be.steady.kind == "always"  # a running process pool is cheaper per task here
    assert be.batch.kind == "crossing"
    assert be.batch.value == pytest.approx(180.5, rel=1e-6)
    assert "from about 180 µs" in be.batch.text


def test_breakeven_extrapolates_past_the_sweep_and_says_so() -> None:
    result = scenario("d", "dispatch", sweep_runs([0, 25, 100]), task_us=0.0)
    be = breakeven(result)
    assert be is not None
    assert be.batch.kind == "extrapolated" and "extrapolating" in be.batch.text
    assert be.batch.value == pytest.approx(180.5, rel=0.03)


def test_no_breakeven_without_a_sweep() -> None:
    assert breakeven(scenario("d", "dispatch", sweep_runs([0]), task_us=0.0)) is None
    assert breakeven(scenario("n", "numeric", [run("serial", 1, 100)])) is None
