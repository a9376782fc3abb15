"""Summaries of measured runs: statistics, agreement of answers, speedups, noise warnings.

The engine calls `finalise_scenario` when a scenario ends (and the app on a copy while it
runs); a report loaded from JSON keeps the summaries it was saved with.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Collection
from dataclasses import replace

from lab.analysis import controls, winner
from lab.analysis.differences import first_difference
from lab.analysis.noise import run_warnings
from lab.core.histogram import Histogram
from lab.core.stats import describe, outliers
from lab.results.model import RunError, RunResult, ScenarioResult
from lab.results.notices import Notice
from lab.results.summary import Distribution, Latency, RunSummary, Throughput
from lab.scenario.models import is_baseline


def summarise_run(run: RunResult, usable_cpus: int, dropped: Collection[int] = ()) -> None:
    """Derive the summary from raw repeats (speedup is filled in at the scenario level),
    leaving out the repeats of `dropped` rounds (disturbed: lab.analysis.controls)."""
    kept = [r for r in run.repeats if r.round not in dropped] or run.repeats
    walls = [r.wall_seconds for r in kept]
    wall = Distribution.of(walls)
    cpu = Distribution.of([r.cpu_seconds for r in kept])
    median_wall = wall.median
    amount = kept[0].amount if kept else None
    minor = [r.minor_faults for r in kept if r.minor_faults is not None]
    major = [r.major_faults for r in kept if r.major_faults is not None]
    cores = (
        cpu.median / median_wall if run.repeats and median_wall and cpu.median is not None else None
    )
    latency = Histogram()
    errors: dict[str, int] = {}
    for r in run.repeats:
        if r.latency:
            latency.merge(Histogram.from_json(r.latency))
        for k, v in r.errors.items():
            errors[k] = errors.get(k, 0) + v
    loops = max((r.loops for r in run.repeats), default=1)
    run.summary = RunSummary(
        wall_seconds=wall,
        throughput=Throughput(
            **describe([r.throughput for r in kept]),
            value=amount / median_wall if amount is not None and median_wall else None,
            unit=f"{run.unit}/s",
        ),
        cpu_seconds=cpu,
        cpu_cores=cores,
        cpu_utilisation=cores / usable_cpus if cores is not None else None,
        latency=Latency.of(latency),
        errors=errors,
        error_count=sum(errors.values()),
        outliers=outliers(walls),
        loops=loops,
        warnings=run_warnings(
            run.run_id, walls, loops, len(run.warmups), run.background_cpu_cores, usable_cpus
        ),
        minor_faults=statistics.median(minor) if minor else None,
        major_faults=statistics.median(major) if major else None,
    )


def finalise_scenario(result: ScenarioResult, usable_cpus: int) -> None:
    """Summaries, result agreement across executors, and speedups against serial.

    Runs of a sweep (`params`) are compared with the serial run at the same point, and runs of
    an interpreter axis with the serial run under the same interpreter.
    """
    dropped = controls.choose_dropped_rounds(result, usable_cpus)
    for run in result.runs:
        summarise_run(run, usable_cpus, dropped)
    checks: list[Notice] = []
    groups: dict[str, list[RunResult]] = {}
    for run in result.runs:
        key = json.dumps([run.params, run.interpreter], sort_keys=True)
        groups.setdefault(key, []).append(run)
    result.baseline = None
    for runs in groups.values():
        check_agreement(runs)
        base = next((r for r in runs if is_baseline(r.executor) and r.status == "ok"), None)
        first_interpreter = result.runs[0].interpreter
        if result.at_base(runs[0]) and runs[0].interpreter == first_interpreter:
            result.baseline = base.run_id if base else None
            _drift(result, base)
        if base is not None:
            winner.speedups(runs, base, dropped)
            checks += controls.check_group(result, runs, base, usable_cpus, dropped)
    if (disturbed := controls.disturbed_notice(result, usable_cpus)) is not None:
        checks.insert(0, disturbed)
    # Finalised again (the app does so while a scenario runs): the checks replace their own.
    kept_warnings = [w for w in result.warnings if w["code"] not in controls.CODES]
    result.warnings = kept_warnings + checks
    result.fastest = winner.decide(result)


def _drift(result: ScenarioResult, base: RunResult | None) -> None:
    """The baseline's round-to-round spread, with a plain warning above DRIFT_LIMIT."""
    if result.rounds is None:
        return
    value = winner.drift(base)
    result.rounds["drift"] = value
    if base is not None and value is not None and value > winner.DRIFT_LIMIT:
        warnings = [*base.summary.warnings, winner.drift_notice(value, base.run_id)]
        base.summary = replace(base.summary, warnings=warnings)


def check_agreement(runs: list[RunResult]) -> None:
    """Every executor must compute the same answers; a run that differs is failed."""
    reference: str | None = None
    reference_run: RunResult | None = None
    for run in sorted(runs, key=lambda r: not is_baseline(r.executor)):
        digests = {r.digest for r in [*run.warmups, *run.repeats] if r.digest is not None}
        if run.status != "ok" or not digests:
            continue
        if len(digests) > 1:
            run.status = "failed"
            run.error = RunError("mismatch", "repeats of this run computed different results")
            continue
        digest = digests.pop()
        if reference is None:
            reference, reference_run = digest, run
        elif digest != reference:
            assert reference_run is not None
            where = first_difference(run, reference_run)
            run.status = "failed"
            run.error = RunError(
                "mismatch",
                where or f"results differ from the other executors ({digest} vs {reference})",
            )
