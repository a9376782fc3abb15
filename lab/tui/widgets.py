"""The app's widgets: run rows, CPU meters, the results grid, the speedup chart, panels."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, SelectionList, Static
from textual_plotext import PlotextPlot

from lab.analysis.analyse import ScenarioAnalysis
from lab.core.units import format_bytes
from lab.engine.plan import plan_scenario
from lab.results.model import ScenarioResult
from lab.results.notices import Notice
from lab.scenario.loader import LoadedScenario
from lab.scenario.spec import EXECUTOR_NAMES, Scenario
from lab.tui.knobs import KnobValues, field_help, size_fields, values_of
from lab.tui.live import RunState, describe
from lab.tui.results import (
    BEST_MARK,
    CellValue,
    chart_lines,
    columns_for,
    grid_cells,
    speedup_series,
)

# One letter per executor: the chart's markers, readable without colour.
MARKERS = {"serial": "s", "asyncio": "a", "uvloop": "u", "threads": "t", "processes": "p"}
COLOURS = {
    "serial": "white",
    "asyncio": "cyan",
    "uvloop": "blue",
    "threads": "yellow",
    "processes": "green",
}


# ---------------------------------------------------------------- scenarios


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def scenario_text(loaded: LoadedScenario, scenario: Scenario, quick: bool) -> Text:
    """Title, description, every parameter, and what the next run will execute."""
    text = Text()
    text.append(scenario.title + "\n", style="bold")
    source = "built-in" if loaded.source.startswith("builtin:") else loaded.source
    text.append(f"{loaded.name} · {source}\n", style="dim")
    if scenario.description.strip():
        text.append("\n" + " ".join(scenario.description.split()) + "\n")
    text.append("\n")
    workload = scenario.workload.model_dump(mode="json", exclude_none=True)
    params = ", ".join(f"{k}={_plain(v)}" for k, v in workload.items())
    text.append("workload  ", style="bold")
    text.append(params + "\n")
    text.append("settings  ", style="bold")
    text.append(
        f"repeats={scenario.repeats}, warmups={scenario.warmups}, timeout={scenario.timeout:g}s,"
        f" start method {scenario.resolved_start_method()}\n"
    )
    plan = plan_scenario(LoadedScenario(loaded.name, loaded.source, scenario), quick)
    executors = list(dict.fromkeys(r.executor for r in plan.runs))
    counts = sorted({r.workers for r in plan.runs if r.executor != "serial"})
    text.append("plan      ", style="bold")
    what = ", ".join(executors) or "nothing to run"
    if counts:
        what += f" × workers {', '.join(map(str, counts))}"
    text.append(f"{len(plan.runs)} runs{' (quick)' if quick else ''}: {what}\n")
    for name, reason in plan.skipped.items():
        text.append(f"          {name} skipped: {reason}\n", style="dim")
    text.rstrip()
    return text


class KnobsForm(Vertical):
    """The main knobs of the selected scenario, validated by the scenario models."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", "Back to list", show=False)]

    def compose(self) -> ComposeResult:
        yield Label(
            "Knobs (tab to reach them; checked as you type)",
            classes="form-title",
        )
        with Horizontal(classes="field"):
            yield Label("executors", classes="field-label")
            yield SelectionList[str](
                *[(name, name, True) for name in EXECUTOR_NAMES], id="knob-executors", compact=True
            )
        yield Label("", id="error-executors", classes="field-error")
        for field, label in (
            ("workers", "workers"),
            ("size1", "size"),
            ("size2", "size"),
            ("repeats", "repeats"),
            ("warmups", "warmups"),
        ):
            with Horizontal(classes="field"):
                yield Label(label, id=f"label-{field}", classes="field-label")
                field_input = Input(id=f"knob-{field}", select_on_focus=False, compact=True)
                field_input.cursor_blink = False  # steady over SSH, and in snapshots
                yield field_input
            yield Label("", id=f"error-{field}", classes="field-error")
        with Horizontal(classes="field buttons"):
            yield Button("Reset to file", id="knob-reset", compact=True)
            yield Label("", id="form-status")

    def load(self, scenario: Scenario) -> None:
        """Show a scenario's values (programmatic: the app ignores the Changed messages)."""
        values = values_of(scenario)
        first, second = size_fields(scenario)
        selection = self.query_one("#knob-executors", SelectionList)
        with selection.prevent(SelectionList.SelectedChanged):
            selection.deselect_all()
            for name in values.executors:
                selection.select(name)
        for field, value in (
            ("workers", values.workers),
            ("size1", values.size1),
            ("size2", values.size2),
            ("repeats", values.repeats),
            ("warmups", values.warmups),
        ):
            widget = self.query_one(f"#knob-{field}", Input)
            with widget.prevent(Input.Changed):
                widget.value = value
                widget.cursor_position = len(value)
        self.query_one("#label-size1", Label).update(first)
        self.query_one("#label-size2", Label).update(second)
        self.query_one("#knob-size1", Input).tooltip = field_help(scenario, first)
        self.query_one("#knob-size2", Input).tooltip = field_help(scenario, second)
        self.show_errors({})

    def values(self) -> KnobValues:
        selected = self.query_one("#knob-executors", SelectionList).selected
        return KnobValues(
            executors=tuple(str(s) for s in selected),
            workers=self.query_one("#knob-workers", Input).value,
            size1=self.query_one("#knob-size1", Input).value,
            size2=self.query_one("#knob-size2", Input).value,
            repeats=self.query_one("#knob-repeats", Input).value,
            warmups=self.query_one("#knob-warmups", Input).value,
        )

    def show_errors(self, errors: dict[str, str]) -> None:
        for field in ("executors", "workers", "size1", "size2", "repeats", "warmups"):
            label = self.query_one(f"#error-{field}", Label)
            message = errors.get(field, "")
            label.update(f"✗ {message}" if message else "")
            label.display = bool(message)
            if field != "executors":
                self.query_one(f"#knob-{field}", Input).set_class(bool(message), "-invalid")
        status = self.query_one("#form-status", Label)
        if errors:
            status.update(f"✗ {len(errors)} problem{'s' if len(errors) > 1 else ''}")
        else:
            status.update("")

    def action_leave(self) -> None:
        self.screen.query_one("#scenario-list").focus()


