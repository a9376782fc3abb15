"""The claims an interpreters run adds to the classic ones: sub-interpreters use several cores
for pure-Python CPU work (each has its own GIL), and they cost less than processes to start, to
feed and in memory. Only scenarios with interpreters runs carry them.
"""

from __future__ import annotations

from lab.analysis.claims import Claim, ClaimResult, Status
from lab.analysis.facts import ModelFacts, RunFacts, ScenarioFacts
from lab.analysis.thresholds import (
    FREE_FOR_PARALLEL,
    GAIN,
    MANY_CORES,
    ONE_CORE,
)
from lab.core.units import format_bytes_delta, format_ratio, format_seconds, plural
from lab.scenario.kinds import traits as kind_traits
from lab.scenario.models import INTERPRETERS, PROCESSES, THREADS

# Decided only where a scenario ran interpreters (claims.merge_claims keeps them then).
INTERPRETERS_CORES = Claim(
    "interpreters_cores", "sub-interpreters use several cores for CPU-bound pure-Python code"
)
INTERPRETERS_COST = Claim(
    "interpreters_cost",
    "sub-interpreters cost less than processes to start, to feed and in memory",
)
# Near-empty tasks, whose time per task is the price of handing one over (as processes_cost).
NEAR_EMPTY_US = 10


def _result(claim: Claim, status: Status, figures: str, facts: ScenarioFacts) -> ClaimResult:
    where = [facts.name] if status != "not measured" else []
    return ClaimResult(claim.id, claim.text, status, figures, where)


def _run_text(r: RunFacts, usable: int) -> str:
    cores = f", {r.cores:.2f} of {usable} cores busy" if r.cores is not None else ""
    return f"{INTERPRETERS.name} {format_ratio(r.speedup)} at {plural(r.workers, 'worker')}{cores}"


def interpreters_claims(facts: ScenarioFacts) -> list[ClaimResult]:
    """[] when the scenario ran no interpreters: the table then has no rows for them."""
    model = facts.model(INTERPRETERS.name)
    if model is None or (not model.runs and not model.failures):
        return []
    return [interpreters_cores(facts, model), interpreters_cost(facts, model)]


def interpreters_cores(facts: ScenarioFacts, model: ModelFacts) -> ClaimResult:
    """As processes_cores, with the same thresholds, on pure-Python work only: the point is
    that bytecode runs in parallel with a GIL per interpreter."""
    claim = INTERPRETERS_CORES
    if not kind_traits(facts.kind).pure_python:
        return _result(claim, "not measured", "needs a pure-Python CPU workload", facts)
    if facts.character != "cpu":
        serial = facts.serial
        why = (
            f"the serial run kept {serial.cores:.2f} cores busy: not CPU-bound"
            if serial is not None and serial.cores is not None
            else "no serial run with CPU figures to tell CPU-bound work"
        )
        return _result(claim, "not measured", why, facts)
    usable = facts.machine.usable_cpus
    if usable < 2:
        return _result(claim, "not measured", "1 usable CPU: there are not several cores", facts)
    runs = [r for r in model.runs if r.workers >= 2 and r.cores is not None]
    if not runs:
        return _result(claim, "not measured", "no interpreters run with 2+ workers", facts)
    serial = facts.serial
    tail = f" (serial {serial.cores:.2f} cores)" if serial and serial.cores is not None else ""
    threads = facts.model(THREADS.name)
    t = threads.multi if threads else None
    if t is not None and t.speedup is not None:
        tail += f"; threads {format_ratio(t.speedup)} at {plural(t.workers, 'worker')}"
    used = [r for r in runs if (r.cores or 0) >= MANY_CORES and (r.speedup or 0) >= GAIN]
    if used:
        r = max(used, key=lambda x: x.cores or 0)
        return _result(claim, "confirmed", _run_text(r, usable) + tail, facts)
    fair = [r for r in runs if r.free_cores(usable) >= FREE_FOR_PARALLEL]
    r = max(fair or runs, key=lambda x: x.cores or 0)
    text = _run_text(r, usable) + tail
    if fair and all((x.cores or 0) < ONE_CORE for x in fair):
        return _result(claim, "refuted", text, facts)
    if not fair:
        text += f": {r.busy_note(usable)}, so no run had 2 free cores"
    return _result(claim, "inconclusive", text, facts)


def interpreters_cost(facts: ScenarioFacts, interp: ModelFacts) -> ClaimResult:
    claim = INTERPRETERS_COST
    procs = facts.model(PROCESSES.name)
    if procs is None or not procs.runs or not interp.runs:
        return _result(
            claim,
            "not measured",
            f"needs both {INTERPRETERS.name} and {PROCESSES.name} runs",
            facts,
        )
    common = sorted({r.workers for r in interp.runs} & {r.workers for r in procs.runs})
    if not common:
        return _result(
            claim,
            "not measured",
            f"{INTERPRETERS.name} and {PROCESSES.name} share no worker count",
            facts,
        )
    parts: list[str] = []
    outcomes: list[bool] = []
    starts = [
        (w, i_s, p_s)
        for w in common
        if (i := interp.at(w)) and (p := procs.at(w))
        and (i_s := i.startup) is not None and (p_s := p.startup) is not None
    ]  # fmt: skip
    if starts:
        w, i_start, p_start = starts[-1]
        less = all(i < p for _, i, p in starts)
        outcomes.append(less)
        parts.append(
            f"start {'✓' if less else '✗'} {format_seconds(i_start)} vs "
            f"{format_seconds(p_start)} at {plural(w, 'worker')}"
            + ("" if less else " (interpreters not faster at every worker count measured)")
        )
    if facts.near_empty_tasks(NEAR_EMPTY_US):
        w = common[0]
        i, p = interp.at(w), procs.at(w)
        if i and p and i.per_task and p.per_task:
            less = i.per_task < p.per_task
            outcomes.append(less)
            parts.append(
                f"feed {'✓' if less else '✗'} {format_seconds(i.per_task)} vs "
                f"{format_seconds(p.per_task)} per near-empty task at {plural(w, 'worker')}"
            )
    else:
        parts.append("feed not measured here (needs near-empty tasks)")
    # Slopes, not peaks: one process with N interpreters against N + 1 processes, per worker.
    i_slope, p_slope = interp.memory_per_worker, procs.memory_per_worker
    if i_slope is not None and p_slope is not None:
        less = i_slope < p_slope
        outcomes.append(less)
        parts.append(
            f"memory {'✓' if less else '✗'} {format_bytes_delta(i_slope)} vs "
            f"{format_bytes_delta(p_slope)} per added worker (peak memory's slope over "
            f"{len(interp.runs)} and {len(procs.runs)} worker counts)"
        )
    if not outcomes:
        return _result(claim, "not measured", "no start-up, per-task or memory figures", facts)
    status: Status = "confirmed" if all(outcomes) else "refuted" if not any(outcomes) else "partly"
    figures = f"{INTERPRETERS.name} vs {PROCESSES.name}: " + "; ".join(parts)
    return _result(claim, status, figures, facts)
