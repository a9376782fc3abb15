"""The app's domain state, without Textual: the knobs, the session in flight, the results.

`LabApp` and its panes only draw what this class holds and tell it what happened (a knob
edited, an event from the session, the session's end); every decision about what the results
are, which warnings go with them, what the analysis says and what an export holds is made
here, so it is tested directly, without a terminal.
"""

from __future__ import annotations

import copy
import traceback
from typing import Any

from lab.analysis.analyse import ScenarioAnalysis, analyse_scenario
from lab.analysis.claims import ClaimResult, merge_claims
from lab.analysis.facts import Machine
from lab.core.textsafe import safe_text
from lab.core.units import format_p, format_seconds, plural
from lab.engine.events import Event, RunFinished, RunStarted, ScenarioFinished, ScenarioStarted
from lab.engine.plan import ScenarioPlan, plan_scenario
from lab.engine.session import LabSession
from lab.report.cells import run_cells, speedup_with_uncertainty
from lab.results.machine import MachineFacts
from lab.results.model import Report, RunResult, ScenarioResult
from lab.results.notices import Notice
from lab.scenario.loader import LoadedScenario
from lab.scenario.spec import Scenario
from lab.tui.analysis import warnings_body
from lab.tui.axis import all_parts, part_of
from lab.tui.axis import step as axis_step
from lab.tui.knobs import KnobValues, apply_knobs
from lab.tui.live import AppCpuMeter, LiveState
from lab.tui.results import preview
from lab.tui.shown import shown_report, shown_scenarios

MAX_FAILURES = 50  # the failures d can show; older ones are dropped


def run_details(scenario: str, run: RunResult) -> str:
    """Everything the report knows about one run, as plain text."""
    lines = [
        f"scenario   {scenario}",
        f"run        {run.run_id} ({run.executor}, {plural(run.workers, 'worker')})",
        f"status     {run.status}",
    ]
    if run.error:
        lines.append(f"error      {run.error.kind}: {run.error.message}")
    if run.params:
        lines.append(
            f"sweep      {run_cells(run)['params']}: a sweep run; its speedup is "
            "against the serial run at this value"
        )
    cells = run_cells(run)
    # Every column of the full grid, so the compact one can leave them out.
    for label, key in (
        ("time", "time"),
        ("throughput", "throughput"),
        ("efficiency", "efficiency"),
        ("cpu", "cpu"),
        ("memory", "memory"),
        ("latency", "latency"),
    ):
        if cells[key] != "–":
            suffix = (
                " (median ±MAD)"
                if key == "time"
                else " (p50 / p95 / p99)"
                if key == "latency"
                else ""
            )
            lines.append(f"{label:<10} {cells[key]}{suffix}")
    if run.summary.error_count:
        lines.append(f"errors     {cells['errors']}")
    if run.startup_seconds is not None:
        lines.append(f"start-up   {format_seconds(run.startup_seconds)}")
    if run.app_cpu_cores is not None:
        lines.append(f"app CPU    {100 * run.app_cpu_cores:.1f}% of one core, drawing this run")
    if run.summary.speedup:
        lines.append(f"speedup    {speedup_with_uncertainty(run)}")
        test = run.summary.versus_baseline
        if test is not None and test.p_value is not None:
            verdict = "significant" if test.significant else "not significant"
            paired = bool(getattr(test, "paired", False))
            sample = f"{test.n_a} paired rounds" if paired else f"{test.n_a} and {test.n_b} repeats"
            adjusted = getattr(test, "p_adjusted", None)
            holm = f", Holm-adjusted {format_p(adjusted)}" if adjusted is not None else ""
            lines.append(
                f"           against serial: {format_p(test.p_value)}{holm} ({verdict}; "
                f"{test.method or 'Mann-Whitney U'}, {sample})"
            )
        if test is not None and not test.can_be_significant:
            fewest = "6 paired rounds" if getattr(test, "paired", False) else "4 repeats a side"
            lines.append(f"           fewer than {fewest}: no difference can be significant")
        controls = run.summary.versus_controls
        if controls is not None and controls.ratio is not None:
            verdict = "significant" if controls.significant else "not significant"
            lines.append(
                f"           against the 1-worker controls' median: {controls.ratio:.2f}× "
                f"({verdict})"
            )
        for doubt in run.summary.doubts:
            lines.append(f"doubtful   {doubt}")
    if run.summary.minor_faults is not None:
        major = run.summary.major_faults or 0
        lines.append(
            f"faults     {run.summary.minor_faults:,.0f} minor, {major:,.0f} major page faults "
            "per pass (the runner and its workers)"
        )
    for record in run.repeats:
        where = f" (round {record.round + 1})" if record.round is not None else ""
        lines.append(
            f"repeat {record.index + 1:<3}{where} {format_seconds(record.wall_seconds)} wall, "
            f"{format_seconds(record.cpu_seconds)} CPU, {plural(record.tasks, 'task')}"
            + (f", errors {record.errors}" if record.errors else "")
        )
    for notice in run.summary.warnings:
        lines += ["", f"⚠ {notice['message']}"]
    if run.error and run.error.detail:
        lines += ["", "detail (the runner's stderr or traceback):", run.error.detail.rstrip()]
    if run.output and not (run.error and run.output.strip() in run.error.detail):
        lines += ["", "output of the runner and its workers (fds 1 and 2):", run.output.rstrip()]
    return "\n".join(lines)


