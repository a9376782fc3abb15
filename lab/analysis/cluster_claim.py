"""The claim a Dask run adds to the classic ones: a cluster costs more than a process pool to
start and to feed. Decided on the measured start-up and time per task of dask against the
process pool at a worker count both ran; only scenarios with dask runs carry it.
"""

from __future__ import annotations

from lab.analysis.claims import CLUSTER_COST, ClaimResult, Status
from lab.analysis.facts import ScenarioFacts
from lab.core.units import format_seconds, plural
from lab.scenario.models import DASK, PROCESSES


def _workers(w: int) -> str:
    return plural(w, "worker")


def cluster_cost(facts: ScenarioFacts) -> list[ClaimResult]:
    """[] when the scenario ran no dask: the table then has no row for it at all."""
    dask, procs = facts.model(DASK.name), facts.model(PROCESSES.name)
    if dask is None or (not dask.runs and not dask.failures):
        return []

    def result(status: Status, figures: str) -> ClaimResult:
        where = [facts.name] if status != "not measured" else []
        return ClaimResult(CLUSTER_COST.id, CLUSTER_COST.text, status, figures, where)

    if procs is None:
        return [result("not measured", f"needs both {DASK.name} and {PROCESSES.name} runs")]
    common = sorted({r.workers for r in dask.runs} & {r.workers for r in procs.runs})
    if not common:
        return [result("not measured", f"{DASK.name} and {PROCESSES.name} share no worker count")]
    parts: list[str] = []
    outcomes: list[bool] = []
    starts = [
        (w, d_s, p_s)
        for w in common
        if (d := dask.at(w)) and (p := procs.at(w))
        and (d_s := d.startup) is not None and (p_s := p.startup) is not None
    ]  # fmt: skip
    if starts:
        w, d_start, p_start = starts[-1]
        more = all(d > p for _, d, p in starts)
        outcomes.append(more)
        parts.append(
            f"start {'✓' if more else '✗'} {format_seconds(d_start)} vs "
            f"{format_seconds(p_start)} at {_workers(w)}"
            + ("" if more else " (dask not slower at every worker count measured)")
        )
    w = common[0]
    d, p = dask.at(w), procs.at(w)
    if d and p and d.per_task and p.per_task:
        # Both ran the same tasks on as many single-threaded workers: the difference per task
        # is what the cluster adds to hand a task over (scheduler round trips, serialisation).
        more = d.per_task > p.per_task
        outcomes.append(more)
        extra = d.per_task - p.per_task
        parts.append(
            f"feed {'✓' if more else '✗'} {format_seconds(d.per_task)} vs "
            f"{format_seconds(p.per_task)} per task at {_workers(w)}"
            + (f", {format_seconds(extra)} more per task" if more else "")
        )
    if not outcomes:
        return [result("not measured", "no start-up or per-task figures")]
    status: Status = "confirmed" if all(outcomes) else "refuted" if not any(outcomes) else "partly"
    return [result(status, f"{DASK.name} vs {PROCESSES.name}: " + "; ".join(parts))]
