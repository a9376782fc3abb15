"""An interpreter axis seen one interpreter at a time.

A session measures every interpreter's runs of a scenario in the same interleaved rounds (so
pairing by round stays valid across interpreters), and keeps them in one ScenarioResult. Every
comparison of models, though, is within one interpreter: its own serial baseline, its own
winner, its own claims and fits. `split_scenario` gives one ScenarioResult per interpreter
(`numeric_crunching@py3.13`), with baseline and winner decided among its runs only; reports are
written split, so a saved report reads back as ordinary scenarios, one per interpreter.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from lab.analysis.summarise import finalise_scenario
from lab.results.model import Report, ScenarioResult


def labels(result: ScenarioResult) -> list[str]:
    """The interpreters of a scenario's runs, in plan order; [] without an axis."""
    return list(dict.fromkeys(r.interpreter for r in result.runs if r.interpreter is not None))


def base_name(result: ScenarioResult) -> str:
    """`numeric_crunching` for `numeric_crunching@py3.13`."""
    suffix = f"@{result.interpreter}"
    return result.name.removesuffix(suffix) if result.interpreter else result.name


def split_scenario(result: ScenarioResult, usable_cpus: int) -> list[ScenarioResult]:
    """One result per interpreter (the result itself without an axis, or already one part)."""
    found = labels(result)
    if result.interpreter is not None or not found:
        return [result]
    parts = []
    for label in found:
        runs = [copy.copy(r) for r in result.runs if r.interpreter == label]
        ids = {r.run_id for r in runs}
        part = replace(
            result,
            name=f"{result.name}@{label}",
            title=f"{result.title} ({label})",
            runs=runs,
            skipped={
                k: v for k, v in result.skipped.items() if "@" not in k or k.endswith(f"@{label}")
            },
            warnings=[w for w in result.warnings if "run_id" not in w or w["run_id"] in ids],
            rounds=dict(result.rounds) if result.rounds is not None else None,
            interpreter=label,
            fastest=None,
            baseline=None,
        )
        finalise_scenario(part, usable_cpus)
        parts.append(part)
    return parts


def split_report(report: Report) -> Report:
    """The report with each scenario of an interpreter axis as one scenario per interpreter."""
    if not any(labels(s) and s.interpreter is None for s in report.scenarios):
        return report
    usable = int(report.machine.get("cpus_usable") or 1)
    scenarios = [part for s in report.scenarios for part in split_scenario(s, usable)]
    return replace(report, scenarios=scenarios)
