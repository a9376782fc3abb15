"""Honest winners: speedups on per-round pairs, and a winner only where the tests say so.

A run measured in rounds (RepeatRecord.round) is compared with another run on the rounds both
measured: per-round ratios, a signed-rank test on their logs (lab.core.paired). Reports made
before rounds fall back to the unpaired Mann-Whitney test (lab.core.stats). Comparisons shown
together (every row of a matrix against serial; the winner against every other model) are one
family: their p-values are Holm-Bonferroni adjusted before anything is called significant.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace

from lab.core import paired, stats
from lab.results.model import RunResult, ScenarioResult
from lab.results.notices import Notice, notice
from lab.results.summary import Fastest

DRIFT_LIMIT = 0.10  # above this the report warns that the machine drifted during the session
CORRECTION = "Holm-Bonferroni"


def round_times(run: RunResult, dropped: Collection[int] = ()) -> dict[int, float]:
    """The run's time in each round it measured, less the `dropped` rounds (disturbed ones,
    left out of every run alike: lab.analysis.controls)."""
    return {
        r.round: r.wall_seconds
        for r in run.repeats
        if r.round is not None and r.round not in dropped
    }


def dropped_rounds(result: ScenarioResult) -> frozenset[int]:
    return frozenset((result.rounds or {}).get("dropped") or ())


def is_paired(a: RunResult, b: RunResult) -> bool:
    return bool(round_times(a).keys() & round_times(b).keys())


def compare_runs(a: RunResult, b: RunResult, dropped: Collection[int] = ()) -> stats.Comparison:
    """a's time over b's: paired on common rounds when both have them, else unpaired."""
    a_rounds, b_rounds = round_times(a, dropped), round_times(b, dropped)
    if a_rounds.keys() & b_rounds.keys():
        return paired.compare_paired(a_rounds, b_rounds)
    return stats.compare_samples(
        [r.wall_seconds for r in a.repeats], [r.wall_seconds for r in b.repeats]
    )


def test_name(runs: list[RunResult]) -> str:
    rounds = all(round_times(r) for r in runs)
    return paired.PAIRED_TEST_NAME if rounds else f"{stats.TEST_NAME}, Holm-adjusted"


def has_failures(run: RunResult) -> bool:
    """A run with failed answers or requests never wins, however fast it failed."""
    return any(r.errors for r in run.repeats)


def decide(result: ScenarioResult) -> Fastest | None:
    """The fastest model's best run against the best run of every other model.

    `significant_against_all` (the winner) only when every one of those comparisons is
    significant after Holm-Bonferroni; otherwise the report says "tie".
    """
    if any(rep.open_loop is not None for run in result.runs for rep in run.repeats):
        # An open loop is no race: every run lasts its schedule. lab.analysis.openloop judges
        # it by the rate each run held and the latency its callers saw.
        return None
    # Sweep runs (params) did other work: they never compete with the scenario's own runs.
    return decide_among([r for r in result.runs if result.at_base(r)], dropped_rounds(result))


def decide_among(runs: list[RunResult], dropped: Collection[int] = ()) -> Fastest | None:
    """`decide` over runs that did the same work (one value of a sweep, say)."""
    ok = [r for r in runs if r.status == "ok" and r.repeats and not has_failures(r)]
    if not ok:
        return None
    best_of: dict[str, RunResult] = {}
    for run in ok:
        current = best_of.get(run.executor)
        if current is None or _median(run) < _median(current):
            best_of[run.executor] = run
    best = min(best_of.values(), key=_median)
    versus = paired.adjust_family(
        {o.run_id: compare_runs(o, best, dropped) for o in best_of.values() if o is not best}
    )
    return Fastest(
        run_id=best.run_id,
        test=test_name(list(best_of.values())),
        significant_against_all=bool(versus) and all(v.significant for v in versus.values()),
        versus=dict(versus),
        correction=CORRECTION,
    )


def _median(run: RunResult) -> float:
    return run.summary.wall_seconds.median or math.inf


def speedups(runs: list[RunResult], base: RunResult, dropped: Collection[int] = ()) -> None:
    """Every run's speedup over the baseline: the median of per-round ratios where paired,
    the ratio of medians otherwise; significance Holm-adjusted over the matrix's rows."""
    tests: dict[str, stats.Comparison] = {}
    for run in runs:
        if run.status != "ok" or not run.repeats:
            continue
        if run is base:
            ratio: float | None = 1.0
        elif is_paired(base, run):
            ratio = paired.compare_paired(
                round_times(base, dropped), round_times(run, dropped)
            ).ratio
        else:
            wall = run.summary.wall_seconds.median
            base_wall = base.summary.wall_seconds.median
            ratio = base_wall / wall if wall and base_wall else None
        if ratio is None:
            continue
        run.summary = replace(
            run.summary, speedup=ratio, efficiency=ratio / run.workers, versus_baseline=None
        )
        if run is not base:
            tests[run.run_id] = compare_runs(base, run, dropped)
    by_id = {r.run_id: r for r in runs}
    for run_id, test in paired.adjust_family(tests).items():
        run = by_id[run_id]
        run.summary = replace(run.summary, versus_baseline=test)


def drift(base: RunResult | None) -> float | None:
    """The baseline's spread from round to round: how far the machine moved."""
    return paired.drift(round_times(base)) if base is not None else None


def drift_notice(value: float, run_id: str) -> Notice:
    return {**notice("drift", drift_notice_text(value), run_id), "detail": f"{100 * value:.0f}%"}


def drift_notice_text(value: float) -> str:
    return (
        f"The baseline's time moved by {100 * value:.0f}% between its fastest and slowest round, "
        f"above the {100 * DRIFT_LIMIT:.0f}% the lab calls a steady machine: the machine drifted "
        "during the session (other programs, frequency, neighbours on the host). Speedups are "
        "paired by round, so drift cancels out of them as far as it is slow, but single rounds "
        "are less reliable; rerun on a quieter machine."
    )
