"""The Run tab: a progress row per run of the session, the status line, per-core CPU meters."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Label, ProgressBar

from lab.engine.plan import ScenarioPlan
from lab.tui.live import RunKey, RunState, describe
from lab.tui.state import LabState

# The meters and their box repaint twice a second: a person reads no faster, and each
# repaint of the box costs the app CPU that the measured run would otherwise get.
CPU_PAINT_SECONDS = 0.5
# A run's live figures (ETA, throughput) move with every progress event; once a second is
# what a person reads. A new phase or repeat is shown at the next paint.
FIGURES_PAINT_SECONDS = 1.0


class RunBar(ProgressBar):
    """Textual's progress bar without its once-a-second timer.

    That timer recomputes an ETA for the ETA label, which a run row does not show
    (`show_eta=False`): a plan of 20 runs woke the app 20 times a second for nothing.
    """

    def on_mount(self, event: events.Mount | None = None) -> None:
        if event is not None:
            event.prevent_default()  # ProgressBar.on_mount would start the timer
        self.update()


class RunRow(Horizontal):
    """One run of the plan: a marker, its id, a progress bar and its live status."""

    def __init__(self, run: RunState, row_id: str, label: str | None = None) -> None:
        super().__init__(id=row_id, classes="run-row")
        self.run = run
        self.label = label or run.key[1]
        self._marker = " "
        self._status = describe(run)
        self._marker_label = Label(" ", classes="run-marker")
        self._bar = RunBar(total=1.0, show_eta=False)
        self._shown_percent = -1  # the whole percent the bar shows; its 16 cells move slower
        self._head = ""  # the status without its live figures: phase and repeat
        self._figures_painted = 0.0
        self._status_label = Label(self._status, classes="run-status", markup=False)

    def compose(self) -> ComposeResult:
        yield self._marker_label
        yield Label(self.label, classes="run-id", markup=False)
        yield self._bar
        yield self._status_label

    def paint(self, current: bool, now: float) -> None:
        """Repaint from the run's coalesced state; only what changed, and never a relayout."""
        run = self.run
        self.set_class(current, "-current")
        self.set_class(run.state in ("failed", "timeout"), "-failed")
        marker = "▶" if current else " "
        if marker != self._marker:
            self._marker = marker
            self._marker_label.update(marker, layout=False)
        # The bar shows a whole percent: a smaller step would repaint the same cells.
        percent = int(run.fraction * 100)
        if percent != self._shown_percent:
            self._shown_percent = percent
            self._bar.update(progress=run.fraction)
        status = describe(run)
        if status == self._status:
            return
        head = status.partition("  ")[0]  # "repeat 3/10" of "repeat 3/10  ETA 42s  …"
        if head != self._head or now - self._figures_painted >= FIGURES_PAINT_SECONDS:
            self._head = head
            self._figures_painted = now
            self._status = status
            self._status_label.update(status, layout=False)
        else:
            self.run.dirty = True  # its figures are due in a moment: keep the row on the list


def _colour(pct: float) -> str:
    return "green" if pct < 50 else ("yellow" if pct < 85 else "red")


def _shown(per_core: tuple[float, ...]) -> list[tuple[str, str]]:
    """What the meters print for these values: each core's percent and colour."""
    clamped = (max(0.0, min(100.0, pct)) for pct in per_core)
    return [(f"{pct:4.0f}", _colour(pct)) for pct in clamped]


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
        # Repaint only when what the meters print moves: whole percents (the bars' cells
        # follow them) and the colours.
        if not grow and _shown(values) == _shown(self.per_core):
            return
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
                colour = _colour(pct)
                text.append(f"{index:>{digits}} ")
                text.append("█" * filled, style=colour)
                text.append("░" * (bar_width - filled), style="dim")
                text.append(f"{pct:4.0f}%")
                if column < columns - 1:
                    text.append("  ")
        return text


class RunPane(Vertical):
    """The session's runs as `LabState.live` has them, painted on the app's timer."""

    def __init__(self, state: LabState) -> None:
        super().__init__()
        self.state = state
        self.status = Label("Nothing has run yet.", id="run-status", markup=False)
        self.run_list = VerticalScroll(id="run-list")
        self.cpu_box = Vertical(id="cpu-box")
        self.cpu = CpuMeters(id="cpu")
        self.rows: dict[RunKey, RunRow] = {}
        self._shown_current: RunKey | None = None
        self._status_text = ""
        self._cpu_painted = 0.0

    def compose(self) -> ComposeResult:
        yield self.status
        with self.run_list:
            yield Label(
                "Pick a scenario on the Scenarios tab (1) and press r to run it, "
                "or a to run them all.",
                classes="placeholder",
            )
        with self.cpu_box:
            yield self.cpu

    def on_mount(self) -> None:
        self.cpu_box.border_title = "CPU per core"

    async def build_rows(self, plans: list[ScenarioPlan]) -> None:
        """A heading per scenario, a row per run, from the state's fresh live state."""
        await self.run_list.remove_children()
        widgets: list[Label | RunRow] = []
        self.rows = {}
        self._shown_current = None
        for index, plan in enumerate(plans):
            widgets.append(
                Label(f"{plan.name}: {plan.scenario.title}", classes="run-heading", markup=False)
            )
            for name, reason in plan.skipped.items():
                # The reason holds an install line: `concurrency-lab[cluster]` is not markup.
                widgets.append(
                    Label(f"  {name} skipped: {reason}", classes="placeholder", markup=False)
                )
            sweep: tuple[tuple[str, Any], ...] = ()
            for position, run_plan in enumerate(plan.runs):
                key = (index, run_plan.run_id)
                label = None
                if run_plan.params:
                    # A heading per sweep size keeps `threads-2@task_us=100` whole at 80
                    # columns: the size above, the run's own id in the row.
                    if run_plan.params != sweep:
                        sweep = run_plan.params
                        size = run_plan.run_id.partition("@")[2]  # task_us=100
                        widgets.append(
                            Label(f"  task-size sweep: {size}", classes="run-sweep", markup=False)
                        )
                    label = run_plan.run_id.partition("@")[0]
                # Sweep run ids hold '@' and '=', which widget ids may not.
                row = RunRow(self.state.live.runs[key], f"run-{index}-{position}", label)
                self.rows[key] = row
                widgets.append(row)
        await self.run_list.mount_all(widgets)
        self.cpu.set_sample(())

    def paint(self, status: str, now: float | None = None) -> None:
        """Apply the coalesced live state: the rows that changed, the meters, the status."""
        live = self.state.live
        current = live.current
        now = time.monotonic() if now is None else now
        for run in live.take_dirty():
            row = self.rows.get(run.key)
            if row is not None:
                row.paint(current == run.key, now)
        if current != self._shown_current:
            self._shown_current = current
            row = self.rows.get(current) if current else None
            if row is not None:  # after the next layout: rows mounted just now have no place yet
                self.run_list.call_after_refresh(self.run_list.scroll_to_widget, row, animate=False)
        if live.cpu_dirty and now - self._cpu_painted >= CPU_PAINT_SECONDS:
            live.cpu_dirty = False
            self._cpu_painted = now
            self.cpu.set_sample(live.cpu)
            average = sum(live.cpu) / max(1, len(live.cpu))
            title = f"CPU per core · average {average:.0f}% of {len(live.cpu)}"
            if self.cpu_box.border_title != title:
                self.cpu_box.border_title = title
        if status != self._status_text:
            self._status_text = status
            self.status.update(status, layout=False)
