"""`sweep:` over any numeric workload parameter: plans, validation, limits, per-value verdicts and
the break-even on the swept parameter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from lab.analysis.analyse import analyse_scenario
from lab.analysis.breakeven import breakeven
from lab.engine.plan import plan_scenario, sweep_confirmation
from lab.results.model import RunResult
from lab.scenario.loader import LoadedScenario, ScenarioError
from tests.synthetic import machine, run, scenario

NUMERIC_SWEEP = """
    title: primes by size
    workload: {kind: numeric, tasks: 8, size: 5000}
    executors: [serial, threads, processes]
    workers: [1, 2]
    sweep: {size: [1000, 5000, 20000]}
"""


def test_a_sweep_runs_the_whole_matrix_at_each_value(
    make_scenario: Callable[..., LoadedScenario],
) -> None:
    plan = plan_scenario(make_scenario(NUMERIC_SWEEP), usable=2)
    ids = [r.run_id for r in plan.runs]
    assert ids == [
        f"{e}@size={v}"
        for v in (1000, 5000, 20000)
        for e in ("serial-1", "threads-1", "threads-2", "processes-1", "processes-2")
    ]
    assert {r.overrides["size"] for r in plan.runs} == {1000, 5000, 20000}
    # The workload's own size is listed, so it is the base point the verdict is about, also
    # under --quick, which would scale the size down.
    assert plan.scenario.workload.model_dump()["size"] == 5000
    quick = plan_scenario(make_scenario(NUMERIC_SWEEP), quick=True, usable=2)
    assert quick.scenario.workload.model_dump() == {
        "kind": "numeric",
        "kernel": "primes",
        "tasks": 8,
        "size": 5000,
        "tasks_per_worker": 0,  # numeric's sizing for big pools (off under --quick)
    }


def test_the_base_point_is_the_first_value_when_the_own_one_is_not_swept(
    make_scenario: Callable[..., LoadedScenario],
) -> None:
    text = NUMERIC_SWEEP.replace("size: 5000}", "size: 3000}")
    plan = plan_scenario(make_scenario(text), usable=2)
    assert plan.scenario.workload.model_dump()["size"] == 1000


def test_several_parameters_sweep_every_combination(
    make_scenario: Callable[..., LoadedScenario],
) -> None:
    loaded = make_scenario(
        """
        title: two knobs
        workload: {kind: dispatch, tasks: 100, task_us: 0}
        executors: [serial]
        sweep: {task_us: [0, 12.5], tasks: [10, 20]}
        """
    )
    ids = [r.run_id for r in plan_scenario(loaded, usable=2).runs]
    assert ids == [
        "serial-1@task_us=0,tasks=10",
        "serial-1@task_us=0,tasks=20",
        "serial-1@task_us=12.5,tasks=10",
        "serial-1@task_us=12.5,tasks=20",
    ]


@pytest.mark.parametrize(
    ("workload", "sweep", "expected"),
    [
        ("{kind: numeric}", "{kernel: [1, 2]}", "'kernel' is not a parameter a sweep can vary"),
        ("{kind: numeric}", "{size: [0, 10]}", "sweep: size = 0: Input should be greater"),
        ("{kind: hashing}", "{file_size: [1, 2]}", "choose from chunk_size"),
        ("{kind: http}", "{latency_ms: [1, 2]}", "choose from requests, request_timeout"),
        ("{kind: numeric}", "{size: [10, 10]}", "needs one or more distinct values"),
        ("{kind: dispatch, task_sizes_us: [1]}", "{task_us: [1, 2]}", "not both"),
        ("{kind: callable, function: m:f, args: [1]}", "{tasks: [1, 2]}", "'tasks' is not"),
    ],
)
def test_bad_sweeps_are_refused(
    make_scenario: Callable[..., LoadedScenario], workload: str, sweep: str, expected: str
) -> None:
    with pytest.raises(ScenarioError, match=expected):
        make_scenario(f"title: t\nworkload: {workload}\nsweep: {sweep}\n")


def test_sweep_limits_ask_for_yes(make_scenario: Callable[..., LoadedScenario]) -> None:
    small = plan_scenario(make_scenario(NUMERIC_SWEEP), usable=2)
    assert sweep_confirmation([small]) is None
    many = NUMERIC_SWEEP.replace("[1000, 5000, 20000]", str(list(range(1000, 12000, 1000))))
    message = sweep_confirmation([plan_scenario(make_scenario(many, "many"), usable=2)])
    assert message is not None
    assert message.startswith("many: the sweep has 11 values, 55 runs, at least")
    assert message.endswith("run it again with --yes to go ahead")
    slow = textwrap.dedent(NUMERIC_SWEEP) + "repeats: 100\nmin_time: 2\n"
    message = sweep_confirmation([plan_scenario(make_scenario(slow), usable=2)])
    assert message is not None and "the sweep has 3 values, 15 runs, at least" in message


def test_headless_refuses_a_big_sweep_without_yes(tmp_path: Path) -> None:
    many = textwrap.dedent(NUMERIC_SWEEP).replace(
        "[1000, 5000, 20000]", str(list(range(1000, 12000, 1000)))
    )
    path = tmp_path / "many.yaml"
    path.write_text(many)
    proc = subprocess.run(
        [sys.executable, "-m", "lab", "--report", str(tmp_path / "out.md"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "the sweep has 11 values" in proc.stderr and "--yes" in proc.stderr
    assert "nothing ran" in proc.stderr and not (tmp_path / "out.md").exists()


def _size_sweep(sizes: list[int]) -> list[RunResult]:
    """Threads pay 40 µs per size unit on one core; processes 0.3 s to start, then use 2 cores."""
    runs = []
    for size in sizes:
        params = {"size": size}
        serial = 100 * size * 40e-6
        runs += [
            run("serial", 1, 100 / serial, tasks=100, params=params),
            run("threads", 2, 100 / (serial * 0.98), tasks=100, params=params, startup=0.001),
            run("processes", 2, 100 / (serial / 1.9), tasks=100, params=params, startup=0.3),
        ]
    return runs


def test_verdicts_and_speedups_stay_within_one_value() -> None:
    result = scenario("s", "numeric", _size_sweep([100, 1000, 10000]), size=1000)
    # The baseline and the fastest run are the base point's; every run's speedup is against
    # the serial run at its own value.
    assert result.baseline == "serial-1@{'size': 1000}"
    assert result.fastest is not None
    assert result.fastest.run_id == "processes-2@{'size': 1000}"
    assert all("1000}" in k for k in result.fastest.versus)
    for r in result.runs:
        if r.executor == "processes":
            assert r.summary.speedup == pytest.approx(1.9, rel=0.01)
    analysis = analyse_scenario(result, machine())
    assert analysis.verdict.winner == "processes"
    assert analysis.verdict.winner_run == "processes-2@{'size': 1000}"
    # The verdict's text is the sweep's: judged at each value, never at the base point alone.
    assert analysis.verdict.text == (
        "processes win at every value of size measured (size 100 to size 10,000): "
        "no crossing in the measured range"
    )
    assert analysis.sweep is not None
    assert [v.winner for v in analysis.sweep.values] == ["processes"] * 3


def test_the_breakeven_works_on_any_swept_parameter() -> None:
    result = scenario("s", "numeric", _size_sweep([100, 1000, 10000]), size=1000)
    be = breakeven(result)
    assert be is not None and be.param == "size"
    assert [p.value for p in be.points] == [100, 1000, 10000]
    assert be.steady.kind == "always"
    # Batch: 0.001 + 0.00392·s = 0.3 + 0.004·s/1.9  →  s ≈ 164.8
    assert be.batch.kind == "crossing"
    assert be.batch.value == pytest.approx(164.8, rel=0.01)
    assert "processes overtake threads from size ≈ 165 (measured size 100 to size 10,000)" in (
        be.batch.text
    )
    assert be.label(12000) == "size 12,000"


# A numeric size sweep through `--report -` printing its break-even and the swept value per run:
# tests/test_examples.py::test_the_size_sweep_example_prints_a_breakeven.


def test_compare_matches_sweep_runs_value_by_value() -> None:
    from lab.compare import compare_reports
    from tests.synthetic import report

    a = report(scenario("s", "numeric", _size_sweep([100, 1000, 10000]), size=1000))
    b = report(scenario("s", "numeric", _size_sweep([100, 1000]), size=1000))
    pair = compare_reports(a, b)
    assert sorted(m.key for m in pair.matched) == sorted(
        f"s {e}@{{'size': {v}}}"
        for v in (100, 1000)
        for e in ("serial-1", "threads-2", "processes-2")
    )
    assert all(m.a.params == m.b.params for m in pair.matched)
    assert {u.run for u in pair.unmatched} == {
        f"{e}@{{'size': 10000}}" for e in ("serial-1", "threads-2", "processes-2")
    }


def test_the_memory_check_sizes_each_sweep_point(
    make_scenario: Callable[..., LoadedScenario],
) -> None:
    from lab.engine.system.limits import estimate_run

    loaded = make_scenario(
        """
        title: buffers
        workload: {kind: hashing, files: 2, file_size: 1 KiB, chunk_size: 1 KiB}
        executors: [threads]
        workers: [4]
        sweep: {chunk_size: [1024, 268435456]}
        """
    )
    plan = plan_scenario(loaded, usable=2)
    small, big = (estimate_run(plan, r).bytes for r in plan.runs)
    assert big - small == 4 * (268435456 - 1024)
