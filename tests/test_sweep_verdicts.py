"""Sweeps read as sweeps: a verdict per swept value, one line for the range, the scenario's own
models in the break-even, and a chart of speedup against the swept value (issue 23)."""

from __future__ import annotations

from typing import Any

from lab.analysis.analyse import analyse_scenario
from lab.analysis.breakeven import breakeven, compared_pair
from lab.analysis.summarise import finalise_scenario
from lab.analysis.sweep import spans_decades, sweep_series, sweep_verdict, wins
from lab.report.formats import render
from lab.results.model import Report, RunResult, ScenarioResult
from lab.results.repeat import RepeatRecord
from tests.synthetic import machine

ROUNDS = 8


def timed(executor: str, workers: int, seconds: float, size: int, base: int) -> RunResult:
    records = [
        RepeatRecord(
            phase="repeat",
            index=i,
            wall_seconds=seconds * (1 + 0.01 * ((i * 7) % 5 - 2) / 2),
            cpu_user=seconds,
            cpu_system=0.0,
            amount=32,
            tasks=32,
            digest=f"d{size}",
            round=i,
            background_cores=0.0,
        )
        for i in range(ROUNDS)
    ]
    params = {} if size == base else {"size": size}
    suffix = f"@size={size}" if params else ""
    return RunResult(
        run_id=f"{executor}-{workers}{suffix}",
        executor=executor,
        workers=workers,
        unit="tasks",
        tasks=32,
        status="ok",
        repeats=records,
        params=params,
    )


def swept(times: dict[str, dict[int, float]], base: int = 10000, **workload: Any) -> ScenarioResult:
    """times: run label ('processes-2') -> {size: seconds per pass}."""
    runs = []
    for label, by_size in times.items():
        executor, workers = label.rsplit("-", 1)
        for size, seconds in by_size.items():
            runs.append(timed(executor, int(workers), seconds, size, base))
    result = ScenarioResult(
        name="local_cluster",
        source="builtin:local_cluster",
        title="sweep",
        description="",
        workload={"kind": "numeric", "size": base, **workload},
        settings={"repeats": ROUNDS, "warmups": 0, "timeout": 60, "workers": [2]},
        runs=runs,
        rounds={"seed": 1, "processes": 1, "count": ROUNDS, "order": []},
    )
    finalise_scenario(result, 2)
    return result


# serial wins small tasks, processes the large ones: the crossing lies between 1,000 and 10,000.
CROSSING = {
    "serial-1": {1000: 0.010, 10000: 0.100, 100000: 1.00},
    "processes-2": {1000: 0.030, 10000: 0.070, 100000: 0.52},
    "dask-2": {1000: 0.200, 10000: 0.260, 100000: 0.70},
}


def test_each_swept_value_gets_its_own_tested_verdict() -> None:
    sweep = sweep_verdict(swept(CROSSING))
    assert sweep is not None
    assert [v.winner for v in sweep.values] == ["serial", "processes", "processes"]
    assert sweep.values[0].text.startswith(
        "size 1,000: serial wins (serial-1; 3.00x over processes-2, "
    )
    assert "significant against every other model's best run" in sweep.values[0].text
    assert sweep.values[2].text.startswith(
        "size 100,000: processes win (processes-2, 1.92x over serial; "
    )


def test_one_line_names_the_crossing_and_what_wins_below_it() -> None:
    sweep = sweep_verdict(swept(CROSSING))
    assert sweep is not None and sweep.crossing is not None
    # log-interpolated between 1,000 (3x slower) and 10,000 (1.43x faster): about 4,800
    assert 1000 < sweep.crossing < 10000
    assert sweep.text.startswith("processes win from size ≈ ")
    assert sweep.text.endswith("; below it serial (judged at each of 3 values of size)")


def test_the_verdict_of_a_sweep_is_the_sweep_line_not_one_value() -> None:
    result = swept(CROSSING)
    analysis = analyse_scenario(result, machine())
    assert analysis.verdict.text.startswith("processes win from size ≈")
    assert "at size=" not in analysis.verdict.text
    markdown = render(Report(machine=machine(), scenarios=[result]), "md")
    assert "**At each swept value:**" in markdown
    assert "- size 1,000: serial wins" in markdown
    html = render(Report(machine=machine(), scenarios=[result]), "html")
    assert "At each swept value" in html
    assert "Speedup against size" in html  # the sweep's chart, not speedup against workers
    assert "crossing: size ≈" in html


def test_ties_and_no_crossing_are_said_as_such() -> None:
    same = {
        "serial-1": {1000: 0.010, 10000: 0.100},
        "processes-2": {1000: 0.010, 10000: 0.100},
    }
    sweep = sweep_verdict(swept(same))
    assert sweep is not None
    assert [v.winner for v in sweep.values] == [None, None]
    assert sweep.values[0].text.startswith("size 1,000: tie between ")
    assert sweep.text == "no model wins at any value of size measured: ties throughout, no crossing"
    always = {"serial-1": {1000: 0.02, 10000: 0.2}, "processes-2": {1000: 0.011, 10000: 0.105}}
    sweep = sweep_verdict(swept(always))
    assert sweep is not None
    assert sweep.text == (
        "processes win at every value of size measured (size 1,000 to size 10,000): "
        "no crossing in the measured range"
    )


def test_plurals_follow_the_model() -> None:
    assert wins("processes") == "processes win"
    assert wins("threads") == "threads win"
    assert wins("serial") == "serial wins"
    assert wins("dask") == "dask wins"


def test_the_break_even_compares_the_scenario_s_own_models() -> None:
    no_dask = {k: v for k, v in CROSSING.items() if k != "dask-2"}
    result = swept(no_dask)
    assert compared_pair(result) == ("serial", "processes")
    be = breakeven(result)
    assert be is not None and (be.light, be.heavy) == ("serial", "processes")
    assert "threads" not in be.text
    with_dask = swept(CROSSING)
    assert compared_pair(with_dask) == ("processes", "dask")
    two = {k: {s: t for s, t in v.items() if s != 100000} for k, v in no_dask.items()}
    be = breakeven(swept(two))
    assert be is not None
    assert be.warnings == [
        "fewer than three values of size with both serial and processes: a rough break-even"
    ]


def test_the_chart_series_take_each_model_at_its_best_worker_count() -> None:
    times = {
        "serial-1": {1000: 0.01, 100000: 1.0},
        "processes-1": {1000: 0.012, 100000: 1.0},
        "processes-2": {1000: 0.02, 100000: 0.52},
    }
    result = swept(times, base=1000)
    series, several = sweep_series(result, "size")
    assert several
    assert [(s.executor, s.workers) for s in series] == [("processes", 2)]
    assert [x for x, _ in series[0].points] == [1000.0, 100000.0]
    assert spans_decades([1000.0, 100000.0]) and not spans_decades([25.0, 100.0, 200.0])
