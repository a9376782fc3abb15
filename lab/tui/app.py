"""The Textual app: pick a scenario, adjust its knobs, watch the runs live, read the results.

The runs execute in runner processes driven by `lab.engine.session.LabSession`; the app consumes
the session's event stream in an async worker on its own loop and only renders. Progress is
folded into `LiveState` as it arrives and painted by a 10 Hz timer, so the app's work is
bounded by the screen, not by how fast runners report.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import signal
import traceback
from collections.abc import Iterable
from functools import partial
from importlib import metadata
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    ContentSwitcher,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    OptionList,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option
from textual.worker import Worker

from lab.analysis.analyse import ScenarioAnalysis, analyse_scenario
from lab.analysis.claims import ClaimResult, machine_notes, merge_claims
from lab.analysis.facts import Machine
from lab.engine.events import (
    Event,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
)
from lab.engine.plan import ScenarioPlan, plan_scenario
from lab.engine.session import LabSession
from lab.engine.system.machine import machine_facts
from lab.report.cells import run_cells, speedup_with_uncertainty
from lab.results.model import Report, RunResult, ScenarioResult
from lab.results.notices import Notice
from lab.scenario.loader import LoadedScenario
from lab.scenario.spec import Scenario
from lab.tui.analysis import (
    analysis_view,
    scenario_notices,
    verdict_line,
    warnings_body,
    warnings_hint,
)
from lab.tui.knobs import apply_knobs
from lab.tui.live import LiveState, RunKey
from lab.tui.results import preview
from lab.tui.screens import DetailsScreen, ExportScreen, HelpScreen
from lab.tui.widgets import (
    AnalysisView,
    CpuMeters,
    KnobsForm,
    ResultsGrid,
    RunRow,
    SpeedupChart,
    SystemPanel,
    scenario_text,
)

REFRESH_SECONDS = 0.1  # repaint live progress at most 10 times a second
TABS = ("scenarios", "run", "results", "system")
LEGENDS = {  # the keys of each view on the Results tab
    "grid": "* best · s sort · enter run details · [ ] other scenario",
    "chart": "CAPITALS measured, lowercase fitted · [ ] other scenario",
    "verdicts": "↑↓ pgup pgdn scroll · v back · [ ] other scenario",
}


def describe_loop() -> str:
    """The event loops in play: the app's own, and those the asyncio executors run on."""
    loop = asyncio.get_running_loop()
    app_loop = f"{type(loop).__module__}.{type(loop).__name__}"
    try:
        uvloop = f"uvloop {metadata.version('uvloop')}"
    except metadata.PackageNotFoundError:
        uvloop = "uvloop not installed"
    return f"this app: {app_loop}; runs: asyncio (stdlib loop), {uvloop}"


def run_details(scenario: str, run: RunResult) -> str:
    """Everything the report knows about one run, as plain text."""
    lines = [
        f"scenario   {scenario}",
        f"run        {run.run_id} ({run.executor}, {run.workers} workers)",
        f"status     {run.status}",
    ]
    if run.error:
        lines.append(f"error      {run.error.kind}: {run.error.message}")
    if run.params:
        lines.append(
            f"sweep      {run_cells(run)['params']}: a task-size sweep run; its speedup is "
            "against the serial run at this size"
        )
    if run.startup_seconds is not None:
        lines.append(f"start-up   {run.startup_seconds:.4f} s")
    if run.summary.get("speedup"):
        lines.append(f"speedup    {speedup_with_uncertainty(run)}")
        test = run.summary.get("versus_baseline") or {}
        if test.get("p_value") is not None:
            verdict = "significant" if test.get("significant") else "not significant"
            lines.append(
                f"           against serial: p = {test['p_value']:.2g} ({verdict}; "
                f"{test.get('method', 'Mann-Whitney U')}, {test.get('n_a')} and "
                f"{test.get('n_b')} repeats)"
            )
        if test and not test.get("can_be_significant", True):
            lines.append("           fewer than 4 repeats a side: no difference can be significant")
    for record in run.repeats:
        lines.append(
            f"repeat {record.index + 1:<3} {record.wall_seconds:.4f} s wall, "
            f"{record.cpu_seconds:.4f} s CPU, {record.tasks} tasks"
            + (f", errors {record.errors}" if record.errors else "")
        )
    for notice in run.summary.get("warnings") or []:
        lines += ["", f"⚠ {notice['message']}"]
    if run.error and run.error.detail:
        lines += ["", "detail (the runner's stderr or traceback):", run.error.detail.rstrip()]
    return "\n".join(lines)


