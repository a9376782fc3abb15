"""Which host of a fleet wins which model, with the same care as a winner within one machine.

Per scenario and model, each host's best run (lowest median among its clean runs at the
scenario's own workload) is compared with the fastest host's best run. Hosts do not share
rounds, so the test is unpaired (Mann-Whitney U on the repeat times, lab.core.stats), and every
comparison of a scenario's table is one family: Holm-Bonferroni over all of them before
anything is called significant. A host wins a model only when it is significantly faster than
every other host; otherwise the model is a tie. Hosts that ran another workload for the same
scenario name are not compared at all.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from lab.analysis.winner import has_failures
from lab.core import paired, stats
from lab.results.fleet import FleetReport
from lab.results.machine import MachineFacts
from lab.results.model import RunResult, ScenarioResult


@dataclass
class ModelAcrossHosts:
    executor: str
    best: dict[str, RunResult]  # host -> its best run of this model
    fastest: str | None = None  # the host with the lowest median
    winner: str | None = None  # the fastest host, when significantly faster than every other
    # other host -> its best run against the fastest host's (ratio = how many times slower)
    versus: dict[str, stats.Comparison] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "executor": self.executor,
            "best": {
                host: {
                    "run_id": run.run_id,
                    "workers": run.workers,
                    "median_seconds": run.summary.wall_seconds.median,
                    "throughput": run.summary.throughput.value,
                    "unit": run.unit,
                }
                for host, run in self.best.items()
            },
            "fastest": self.fastest,
            "winner": self.winner,
            "versus": {host: c.to_json() for host, c in self.versus.items()},
        }


@dataclass
class ScenarioAcrossHosts:
    scenario: str
    title: str
    hosts: list[str]  # the hosts that ran it, in the fleet's order
    machines: dict[str, MachineFacts]
    models: list[ModelAcrossHosts]
    note: str | None = None  # why hosts are not compared, when they are not

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "title": self.title,
            "hosts": self.hosts,
            "models": [m.to_json() for m in self.models],
            "note": self.note,
        }


def _median(run: RunResult) -> float:
    return run.summary.wall_seconds.median or math.inf


def _times(run: RunResult) -> list[float]:
    return [r.wall_seconds for r in run.repeats]


def best_runs(result: ScenarioResult) -> dict[str, RunResult]:
    """Each model's best clean run at the scenario's own workload (sweep points never count)."""
    best: dict[str, RunResult] = {}
    for run in result.runs:
        if run.status != "ok" or not run.repeats or not result.at_base(run) or has_failures(run):
            continue
        current = best.get(run.executor)
        if current is None or _median(run) < _median(current):
            best[run.executor] = run
    return best


def _workload_key(result: ScenarioResult) -> str:
    return json.dumps(result.workload, sort_keys=True, default=str)


def compare_hosts(fleet: FleetReport) -> list[ScenarioAcrossHosts]:
    """Per scenario any host ran: the hosts side by side and the winner of each model."""
    by_name: dict[str, dict[str, ScenarioResult]] = {}
    machines: dict[str, MachineFacts] = {}
    for host, report in fleet.reports():
        machines[host] = report.machine
        for result in report.scenarios:
            by_name.setdefault(result.name, {}).setdefault(host, result)
    return [_scenario(name, results, machines) for name, results in by_name.items()]


def _scenario(
    name: str, results: dict[str, ScenarioResult], machines: dict[str, MachineFacts]
) -> ScenarioAcrossHosts:
    hosts = list(results)
    title = next(iter(results.values())).title
    bests = {host: best_runs(result) for host, result in results.items()}
    executors = list(dict.fromkeys(e for best in bests.values() for e in best))
    models = [
        ModelAcrossHosts(e, {h: bests[h][e] for h in hosts if e in bests[h]}) for e in executors
    ]
    scenario = ScenarioAcrossHosts(name, title, hosts, {h: machines[h] for h in hosts}, models)
    if len({_workload_key(r) for r in results.values()}) > 1:
        scenario.note = (
            "the hosts ran different workloads under this scenario name, so their times are "
            "not compared"
        )
        return scenario
    tests: dict[tuple[str, str], stats.Comparison] = {}
    for model in models:
        if not model.best:
            continue
        model.fastest = min(model.best, key=lambda h: _median(model.best[h]))
        fastest = model.best[model.fastest]
        for host, run in model.best.items():
            if host != model.fastest:
                tests[(model.executor, host)] = stats.compare_samples(_times(run), _times(fastest))
    keys = list(tests)
    adjusted = paired.adjust_family({f"{e}\0{h}": tests[(e, h)] for e, h in keys})
    for model in models:
        model.versus = {h: adjusted[f"{e}\0{h}"] for e, h in keys if e == model.executor}
        if model.versus and all(c.significant for c in model.versus.values()):
            model.winner = model.fastest
    if len(hosts) < 2:
        scenario.note = "only one host ran this scenario: nothing to compare"
    return scenario
