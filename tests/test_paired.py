"""Rounds and paired statistics on synthetic timings with known answers (no machine timing)."""

from __future__ import annotations

import random

import pytest

from lab.analysis.summarise import finalise_scenario
from lab.core.paired import (
    AdjustedComparison,
    can_be_significant,
    compare_paired,
    drift,
    holm,
    paired_ratios,
    wilcoxon_signed_rank,
)
from lab.core.stats import compare_samples
from lab.engine.schedule import Schedule, blocks, round_orders
from lab.results.model import RunResult, ScenarioResult
from lab.results.repeat import RepeatRecord

# --- the schedule -----------------------------------------------------------------------------


def test_round_orders_are_seeded_permutations() -> None:
    ids = ["serial-1", "threads-2", "processes-2", "asyncio-2"]
    orders = round_orders(ids, 10, seed=42)
    assert orders == round_orders(ids, 10, seed=42)  # --seed reproduces them
    assert orders != round_orders(ids, 10, seed=43)
    assert all(sorted(o) == sorted(ids) for o in orders)
    assert len({tuple(o) for o in orders}) > 1  # shuffled afresh each round


def test_blocks_split_rounds_between_runner_processes() -> None:
    assert blocks(5, 2) == [range(0, 2), range(2, 5)]
    assert [len(b) for b in blocks(10, 3)] == [3, 4, 3]
    assert blocks(1, 2) == [range(0, 1)]  # never a process without a round
    assert sum(len(b) for b in blocks(7, 4)) == 7
    schedule = Schedule.make(["a", "b"], rounds=1, processes=2, seed=0)
    assert schedule.processes == 1 and schedule.to_json()["count"] == 1


# --- the signed-rank test and Holm -------------------------------------------------------------


def test_wilcoxon_exact_known_values() -> None:
    # All n differences on one side: p = 2 / 2**n, the smallest possible.
    def p(diffs: list[float]) -> float:
        result = wilcoxon_signed_rank(diffs)
        assert result is not None and result[1] == "exact"
        return result[0]

    assert p([1, 2, 3, 4, 5, 6]) == pytest.approx(2 / 64)
    assert p([-1, -2, -3, -4, -5]) == pytest.approx(2 / 32)
    # W+ = 3 of 15 for n = 5: P(W+ <= 3) = 5/32 (sums 0, 1, 2, 3, 3 = {1,2}), two-sided 10/32.
    assert p([1, 2, -3, -4, -5]) == pytest.approx(10 / 32)
    assert wilcoxon_signed_rank([0, 0]) is None  # zeros are dropped
    assert not can_be_significant(5) and can_be_significant(6)
    assert can_be_significant(8, family=4) and not can_be_significant(6, family=2)


def test_wilcoxon_normal_approximation_agrees_with_exact_near_the_limit() -> None:
    rng = random.Random(7)
    diffs = [rng.gauss(0.3, 1) for _ in range(40)]
    exact = wilcoxon_signed_rank(diffs)
    assert exact is not None and exact[1] == "exact"
    approx = wilcoxon_signed_rank([*diffs, *diffs[:1]])  # 41 pairs: normal
    assert approx is not None and approx[1] == "normal"
    assert abs(exact[0] - approx[0]) < 0.05


def test_holm_adjusts_a_family() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([None, 0.02]) == [None, pytest.approx(0.02)]
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # monotone, capped at 1


# --- drifting synthetic sessions -----------------------------------------------------------------


def session(
    true_times: dict[str, float],
    rounds: int,
    seed: int,
    drift_total: float = 0.5,
    noise: float = 0.01,
    interleaved: bool = True,
) -> dict[str, dict[int, float]]:
    """Round -> time per run, on a machine whose speed drifts linearly by `drift_total`.

    Each measurement's time is its true time times (1 + drift at its moment) times small
    noise; interleaved sessions use the lab's shuffled rounds, the others measure each run's
    repeats back to back (the old design).
    """
    rng = random.Random(seed)
    ids = list(true_times)
    if interleaved:
        sequence = [
            (rid, r) for r, order in enumerate(round_orders(ids, rounds, seed)) for rid in order
        ]
    else:
        sequence = [(rid, r) for rid in ids for r in range(rounds)]
    times: dict[str, dict[int, float]] = {rid: {} for rid in ids}
    for position, (rid, r) in enumerate(sequence):
        moment = position / (len(sequence) - 1)
        factor = (1 + drift_total * moment) * (1 + rng.gauss(0, noise))
        times[rid][r] = true_times[rid] * factor
    return times


def test_linear_drift_of_50_percent_does_not_separate_identical_models() -> None:
    significant = 0
    trials = 200
    for seed in range(trials):
        times = session({"a": 1.0, "b": 1.0}, rounds=10, seed=seed)
        c = compare_paired(times["a"], times["b"])
        assert c.ratio is not None and 0.9 < c.ratio < 1.1
        significant += c.significant
    # Under the null the shuffled order makes each pair's sign a fair coin: the false positive
    # rate is at most alpha (5%), whatever the drift.
    assert significant <= 0.05 * trials


def test_back_to_back_measurement_under_the_same_drift_is_fooled() -> None:
    """Why rounds: the old design calls identical models different under drift."""
    times = session({"a": 1.0, "b": 1.0}, rounds=10, seed=1, interleaved=False)
    unpaired = compare_samples(list(times["a"].values()), list(times["b"].values()))
    assert unpaired.significant and unpaired.ratio is not None and unpaired.ratio < 0.85


def test_paired_test_finds_a_real_difference_through_the_drift() -> None:
    times = session({"a": 1.0, "b": 1.15}, rounds=10, seed=3)
    c = compare_paired(times["b"], times["a"])
    assert c.significant and c.ratio is not None and 1.1 < c.ratio < 1.2
    assert c.ratio_low is not None and c.ratio_high is not None
    assert c.ratio_low <= c.ratio <= c.ratio_high


