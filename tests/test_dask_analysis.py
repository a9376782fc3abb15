"""What the analysis concludes from dask runs, on synthetic measurements with known answers:
the break-even against the process pool and against serial, and the cluster's cost claim."""

from __future__ import annotations

import pytest

from lab.analysis.analyse import analyse_scenario
from lab.analysis.breakeven import breakeven
from lab.analysis.claims import merge_claims
from lab.analysis.cluster_claim import cluster_cost
from lab.analysis.facts import ScenarioFacts, scenario_facts
from lab.results.model import RunResult, ScenarioResult
from tests.synthetic import machine, run, scenario

TASKS = 32


def cluster_sweep(sizes: list[int], dask_startup: float = 1.5) -> list[RunResult]:
    """Serial: 1 µs per step. Two-worker pool: half of it plus 50 µs per task. Two-worker
    Dask cluster: half of it plus 2 ms per task (a scheduler round trip)."""
    runs = []
    for size in sizes:
        params = {"size": size}
        serial = TASKS * size * 1e-6
        procs = TASKS * (size * 1e-6 / 2 + 50e-6)
        dask = TASKS * (size * 1e-6 / 2 + 2e-3)
        runs += [
            run("serial", 1, TASKS / serial, tasks=TASKS, params=params),
            run("processes", 2, TASKS / procs, tasks=TASKS, params=params, startup=0.3, cores=2),
            run("dask", 2, TASKS / dask, tasks=TASKS, params=params, startup=dask_startup, cores=2),
        ]
    return runs


def test_with_dask_and_processes_the_break_even_compares_them_and_says_when_dask_pays_back() -> (
    None
):
    result = scenario("c", "numeric", cluster_sweep([1000, 10000, 100000]), size=10000)
    be = breakeven(result)
    assert be is not None and (be.light, be.heavy) == ("processes", "dask")
    # Same cores, more per task: a running cluster never catches the pool up.
    assert be.steady.kind == "never"
    assert "processes win at every value of size measured" in be.steady.text
    # Against serial: size/2 + 2000 < size  ⇔  size > 4000 steps, between 1,000 and 10,000.
    assert be.payback is not None and be.payback.kind == "crossing"
    assert be.payback.value == pytest.approx(4000, rel=0.01)
    assert "dask pays back its price per task, beating serial, from size ≈ 4,000" in be.text
    assert [p.heavy_run for p in be.points] == [
        "dask-2@{'size': 1000}",
        "dask-2@{'size': 10000}",
        "dask-2@{'size': 100000}",
    ]


def test_without_dask_the_break_even_is_threads_against_processes() -> None:
    runs = [r for r in cluster_sweep([1000, 10000]) if r.executor != "dask"]
    runs += [
        run("threads", 2, r.summary.throughput.value or 1.0, tasks=TASKS, params=r.params)
        for r in runs
        if r.executor == "serial"
    ]
    be = breakeven(scenario("c", "numeric", runs, size=1000))
    assert be is not None and (be.light, be.heavy) == ("threads", "processes")
    assert be.payback is None


def facts_of(runs: list[RunResult]) -> tuple[ScenarioResult, ScenarioFacts]:
    result = scenario("dispatch_overhead", "dispatch", runs, task_us=0.0)
    return result, scenario_facts(result, machine())


def test_the_cluster_claim_quotes_start_up_and_price_per_task() -> None:
    _, facts = facts_of(
        [
            run("serial", 1, 1_000_000),
            run("processes", 2, 200_000, startup=0.3),
            run("dask", 2, 5_000, startup=1.8),
        ]
    )
    (claim,) = cluster_cost(facts)
    assert claim.status == "confirmed"
    assert claim.figures == (
        "dask vs processes: start ✓ 1.80 s vs 300 ms at 2 workers; "
        "feed ✓ 200 µs vs 5.0 µs per task at 2 workers, 195 µs more per task"
    )


def test_a_cluster_cheaper_to_start_makes_the_claim_partly_true() -> None:
    _, facts = facts_of(
        [
            run("serial", 1, 1_000_000),
            run("processes", 2, 200_000, startup=0.3),
            run("dask", 2, 5_000, startup=0.1),
        ]
    )
    (claim,) = cluster_cost(facts)
    assert claim.status == "partly" and claim.figures.startswith("dask vs processes: start ✗")


def test_the_cluster_claim_appears_only_where_dask_ran() -> None:
    plain, facts = facts_of([run("serial", 1, 1_000_000), run("processes", 2, 200_000)])
    assert cluster_cost(facts) == []
    with_dask, _ = facts_of(
        [
            run("serial", 1, 1_000_000),
            run("processes", 2, 200_000, startup=0.3),
            run("dask", 2, 5_000, startup=1.8),
        ]
    )
    rows = [(name, analyse_scenario(r, machine()).claims) for name, r in (("a", plain),)]
    assert "cluster_cost" not in {c.id for c in merge_claims(rows)}
    rows.append(("b", analyse_scenario(with_dask, machine()).claims))
    merged = {c.id: c for c in merge_claims(rows)}
    assert merged["cluster_cost"].status == "confirmed"
    assert merged["cluster_cost"].scenarios == ["b"]
