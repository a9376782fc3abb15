"""The Textual app: pick a scenario, adjust its knobs, watch the runs live, read the results.

The app composes the tabs' panes and binds the keys; what it knows is `lab.tui.state.LabState`.
Runs execute in runner processes driven by `lab.engine.session.LabSession`, whose events an
async worker folds into the state as they arrive; a 4 Hz timer paints the live progress, so
the app's work is bounded by the screen, not by how fast runners report.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import traceback
from collections.abc import Iterable
from functools import partial
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane
from textual.worker import Worker

from lab.core.stopping import exit_status
from lab.core.textsafe import safe_text
from lab.engine.events import Event, RunFinished, RunStarted, ScenarioFinished, ScenarioStarted
from lab.engine.plan import ScenarioPlan, sweep_confirmation
from lab.engine.session import LabSession
from lab.engine.system.limits import plan_problems
from lab.engine.system.machine import machine_facts
from lab.results.machine import MachineFacts
from lab.results.model import Report
from lab.scenario.loader import LoadedScenario
from lab.tui.linefilter import SafeTerminalApp
from lab.tui.screens import COMMANDS, ConfirmScreen, DetailsScreen, ExportScreen, HelpScreen
from lab.tui.state import LabState
from lab.tui.widgets import ResultsPane, RunPane, ScenariosPane, SystemPane

REFRESH_SECONDS = 0.25  # repaint live progress 4 times a second: what a person can read
TABS = ("scenarios", "run", "results", "system")
# The events that change the results shown; progress and CPU samples only move the Run tab.
RESULT_EVENTS = (ScenarioStarted, RunStarted, RunFinished, ScenarioFinished)


def show_live_subtitle(app: App[Any], screen: Screen[Any], subtitle: str) -> None:
    """Name the run in flight in the header of `screen`, repainting its title line alone.

    Setting `App.sub_title` repaints every cell of the screen (an App reactive refreshes the
    whole screen), and in rounds the run in flight changes several times a second.
    """
    if subtitle == app.sub_title:
        return
    try:
        header = screen.query_one(Header)
        title = header.query_one("HeaderTitle", Static)
    except NoMatches:  # no header to repaint on its own: let Textual do it all
        app.sub_title = subtitle
        return
    app.set_reactive(App.sub_title, subtitle)  # its watchers would refresh the screen
    title.update(header.format_title(), layout=False)  # the title keeps its width


class LabApp(SafeTerminalApp):
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
        Binding("f", "toggle_columns", "All columns", show=False),
        Binding("left_square_bracket", "cycle_results(-1)", "Previous results", show=False),
        Binding("right_square_bracket", "cycle_results(1)", "Next results", show=False),
        *[Binding(str(i + 1), f"show_tab('{tab}')", tab, show=False) for i, tab in enumerate(TABS)],
    ]

    def __init__(
        self,
        scenarios: list[LoadedScenario],
        quick: bool = False,
        machine: MachineFacts | None = None,
        loop_name: str | None = None,
        selected: int = 0,
        report: Report | None = None,
        report_name: str = "",
    ) -> None:
        super().__init__()
        if report is not None:  # `concurrency-lab view`: a saved report, nothing to run
            self.state = LabState.for_report(report)
            self.sub_title = safe_text(
                f"viewing {report_name or 'a saved report'} (read-only)", one_line=True
            )
        else:
            machine = machine if machine is not None else machine_facts()
            self.state = LabState(scenarios, machine, quick=quick, selected=selected)
        self.loop_name = loop_name
        self._worker: Worker[None] | None = None
        self._main: Screen[Any]
        self.tabs: TabbedContent
        self.scenarios_pane: ScenariosPane
        self.run_pane: RunPane
        self.results_pane: ResultsPane
        self.system_pane: SystemPane

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        self.tabs = TabbedContent(initial="scenarios", id="tabs")
        self.scenarios_pane = ScenariosPane(self.state)
        self.run_pane = RunPane(self.state)
        self.results_pane = ResultsPane(self.state)
        self.system_pane = SystemPane(self.loop_name)
        if self.viewing:
            self.tabs = TabbedContent(initial="results", id="tabs")
        with self.tabs:
            if not self.viewing:
                with TabPane("Scenarios", id="scenarios"):
                    yield self.scenarios_pane
                with TabPane("Run", id="run"):
                    yield self.run_pane
            with TabPane("Results", id="results"):
                yield self.results_pane
            with TabPane("System", id="system"):
                yield self.system_pane
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._main = self.screen  # the app's one screen; modals come and go above it
        if not self.is_headless and self.console.color_system in ("standard", "windows"):
            self.theme = "ansi-dark"  # 16 colours: use the terminal's own palette
        self._ticker = self.set_interval(REFRESH_SECONDS, self._paint, pause=True)
        if not self.is_headless:
            self._quit_on_signals()
        self.system_pane.show(self.state.machine, self.state.machine_warnings.get(0))
        if self.viewing:
            self.results_pane.refresh_results()
            self.results_pane.view_widget.focus()
        else:
            self.scenarios_pane.scenario_list.focus()

    @on(ScenariosPane.Selected)
    def _scenario_selected(self, event: ScenariosPane.Selected) -> None:
        if event.show_results:
            self.results_pane.refresh_results()

    # ------------------------------------------------------------ actions

    @property
    def viewing(self) -> bool:
        """Showing a saved report: nothing can run, there are no scenarios to edit."""
        return self.state.viewing is not None

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.is_finished

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.screen, ModalScreen) and action not in ("quit",):
            return False
        return self._allowed(action, parameters)

    def _allowed(self, action: str, parameters: tuple[object, ...]) -> bool:
        """Whether an action can act now, whatever screen is on top (the palette asks too)."""
        if self.viewing and (
            action in ("run_selected", "run_all", "cancel_run", "stop_all")
            or (action == "show_tab" and parameters[:1] in (("scenarios",), ("run",)))
        ):
            return False
        # Keys that cannot act now leave the footer, which must hold the rest at 80 columns.
        if action in ("run_selected", "run_all"):
            return not self.running
        if action in ("cancel_run", "stop_all"):
            return self.running
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for title, help_text, action in COMMANDS:
            if self._allowed(action, ()):  # "Cancel run" only while a run is running
                yield SystemCommand(title, help_text, partial(self.run_action, action))
        for tab in TABS:
            if not self._allowed("show_tab", (tab,)):
                continue
            yield SystemCommand(
                f"Show {tab}", f"go to the {tab} tab", partial(self.action_show_tab, tab)
            )
        yield from super().get_system_commands(screen)

    async def action_run_selected(self) -> None:
        await self._start([self.state.selected])

    async def action_run_all(self) -> None:
        await self._start(list(range(len(self.state.scenarios))))

    def action_cancel_run(self) -> None:
        session, current = self.state.session, self.state.live.current
        if session is None or current is None:
            self.notify("no run in flight", timeout=2)
            return
        session.cancel_run()
        self.notify(f"cancelling {current[1]}…", timeout=2)

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
        self.tabs.active = tab
        focus = {
            "scenarios": self.scenarios_pane.scenario_list,
            "run": self.run_pane.run_list,
            "results": self.results_pane.view_widget,
            "system": self.system_pane,
        }[tab]
        with contextlib.suppress(Exception):
            focus.focus()

    def action_toggle_view(self) -> None:
        self.results_pane.toggle_chart()
        self.action_show_tab("results")

    def action_toggle_columns(self) -> None:
        self.results_pane.toggle_columns()
        self.results_pane.switcher.current = "grid"
        self.action_show_tab("results")
        shown = "compact columns" if self.results_pane.grid.compact else "all columns"
        self.notify(f"results grid: {shown} (f toggles)", timeout=2)

    def action_toggle_verdicts(self) -> None:
        self.results_pane.toggle_verdicts()
        self.action_show_tab("results")

    def action_warnings(self) -> None:
        self.push_screen(DetailsScreen(*self.state.warnings_text()))

    def action_cycle_results(self, step: int) -> None:
        if not self.state.cycle_results(step):
            self.notify("no results yet", timeout=2)
            return
        if len(self.state.results) == 1:
            where = "this report holds" if self.viewing else "so far"
            self.notify(f"{where} one scenario's results: nothing else to show", timeout=3)
        self.results_pane.refresh_results()

    def action_details(self) -> None:
        if not self.state.failures:
            self.notify("no failures so far", timeout=2)
            return
        title, body = self.state.failures[-1]
        self.push_screen(DetailsScreen(title, body))

    def action_export(self) -> None:
        report = self.state.export_report()
        if report is None:
            self.notify("nothing to export yet: run a scenario first", severity="warning")
            return

        def done(written: str | None) -> None:
            if written:
                self.notify(f"report written to {written}")

        self.push_screen(ExportScreen(report), done)

    # ------------------------------------------------------------ sessions

    async def _start(self, indices: list[int]) -> None:
        if self.running:
            self.notify("a session is running: c cancels a run, x stops all", severity="warning")
            return
        if not self.state.scenarios:
            return
        if self.state.knobs_invalid(indices):
            self.notify("fix the knobs marked ✗ first", severity="error")
            self.action_show_tab("scenarios")
            return
        plans = self.state.plan(indices)
        if plans is None:
            self.notify("nothing to run: no executor can run here", severity="warning")
            return
        too_big = plan_problems(plans)  # memory and open files, as headless checks them
        if too_big:
            self.notify(f"nothing ran: {too_big[0]}", severity="error", timeout=12)
            return
        big_sweep = sweep_confirmation(plans)  # headless asks for --yes instead

        async def go(confirmed: bool | None = True) -> None:
            if confirmed:
                await self.run_pane.build_rows(plans)
                self.action_show_tab("run")
                self._worker = self._session(plans)
                self.refresh_bindings()

        if big_sweep:
            self.push_screen(ConfirmScreen(big_sweep.rsplit("\n", 1)[0]), go)
        else:
            await go()

    @work(exclusive=True, group="session", exit_on_error=False)
    async def _session(self, plans: list[ScenarioPlan]) -> None:
        session = LabSession(plans, command=["concurrency-lab", "(app)"])
        self.state.session = session
        self.state.machine = session.report.machine
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
            self.state.record_failure(
                "The session stopped on an error",
                "".join(traceback.format_exception(exc)),
            )
            self.notify(f"the session stopped: {exc} (d for details)", severity="error", timeout=10)
        finally:
            self._ticker.pause()
            self._end_session(session, completed)

    def _handle(self, event: Event) -> None:
        failure = self.state.apply(event)
        if isinstance(event, ScenarioStarted) and self.state.session is not None:
            # The session read the machine's warnings before its first run.
            self.system_pane.show(self.state.machine, self.state.session.report.warnings)
        if isinstance(event, RESULT_EVENTS):
            self.results_pane.refresh_results()
        if failure:
            self.notify(failure, severity="error", timeout=8)

    def _end_session(self, session: LabSession, completed: bool) -> None:
        summary, failed = self.state.end_session(session, completed)
        if not self._ui_alive:
            return  # the app is closing: nothing left to paint
        self._paint()
        self.results_pane.refresh_results()
        # The session's warnings as they ended: app_cpu comes during the runs, not before.
        self.system_pane.show(self.state.machine, session.report.warnings)
        if completed:
            self.notify(summary, severity="error" if failed else "information")
            if self.tabs.active == "run":
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
        if self.state.session is not None:  # the worker never reached its cleanup
            self.state.session.cancel_run()

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
        if self.state.session is not None:
            self.state.session.cancel_run()  # SIGKILLs the runner's process group
        os._exit(exit_status(signum))

    def on_unmount(self) -> None:
        if self.state.session is not None:
            self.state.session.cancel_run()  # last resort: kill the runner's process group

    # ------------------------------------------------------------ painting

    @property
    def _ui_alive(self) -> bool:
        return self.is_running and self._main.is_attached

    def _paint(self) -> None:
        """Apply the coalesced live state to the Run tab (the 4 Hz timer)."""
        if not self._ui_alive:
            return
        status, subtitle = self.state.status_line()
        with self.batch_update():
            self.run_pane.paint(status)
            if subtitle is not None:
                show_live_subtitle(self, self._main, subtitle)
