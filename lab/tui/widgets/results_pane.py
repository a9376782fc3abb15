"""The Results tab: the results of one scenario as a grid, a chart or the verdicts (g, v)."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Label, Static

from lab.analysis.analyse import ScenarioAnalysis
from lab.analysis.claims import machine_notes
from lab.analysis.facts import Machine
from lab.results.model import ScenarioResult
from lab.results.notices import Notice
from lab.tui.analysis import analysis_view, scenario_notices, verdict_line, warnings_hint
from lab.tui.screens import DetailsScreen
from lab.tui.state import LabState, run_details
from lab.tui.widgets.chart import ChartView
from lab.tui.widgets.grid import ResultsGrid

COMPACT_BELOW = 120  # terminal columns: narrower, the grid starts with the compact set
LEGENDS = {  # the keys of each view
    "grid": "* best · s sort · enter details · f columns · [ ] scenario",
    "chart": "CAPITALS measured, lowercase fitted · [ ] other scenario",
    "verdicts": "↑↓ pgup pgdn scroll · v back · [ ] other scenario",
}


def legend(view: str, warnings: int | None) -> Text:
    """The keys of the view, after the warning count (None: no results shown)."""
    hint = warnings_hint(warnings)
    return Text.assemble(hint, " · " if hint else "", LEGENDS[view])


class AnalysisView(VerticalScroll):
    """The verdict, one line per model, the claims, the fits and the warnings; scrolls."""

    DEFAULT_CSS = "AnalysisView Static { width: 1fr; padding: 0 1; }"

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.body = Static(
            Text(
                "The verdict, a line per model, the claims and the scaling fits appear here "
                "once a scenario has run.",
                style="dim",
            ),
            id="analysis-body",
        )

    def compose(self) -> ComposeResult:
        yield self.body

    def show(self, renderable: RenderableType) -> None:
        self.body.update(renderable)


class ResultsPane(Vertical):
    """The title, the view (grid, chart or verdicts), the verdict strip and the legend.

    Shows `LabState.shown_result()`: the scenario `results_key` names, live while it runs.
    """

    def __init__(self, state: LabState) -> None:
        super().__init__()
        self.state = state
        self.title = Label("No results yet: run a scenario (r).", id="results-title")
        self.switcher = ContentSwitcher(initial="grid", id="results-switcher")
        self.grid = ResultsGrid(id="grid")
        self.chart = ChartView(id="chart")
        self.verdicts = AnalysisView(id="verdicts")
        self.verdict = Static(id="results-verdict")
        self.verdict.display = False  # until there are results
        self.legend = Label(legend("grid", None), id="results-legend")
        self._last_view = "grid"  # the view v goes back to
        self.all_columns: bool | None = None  # None: as many as the width holds (f toggles)
        self._chart_key: tuple[Any, ...] = ()

    def compose(self) -> ComposeResult:
        yield self.title
        with self.switcher:
            yield self.grid
            yield self.chart
            yield self.verdicts
        yield self.verdict
        yield self.legend

    @property
    def view(self) -> str:
        """grid, chart or verdicts."""
        return self.switcher.current or "grid"

    @property
    def view_widget(self) -> Widget:
        return {"grid": self.grid, "chart": self.chart, "verdicts": self.verdicts}[self.view]

    def toggle_chart(self) -> None:
        """g: the grid, or the chart."""
        self._set_view("chart" if self.view == "grid" else "grid")

    def toggle_columns(self) -> None:
        """f: the grid's compact column set, or all the report's columns."""
        self.all_columns = self.grid.compact
        self.refresh_results()

    def toggle_verdicts(self) -> None:
        """v: the verdicts, or back to the view before them."""
        self._set_view(self._last_view if self.view == "verdicts" else "verdicts")

    def _set_view(self, view: str) -> None:
        if view != "verdicts":
            self._last_view = view
        self.switcher.current = view
        self.refresh_results()

    def refresh_results(self) -> None:
        """Show the state's current result in the view on screen; cheap when nothing changed."""
        if not self.is_attached or not self.app.is_running:
            return  # the app is closing: nothing left to paint
        state = self.state
        result, live_status = state.shown_result()
        view = self.view
        self.verdict.display = view != "verdicts" and result is not None
        if result is None:
            self.legend.update(legend(view, None))
            return
        key = state.results_key
        assert key is not None
        note = ""
        if live_status:
            note = " (running)"
        elif key in state.interrupted:
            note = " (interrupted)"
        self.title.update(Text.assemble((result.name, "bold"), f"{note}: {result.title}"))
        # Below 120 columns the full set scrolls sideways and cuts cells mid-number.
        wide = self.app.size.width >= COMPACT_BELOW
        self.grid.compact = not (wide if self.all_columns is None else self.all_columns)
        self.grid.show(key, result, live_status)
        analysis = state.analysis(key, result, live=bool(live_status))
        notices = scenario_notices(result, state.machine_warnings_shown())
        self.verdict.update(verdict_line(analysis, running=bool(live_status)))
        self.legend.update(legend(view, len(notices)))
        if view == "chart":
            self._show_chart(key, result, analysis)
        elif view == "verdicts":
            self._show_verdicts(result, analysis, notices, bool(live_status))

    def _show_chart(
        self, key: int, result: ScenarioResult, analysis: ScenarioAnalysis | None
    ) -> None:
        signature = (
            key,
            tuple((r.run_id, r.status, r.summary.speedup) for r in result.runs),
            analysis is None,
        )
        if signature != self._chart_key:
            self._chart_key = signature
            self.chart.show(result, analysis)

    def _show_verdicts(
        self,
        result: ScenarioResult,
        analysis: ScenarioAnalysis | None,
        notices: list[Notice],
        running: bool,
    ) -> None:
        if analysis is None:
            self.verdicts.show(
                Text(f"The analysis of {result.name} failed: d shows why.", style="bold")
            )
            return
        merged, merged_from = self.state.merged_claims()
        self.verdicts.show(
            analysis_view(
                result,
                analysis,
                notices=notices,
                notes=machine_notes(Machine.from_report(self.state.machine)),
                merged=merged,
                merged_from=merged_from,
                running=running,
            )
        )

    @on(DataTable.CellSelected, "#grid")
    def _run_details(self, event: DataTable.CellSelected) -> None:
        result = self.grid.result
        if result is None:
            return
        run = result.run(str(event.cell_key.row_key.value))
        if run is not None:
            title = f"{result.name}: {run.run_id}"
            self.app.push_screen(DetailsScreen(title, run_details(result.name, run)))
