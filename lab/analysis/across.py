"""The same model across interpreters: `threads-4 on py3.13 vs py3.12: 1.04x, n.s.`.

Each run of a scenario's axis is compared with the same run (executor, workers, sweep values)
under the first interpreter, with the lab's one significance machinery: paired by round (the
interpreters' runs share the session's interleaved rounds), Holm-Bonferroni over the rows of
one interpreter pair of one scenario.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lab.analysis.axis import base_name, split_report
from lab.analysis.winner import compare_runs
from lab.core import paired
from lab.core.stats import Comparison
from lab.core.units import format_p, format_ratio
from lab.results.model import Report, RunResult, ScenarioResult


@dataclass
class AcrossRow:
    scenario: str  # without the interpreter: numeric_crunching
    run: str  # without the interpreter: threads-4, threads-4@size=1000
    interpreter: str
    reference: str  # the interpreter it is compared with (the axis's first)
    comparison: Comparison  # the reference's time over this one's: above 1, this one is faster

    @property
    def significance(self) -> str:
        c = self.comparison
        if not c.can_be_significant:
            return "too few rounds to test"
        if not c.significant or c.p_value is None:
            return "n.s."
        return format_p(c.p_value)

    @property
    def text(self) -> str:
        ratio = self.comparison.ratio
        return (
            f"{self.run} on {self.interpreter} vs {self.reference}: "
            f"{format_ratio(ratio)}, {self.significance}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "run": self.run,
            "interpreter": self.interpreter,
            "reference": self.reference,
            "comparison": self.comparison.to_json(),
            "text": self.text,
        }


def _key(run: RunResult) -> tuple[str, int, str]:
    return run.executor, run.workers, json.dumps(run.params, sort_keys=True)


def _measured(run: RunResult) -> bool:
    return run.status == "ok" and bool(run.repeats)


def _rows(reference: ScenarioResult, other: ScenarioResult) -> list[AcrossRow]:
    theirs = {_key(r): r for r in other.runs if _measured(r)}
    found: dict[str, tuple[str, Comparison]] = {}
    for mine in reference.runs:
        twin = theirs.get(_key(mine))
        if not _measured(mine) or twin is None:
            continue
        run = mine.run_id.removesuffix(f"@{reference.interpreter}")
        found[run] = (run, compare_runs(mine, twin))
    adjusted = paired.adjust_family({k: c for k, (_, c) in found.items()})
    scenario = base_name(reference)
    return [
        AcrossRow(scenario, run, str(other.interpreter), str(reference.interpreter), adjusted[run])
        for run in found
    ]


def across_interpreters(report: Report) -> list[AcrossRow]:
    """Every run of every scenario with an axis, under each interpreter against the first."""
    parts: dict[str, list[ScenarioResult]] = {}
    for result in split_report(report).scenarios:
        if result.interpreter is not None:
            parts.setdefault(base_name(result), []).append(result)
    rows = []
    for group in parts.values():
        for other in group[1:]:
            rows.extend(_rows(group[0], other))
    return rows
