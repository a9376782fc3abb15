"""A sweep judged per value: who wins at each value of the swept parameter, with significance,
and one line for the whole range ("processes win from size ≈ 3,200; below it serial").

Each value's runs did the same work, so each value gets its own tested decision (the best run
of every model there against the others, paired by round, Holm-adjusted: lab.analysis.winner).
The summary line names the model that wins at the largest value and from where it wins every
value measured; the crossing is interpolated between the two values around it, on a log scale
where they are a decade or more apart.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from lab.analysis.breakeven import (
    batch_wall,
    swept_param,
    swept_value,
    value_label,
    value_near,
    verb_for,
)
from lab.analysis.winner import decide_among, dropped_rounds
from lab.core.units import format_ratio
from lab.results.model import RunResult, ScenarioResult
from lab.scenario.models import is_baseline


def wins(executor: str) -> str:
    return f"{executor} {verb_for(executor, 'win')}"


@dataclass
class ValueVerdict:
    """One value of the swept parameter: its tested winner, or a tie."""

    value: float
    label: str  # "size 10,000", "100 µs"
    winner: str | None  # the executor, None for a tie
    winner_run: str | None
    fastest_run: str | None  # lowest median, significant or not
    over_serial: float | None  # the winner's speedup over serial at this value
    tied: list[str] = field(default_factory=list)  # runs not significantly slower
    text: str = ""


@dataclass
class SweepVerdict:
    param: str
    values: list[ValueVerdict]
    crossing: float | None  # where the model winning the largest value starts to win
    winner: str | None  # that model, when it wins the largest value
    text: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _best_time(runs: list[RunResult], executor: str) -> float | None:
    times = [m for r in runs if r.executor == executor and (m := batch_wall(r))]
    return min(times, default=None)


def _short(run_id: str) -> str:
    """'processes-2@size=1000' -> 'processes-2': the value is in the line's label already."""
    return run_id.split("@", 1)[0]


def _judge(
    param: str, value: float, runs: list[RunResult], dropped: frozenset[int]
) -> ValueVerdict:
    label = value_label(param, value)
    decision = decide_among(runs, dropped)
    if decision is None:
        return ValueVerdict(value, label, None, None, None, None, text=f"{label}: no run succeeded")
    by_id = {r.run_id: r for r in runs}
    fastest = by_id[decision.run_id]
    if not decision.versus:
        text = f"{label}: only {fastest.run_id} ran"
        return ValueVerdict(value, label, None, None, fastest.run_id, None, text=text)
    if decision.significant_against_all:
        closest_id, closest = min(decision.versus.items(), key=lambda kv: kv[1].ratio or math.inf)
        speedup = fastest.summary.speedup
        over = (
            f", {format_ratio(speedup)} over serial"
            if not is_baseline(fastest.executor) and speedup
            else ""
        )
        text = (
            f"{label}: {wins(fastest.executor)} ({_short(fastest.run_id)}{over}; "
            f"{format_ratio(closest.ratio)} over {_short(closest_id)}, significant against every other "
            "model's best run)"
        )
        return ValueVerdict(
            value, label, fastest.executor, fastest.run_id, fastest.run_id,
            speedup, text=text,
        )  # fmt: skip
    tied = [run_id for run_id, c in decision.versus.items() if not c.significant]
    figures = ", ".join(
        f"{_short(run_id)} {format_ratio(decision.versus[run_id].ratio)} slower, n.s."
        for run_id in tied
    )
    others = ", ".join(_short(run_id) for run_id in tied)
    text = f"{label}: tie between {_short(fastest.run_id)} and {others} ({figures})"
    return ValueVerdict(value, label, None, None, fastest.run_id, None, tied, text)


def _crossing(
    below: float, above: float, slower_below: float, faster_above: float, log_x: bool
) -> float:
    """Where the time ratio (winner over the model it overtakes) passes 1, between two values:
    log of the ratio interpolated linearly in the value (or its log, a decade or more apart)."""
    x0, x1 = (math.log(below), math.log(above)) if log_x else (below, above)
    y0, y1 = math.log(slower_below), math.log(faster_above)
    x = (x0 + x1) / 2 if y0 == y1 else x0 + y0 * (x1 - x0) / (y0 - y1)
    return math.exp(x) if log_x else x