class LabApp(App[int]):
    """concurrency-lab's terminal app."""

    TITLE = "concurrency-lab"
    SUB_TITLE = "asyncio, threads or processes?"
    CSS_PATH = "app.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run_selected", "Run"),
        Binding("a", "run_all", "Run all"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("x", "stop_all", "Stop all", show=False),
        Binding("e", "export", "Export"),
        Binding("g", "toggle_view", "Grid/Chart"),
        Binding("v", "toggle_verdicts", "Verdicts"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("d", "details", "Details", show=False),
        Binding("w", "warnings", "Warnings", show=False),
        Binding("left_square_bracket", "cycle_results(-1)", "Previous results", show=False),
        Binding("right_square_bracket", "cycle_results(1)", "Next results", show=False),
        *[Binding(str(i + 1), f"show_tab('{tab}')", tab, show=False) for i, tab in enumerate(TABS)],
    ]

    def __init__(
        self,
        scenarios: list[LoadedScenario],
        quick: bool = False,
        machine: dict[str, Any] | None = None,
        loop_name: str | None = None,
        selected: int = 0,
    ) -> None:
        super().__init__()
        self.scenarios = scenarios
        self.quick = quick
        self.machine = machine if machine is not None else machine_facts()
        self.loop_name = loop_name
        self.selected = selected if 0 <= selected < len(scenarios) else 0
        self.edited: dict[int, Scenario] = {}  # knob changes, validated
        self.form_errors: dict[int, dict[str, str]] = {}
        self.results: dict[int, ScenarioResult] = {}  # latest result per scenario index
        self.interrupted: set[int] = set()
        self.results_key: int | None = None  # the scenario whose results are shown
        self.failures: list[tuple[str, str]] = []  # (title, details), latest last
        # The machine's noise warnings, as the session that produced each result read them.
        self.machine_warnings: dict[int, list[Notice]] = {}
        self._analyses: dict[int, tuple[Any, ScenarioAnalysis | None]] = {}
        self._last_view = "grid"  # the view v goes back to
        # The session in flight.
        self.session: LabSession | None = None
        self.plan_keys: list[int] = []
        self.live = LiveState()
        self.rows: dict[RunKey, RunRow] = {}
        self._worker: Worker[None] | None = None
        self._shown_current: RunKey | None = None
        self._chart_key: tuple[Any, ...] = ()
        self._main: Screen[Any]
        self._status_text = ""

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="scenarios", id="tabs"):
            with TabPane("Scenarios", id="scenarios"), Horizontal():
                yield OptionList(
                    *[
                        Option(
                            s.name if s.source.startswith("builtin:") else f"{s.name} (file)",
                            id=str(i),
                        )
                        for i, s in enumerate(self.scenarios)
                    ],
                    id="scenario-list",
                )
                with VerticalScroll(id="scenario-detail", can_focus=False):
                    yield Static(id="scenario-info")
                    yield KnobsForm(id="knobs")
            with TabPane("Run", id="run"):
                yield Label("Nothing has run yet.", id="run-status")
                with VerticalScroll(id="run-list"):
                    yield Label(
                        "Pick a scenario on the Scenarios tab (1) and press r to run it, "
                        "or a to run them all.",
                        classes="placeholder",
                    )
                with Vertical(id="cpu-box"):
                    yield CpuMeters(id="cpu")
            with TabPane("Results", id="results"):
                yield Label("No results yet: run a scenario (r).", id="results-title")
                with ContentSwitcher(initial="grid", id="results-switcher"):
                    yield ResultsGrid(id="grid")
                    yield SpeedupChart(id="chart")
                    yield AnalysisView(id="verdicts")
                yield Static(id="results-verdict")
                yield Label(self._legend("grid", None), id="results-legend")
            with TabPane("System", id="system"), VerticalScroll(id="system-scroll"):
                yield SystemPanel(id="system-panel")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._main = self.screen  # the app's one screen; modals come and go above it
        if not self.is_headless and self.console.color_system in ("standard", "windows"):
            self.theme = "ansi-dark"  # 16 colours: use the terminal's own palette
        self._ticker = self.set_interval(REFRESH_SECONDS, self._paint, pause=True)
        if not self.is_headless:
            self._quit_on_signals()
        self._main.query_one("#cpu-box").border_title = "CPU per core"
        self._main.query_one("#results-verdict").display = False  # until there are results
        self._main.query_one(SystemPanel).show(self.machine, self.loop_name or describe_loop())
        if self.scenarios:
            self._main.query_one("#scenario-list", OptionList).highlighted = self.selected
            self._select(self.selected)
        self._main.query_one("#scenario-list").focus()

    # ------------------------------------------------------------ scenarios and knobs

    def _select(self, index: int) -> None:
        self.selected = index
        loaded = self.scenarios[index]
        self.form_errors.pop(index, None)
        self._main.query_one(KnobsForm).load(self.edited.get(index, loaded.scenario))
        self._show_info()
        if self.session is None and index in self.results:
            self.results_key = index
            self._show_results()

    def _show_info(self) -> None:
        loaded = self.scenarios[self.selected]
        scenario = self.edited.get(self.selected, loaded.scenario)
        self._main.query_one("#scenario-info", Static).update(
            scenario_text(loaded, scenario, self.quick)
        )

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "scenario-list" and event.option.id is not None:
            self._select(int(event.option.id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "scenario-list":
            self._main.query_one("#knob-executors").focus()

    def _validate_form(self) -> None:
        base = self.scenarios[self.selected].scenario
        scenario, errors = apply_knobs(base, self._main.query_one(KnobsForm).values())
        if scenario is not None:
            self.form_errors.pop(self.selected, None)
            if scenario == base:
                self.edited.pop(self.selected, None)
            else:
                self.edited[self.selected] = scenario
            self._show_info()
        else:
            self.form_errors[self.selected] = errors
        self._main.query_one(KnobsForm).show_errors(errors)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("knob-"):
            self._validate_form()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id and event.input.id.startswith("knob-"):
            self.screen.focus_next()

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        if event.selection_list.id == "knob-executors":
            self._validate_form()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "knob-reset":
            self.edited.pop(self.selected, None)
            self._select(self.selected)
            self.notify("knobs reset to the scenario file", timeout=2)

    # ------------------------------------------------------------ actions

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.is_finished

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.screen, ModalScreen) and action not in ("quit",):
            return False
        # Keys that cannot act now leave the footer, which must hold the rest at 80 columns.
        if action in ("run_selected", "run_all"):
            return not self.running
        if action in ("cancel_run", "stop_all"):
            return self.running
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        commands = [
            ("Run selected scenario", "run the highlighted scenario (r)", "run_selected"),
            ("Run all scenarios", "run every scenario in the list (a)", "run_all"),
            ("Cancel run", "stop the run in flight; the session goes on (c)", "cancel_run"),
            ("Stop all", "stop the whole session (x)", "stop_all"),
            ("Export report", "write the latest results as json, md or csv (e)", "export"),
            ("Switch grid/chart", "results as a grid or a speedup chart (g)", "toggle_view"),
            (
                "Show verdicts and claims",
                "why each model did as it did, the claims, the scaling fits (v)",
                "toggle_verdicts",
            ),
            ("Read warnings", "the noise warnings of the results shown (w)", "warnings"),
            ("Failure details", "details of the latest failure (d)", "details"),
            ("Help", "keys and views (?)", "help"),
        ]
        for title, help_text, action in commands:
            yield SystemCommand(title, help_text, partial(self.run_action, action))
        for tab in TABS:
            yield SystemCommand(
                f"Show {tab}", f"go to the {tab} tab", partial(self.action_show_tab, tab)
            )
        yield from super().get_system_commands(screen)

    async def action_run_selected(self) -> None:
        await self._start([self.selected])

    async def action_run_all(self) -> None:
        await self._start(list(range(len(self.scenarios))))

    def action_cancel_run(self) -> None:
        if self.session is None or self.live.current is None:
            self.notify("no run in flight", timeout=2)
            return
        self.session.cancel_run()
        self.notify(f"cancelling {self.live.current[1]}…", timeout=2)

    async def action_stop_all(self) -> None:
        if not self.running:
            self.notify("nothing is running", timeout=2)
            return
        await self.stop_session()
        self.notify("session stopped: completed runs are kept", severity="warning")

    async def action_quit(self) -> None:
        await self.stop_session()
        self.exit(0)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_show_tab(self, tab: str) -> None:
        self._main.query_one(TabbedContent).active = tab
        focus = {
            "scenarios": "#scenario-list",
            "run": "#run-list",
            "results": f"#{self._view}",
            "system": "#system-scroll",
        }[tab]
        with contextlib.suppress(Exception):
            self._main.query_one(focus).focus()

    @property
    def _view(self) -> str:
        """The Results tab's view: grid, chart or verdicts."""
        return self._main.query_one("#results-switcher", ContentSwitcher).current or "grid"

    def _set_view(self, view: str) -> None:
        if view != "verdicts":
            self._last_view = view
        self._main.query_one("#results-switcher", ContentSwitcher).current = view
        self.action_show_tab("results")
        self._show_results()

    def action_toggle_view(self) -> None:
        self._set_view("chart" if self._view == "grid" else "grid")

    def action_toggle_verdicts(self) -> None:
        self._set_view(self._last_view if self._view == "verdicts" else "verdicts")

    def action_warnings(self) -> None:
        result, _ = self._shown_result()
        known = self.results_key in self.machine_warnings or self.session is not None
        title = f"Warnings: {result.name}" if result else "Warnings"
        body = warnings_body(result, self._machine_warnings_shown(), known)
        self.push_screen(DetailsScreen(title, body))

    def action_cycle_results(self, step: int) -> None:
        keys = sorted(self.results)
        if not keys:
            self.notify("no results yet", timeout=2)
            return
        if self.results_key in keys:
            position = (keys.index(self.results_key) + step) % len(keys)
        else:
            position = 0
        self.results_key = keys[position]
        self._show_results()

    def action_details(self) -> None:
        if not self.failures:
            self.notify("no failures so far", timeout=2)
            return
        title, body = self.failures[-1]
        self.push_screen(DetailsScreen(title, body))

    def action_export(self) -> None:
        report = self.export_report()
        if report is None:
            self.notify("nothing to export yet: run a scenario first", severity="warning")
            return

        def done(written: str | None) -> None:
            if written:
                self.notify(f"report written to {written}")

        self.push_screen(ExportScreen(report), done)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        grid = self._main.query_one(ResultsGrid)
        if event.data_table is not grid or grid.result is None:
            return
        run = grid.result.run(str(event.cell_key.row_key.value))
        if run is not None:
            title = f"{grid.result.name}: {run.run_id}"
            self.push_screen(DetailsScreen(title, run_details(grid.result.name, run)))

    # ------------------------------------------------------------ sessions

    async def _start(self, indices: list[int]) -> None:
        if self.running:
            self.notify("a session is running: c cancels a run, x stops all", severity="warning")
            return
        if not self.scenarios:
            return
        if self.selected in indices and self.form_errors.get(self.selected):
            self.notify("fix the knobs marked ✗ first", severity="error")
            self.action_show_tab("scenarios")
            return
        plans = [
            plan_scenario(
                LoadedScenario(s.name, s.source, self.edited.get(i, s.scenario)), self.quick
            )
            for i, s in ((i, self.scenarios[i]) for i in indices)
        ]
        if not any(plan.runs for plan in plans):
            self.notify("nothing to run: no executor can run here", severity="warning")
            return
        self.plan_keys = indices
        self.live = LiveState.for_plans(plans)
        self._shown_current = None
        await self._build_rows(plans)
        self._main.query_one(CpuMeters).set_sample(())
        self.action_show_tab("run")
        self._worker = self._session(plans)
        self.refresh_bindings()

    async def _build_rows(self, plans: list[ScenarioPlan]) -> None:
        run_list = self._main.query_one("#run-list", VerticalScroll)
        await run_list.remove_children()
        widgets: list[Label | RunRow] = []
        self.rows = {}
        for index, plan in enumerate(plans):
            widgets.append(Label(f"{plan.name}: {plan.scenario.title}", classes="run-heading"))
            for name, reason in plan.skipped.items():
                widgets.append(Label(f"  {name} skipped: {reason}", classes="placeholder"))
            for position, run_plan in enumerate(plan.runs):
                key = (index, run_plan.run_id)
                # Sweep run ids hold '@' and '=', which widget ids may not.
                row = RunRow(self.live.runs[key], f"run-{index}-{position}")
                self.rows[key] = row
                widgets.append(row)
        await run_list.mount_all(widgets)

    @work(exclusive=True, group="session", exit_on_error=False)
    async def _session(self, plans: list[ScenarioPlan]) -> None:
        session = LabSession(plans, command=["concurrency-lab", "(app)"])
        self.session = session
        self.machine = session.report.machine
        self._ticker.resume()
        completed = False
        try:
            async with contextlib.aclosing(session.events()) as events:
                async for event in events:
                    self._handle(event)
            completed = True
        except Exception as exc:  # an engine fault must never take the app down
            # aclose() reached only the outer generator; the runner's own cleanup would wait
            # for garbage collection, so kill its process group now.
            session.cancel_run()
            self._record_failure(
                "The session stopped on an error",
                "".join(traceback.format_exception(exc)),
            )
            self.notify(f"the session stopped: {exc} (d for details)", severity="error", timeout=10)
        finally:
            self._ticker.pause()
            self._end_session(session, completed)

    def _handle(self, event: Event) -> None:
        self.live.apply(event)
        if isinstance(event, ScenarioStarted):
            self.results_key = self.plan_keys[self.live.scenario]
            if self.session is not None:  # read before the first run
                self._show_machine_warnings(self.session.report.warnings)
            self._show_results()
        elif isinstance(event, RunStarted):
            self._show_results()
        elif isinstance(event, RunFinished):
            self._show_results()
            run = event.result
            if run.status in ("failed", "timeout"):
                message = run.error.message if run.error else run.status
                self._record_failure(
                    f"{event.scenario}: {run.run_id} {run.status}",
                    run_details(event.scenario, run),
                )
                self.notify(
                    f"{event.scenario} {run.run_id} {run.status}: {message} (d for details)",
                    severity="error",
                    timeout=8,
                )
        elif isinstance(event, ScenarioFinished):
            key = self.plan_keys[self.live.scenario]
            self.results[key] = event.result
            if self.session is not None:
                self.machine_warnings[key] = list(self.session.report.warnings)
            self.interrupted.discard(key)
            self._show_results()
            if event.result.error:
                self._record_failure(f"{event.scenario}: scenario failed", event.result.error)
                self.notify(
                    f"{event.scenario} failed: {event.result.error} (d for details)",
                    severity="error",
                    timeout=8,
                )

    def _end_session(self, session: LabSession, completed: bool) -> None:
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
        if not self._ui_alive:
            return  # the app is closing: nothing left to paint
        self._paint()
        self._show_results()
        runs = [r for s in session.report.scenarios for r in s.runs]
        ok = sum(r.status == "ok" for r in runs)
        bad = sum(r.status in ("failed", "timeout") for r in runs)
        if completed:
            self.notify(
                f"finished: {ok} of {len(runs)} runs ok"
                + (f", {bad} failed (d for details)" if bad else ""),
                severity="error" if bad else "information",
            )
            if self._main.query_one(TabbedContent).active == "run":
                self.action_show_tab("results")
        self.sub_title = "asyncio, threads or processes?"
        self.refresh_bindings()

    async def stop_session(self) -> None:
        """Stop the session in flight; returns once its runner has been killed and reaped."""
        worker = self._worker
        if worker is None or not worker.is_running:
            return
        worker.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(worker.wait(), 15)
        if self.session is not None:  # the worker never reached its cleanup
            self.session.cancel_run()

    def _quit_on_signals(self) -> None:
        """Stop the runner when the app is told to go; runners live in their own session.

        SIGTERM quits cleanly (the terminal is still there to restore). SIGHUP means the
        terminal or the SSH session is gone: nothing can be drawn or restored, and writes to
        it can block, so the handler kills the runner's process group and exits at once.
        """
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError, AttributeError):
            loop.add_signal_handler(signal.SIGTERM, self.call_later, self.action_quit)
        with contextlib.suppress(ValueError, AttributeError, OSError):
            signal.signal(signal.SIGHUP, self._hang_up)

    def _hang_up(self, signum: int, frame: object) -> None:
        if self.session is not None:
            self.session.cancel_run()  # SIGKILLs the runner's process group
        os._exit(128 + signum)

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.cancel_run()  # last resort: kill the runner's process group

    def _record_failure(self, title: str, body: str) -> None:
        self.failures.append((title, body))
        del self.failures[:-50]

    # ------------------------------------------------------------ painting

    @property
    def _ui_alive(self) -> bool:
        return self.is_running and self._main.is_attached

    def _paint(self) -> None:
        """Apply the coalesced live state to the widgets (the 10 Hz timer)."""
        if not self._ui_alive:
            return
        live = self.live
        current = live.current
        with self.batch_update():
            for run in live.take_dirty():
                row = self.rows.get(run.key)
                if row is not None:
                    row.paint(current == run.key)
            if current != self._shown_current:
                self._shown_current = current
                row = self.rows.get(current) if current else None
                if row is not None:
                    self._main.query_one("#run-list", VerticalScroll).scroll_to_widget(
                        row, animate=False
                    )
            if live.cpu_dirty:
                live.cpu_dirty = False
                self._main.query_one(CpuMeters).set_sample(live.cpu)
                average = sum(live.cpu) / max(1, len(live.cpu))
                title = f"CPU per core · average {average:.0f}% of {len(live.cpu)}"
                box = self._main.query_one("#cpu-box")
                if box.border_title != title:
                    box.border_title = title
            self._paint_status()

    def _paint_status(self) -> None:
        live = self.live
        position = f"run {min(live.runs_done + 1, live.total)} of {live.total}"
        if live.current is not None:
            name = self.scenarios[self.plan_keys[live.current[0]]].name
            text = f"{position} · {name}: {live.current[1]} · c cancels it, x stops all"
            self.sub_title = f"running {name}: {live.current[1]}"
        elif self.session is not None:
            text = f"{position} · preparing…"
        else:
            done = sum(r.state == "ok" for r in live.runs.values())
            text = f"Session over: {done} of {live.total} runs ok." if live.total else ""
        if text != self._status_text:
            self._status_text = text
            self._main.query_one("#run-status", Label).update(text, layout=False)

    def _shown_result(self) -> tuple[ScenarioResult | None, dict[str, str] | None]:
        key = self.results_key
        if key is None:
            return None, None
        session = self.session
        if session is not None and key in self.plan_keys[: self.live.scenario + 1]:
            index = self.plan_keys.index(key)
            if index == self.live.scenario:
                result = preview(session.report.scenarios[index], session.usable)
                status = {r.run_id: "queued" for r in result.runs if r.status == "not_run"}
                if self.live.current and self.live.current[0] == index:
                    status[self.live.current[1]] = "running"
                return result, status
        return self.results.get(key), None

    def _show_results(self) -> None:
        if not self._ui_alive:
            return
        result, live_status = self._shown_result()
        title = self._main.query_one("#results-title", Label)
        grid = self._main.query_one(ResultsGrid)
        view = self._view
        strip = self._main.query_one("#results-verdict", Static)
        strip.display = view != "verdicts" and result is not None
        legend = self._main.query_one("#results-legend", Label)
        if result is None:
            legend.update(self._legend(view, None))
            return
        assert self.results_key is not None
        note = ""
        if live_status:
            note = " (running)"
        elif self.results_key in self.interrupted:
            note = " (interrupted)"
        title.update(Text.assemble((result.name, "bold"), f"{note}: {result.title}"))
        grid.show(self.results_key, result, live_status)
        analysis = self._analysis(self.results_key, result, live=bool(live_status))
        notices = scenario_notices(result, self._machine_warnings_shown())
        strip.update(verdict_line(analysis, running=bool(live_status)))
        legend.update(self._legend(view, len(notices)))
        if view == "chart":
            self._show_chart(result, analysis)
        elif view == "verdicts":
            self._show_verdicts(result, analysis, notices, bool(live_status))

    @staticmethod
    def _legend(view: str, warnings: int | None) -> Text:
        """The keys of the view, after the warning count (None: no results shown)."""
        hint = warnings_hint(warnings)
        return Text.assemble(hint, " · " if hint else "", LEGENDS[view])

    def _analysis(
        self, key: int, result: ScenarioResult, live: bool = False
    ) -> ScenarioAnalysis | None:
        """The engine's analysis of a result, recomputed only when its runs have changed.

        While a scenario runs, only its finished runs are analysed: the queued ones have not
        failed, they have not run yet.
        """
        if live:
            result = copy.copy(result)
            result.runs = [r for r in result.runs if r.status != "not_run"]
        signature = tuple(
            (r.run_id, r.status, (r.summary.get("wall_seconds") or {}).get("median"))
            for r in result.runs
        )
        cached = self._analyses.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        analysis: ScenarioAnalysis | None
        try:
            analysis = analyse_scenario(result, self.machine)
        except Exception as exc:  # derived text: a bug here must never take the results away
            self._record_failure(
                f"{result.name}: the analysis failed", "".join(traceback.format_exception(exc))
            )
            analysis = None
        self._analyses[key] = (signature, analysis)
        return analysis

    def _machine_warnings_shown(self) -> list[Notice]:
        """The machine warnings that go with the results shown."""
        session = self.session
        if session is not None and self.results_key in self.plan_keys[: self.live.scenario + 1]:
            return list(session.report.warnings)
        return (
            self.machine_warnings.get(self.results_key, []) if self.results_key is not None else []
        )

    def _show_machine_warnings(self, warnings: list[Notice]) -> None:
        self._main.query_one(SystemPanel).show(
            self.machine, self.loop_name or describe_loop(), warnings
        )

    def _show_chart(self, result: ScenarioResult, analysis: ScenarioAnalysis | None) -> None:
        chart = self._main.query_one(SpeedupChart)
        signature = (
            self.results_key,
            tuple((r.run_id, r.status, r.summary.get("speedup")) for r in result.runs),
            analysis is None,
        )
        if signature != self._chart_key:
            self._chart_key = signature
            chart.show(result, analysis)

    def _show_verdicts(
        self,
        result: ScenarioResult,
        analysis: ScenarioAnalysis | None,
        notices: list[Notice],
        running: bool,
    ) -> None:
        view = self._main.query_one(AnalysisView)
        if analysis is None:
            view.show(Text(f"The analysis of {result.name} failed: d shows why.", style="bold"))
            return
        analysed = [
            (self.results[k].name, a)
            for k in sorted(self.results)
            if (a := self._analysis(k, self.results[k])) is not None
        ]
        merged: list[ClaimResult] = []
        if len(analysed) > 1:  # the report's headline table, over every scenario with results
            merged = merge_claims([(name, a.claims) for name, a in analysed])
        view.show(
            analysis_view(
                result,
                analysis,
                notices=notices,
                notes=machine_notes(Machine.from_report(self.machine)),
                merged=merged,
                merged_from=len(analysed),
                running=running,
            )
        )

    # ------------------------------------------------------------ export

    def export_report(self) -> Report | None:
        """The latest result of every scenario that has run, as one report."""
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
        )


def run_app(scenarios: list[LoadedScenario], quick: bool = False, selected: int = 0) -> int:
    """Open the app; returns its exit code."""
    result = LabApp(scenarios, quick=quick, selected=selected).run()
    return int(result or 0)
