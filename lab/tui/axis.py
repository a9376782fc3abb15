"""The app shows an interpreter axis one interpreter at a time, without Textual.

A scenario run under several interpreters is one result; the Results tab (grid, chart,
verdicts) shows one interpreter's part of it (lab.analysis.axis), and `[` `]` step through
each scenario's interpreters before moving to the next scenario.
"""

from __future__ import annotations

from lab.analysis.axis import split_scenario
from lab.results.machine import MachineFacts
from lab.results.model import ScenarioResult


def _parts(result: ScenarioResult, machine: MachineFacts) -> list[ScenarioResult]:
    return split_scenario(result, int(machine.get("cpus_usable") or 1))


def part_of(
    result: ScenarioResult | None, part: int, machine: MachineFacts
) -> ScenarioResult | None:
    """The `part`-th interpreter's part of a result (the result itself without an axis)."""
    if result is None:
        return None
    parts = _parts(result, machine)
    return parts[part % len(parts)]


def all_parts(
    results: dict[int, ScenarioResult], machine: MachineFacts
) -> list[tuple[int, ScenarioResult]]:
    """Every scenario's every interpreter part, as (scenario index, part)."""
    return [(k, p) for k in sorted(results) for p in _parts(results[k], machine)]


def step(
    results: dict[int, ScenarioResult], key: int | None, part: int, by: int, machine: MachineFacts
) -> tuple[int, int]:
    """The (scenario, interpreter part) `by` steps from (key, part), across all results."""
    entries = [(k, p) for k in sorted(results) for p in range(len(_parts(results[k], machine)))]
    if key is None or (key, part) not in entries:
        return entries[0]
    return entries[(entries.index((key, part)) + by) % len(entries)]