def test_paired_ratios_use_only_common_rounds() -> None:
    assert paired_ratios({0: 2.0, 1: 4.0, 2: 1.0}, {1: 2.0, 2: 1.0, 3: 9.0}) == [2.0, 1.0]


def test_drift_is_the_baseline_range_over_its_median() -> None:
    assert drift({0: 1.0, 1: 1.1, 2: 1.2}) == pytest.approx(0.2 / 1.1)
    assert drift({0: 1.0}) is None
    times = session({"serial": 1.0}, rounds=10, seed=0, noise=0.0)
    assert drift(times["serial"]) == pytest.approx(0.5 / 1.25)  # 1.0 to 1.5, median 1.25


# --- scenario level: speedups, winners, ties ------------------------------------------------------


def _run(rid: str, times: dict[int, float], errors: int = 0) -> RunResult:
    executor, workers = rid.split("-")
    records = [
        RepeatRecord(
            "repeat", i, t, t, 0.0, 10, 10, "d", {"refused": errors} if errors else {}, round=r
        )
        for i, (r, t) in enumerate(sorted(times.items()))
    ]
    return RunResult(rid, executor, int(workers), "tasks", 10, status="ok", repeats=records)


def _scenario(
    times: dict[str, dict[int, float]], errors: dict[str, int] | None = None
) -> ScenarioResult:
    result = ScenarioResult(
        "s", "s.yaml", "s", "", {"kind": "numeric"},
        {"repeats": 10, "warmups": 0, "timeout": 60.0, "workers": [1, 2]},
        runs=[_run(rid, t, (errors or {}).get(rid, 0)) for rid, t in times.items()],
        rounds={"seed": 0, "processes": 2, "count": 10, "order": []},
    )  # fmt: skip
    finalise_scenario(result, 2)
    return result


def test_identical_models_under_drift_are_a_tie_not_a_winner() -> None:
    times = session(
        {"serial-1": 1.0, "threads-1": 1.0, "asyncio-1": 1.0, "processes-1": 1.0}, 10, seed=11
    )
    result = _scenario(times)
    assert result.fastest is not None and not result.fastest.significant_against_all
    for run in result.runs:
        speedup = run.summary.speedup
        assert speedup is not None and 0.9 < speedup < 1.1
        if run.run_id != "serial-1":
            test = run.summary.versus_baseline
            assert isinstance(test, AdjustedComparison) and test.paired
            assert not test.significant and test.family == 3
    assert result.rounds is not None and result.rounds["drift"] > 0.10
    assert any(w["code"] == "drift" for w in result.all_warnings())


def test_clear_winner_is_named_with_holm_over_every_other_model() -> None:
    times = session({"serial-1": 1.0, "threads-2": 1.0, "processes-2": 0.5}, 10, seed=5)
    result = _scenario(times)
    assert result.fastest is not None
    assert result.fastest.run_id == "processes-2" and result.fastest.significant_against_all
    versus = result.fastest.versus
    assert set(versus) == {"serial-1", "threads-2"}
    assert all(
        isinstance(v, AdjustedComparison) and (v.p_adjusted or 0) >= (v.p_value or 0)
        for v in versus.values()
    )
    assert result.fastest.correction == "Holm-Bonferroni"
    processes = result.run("processes-2")
    assert processes is not None
    ratios = paired_ratios(
        {r.round: r.wall_seconds for r in result.runs[0].repeats if r.round is not None},
        {r.round: r.wall_seconds for r in processes.repeats if r.round is not None},
    )
    assert processes.summary.speedup == pytest.approx(sorted(ratios)[4] / 2 + sorted(ratios)[5] / 2)


def test_a_run_with_failed_requests_never_wins() -> None:
    times = session({"serial-1": 1.0, "asyncio-8": 0.2, "threads-8": 0.5}, 10, seed=2)
    result = _scenario(times, errors={"asyncio-8": 5})
    assert result.fastest is not None and result.fastest.run_id == "threads-8"
    assert "asyncio-8" not in result.fastest.versus


def test_round_ratio_is_exactly_one_for_the_baseline() -> None:
    times = session({"serial-1": 1.0, "threads-2": 0.9}, 10, seed=4)
    result = _scenario(times)
    assert result.runs[0].summary.speedup == 1.0
    assert result.runs[0].summary.efficiency == pytest.approx(1.0)


def test_default_rounds_let_every_row_of_a_full_matrix_be_significant() -> None:
    """With the default number of rounds, a clear speedup in any row of a 13-run matrix (five
    models at 1, 2 and 4 workers) survives Holm over the 12 rows; with 8 rounds it could not
    (the smallest two-sided signed-rank p is then 2/256, and 12 × 2/256 > 0.05)."""
    from lab.scenario.spec import QUICK_ROUNDS, Scenario

    rounds = Scenario.model_fields["repeats"].default
    assert rounds == QUICK_ROUNDS
    centres = {"serial-1": 1.0}
    for model in ("asyncio", "uvloop", "threads", "processes"):
        for workers in (1, 2, 4):
            centres[f"{model}-{workers}"] = 0.5 if (model, workers) == ("processes", 2) else 1.0
    result = _scenario(session(centres, rounds, seed=3))
    faster = result.run("processes-2")
    assert faster is not None
    test = faster.summary.versus_baseline
    assert isinstance(test, AdjustedComparison) and test.family == 12
    assert test.significant, test
    for run in result.runs:
        if run.run_id not in ("serial-1", "processes-2"):
            assert run.summary.versus_baseline is not None
            assert not run.summary.versus_baseline.significant
