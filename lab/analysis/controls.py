"""The lab checks its own numbers: disturbed rounds, negative controls and physical limits.

- **Disturbed rounds.** Every measured repeat records the cores other programs kept busy
  meanwhile; a round's load is their time-weighted mean. A round above DISTURBED_CORES (or a
  tenth of the usable CPUs, if more) is disturbed. Rule, the same for every run: disturbed
  rounds are left out of every run's figures (medians, speedups, tests) as long as at least
  MIN_QUIET_ROUNDS quiet rounds remain; otherwise every round is kept and the report says so.
- **Negative controls.** A 1-worker run that calls the same function as serial (threads-1,
  processes-1, dask-1, and asyncio-1 and uvloop-1 where the workload has no async form of its
  own) does the same work on one worker: it cannot be faster than serial, and it is slower only
  by the model's price per task. A control that differs significantly from serial is an
  artifact of the experiment or the machine, never a property of the model: it puts a doubt on
  every significance claim against serial in its group (same sweep value and interpreter).
  When every control agrees with the others and all differ from serial the same way, the
  baseline was disturbed; every speedup is then judged against the controls' median as well.
- **Physical limits.** On CPU-bound work (serial kept its core busy) no run can beat serial by
  more than the cores it could use, and a control must stay within CONTROL_BAND of serial.
  A run past either gets a warning in words and the doubt mark.

Everything reads a `ScenarioResult` only, so a saved report is judged as a live one.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Sequence
from dataclasses import replace

from lab.analysis.facts import busy_cores, share_of_free_core
from lab.analysis.thresholds import CPU_BOUND_CORES
from lab.analysis.winner import round_times
from lab.core import paired
from lab.core.units import format_ratio, plural
from lab.results.model import RunResult, ScenarioResult
from lab.results.notices import Notice, notice
from lab.scenario import kinds, models

# A 1-worker run of the serial function within this share of serial's time is "the same".
CONTROL_BAND = 0.15
# A control significantly different from serial by at most this much is not called failed:
# with many rounds a 2% difference can be significant, and is not worth a doubt.
CONTROL_TOLERANCE = 0.05
# A speedup may exceed the cores a run could use by this much before it is "beyond the cores".
LIMIT_MARGIN = 0.10
DISTURBED_CORES = 0.25  # other programs' cores that disturb a round (at least)
DISTURBED_SHARE = 0.10  # ... or this share of the usable CPUs, whichever is more
MIN_QUIET_ROUNDS = 6  # the fewest rounds whose pairs can reach p < 0.05 (lab.core.paired)
FAULTS_WORTH_NAMING = 1000  # page faults per pass: fewer cannot explain a visible difference

CODES = ("disturbed_rounds", "control_failed", "baseline_disturbed")

# A control slower than serial by less than its model's price per task (the descriptor's
# price_per_task) is paying for the model, not showing an artifact; serial's time per task must
# be this many times that price to judge.
_PRICE_FACTOR = 10


def has_async_form(workload: dict[str, object]) -> bool:
    return kinds.traits(workload.get("kind")).has_async_form(workload)


def is_control(run: RunResult, workload: dict[str, object]) -> bool:
    """A 1-worker run that calls the same function as serial (a negative control)."""
    return models.traits(run.executor).is_negative_control(run.workers, has_async_form(workload))


def _price(executor: str) -> float:
    return models.traits(executor).price_per_task


def _per_task(run: RunResult) -> float | None:
    wall = run.summary.wall_seconds.median
    return wall / run.tasks if wall and run.tasks else None


def slow_side_judged(control: RunResult, base: RunResult) -> bool:
    """Whether a control slower than serial says anything: only when serial's tasks are long
    enough that the model's price per task cannot explain a visible difference."""
    per_task = _per_task(base)
    return per_task is not None and per_task >= _PRICE_FACTOR * _price(control.executor)


# --- disturbed rounds -----------------------------------------------------------------------


def round_loads(result: ScenarioResult) -> list[float | None]:
    """Other programs' cores in each round: its repeats' loads, weighted by their time."""
    count = int((result.rounds or {}).get("count") or 0)
    busy = [0.0] * count
    seconds = [0.0] * count
    for run in result.runs:
        for r in run.repeats:
            if r.round is None or r.background_cores is None or not 0 <= r.round < count:
                continue
            wall = r.wall_seconds * r.loops
            busy[r.round] += r.background_cores * wall
            seconds[r.round] += wall
    return [b / s if s > 0 else None for b, s in zip(busy, seconds, strict=True)]