# ---------------------------------------------------------------- run view


class RunRow(Horizontal):
    """One run of the plan: a marker, its id, a progress bar and its live status."""

    def __init__(self, run: RunState, row_id: str) -> None:
        super().__init__(id=row_id, classes="run-row")
        self.run = run
        self._marker = " "
        self._status = describe(run)

    def compose(self) -> ComposeResult:
        yield Label(" ", classes="run-marker")
        yield Label(self.run.key[1], classes="run-id")
        yield ProgressBar(total=1.0, show_eta=False)
        yield Label(describe(self.run), classes="run-status")

    def paint(self, current: bool) -> None:
        """Repaint from the run's coalesced state; only what changed, and never a relayout."""
        run = self.run
        self.set_class(current, "-current")
        self.set_class(run.state in ("failed", "timeout"), "-failed")
        marker = "▶" if current else " "
        if marker != self._marker:
            self._marker = marker
            self.query_one(".run-marker", Label).update(marker, layout=False)
        self.query_one(ProgressBar).update(progress=run.fraction)
        status = describe(run)
        if status != self._status:
            self._status = status
            self.query_one(".run-status", Label).update(status, layout=False)


class CpuMeters(Widget):
    """One bar per logical CPU, laid out in as many columns as the width allows."""

    DEFAULT_CSS = "CpuMeters { height: auto; }"
    CELL = 24

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.per_core: tuple[float, ...] = ()

    def set_sample(self, per_core: Iterable[float]) -> None:
        values = tuple(per_core)
        grow = len(values) != len(self.per_core)
        self.per_core = values
        self.refresh(layout=grow)

    def _columns(self, width: int) -> int:
        return max(1, min(len(self.per_core), width // self.CELL)) if self.per_core else 1

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not self.per_core:
            return 1
        return math.ceil(len(self.per_core) / self._columns(width))

    def render(self) -> Text:
        if not self.per_core:
            return Text("no samples yet: the meters move while a run executes", style="dim")
        width = self.size.width or 80
        columns = self._columns(width)
        digits = len(str(len(self.per_core) - 1))
        bar_width = max(4, width // columns - (digits + 1) - 5 - 2)
        rows = math.ceil(len(self.per_core) / columns)
        text = Text(no_wrap=True, overflow="crop")
        for row in range(rows):
            if row:
                text.append("\n")
            for column in range(columns):
                index = column * rows + row
                if index >= len(self.per_core):
                    break
                pct = max(0.0, min(100.0, self.per_core[index]))
                filled = round(pct / 100 * bar_width)
                colour = "green" if pct < 50 else ("yellow" if pct < 85 else "red")
                text.append(f"{index:>{digits}} ")
                text.append("█" * filled, style=colour)
                text.append("░" * (bar_width - filled), style="dim")
                text.append(f"{pct:4.0f}%")
                if column < columns - 1:
                    text.append("  ")
        return text


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class SortCell:
    """A grid cell: formatted text for display, the raw value to sort by."""

    value: CellValue
    status: bool = False

    def __rich__(self) -> Text:
        text = self.value.text + (BEST_MARK if self.value.best else "")
        style = "bold" if self.value.best else ""
        if self.status and self.value.text not in ("ok", "queued"):
            style = "bold" if self.value.text == "running" else "red"
        return Text(text, style=style, no_wrap=True)


class _Descending:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


# Columns whose best values are high: sorted descending on the first press.
HIGH_FIRST = {"throughput", "speedup", "efficiency"}


class ResultsGrid(DataTable[SortCell]):
    """A row per executor x workers; cells change in place, rows are never rebuilt mid-run."""

    # Not in the footer (full at 80 columns): the legend under the grid names it.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("s", "sort_column", "Sort", show=False)]

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="cell", zebra_stripes=True)
        self.fixed_columns = 2
        self._shape: tuple[Any, ...] = ()
        self._cells: dict[str, dict[str, CellValue]] = {}
        self.sorted_by: tuple[str, bool] | None = None  # (column, descending)
        self.result: ScenarioResult | None = None

    def show(
        self, identity: Any, result: ScenarioResult, live_status: dict[str, str] | None = None
    ) -> None:
        self.result = result
        columns = columns_for(result)
        shape = (identity, tuple(r.run_id for r in result.runs), tuple(c for c, _ in columns))
        cells = grid_cells(result, live_status)
        with self.app.batch_update():
            if shape != self._shape:
                self._shape = shape
                self.clear(columns=True)
                self.sorted_by = None
                for key, header in columns:
                    self.add_column(header, key=key)
                for run_id, row in cells.items():
                    self.add_row(*[SortCell(v, c == "status") for c, v in row.items()], key=run_id)
            else:
                for run_id, row in cells.items():
                    old = self._cells.get(run_id, {})
                    for column, value in row.items():
                        if old.get(column) != value:
                            self.update_cell(
                                run_id,
                                column,
                                SortCell(value, column == "status"),
                                update_width=True,
                            )
            self._cells = cells
            if self.sorted_by:
                self._apply_sort()

    def clear_results(self) -> None:
        self._shape = ()
        self._cells = {}
        self.result = None
        self.clear(columns=True)

    def sort_by(self, column: str) -> None:
        if self.sorted_by and self.sorted_by[0] == column:
            self.sorted_by = (column, not self.sorted_by[1])
        else:
            self.sorted_by = (column, column in HIGH_FIRST)
        self._apply_sort()

    def _apply_sort(self) -> None:
        assert self.sorted_by is not None
        column, descending = self.sorted_by

        def key(cell: SortCell) -> Any:
            value = cell.value.sort
            if value is None:
                return (1, 0)
            return (0, _Descending(value) if descending else value)

        self.sort(column, key=key)

    def action_sort_column(self) -> None:
        if not self.columns:
            return
        column = self.coordinate_to_cell_key(self.cursor_coordinate).column_key.value
        if column:
            self.sort_by(column)
            arrow = "descending" if self.sorted_by and self.sorted_by[1] else "ascending"
            self.notify(f"sorted by {column}, {arrow}", timeout=2)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value:
            self.sort_by(event.column_key.value)

    def run_id_at_cursor(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value


class SpeedupChart(PlotextPlot):
    """Speedup against worker count per executor: measured points in capitals (`P`), the
    fitted scaling law (USL, else Amdahl) as a line of its lowercase letter (`p`).

    Letters tell the executors and measured from fitted apart without colour.
    """

    def show(self, result: ScenarioResult | None, analysis: ScenarioAnalysis | None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.title("speedup vs workers: CAPITALS measured, lowercase fitted")
        plt.xlabel("workers")
        lines = chart_lines(analysis) if analysis else []
        serial = speedup_series(result).get("serial") if result else None
        counts = sorted({int(n) for line in lines for n, _ in line.measured} | {1})
        low, high = counts[0], max(counts[-1], 2)
        if lines or serial:
            plt.plot([low, high], [low, high], marker="·", color="gray", label="ideal (= workers)")
        if serial:
            plt.plot(
                [low, high], [serial[0][1]] * 2, marker="s", color=COLOURS["serial"],
                label="serial (baseline)",
            )  # fmt: skip
        for line in lines:  # the fitted curves first: the measured capitals are drawn over them
            marker = MARKERS.get(line.executor, line.executor[0])
            colour = COLOURS.get(line.executor, "white")
            if line.curve:
                plt.plot(
                    [n for n, _ in line.curve], [y for _, y in line.curve], marker=marker,
                    color=colour, label=f"{line.executor} ({line.law} fit)",
                )  # fmt: skip
        for line in lines:
            marker = MARKERS.get(line.executor, line.executor[0])
            colour = COLOURS.get(line.executor, "white")
            plt.scatter(
                [n for n, _ in line.measured], [y for _, y in line.measured],
                marker=marker.upper(), color=colour,
                label=None if line.curve else f"{line.executor} (too few counts to fit)",
            )  # fmt: skip
        if lines or serial:
            plt.xticks([float(c) for c in counts], [str(c) for c in counts])
        self.refresh()


class AnalysisView(VerticalScroll):
    """The verdict, one line per model, the claims, the fits and the warnings; scrolls."""

    DEFAULT_CSS = "AnalysisView Static { width: 1fr; padding: 0 1; }"

    def compose(self) -> ComposeResult:
        yield Static(
            Text(
                "The verdict, a line per model, the claims and the scaling fits appear here "
                "once a scenario has run.",
                style="dim",
            ),
            id="analysis-body",
        )

    def show(self, renderable: RenderableType) -> None:
        self.query_one("#analysis-body", Static).update(renderable)


# ---------------------------------------------------------------- system


def system_table(machine: dict[str, Any], loop: str) -> Table:
    py = machine.get("python") or {}
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    usable = machine.get("cpus_usable")
    logical = machine.get("cpus_logical")
    limits = []
    if machine.get("cpus_affinity") not in (None, logical):
        limits.append(f"affinity {machine.get('cpus_affinity')}")
    if machine.get("cpu_quota"):
        limits.append(f"cgroup quota {machine.get('cpu_quota'):g}")
    cores = f"{usable} usable of {logical} logical ({machine.get('cpus_physical')} physical)"
    if limits:
        cores += "; " + ", ".join(limits)
    memory = machine.get("memory_total_bytes") or 0
    gil = "enabled" if py.get("gil_enabled", True) else "disabled (free-threaded build)"
    libraries = machine.get("libraries") or {}
    rows = [
        ("CPU", str(machine.get("cpu_model", "?"))),
        ("cores", cores),
        ("memory", f"{format_bytes(memory)} total"),
        ("Python", f"{py.get('implementation', '')} {py.get('version', '')}"),
        ("build", f"{py.get('build', '')} · {py.get('compiler', '')}"),
        ("GIL", gil),
        ("event loop", loop),
        (
            "processes",
            f"start method {machine.get('multiprocessing_start_method')} "
            f"(available: {', '.join(machine.get('multiprocessing_methods') or [])})",
        ),
        ("OS", str(machine.get("os", ""))),
        (
            "libraries",
            ", ".join(f"{k} {v}" for k, v in libraries.items() if v) or "–",
        ),
    ]
    for key, value in rows:
        table.add_row(key, Text(value))
    return table


def machine_warnings_text(warnings: Sequence[Notice] | None) -> Text:
    """The machine's noise warnings, as read when the latest session started."""
    text = Text()
    text.append("Warnings about the machine", style="bold")
    if warnings is None:
        text.append("\nnot read yet: each session reads them before its first run", style="dim")
        return text
    if not warnings:
        text.append(
            "\nnone when the last session started: governor, load, usable CPUs and swap "
            "looked fine",
            style="dim",
        )
        return text
    for notice in warnings:
        text.append(f"\n⚠ {notice['message']}")
    return text


class SystemPanel(Static):
    def show(
        self, machine: dict[str, Any], loop: str, warnings: Sequence[Notice] | None = None
    ) -> None:
        self.update(Group(system_table(machine, loop), Text(), machine_warnings_text(warnings)))
