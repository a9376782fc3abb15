"""Expand scenarios into plans: the matrix of runs (executor x worker count) to execute."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from lab.core.cpus import usable_cpus
from lab.core.units import format_eta
from lab.engine.interpreters.probe import Interpreter, probe_all
from lab.scenario.loader import LoadedScenario
from lab.scenario.models import MODELS, is_baseline, traits
from lab.scenario.spec import Scenario

# The models dispatch's task_sizes_us (a narrow sweep, older than `sweep:`) runs at each size.
SWEEP_EXECUTORS = tuple(model.name for model in MODELS if model.task_size_sweep)


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    executor: str
    workers: int
    params: tuple[tuple[str, Any], ...] = ()  # workload overrides for a sweep run
    interpreter: str | None = None  # label of the interpreter (None: the lab's own, no axis)

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass
class ScenarioPlan:
    name: str
    source: str
    scenario: Scenario  # as it will run (already scaled down under --quick)
    runs: list[RunPlan]
    skipped: dict[str, str] = field(default_factory=dict)  # executor -> why it cannot run here
    quick: bool = False
    interpreters: list[Interpreter] = field(default_factory=list)  # the axis; [] without one

    def interpreter(self, label: str | None) -> Interpreter | None:
        return next((i for i in self.interpreters if i.label == label), None)


def plan_scenario(
    loaded: LoadedScenario,
    quick: bool = False,
    usable: int | None = None,
    min_time: float | None = None,
) -> ScenarioPlan:
    """The matrix of runs. The command line's --python and --cluster are already in the
    scenario (LoadedScenario.with_interpreters, with_cluster), in the app as headless."""
    scenario = loaded.scenario.quick() if quick else loaded.scenario
    if min_time is not None:  # --min-time overrides every scenario's own setting
        scenario = scenario.model_copy(update={"min_time": min_time})
    counts = scenario.resolved_workers(usable or usable_cpus())
    sized_for = getattr(scenario.workload, "sized_for", None)
    if sized_for is not None:  # every run does the same work, sized for the largest pool
        scenario = scenario.model_copy(update={"workload": sized_for(max(counts))})
    skipped: dict[str, str] = {}
    for executor in scenario.executors:
        model = traits(executor)
        reason = model.unavailable()
        # Under --python, the runner environments decide (lab.engine.interpreters.prepare).
        if reason and not (model.needs_subinterpreters and scenario.interpreters):
            skipped[executor] = reason
    if scenario.sweep:
        # The base point comes from the file's own value, not one --quick scaled down.
        scenario = at_sweep_base(scenario, loaded.scenario.workload.model_dump())
        runs = [
            r for point in sweep_points(scenario) for r in _matrix(scenario, counts, skipped, point)
        ]
    else:
        runs = _matrix(scenario, counts, skipped, {})
        runs += _sweep_runs(scenario, counts, skipped, usable or usable_cpus())
    interpreters = probe_all(scenario.interpreters) if scenario.interpreters else []
    if interpreters:  # one more axis: every run under each interpreter, `threads-4@py3.13`
        runs = [
            RunPlan(f"{r.run_id}@{i.label}", r.executor, r.workers, r.params, i.label)
            for i in interpreters
            for r in runs
        ]
    return ScenarioPlan(loaded.name, loaded.source, scenario, runs, skipped, quick, interpreters)


def _matrix(
    scenario: Scenario, counts: list[int], skipped: dict[str, str], point: dict[str, Any]
) -> list[RunPlan]:
    """Every executor at every worker count, at one point of a sweep ({} without one)."""
    runs = []
    suffix = f"@{point_label(point)}" if point else ""
    params = tuple(point.items())
    for executor in scenario.executors:
        if executor in skipped:
            continue
        # Serial has no pool to size: it runs once, as the baseline every speedup is measured against.
        for workers in [1] if is_baseline(executor) else counts:
            runs.append(RunPlan(f"{executor}-{workers}{suffix}", executor, workers, params))
    return runs


def _value_label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, int) else f"{value:g}"


def point_label(point: dict[str, Any]) -> str:
    """'size=10000', 'size=1000,tasks=8': a sweep point as run ids and reports show it."""
    return ",".join(f"{k}={_value_label(v)}" for k, v in point.items())


def sweep_points(scenario: Scenario) -> list[dict[str, Any]]:
    """Every combination of the `sweep:` values, in the order written."""
    names = list(scenario.sweep)
    combos = itertools.product(*(scenario.sweep[n] for n in names))
    return [dict(zip(names, combo, strict=True)) for combo in combos]


def at_sweep_base(scenario: Scenario, written: dict[str, Any] | None = None) -> Scenario:
    """The scenario with its workload at the sweep's base point: the point its verdict, claims
    and fits are about (the workload's value as `written` where the sweep lists it, else the
    first value)."""
    own = scenario.workload.model_dump()
    written = written or own
    base = {
        name: written[name] if written.get(name) in values else values[0]
        for name, values in scenario.sweep.items()
    }
    workload = type(scenario.workload).model_validate({**own, **base})
    return scenario.model_copy(update={"workload": workload})


def _sweep_runs(
    scenario: Scenario, counts: list[int], skipped: dict[str, str], usable: int
) -> list[RunPlan]:
    """Extra runs of a workload parameter sweep (dispatch's task_sizes_us).

    Only serial, threads and processes run at the extra points, each pool at one size: the
    largest planned worker count that fits the usable CPUs. That keeps a sweep to three runs
    per point, which is what the break-even between a thread and a process pool needs.
    """
    sweep = getattr(scenario.workload, "sweep_points", None)
    points: list[dict[str, Any]] = sweep() if sweep else []
    fitting = [w for w in counts if w <= usable]
    pool = max(fitting) if fitting else min(counts)
    runs = []
    for point in points:
        label = point_label(point)
        for executor in SWEEP_EXECUTORS:
            if executor not in scenario.executors or executor in skipped:
                continue
            workers = 1 if is_baseline(executor) else pool
            params = tuple(sorted(point.items()))
            runs.append(RunPlan(f"{executor}-{workers}@{label}", executor, workers, params))
    return runs


def make_plan(
    scenarios: list[LoadedScenario],
    quick: bool = False,
    min_time: float | None = None,
) -> list[ScenarioPlan]:
    usable = usable_cpus()
    return [plan_scenario(s, quick, usable, min_time) for s in scenarios]


def dask_clusters(plans: list[ScenarioPlan]) -> dict[str, int]:
    """Existing Dask schedulers the plans use, each with the most workers a run asks of it."""
    found: dict[str, int] = {}
    for plan in plans:
        address = plan.scenario.cluster
        for run in plan.runs:
            if traits(run.executor).cluster and address:
                found[address] = max(found.get(address, 0), run.workers)
    return found


# A sweep past these asks for --yes before a headless run (the app asks for a confirmation).
CONFIRM_POINTS = 10
CONFIRM_SECONDS = 600.0
# Seconds a run costs beyond its timed phases, at least: a runner process, its imports, a pool.
RUN_OVERHEAD = 0.5


def estimated_seconds(plan: ScenarioPlan) -> float:
    """A lower bound on a plan's time: calibration makes every warmup and repeat last at least
    min_time, and each run starts a fresh runner. Slow tasks make it longer, never shorter."""
    s = plan.scenario
    phase = max(s.min_time, 0.01)
    return len(plan.runs) * (RUN_OVERHEAD + (s.warmups + s.repeats) * phase)


def unrunnable(plans: list[ScenarioPlan]) -> list[str]:
    """One sentence per scenario none of whose models can run here (all of them skipped)."""
    return [
        f"{plan.name}: none of its models can run here ("
        + "; ".join(f"{name}: {reason}" for name, reason in plan.skipped.items())
        + ")"
        for plan in plans
        if not plan.runs and plan.skipped
    ]


def sweep_confirmation(plans: list[ScenarioPlan]) -> str | None:
    """Why these plans' sweeps need an explicit go-ahead, in a sentence; None when they do not."""
    reasons = []
    for plan in plans:
        if not plan.scenario.sweep:
            continue
        points = len(sweep_points(plan.scenario))
        seconds = estimated_seconds(plan)
        if points > CONFIRM_POINTS or seconds > CONFIRM_SECONDS:
            reasons.append(
                f"{plan.name}: the sweep has {points} values, {len(plan.runs)} runs, at least "
                f"{format_eta(seconds).removeprefix('ETA ')} (limits: {CONFIRM_POINTS} values, "
                f"{CONFIRM_SECONDS / 60:.0f} min)"
            )
    if not reasons:
        return None
    return "\n".join(reasons) + "\nrun it again with --yes to go ahead"