def disturbed_limit(usable_cpus: int) -> float:
    return max(DISTURBED_CORES, DISTURBED_SHARE * usable_cpus)


def choose_dropped_rounds(result: ScenarioResult, usable_cpus: int) -> frozenset[int]:
    """Record each round's load, the disturbed rounds and those dropped by the rule (in
    `result.rounds`); returns the dropped ones."""
    rounds = result.rounds
    if rounds is None:
        return frozenset()
    loads = round_loads(result)
    if all(load is None for load in loads):
        return frozenset()
    limit = disturbed_limit(usable_cpus)
    disturbed = [i for i, load in enumerate(loads) if load is not None and load > limit]
    measured = {r.round for run in result.runs for r in run.repeats if r.round is not None}
    quiet = len(measured) - len(disturbed)
    # Dropped only while the quiet rounds can still show a significant difference in the
    # largest family of comparisons against serial (Holm): otherwise a blip of load would
    # cost the scenario every verdict, and the controls judge the kept rounds instead.
    family = comparisons_per_baseline(result)
    enough = quiet >= MIN_QUIET_ROUNDS and paired.can_be_significant(quiet, family)
    dropped = disturbed if disturbed and enough else []
    rounds["load"] = [None if load is None else round(load, 3) for load in loads]
    rounds["disturbed"] = disturbed
    rounds["dropped"] = dropped
    return frozenset(dropped)


def comparisons_per_baseline(result: ScenarioResult) -> int:
    """The most runs compared with one serial baseline (a sweep value, an interpreter)."""
    groups: dict[str, int] = {}
    for run in result.runs:
        if not models.is_baseline(run.executor) and run.status == "ok":
            key = repr((sorted(run.params.items()), run.interpreter))
            groups[key] = groups.get(key, 0) + 1
    return max(groups.values(), default=1)


def disturbed_notice(result: ScenarioResult, usable_cpus: int) -> Notice | None:
    rounds = result.rounds or {}
    disturbed: list[int] = rounds.get("disturbed") or []
    if not disturbed:
        return None
    loads = rounds.get("load") or []
    named = ", ".join(f"{i + 1} ({loads[i]:.1f} cores)" for i in disturbed if loads[i] is not None)
    limit = disturbed_limit(usable_cpus)
    family = comparisons_per_baseline(result)
    rule = (
        f"rounds where other programs kept more than {limit:.2f} of the {usable_cpus} usable "
        "CPUs busy are left out of every run's figures while enough quiet rounds remain to "
        f"test the {plural(family, 'comparison')} against serial (at least {MIN_QUIET_ROUNDS})"
    )
    if rounds.get("dropped"):
        outcome = (
            f"so {plural(len(disturbed), 'round')} {'was' if len(disturbed) == 1 else 'were'} "
            "left out of every run's times, speedups and tests alike"
        )
    else:
        outcome = (
            f"but only {int(rounds.get('count') or 0) - len(disturbed)} quiet rounds remained, "
            "too few to test on, so every round was kept and the negative controls judge them: "
            "treat small differences with care"
        )
    return notice(
        "disturbed_rounds",
        f"Other programs competed for the CPUs during round {named}. The lab's rule: {rule}; "
        f"{outcome}. Rerun on a quiet machine for figures from every round.",
    )


# --- controls and limits --------------------------------------------------------------------


def _median_faults(run: RunResult, dropped: Collection[int]) -> float | None:
    values = [
        r.minor_faults for r in run.repeats if r.minor_faults is not None and r.round not in dropped
    ]
    return statistics.median(values) if values else None


def faults_sentence(slow: RunResult, fast: RunResult, dropped: Collection[int] = ()) -> str:
    """Why, when it is the allocator: the slower run took many more page faults per pass."""
    slow_faults, fast_faults = _median_faults(slow, dropped), _median_faults(fast, dropped)
    if slow_faults is None or fast_faults is None:
        return ""
    extra = slow_faults - fast_faults
    if extra < FAULTS_WORTH_NAMING or extra < fast_faults:
        return ""
    return (
        f" {slow.run_id} took {extra:,.0f} more page faults per pass than {fast.run_id}: "
        "memory allocation, not concurrency (a fresh large buffer per call costs a page fault "
        "per 4 KiB in some threads and none in others; reuse buffers, e.g. read with readinto)."
    )


def _speedup(run: RunResult) -> float | None:
    return run.summary.speedup


