"""Modal screens: help, export, and the details of a failure."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lab.report.formats import FORMATS, format_for_path, render
from lab.report.write import write_atomic
from lab.results.model import Report

HELP = """\
asyncio, threads or processes: which wins for this workload, here?

Keys
  r        run the selected scenario, with the knobs in the form
  a        run all scenarios
  c        cancel the run in flight (the session goes on)
  x        stop the whole session
  e        export a report of the latest results: json, md, csv, html
  g        switch the results between the grid and the chart
  f        the grid's compact columns, or all of them
  v        the verdict, why, the claims, the fits (v again: back)
  w        the noise warnings of the results shown, in full
  [ ]      previous / next results: scenario, then interpreter
  d        details of the latest failure
  1 2 3 4  go to Scenarios, Run, Results, System
  ? f1     this help
  q        quit (stops any run first)
  ctrl+p   command palette: every action by name
  tab      next list, form field or grid (shift+tab: previous)
  escape   leave the form (back to the scenario list)

Scenarios  pick one with up/down. Its description, parameters and
           plan are shown, then the knobs: executors (space
           toggles), worker counts, workload size, repeats, warmups.
           They are checked as you type by the rules of the YAML
           files; a problem is named under its field.
Run        one progress bar per run (executor x workers) with its
           phase, ETA and live throughput; ▶ marks the current run.
           Below it, per-core CPU use, repainted twice a second.
Results    a row per run; below 120 columns the compact set that
           fits 80 (f: all of the report's columns; enter: every
           figure of a run). * marks the best value of a column;
           ? after a speedup: too few repeats to test; !: doubtful
           (a negative control failed or it is beyond the cores:
           w says why). All
           columns: speedups carry their 95% interval,
           n.s. when not significantly different from serial. Runs
           of a task-size sweep show their size in the sweep column.
           s sorts by the cursor's column (again to reverse); enter
           shows a run's details. Below: the verdict and the number
           of warnings.
           g: speedup against workers per executor, measured points
           in capitals (A U T P), the fitted scaling law (USL, or
           Amdahl with two worker counts) in lowercase; s is serial.
           Beside it, the legend and every measured speedup.
           v: the verdict, a line per model, the claims this
           scenario decides, the Amdahl/USL fits, the break-even of
           a task-size sweep, the warnings.
System     CPU model, usable cores, memory, Python build, GIL, loops,
           and the machine's warnings as the last session read them.

Every run executes in its own runner process; the app only draws.
"""

# The command palette's entries besides the tabs: (title, help, action).
COMMANDS = (
    ("Run selected scenario", "run the highlighted scenario (r)", "run_selected"),
    ("Run all scenarios", "run every scenario in the list (a)", "run_all"),
    ("Cancel run", "stop the run in flight; the session goes on (c)", "cancel_run"),
    ("Stop all", "stop the whole session (x)", "stop_all"),
    ("Export report", "write the latest results as json, md, csv or html (e)", "export"),
    ("Switch grid/chart", "results as a grid or a speedup chart (g)", "toggle_view"),
    ("Toggle all columns", "the grid's compact column set, or every column (f)", "toggle_columns"),
    (
        "Show verdicts and claims",
        "why each model did as it did, the claims, the scaling fits (v)",
        "toggle_verdicts",
    ),
    ("Read warnings", "the noise warnings of the results shown (w)", "warnings"),
    ("Failure details", "details of the latest failure (d)", "details"),
    ("Help", "keys and views (?)", "help"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss_screen", "Close", show=True),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="modal-box"):
            with VerticalScroll():
                yield Static(Text(HELP), id="help-text")
            yield Label("escape closes · up/down scroll", classes="modal-hint")

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)


class DetailsScreen(ModalScreen[None]):
    """The full story of a failure: status, error kind, message and the runner's stderr."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,d", "dismiss_screen", "Close", show=True)
    ]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="details-box", classes="modal-box"):
            yield Label(self.title_text, id="details-title", markup=False)
            with VerticalScroll(id="details-scroll") as scroll:
                yield Static(Text(self.body), id="details-body")
            yield Label("escape closes · up/down scroll", classes="modal-hint")
        self.scroll = scroll

    def on_mount(self) -> None:
        self.scroll.focus()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)


class ExportScreen(ModalScreen[str | None]):
    """Ask for a path; write the report there atomically in the format its extension names."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=True)]

    def __init__(self, report: Report, default: str = "concurrency-lab-report.md") -> None:
        super().__init__()
        self.report = report
        self.path = Input(default, id="export-path")
        self.path.cursor_blink = False
        self.error = Label("", id="export-error", markup=False)  # quotes a path

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box", classes="modal-box"):
            yield Label("Export a report of the latest results", id="export-title")
            yield Label(
                f"The format follows the extension: {', '.join('.' + f for f in FORMATS)}"
                " (others: md). Written atomically.",
                classes="modal-hint",
            )
            yield self.path
            yield self.error
            with Horizontal(id="export-buttons"):
                yield Button("Write", id="export-write", variant="primary")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.path.focus()

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-write")
    def _write(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        target = self.path.value.strip()
        error = self.error
        if not target:
            error.update("✗ give a file name")
            return
        path = Path(target)  # write_atomic expands "~", and says so when it cannot
        fmt = format_for_path(str(path))
        try:
            write_atomic(path, render(self.report, fmt))
        except OSError as exc:
            error.update(f"✗ cannot write {path}: {exc.strerror or exc}")
            return
        self.dismiss(f"{path} ({fmt})")


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question before something long starts (a big sweep); y or enter goes ahead."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes, run it"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        no = Button("No (n)", id="confirm-no")
        with Vertical(id="confirm", classes="modal-box"):
            yield Static(self.question + "\n\nRun it anyway?", id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes, run it (y)", id="confirm-yes", variant="warning")
                yield no
        self.call_after_refresh(no.focus)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
