"""Expand scenarios into plans: the matrix of runs (executor x worker count) to execute."""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.cpus import usable_cpus
from lab.executors import available
from lab.loader import LoadedScenario
from lab.scenario import Scenario


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    executor: str
    workers: int


@dataclass
class ScenarioPlan:
    name: str
    source: str
    scenario: Scenario  # as it will run (already scaled down under --quick)
    runs: list[RunPlan]
    skipped: dict[str, str] = field(default_factory=dict)  # executor -> why it cannot run here
    quick: bool = False


def plan_scenario(
    loaded: LoadedScenario,
    quick: bool = False,
    usable: int | None = None,
    min_time: float | None = None,
) -> ScenarioPlan:
    scenario = loaded.scenario.quick() if quick else loaded.scenario
    if min_time is not None:  # --min-time overrides every scenario's own setting
        scenario = scenario.model_copy(update={"min_time": min_time})
    counts = scenario.resolved_workers(usable or usable_cpus())
    runs: list[RunPlan] = []
    skipped: dict[str, str] = {}
    for executor in scenario.executors:
        reason = available(executor)
        if reason:
            skipped[executor] = reason
            continue
        # Serial has no pool to size: it runs once, as the baseline every speedup is measured against.
        for workers in [1] if executor == "serial" else counts:
            runs.append(RunPlan(f"{executor}-{workers}", executor, workers))
    return ScenarioPlan(loaded.name, loaded.source, scenario, runs, skipped, quick)


def make_plan(
    scenarios: list[LoadedScenario], quick: bool = False, min_time: float | None = None
) -> list[ScenarioPlan]:
    usable = usable_cpus()
    return [plan_scenario(s, quick, usable, min_time) for s in scenarios]