class LabState:
    """What the app knows: scenarios and their edits, the session in flight, the results."""

    def __init__(
        self,
        scenarios: list[LoadedScenario],
        machine: MachineFacts,
        quick: bool = False,
        selected: int = 0,
    ) -> None:
        self.scenarios = shown_scenarios(scenarios)
        self.machine = machine
        self.quick = quick
        self.selected = selected if 0 <= selected < len(scenarios) else 0
        self.edited: dict[int, Scenario] = {}  # knob changes, validated
        self.form_errors: dict[int, dict[str, str]] = {}
        self.results: dict[int, ScenarioResult] = {}  # latest result per scenario index
        self.interrupted: set[int] = set()
        self.results_key: int | None = None  # the scenario whose results are shown
        self.part = 0  # and which interpreter's part of it, with an axis (lab.tui.axis)
        self.interpreters: dict[str, dict[str, Any]] = {}  # the axis's facts, as runners said
        self.failures: list[tuple[str, str]] = []  # (title, details), latest last
        # The machine's noise warnings, as the session that produced each result read them.
        self.machine_warnings: dict[int, list[Notice]] = {}
        self._analyses: dict[int, tuple[Any, ScenarioAnalysis | None]] = {}
        # The session in flight: its plan's scenario indices and its live progress.
        self.session: LabSession | None = None
        self.plan_keys: list[int] = []
        self.live = LiveState()
        self.app_cpu = AppCpuMeter()
        self.viewing: Report | None = None  # a saved report, shown read-only (`view`)

    @classmethod
    def for_report(cls, report: Report) -> LabState:
        """A saved report's results, read-only: nothing to run, the first scenario shown."""
        report = shown_report(report)
        state = cls([], report.machine)
        state.viewing = report
        state.interpreters = dict(report.interpreters)
        for index, result in enumerate(report.scenarios):
            state.results[index] = result
            state.machine_warnings[index] = list(report.warnings)
            if report.interrupted and any(r.status == "not_run" for r in result.runs):
                state.interrupted.add(index)
        state.results_key = 0 if report.scenarios else None
        return state

    # ------------------------------------------------------------ scenarios and knobs

    def base(self, index: int) -> Scenario:
        """A scenario as its file says, or under --quick as `Scenario.quick` scales it down:
        the knobs show the tasks, sizes, repeats and warmups that will actually run."""
        scenario = self.scenarios[index].scenario
        return scenario.quick() if self.quick else scenario

    def scenario(self, index: int) -> Scenario:
        """A scenario as the next run will execute it: with its knob edits."""
        return self.edited.get(index, self.base(index))

    def select(self, index: int) -> bool:
        """Select a scenario; True when its results should now be shown."""
        self.selected = index
        self.form_errors.pop(index, None)
        if self.session is None and index in self.results:
            self.results_key = index
            return True
        return False

    def edit(self, values: KnobValues) -> dict[str, str]:
        """Validate the form's values for the selected scenario; the errors, by field."""
        base = self.base(self.selected)
        scenario, errors = apply_knobs(base, values)
        if scenario is None:
            self.form_errors[self.selected] = errors
        else:
            self.form_errors.pop(self.selected, None)
            if scenario == base:
                self.edited.pop(self.selected, None)
            else:
                self.edited[self.selected] = scenario
        return errors

    def reset_knobs(self) -> None:
        self.edited.pop(self.selected, None)

    def knobs_invalid(self, indices: list[int]) -> bool:
        """A scenario to run is the selected one and its form holds errors."""
        return self.selected in indices and bool(self.form_errors.get(self.selected))

    # ------------------------------------------------------------ sessions

    def plan(self, indices: list[int]) -> list[ScenarioPlan] | None:
        """Plan the scenarios for a session and reset the live state; None: nothing can run."""
        # The knobs already hold the quick values: scaling down again would undo an edit.
        plans = [
            plan_scenario(LoadedScenario(s.name, s.source, self.scenario(i)))
            for i, s in ((i, self.scenarios[i]) for i in indices)
        ]
        for plan in plans:
            plan.quick = self.quick
        if not any(plan.runs for plan in plans):
            return None
        self.plan_keys = indices
        self.live = LiveState.for_plans(plans)
        self.app_cpu = AppCpuMeter()
        return plans

    def apply(self, event: Event) -> str | None:
        """Fold a session event in; returns the failure to tell the user about, if any."""
        self.live.apply(event)
        if isinstance(event, ScenarioStarted):
            self.results_key = self.plan_keys[self.live.scenario]
        elif isinstance(event, RunStarted):
            self.app_cpu.start()
        elif isinstance(event, RunFinished):
            run = event.result
            run.app_cpu_cores = self.app_cpu.stop(run.run_id)
            self._warn_app_cpu()
            if run.status in ("failed", "timeout"):
                message = f": {run.error.message}" if run.error else ""
                self.record_failure(
                    f"{event.scenario}: {run.run_id} {run.status}",
                    run_details(event.scenario, run),
                )
                return f"{event.scenario} {run.run_id} {run.status}{message} (d for details)"
        elif isinstance(event, ScenarioFinished):
            key = self.plan_keys[self.live.scenario]
            self.results[key] = event.result
            if self.session is not None:
                self.interpreters.update(self.session.report.interpreters)
                self.machine_warnings[key] = list(self.session.report.warnings)
            self.interrupted.discard(key)
            if event.result.error:
                self.record_failure(f"{event.scenario}: scenario failed", event.result.error)
                return f"{event.scenario} failed: {event.result.error} (d for details)"
        return None

    def _warn_app_cpu(self) -> None:
        """Keep the session's one `app_cpu` warning up to date: it names every run over."""
        warning = self.app_cpu.notice()
        if warning is None or self.session is None:
            return
        warnings = self.session.report.warnings
        warnings[:] = [w for w in warnings if w["code"] != "app_cpu"] + [warning]

    def end_session(self, session: LabSession, completed: bool) -> tuple[str, bool]:
        """Keep what a session produced; returns its summary line and whether a run failed."""
        self.session = None
        # An interrupted scenario keeps its completed runs; the rest are marked not_run.
        for index in range(len(session.report.scenarios)):
            key = self.plan_keys[index]
            if index == self.live.scenario and not completed:
                self.results[key] = session.report.scenarios[index]
                self.machine_warnings[key] = list(session.report.warnings)
                self.interrupted.add(key)
        for run in self.live.runs.values():
            if not run.finished:
                run.state = "not_run"
                run.dirty = True
        self.live.current = None
        runs = [r for s in session.report.scenarios for r in s.runs]
        ok = sum(r.status == "ok" for r in runs)
        bad = sum(r.status in ("failed", "timeout") for r in runs)
        line = f"finished: {ok} of {plural(len(runs), 'run')} ok" + (
            f", {bad} failed (d for details)" if bad else ""
        )
        return line, bool(bad)

    def status_line(self) -> tuple[str, str | None]:
        """The Run tab's status line, and the app's subtitle while a run is in flight."""
        live = self.live
        position = f"run {min(live.runs_done + 1, live.total)} of {live.total}"
        if live.current is not None:
            # The scenario is the heading above the rows: 80 columns hold the id and the keys.
            text = f"{position} · {live.current[1]} · c cancel · x stop all"
            return text, f"running {live.current[1]}"
        if self.session is not None:
            return f"{position} · {live.preparing or 'preparing…'}", None
        done = sum(r.state == "ok" for r in live.runs.values())
        return (
            f"Session over: {done} of {plural(live.total, 'run')} ok." if live.total else ""
        ), None

    def record_failure(self, title: str, body: str) -> None:
        # Task exceptions, workers' stderr and tracebacks: text from the user's code.
        self.failures.append((safe_text(title, one_line=True), safe_text(body)))
        del self.failures[:-MAX_FAILURES]

    # ------------------------------------------------------------ the results shown

    def _in_session(self, key: int | None) -> bool:
        """The scenario is part of the session in flight and has started."""
        return self.session is not None and key in self.plan_keys[: self.live.scenario + 1]

    def shown_result(self) -> tuple[ScenarioResult | None, dict[str, str] | None]:
        """The result on the Results tab, and the live status of its runs while it runs."""
        key = self.results_key
        if key is None:
            return None, None
        session = self.session
        if session is not None and self._in_session(key):
            index = self.plan_keys.index(key)
            if index == self.live.scenario:
                result = preview(session.report.scenarios[index], session.usable)
                status = {r.run_id: "queued" for r in result.runs if r.status == "not_run"}
                if self.live.current and self.live.current[0] == index:
                    status[self.live.current[1]] = "running"
                return part_of(result, self.part, self.machine), status
        return part_of(self.results.get(key), self.part, self.machine), None

    def machine_warnings_shown(self) -> list[Notice]:
        """The machine warnings that go with the results shown."""
        if self.session is not None and self._in_session(self.results_key):
            return list(self.session.report.warnings)
        return (
            self.machine_warnings.get(self.results_key, []) if self.results_key is not None else []
        )

    def warnings_text(self) -> tuple[str, str]:
        """Title and body of the full warnings of the results shown (w)."""
        result, _ = self.shown_result()
        known = self.results_key in self.machine_warnings or self.session is not None
        title = f"Warnings: {result.name}" if result else "Warnings"
        return title, warnings_body(result, self.machine_warnings_shown(), known)

    def cycle_results(self, step: int) -> bool:
        """Show the next (step 1) or previous (-1) scenario with results; False: none has."""
        if not self.results:
            return False
        self.results_key, self.part = axis_step(
            self.results, self.results_key, self.part, step, self.machine
        )
        return True

    def analysis(
        self, key: int, result: ScenarioResult, live: bool = False
    ) -> ScenarioAnalysis | None:
        """The engine's analysis of a result, recomputed only when its runs have changed.

        While a scenario runs, only its finished runs are analysed: the queued ones have not
        failed, they have not run yet. A failing analysis is recorded as a failure (d shows
        it) and gives None: derived text must never take the results away.
        """
        if live:
            result = copy.copy(result)
            result.runs = [r for r in result.runs if r.status != "not_run"]
        signature = tuple((r.run_id, r.status, r.summary.wall_seconds.median) for r in result.runs)
        cached = self._analyses.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        analysis: ScenarioAnalysis | None
        try:
            machine = Machine.from_report(self.machine).running(result, self.interpreters)
            analysis = analyse_scenario(result, machine)
        except Exception as exc:
            self.record_failure(
                f"{result.name}: the analysis failed", "".join(traceback.format_exception(exc))
            )
            analysis = None
        self._analyses[key] = (signature, analysis)
        return analysis

    def merged_claims(self) -> tuple[list[ClaimResult], int]:
        """The report's headline claims over every scenario with results, and how many."""
        analysed = [
            (part.name, a)
            for k, part in all_parts(self.results, self.machine)
            if (a := self.analysis(k, part)) is not None
        ]
        if len(analysed) > 1:
            return merge_claims([(name, a.claims) for name, a in analysed]), len(analysed)
        return [], len(analysed)

    def export_report(self) -> Report | None:
        """The latest result of every scenario that has run, as one report."""
        if self.viewing is not None:
            return self.viewing  # re-exported as it was read, in another format if asked
        keys = [i for i in range(len(self.scenarios)) if i in self.results]
        if not keys:
            return None
        warnings: list[Notice] = []
        for i in keys:  # each session's machine warnings, once
            warnings += [w for w in self.machine_warnings.get(i, []) if w not in warnings]
        return Report(
            machine=self.machine,
            scenarios=[self.results[i] for i in keys],
            command=["concurrency-lab", "(app)"],
            interrupted=any(i in self.interrupted for i in keys),
            warnings=warnings,
            interpreters=dict(self.interpreters),
        )