def _differs(run: RunResult) -> str | None:
    """'faster' or 'slower' when a control is significantly off serial beyond the tolerance."""
    test, speedup = run.summary.versus_baseline, run.summary.speedup
    if test is None or speedup is None or not test.significant:
        return None
    if abs(speedup - 1) <= CONTROL_TOLERANCE:
        return None
    return "faster" if speedup > 1 else "slower"


def _outside_band(speedup: float | None) -> bool:
    return speedup is not None and not (1 - CONTROL_BAND <= speedup <= 1 + CONTROL_BAND)


def _doubt(run: RunResult, reason: str) -> None:
    if reason not in run.summary.doubts:
        run.summary = replace(run.summary, doubts=[*run.summary.doubts, reason])


def _warn(run: RunResult, code: str, message: str, detail: str) -> None:
    found = notice(code, message, run.run_id)
    found["detail"] = detail
    run.summary = replace(run.summary, warnings=[*run.summary.warnings, found])


def _cpu_bound(base: RunResult, usable_cpus: int) -> bool:
    """serial kept its core busy (the work is CPU), measured over enough wall time: busy for
    most of the core, or of what other programs left free of it (as ScenarioFacts judges)."""
    share = share_of_free_core(busy_cores(base), base.background_cpu_cores, usable_cpus)
    return share is not None and share >= CPU_BOUND_CORES


def core_limit(run: RunResult, usable_cpus: int) -> int:
    """The most cores a run's workers could keep busy: its pool's size, or every usable CPU
    for an event loop (its default executor's threads run beside it)."""
    if models.traits(run.executor).event_loop:
        return usable_cpus
    return max(1, min(run.workers, usable_cpus))


def _controls_baseline(controls: Sequence[RunResult], dropped: Collection[int]) -> dict[int, float]:
    """Per round, the median time of the controls measured in it."""
    times: dict[int, list[float]] = {}
    for control in controls:
        for index, wall in round_times(control, dropped).items():
            times.setdefault(index, []).append(wall)
    return {index: statistics.median(walls) for index, walls in times.items()}


def check_group(
    result: ScenarioResult,
    runs: Sequence[RunResult],
    base: RunResult,
    usable_cpus: int,
    dropped: Collection[int] = (),
) -> list[Notice]:
    """Judge one group's runs (one sweep value, one interpreter) against its serial `base`:
    doubts and run warnings go on the runs, the scenario-level notices are returned."""
    found: list[Notice] = []
    ok = [r for r in runs if r.status == "ok" and r.repeats and r is not base]
    where = _where(runs[0])
    controls = [
        r
        for r in ok
        if is_control(r, result.workload) and ((_speedup(r) or 1) >= 1 or slow_side_judged(r, base))
    ]
    failed = [(c, way) for c in controls if (way := _differs(c))]
    cpu_bound = _cpu_bound(base, usable_cpus)

    for control in controls:
        speedup = _speedup(control)
        if speedup is None or not _outside_band(speedup):
            continue
        if speedup > 1:
            words = (
                f"{control.run_id} runs the same function as serial on one worker, yet it was "
                f"{format_ratio(speedup)} faster than serial{where}: one worker cannot beat "
                "serial on the same work, so the baseline is slow for a reason other than the "
                "work."
            )
            why = faults_sentence(base, control, dropped)
        else:
            words = (
                f"{control.run_id} runs the same function as serial on one worker, yet it took "
                f"{format_ratio(1 / speedup)} serial's time{where}, more than the model's price "
                "per task can explain: the run or the baseline was disturbed."
            )
            why = faults_sentence(control, base, dropped)
        _warn(control, "control_band", words + why, f"{format_ratio(speedup)} over serial")
        _doubt(control, f"a 1-worker run of the serial function at {format_ratio(speedup)}")

    if failed:
        names = ", ".join(f"{c.run_id} {format_ratio(_speedup(c))} ({way})" for c, way in failed)
        reasons = " ".join(
            sentence
            for c, way in failed
            if (sentence := faults_sentence(base, c, dropped) if way == "faster" else "")
        )
        found.append(
            notice(
                "control_failed",
                f"Negative control failed{where}: {names} against serial, significantly. These "
                "runs call the same function as serial on one worker, so the difference is an "
                "artifact of the experiment or of the machine, not of the model: every "
                "significance claim against serial here is in doubt (marked !)."
                + (f"{reasons}" if reasons else ""),
            )
        )
        for run in ok:
            test = run.summary.versus_baseline
            if test is not None and test.significant:
                _doubt(run, "a negative control failed")

    ways = {way for _, way in failed}
    if len(controls) >= 2 and len(failed) == len(controls) and len(ways) == 1:
        speeds = [s for c in controls if (s := _speedup(c))]
        if speeds and max(speeds) / min(speeds) <= 1 + CONTROL_BAND:
            found.append(_disturbed_baseline(base, controls, ways.pop(), where))

    if controls:
        _versus_controls(ok, controls, dropped)

    if cpu_bound:
        for run in ok:
            speedup = _speedup(run)
            limit = core_limit(run, usable_cpus)
            if run.workers == 1 and is_control(run, result.workload):
                continue  # the band above judges it more tightly
            if speedup is None or speedup <= limit * (1 + LIMIT_MARGIN):
                continue
            cpus = plural(limit, "CPU")
            _warn(
                run,
                "physical_limit",
                f"{run.run_id} is {format_ratio(speedup)} faster than serial on {cpus}{where}: "
                "more than the cores allow for CPU-bound work, so the baseline is slow for a "
                "reason other than the work." + faults_sentence(base, run, dropped),
                f"{format_ratio(speedup)} on {cpus}",
            )
            _doubt(run, f"{format_ratio(speedup)} on {cpus}, beyond the cores")

    for run in ok:
        test, controls_test = run.summary.versus_baseline, run.summary.versus_controls
        if (
            test is not None
            and test.significant
            and (_speedup(run) or 0) > 1
            and run not in controls
            and controls_test is not None
            and not (controls_test.significant and (controls_test.ratio or 0) > 1)
        ):
            _doubt(run, "not faster than the 1-worker controls")
    return found


