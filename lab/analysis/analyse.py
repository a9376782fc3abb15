"""The whole analysis of a report: verdicts, claims, scaling fits and break-even per scenario.

The app and the report renderers call `analyse_scenario()` and `analyse_report()` and get
plain dataclasses (with `to_json()`) back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lab.analysis.axis import split_report
from lab.analysis.breakeven import BreakEven, breakeven
from lab.analysis.claims import ClaimResult, merge_claims, scenario_claims
from lab.analysis.cluster_claim import cluster_cost
from lab.analysis.controls import doubt_note, scenario_doubt
from lab.analysis.facts import Machine, interpreter_notes, machine_notes, scenario_facts
from lab.analysis.interpreters_claims import interpreters_claims
from lab.analysis.scaling import ScalingFit, fit_scenario
from lab.analysis.sweep import SweepVerdict, sweep_verdict
from lab.analysis.verdicts import Verdict, verdict_for
from lab.results.machine import MachineFacts
from lab.results.model import Report, ScenarioResult


@dataclass
class ScenarioAnalysis:
    """Everything the lab concludes about one scenario, as plain data."""

    name: str
    verdict: Verdict
    claims: list[ClaimResult]
    scaling: dict[str, ScalingFit]  # by executor
    breakeven: BreakEven | None
    sweep: SweepVerdict | None = None  # a verdict per swept value, for a sweep

    def to_json(self) -> dict[str, Any]:
        return {
            "verdicts": self.verdict.to_json(),
            "claims": [c.to_json() for c in self.claims],
            "scaling": {k: v.to_json() for k, v in self.scaling.items()},
            "breakeven": self.breakeven.to_json() if self.breakeven else None,
        } | ({"sweep": self.sweep.to_json()} if self.sweep else {})


@dataclass
class ReportAnalysis:
    machine: Machine
    scenarios: list[ScenarioAnalysis]
    claims: list[ClaimResult]  # merged across scenarios
    notes: list[str]  # how this machine changes what can be shown


def analyse_scenario(result: ScenarioResult, machine: MachineFacts | Machine) -> ScenarioAnalysis:
    facts = scenario_facts(result, machine)
    verdict = verdict_for(facts)
    sweep = sweep_verdict(result)
    if sweep is not None:
        # A sweep is judged at each of its values, and summed up in one line: never by the
        # one value its base point happens to hold.
        verdict.text = sweep.text
    # A figure the lab's own checks put in doubt never decides without the doubt beside it.
    verdict.text += doubt_note(result, [verdict.winner_run, verdict.runner_up_run])
    claims = scenario_claims(facts) + cluster_cost(facts) + interpreters_claims(facts)
    if doubt := scenario_doubt(result):
        claims = [replace(c, figures=f"{c.figures} ({doubt})") if c.decided else c for c in claims]
    return ScenarioAnalysis(
        name=result.name,
        verdict=verdict,
        claims=claims,
        scaling=fit_scenario(result),
        breakeven=breakeven(result),
        sweep=sweep,
    )


def analyse_report(report: Report) -> ReportAnalysis:
    """Each scenario under the interpreter that ran it (an axis is analysed per interpreter:
    lab.analysis.axis splits it first where the report holds it whole)."""
    report = split_report(report)
    machine = Machine.from_report(report.machine)
    under = [machine.running(s, report.interpreters) for s in report.scenarios]
    scenarios = [analyse_scenario(s, m) for s, m in zip(report.scenarios, under, strict=True)]
    # With an axis the lab's own Python runs no workload: its GIL is no note.
    notes = machine_notes(replace(machine, gil=True) if report.interpreters else machine)
    for m in {m.interpreter: m for m in under if m.interpreter}.values():
        notes += interpreter_notes(m)
    return ReportAnalysis(
        machine=machine,
        scenarios=scenarios,
        claims=merge_claims([(a.name, a.claims) for a in scenarios]),
        notes=notes,
    )
