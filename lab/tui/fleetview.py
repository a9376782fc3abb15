"""`concurrency-lab view fleet.json`: a fleet report, read-only. The hosts (machine facts and
how each session ended) and, per scenario, each host's best configuration per model with the
winning host; `[` and `]` step through the scenarios. Nothing runs."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from lab.analysis.fleet import ScenarioAcrossHosts, compare_hosts
from lab.core.textsafe import safe_text
from lab.report.fleetcells import fleet_summary, host_rows, model_rows, winners_sentence
from lab.results.fleet import FleetReport
from lab.tui.linefilter import SafeTerminalApp


def _fill(table: DataTable[Text], rows: list[list[str]]) -> None:
    table.clear(columns=True)
    # Text, not str: a table reads a str cell as markup, and host names come from peers.
    table.add_columns(*(Text(safe_text(c, one_line=True)) for c in rows[0]))
    for row in rows[1:]:
        table.add_row(*(Text(safe_text(c, one_line=True)) for c in row))


class FleetViewApp(SafeTerminalApp):
    TITLE = "concurrency-lab"
    CSS = """
    #summary, #problems, #scenario-title, #winners { padding: 0 1; }
    #problems { color: $warning; }
    #scenario-title { text-style: bold; margin-top: 1; }
    DataTable { height: auto; max-height: 12; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "scenario(-1)", "previous scenario"),
        Binding("right_square_bracket", "scenario(1)", "next scenario"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, fleet: FleetReport, name: str) -> None:
        super().__init__()
        self.fleet = fleet
        self.scenarios: list[ScenarioAcrossHosts] = compare_hosts(fleet)
        self.index = 0
        self.sub_title = safe_text(f"viewing fleet {name} (read-only)", one_line=True)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with VerticalScroll():
            yield Static(
                safe_text(fleet_summary(self.fleet), one_line=True), id="summary", markup=False
            )
            yield DataTable(id="hosts", zebra_stripes=True, cursor_type="row")
            # A host that gave no report, in words: its table row scrolls off at 80 columns.
            yield Static(id="problems", markup=False)
            yield Static(id="scenario-title", markup=False)
            yield DataTable(id="models", zebra_stripes=True, cursor_type="row")
            yield Static(id="winners", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        _fill(self.query_one("#hosts", DataTable), host_rows(self.fleet))
        problems = [f"{h.name} {h.status}: {h.message}" for h in self.fleet.hosts if h.message]
        self.query_one("#problems", Static).update(safe_text("\n".join(problems)))
        self.query_one("#problems", Static).display = bool(problems)
        self.show_scenario()

    def show_scenario(self) -> None:
        title = self.query_one("#scenario-title", Static)
        models = self.query_one("#models", DataTable)
        winners = self.query_one("#winners", Static)
        if not self.scenarios:
            title.update("No host gave a report: nothing to compare.")
            models.display = False
            winners.update("")
            return
        scenario = self.scenarios[self.index]
        position = f"[{self.index + 1}/{len(self.scenarios)}]"
        title.update(
            safe_text(f"{position} {scenario.title} ({scenario.scenario})", one_line=True),
        )
        _fill(models, model_rows(scenario))
        winners.update(safe_text(winners_sentence(scenario), one_line=True))

    def action_scenario(self, step: int) -> None:
        if self.scenarios:
            self.index = (self.index + step) % len(self.scenarios)
            self.show_scenario()


def view_fleet(fleet: FleetReport, name: str) -> int:
    """Open a fleet report read-only; returns the exit code."""
    return int(FleetViewApp(fleet, name).run() or 0)