def sweep_verdict(result: ScenarioResult) -> SweepVerdict | None:
    """None unless the scenario's runs sweep one numeric workload parameter."""
    param = swept_param(result)
    if param is None:
        return None
    by_value: dict[float, list[RunResult]] = {}
    for run in result.runs:
        value = swept_value(run, result, param)
        if value is not None:
            by_value.setdefault(value, []).append(run)
    if len(by_value) < 2:
        return None
    dropped = dropped_rounds(result)
    values = [_judge(param, v, by_value[v], dropped) for v in sorted(by_value)]
    what = "task size" if param == "task_us" else f"value of {param}"
    whats = "task sizes" if param == "task_us" else f"values of {param}"
    top = values[-1].winner
    if top is None:
        decided = [v for v in values if v.winner]
        if not decided:
            text = f"no model wins at any {what} measured: ties throughout, no crossing"
        else:
            named = "; ".join(f"{wins(v.winner or '')} at {v.label}" for v in decided)
            text = (
                f"no crossing in the measured range: no model wins at the largest {what} "
                f"({values[-1].label}); {named}"
            )
        return SweepVerdict(param, values, None, None, text)
    first_of_run = len(values) - 1
    while first_of_run > 0 and values[first_of_run - 1].winner == top:
        first_of_run -= 1
    if first_of_run == 0:
        text = (
            f"{wins(top)} at every {what} measured ({values[0].label} to {values[-1].label}): "
            "no crossing in the measured range"
        )
        return SweepVerdict(param, values, None, top, text)
    before, start = values[first_of_run - 1], values[first_of_run]
    below = [v for v in values[:first_of_run] if v.winner]
    below_models = list(dict.fromkeys(v.winner for v in below if v.winner))
    crossing = None
    other = before.winner or (below_models[-1] if below_models else None)
    runs_before, runs_start = by_value[before.value], by_value[start.value]
    if other is not None:
        times = (
            _best_time(runs_before, top),
            _best_time(runs_before, other),
            _best_time(runs_start, top),
            _best_time(runs_start, other),
        )
        if all(t is not None for t in times):
            top_before, other_before, top_start, other_start = (float(t or 0) for t in times)
            log_x = before.value > 0 and start.value / before.value >= 10
            if top_before > other_before and top_start < other_start:
                crossing = _crossing(
                    before.value, start.value, top_before / other_before,
                    top_start / other_start, log_x,
                )  # fmt: skip
    where = value_near(param, crossing) if crossing is not None else start.label
    if not below_models:
        rest = "below it no model wins significantly"
    elif len(below_models) == 1:
        ties = len(below) < first_of_run
        rest = f"below it {below_models[0]}" + (" (with ties)" if ties else "")
    else:
        rest = "below it " + ", ".join(f"{v.winner} at {v.label}" for v in below)
    text = f"{wins(top)} from {where}; {rest} (judged at each of {len(values)} {whats})"
    return SweepVerdict(param, values, crossing, top, text)


@dataclass
class SweepSeries:
    """One model on a sweep's chart: its speedup over serial at each swept value, at the one
    worker count that did best over the sweep (a chart line per model, not per run)."""

    executor: str
    workers: int
    points: list[tuple[float, float]]  # (swept value, speedup over serial at that value)


def sweep_series(result: ScenarioResult, param: str) -> tuple[list[SweepSeries], bool]:
    """Each model's series, and whether some model ran at several worker counts (the chart
    then says it shows each at its best)."""
    by_model: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for run in result.runs:
        value, speedup = swept_value(run, result, param), run.summary.speedup
        if is_baseline(run.executor) or value is None or run.status != "ok" or not speedup:
            continue
        by_model.setdefault(run.executor, {}).setdefault(run.workers, []).append((value, speedup))
    series = []
    several = False
    for executor, by_workers in by_model.items():
        several = several or len(by_workers) > 1

        def typical(
            workers: int, by_workers: dict[int, list[tuple[float, float]]] = by_workers
        ) -> float:
            speedups = sorted(s for _, s in by_workers[workers])
            return speedups[len(speedups) // 2]

        best = max(by_workers, key=typical)
        series.append(SweepSeries(executor, best, sorted(by_workers[best])))
    return series, several


def spans_decades(values: list[float]) -> bool:
    """Whether a log axis reads better: positive values a decade or more apart."""
    return bool(values) and min(values) > 0 and max(values) / min(values) >= 10