def _versus_controls(
    runs: Sequence[RunResult], controls: Sequence[RunResult], dropped: Collection[int]
) -> None:
    """Every run but the controls against the controls' median per round (Holm over them)."""
    baseline = _controls_baseline(controls, dropped)
    tests = {
        r.run_id: paired.compare_paired(baseline, round_times(r, dropped))
        for r in runs
        if r not in controls and round_times(r, dropped).keys() & baseline.keys()
    }
    by_id = {r.run_id: r for r in runs}
    for run_id, test in paired.adjust_family(tests).items():
        run = by_id[run_id]
        run.summary = replace(run.summary, versus_controls=test)


def _disturbed_baseline(
    base: RunResult, controls: Sequence[RunResult], way: str, where: str
) -> Notice:
    names = ", ".join(c.run_id for c in controls)
    return notice(
        "baseline_disturbed",
        f"The baseline was disturbed{where}: every negative control ({names}) agrees with the "
        f"others and all are {way} than {base.run_id}. Speedups are judged against the "
        "controls' median as well (the `versus_controls` figures: "
        "speedup over the controls beside the speedup over serial).",
    )


def _where(run: RunResult) -> str:
    parts = [f"{k}={v}" for k, v in run.params.items()]
    if run.interpreter:
        parts.append(f"under {run.interpreter}")
    return f" (at {', '.join(parts)})" if parts else ""


def doubtful_runs(result: ScenarioResult) -> dict[str, list[str]]:
    """run_id -> why its figures against serial are in doubt, for every run with a doubt."""
    return {r.run_id: list(r.summary.doubts) for r in result.runs if r.summary.doubts}


def doubt_note(result: ScenarioResult, run_ids: Collection[str | None]) -> str:
    """' (doubtful: ...; see the warnings)' when any of the runs named is in doubt, or when a
    control failed in the scenario; '' otherwise."""
    doubts = doubtful_runs(result)
    reasons: list[str] = []
    for run_id in run_ids:
        for reason in doubts.get(run_id or "", []):
            if (named := f"{run_id}: {reason}") not in reasons:
                reasons.append(named)
    if not reasons and any(w["code"] == "control_failed" for w in result.warnings):
        reasons.append("a negative control failed")
    return f" (doubtful: {'; '.join(reasons)}; see the warnings)" if reasons else ""


def scenario_doubt(result: ScenarioResult) -> str:
    """One phrase when any figure of the scenario is in doubt, for the claims it decides."""
    doubts = doubtful_runs(result)
    failed = any(w["code"] in ("control_failed", "baseline_disturbed") for w in result.warnings)
    if not doubts and not failed:
        return ""
    named = ", ".join(sorted(doubts))
    what = "a negative control failed" if failed else "some runs broke a physical limit"
    return f"doubtful: {what} in this scenario" + (f" ({named})" if named else "")
