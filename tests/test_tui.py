"""Pilot tests: drive the real app with keys. A run whose subject is the app (bars, grid, chart,
export, notifications) uses in-process runners on the real protocol (tests/fakerunner.py); the
app's cancel and quit keys stop real runner processes and their pools."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from rich.console import Console
from textual.widgets import Button, Input, Label, OptionList, ProgressBar

from lab.analysis.analyse import analyse_scenario
from lab.analysis.noise import group_notices
from lab.engine.events import ScenarioStarted
from lab.engine.session import scenario_result
from lab.report.cells import run_cells, speedup_with_uncertainty
from lab.report.explain import scaling_rows
from lab.results.model import Report
from lab.scenario.loader import LoadedScenario, load_builtins, parse_scenario
from lab.tui.analysis import STATUS
from lab.tui.app import LabApp
from lab.tui.results import chart_lines, compact_cells
from lab.tui.screens import DetailsScreen, ExportScreen, HelpScreen
from lab.tui.widgets import (
    AnalysisView,
    CpuMeters,
    KnobsForm,
    ResultsGrid,
    RunRow,
    SpeedupChart,
    SystemPanel,
)
from tests.cheap import cheap
from tests.fakerunner import FakeRunners
from tests.tui_fixtures import (
    MACHINE,
    MACHINE_WARNINGS,
    fitted_result,
    make_app,
    sweep_result,
    with_results,
)

EXECUTORS = ("serial", "asyncio", "uvloop", "threads", "processes")

TINY = """\
title: Tiny dispatch
description: a few near-empty tasks under every executor
workload: {kind: dispatch, tasks: 20}
executors: [serial, asyncio, uvloop, threads, processes]
workers: [1, 2]
repeats: 1
warmups: 0
"""

# Slow enough to cancel mid-run: 200 tasks of 50 ms on a process pool (about 5 s of work).
SLOW = """\
title: Slow processes
workload: {kind: dispatch, tasks: 200, task_us: 50000}
executors: [processes]
workers: [2]
repeats: 1
warmups: 0
timeout: 120
"""

# Times out: the runner cannot finish 10 s of work within 0.3 s.
TIMES_OUT = """\
title: Times out
workload: {kind: dispatch, tasks: 100, task_us: 100000}
executors: [serial]
workers: [1]
repeats: 1
warmups: 0
timeout: 0.3
"""


def scenario(text: str, name: str) -> LoadedScenario:
    return parse_scenario(text, f"{name}.yaml", name)


def app_with(*extra: LoadedScenario) -> LabApp:
    """Built-ins plus the given scenarios; the first extra one is selected."""
    builtins = load_builtins()
    return LabApp(
        [*builtins, *extra], machine=MACHINE, loop_name="test loop", selected=len(builtins)
    )


def rendered(widget: Any, width: int = 80) -> str:
    """A widget's content as plain text, wrapped at `width`."""
    console = Console(width=width, file=io.StringIO(), color_system=None, record=True)
    console.print(widget.content)  # a Static's own renderable (rich Text, Table or Group)
    return " ".join(console.export_text().split())


async def wait_for(condition: Any, pilot: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


def finished(app: LabApp) -> bool:
    """The session started by the last key press has ended."""
    return app._worker is not None and app._worker.is_finished


def descendants() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def alive(pids: set[int]) -> list[int]:
    left = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except psutil.NoSuchProcess:
            continue
    return left


async def test_scenario_list_shows_description_and_validates_knobs() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        names = [s.name for s in app.state.scenarios]
        assert app.query_one("#scenario-list", OptionList).option_count == len(names)
        await pilot.press("end")  # the last built-in
        info = str(app.query_one("#scenario-info").render())
        assert app.state.scenarios[-1].scenario.title in info
        assert "plan" in info and "runs" in info

        workers = app.query_one("#knob-workers", Input)
        workers.value = "1, 0, x"
        await pilot.pause()
        error = app.query_one("#error-workers", Label)
        assert error.display and "worker counts" in str(error.render())
        assert workers.has_class("-invalid")
        # A form with errors does not run.
        await pilot.press("escape", "r")
        await pilot.pause()
        assert not app.running and app.state.session is None

        workers.value = "2"
        app.query_one("#knob-repeats", Input).value = "1"
        await pilot.pause()
        assert not app.query_one("#error-workers", Label).display
        edited = app.state.edited[app.state.selected]
        assert edited.workers == [2] and edited.repeats == 1
        # numeric_crunching: serial once plus four executors at 2 workers.
        assert "5 runs" in str(app.query_one("#scenario-info").render())


async def test_knobs_form_posts_changed_for_edits_only() -> None:
    """Typing posts KnobsForm.Changed; loading a scenario or resetting the knobs does not."""
    posted: list[KnobsForm.Changed] = []

    def hook(message: object) -> None:  # called at every node the message bubbles through
        if isinstance(message, KnobsForm.Changed) and all(m is not message for m in posted):
            posted.append(message)

    app = make_app()
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await pilot.press("end")
        await pilot.pause()
        assert posted == []  # the start-up selection and the move to the last one are loads
        workers = app.query_one("#knob-workers", Input)
        file_value = workers.value
        await pilot.press("tab")  # the executors list
        assert app.focused is app.query_one("#knob-executors")
        await pilot.press("space")  # deselects serial
        workers.value = "3"
        await pilot.pause()
        assert [m.values.workers for m in posted] == [file_value, "3"]
        assert "serial" not in posted[-1].values.executors
        assert app.state.edited[app.state.selected].workers == [3]

        app.query_one("#knob-reset", Button).press()
        await pilot.pause()
        assert len(posted) == 2 and workers.value == file_value
        assert app.state.selected not in app.state.edited
        await pilot.press("tab", "escape")  # escape leaves the form for the list
        assert app.focused is app.query_one("#scenario-list")


async def test_loads_a_scenario_file(tmp_path: Path) -> None:
    from lab.cli import app_scenarios
    from lab.scenario.loader import resolve

    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    offered, selected = app_scenarios(resolve([str(path)]), targeted=True)
    app = LabApp(offered, machine=MACHINE, loop_name="test loop", selected=selected)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert [s.name for s in app.state.scenarios][: len(load_builtins())] == [
            s.name for s in load_builtins()
        ]
        assert app.state.scenarios[app.state.selected].name == "tiny"
        assert "Tiny dispatch" in str(app.query_one("#scenario-info").render())


async def test_run_to_completion_fills_bars_grid_chart_and_exports(
    tmp_path: Path, fake_runners: FakeRunners
) -> None:
    app = app_with(scenario(cheap(TINY), "tiny"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await wait_for(lambda: finished(app), pilot)
        await pilot.pause()

        rows = list(app.query(RunRow))
        assert {r.run.executor for r in rows} == set(EXECUTORS)
        assert len(rows) == 9  # serial once, four executors x [1, 2]
        for row in rows:
            assert row.run.state == "ok", (row.run.key, row.run.state, row.run.message)
            assert row.query_one(ProgressBar).percentage == 1.0

        grid = app.query_one(ResultsGrid)
        assert grid.row_count == 9
        result = app.state.results[app.state.selected]
        for run in result.runs:
            cells = run_cells(run)
            assert cells["time"] != "–"
            shown = grid.get_cell(run.run_id, "time").value.text
            assert shown == cells["time"]

        # Under the grid, the engine's verdict for this very result.
        analysis = analyse_scenario(result, app.state.machine)
        assert analysis.verdict.text in rendered(app.query_one("#results-verdict"))
        # The chart: measured points and fitted curves from the same analysis.
        await pilot.press("g")
        await pilot.pause()
        assert app.query_one(SpeedupChart).display
        lines = chart_lines(analysis)
        assert {line.executor for line in lines} == set(EXECUTORS) - {"serial"}
        assert all(line.law == "Amdahl" and line.curve for line in lines)  # workers 1 and 2
        # v: the verdict, a line per model and the claims, reachable by keyboard.
        await pilot.press("v")
        await pilot.pause()
        view = app.query_one(AnalysisView)
        assert view.has_focus
        text = rendered(view.query_one("#analysis-body"), 200)
        for explanation in analysis.verdict.explanations:
            assert explanation.text in text
        for claim in analysis.claims:
            assert claim.claim in text
        await pilot.press("v")  # back to the chart
        assert app.query_one("#results-switcher").current == "chart"

        # Export through the dialog, then read the report back.
        target = tmp_path / "out.json"
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ExportScreen)
        back = Report.from_json(json.loads(target.read_text()))
        runs = back.scenarios[0].runs
        assert {r.executor for r in runs} == set(EXECUTORS)
        # One engine, one set of numbers: the grid shows what the report holds.
        for run in runs:
            assert grid.get_cell(run.run_id, "time").value.text == run_cells(run)["time"]
            shown = grid.get_cell(run.run_id, "speedup").value.text
            assert grid.compact  # 80 columns: the compact set, the interval in the details
            assert shown == compact_cells(run_cells(run), run)["speedup"]
            assert shown.startswith(run_cells(run)["speedup"])
        # The report carries the machine warnings the session read, as the app shows them.
        assert back.warnings == app.state.machine_warnings[app.state.selected]
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.json.")]
        # The System tab lists the machine warnings the session read (or says there were none).
        system = rendered(app.query_one(SystemPanel), 200)
        assert "Warnings about the machine" in system
        for notice in back.warnings:
            assert notice["message"] in system
        if not back.warnings:
            assert "none when the last session started" in system


def _started_since(earlier: set[int]) -> set[int]:
    return {p.pid for p in descendants()} - earlier


@pytest.mark.slow
async def test_cancel_mid_run_leaves_no_child_process() -> None:
    app = app_with(scenario(SLOW, "slow"))
    # A parallel run's worker may hold a forkserver of its own from an earlier test that ran a
    # process pool in-process: only what this run starts is the app's to stop.
    earlier = {p.pid for p in descendants()}
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        key = (0, "processes-2")
        await wait_for(lambda: app.state.live.runs[key].state == "repeat", pilot)
        # runner, forkserver, pool
        await wait_for(lambda: len(_started_since(earlier)) >= 3, pilot, 20)
        pids = _started_since(earlier)
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show}
        assert "cancel_run" in shown and "run_selected" not in shown
        await pilot.press("c")
        await wait_for(lambda: finished(app), pilot, 30)
        assert app.state.live.runs[key].state == "cancelled"
        assert app.state.results[app.state.selected].runs[0].status == "cancelled"
        await wait_for(lambda: not alive(pids), pilot, 10)
        assert app.query_one(CpuMeters).per_core  # the meters saw samples


@pytest.mark.slow
async def test_quit_mid_run_stops_the_runner() -> None:
    app = app_with(scenario(SLOW, "slow"))
    pids: set[int] = set()
    earlier = {p.pid for p in descendants()}  # see test_cancel_mid_run_leaves_no_child_process
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await wait_for(lambda: app.state.live.runs[(0, "processes-2")].state == "repeat", pilot)
        pids = _started_since(earlier)
        assert pids
        await pilot.press("q")
        await pilot.pause()
    deadline = time.monotonic() + 10
    while alive(pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not alive(pids)


async def test_failing_run_notifies_and_shows_details(fake_runners: FakeRunners) -> None:
    app = app_with(scenario(cheap(TIMES_OUT), "timesout"))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("r")
        # Watched for as the run ends: it lives 8 s, which a loaded machine can spend before
        # the test gets to look once the session is over.
        await wait_for(lambda: any("timeout" in n.message for n in app._notifications), pilot)
        await wait_for(lambda: finished(app), pilot, 30)
        await pilot.pause()
        assert app.state.results[app.state.selected].runs[0].status == "timeout"
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DetailsScreen)
        assert "timeout" in str(app.screen.query_one("#details-body").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailsScreen)


class _BrokenSession:
    """Stands in for LabSession: starts a scenario, then the engine raises."""

    def __init__(self, plans: list[Any], command: list[str] | None = None) -> None:
        self.plans = plans
        self.report = Report(machine=MACHINE)
        self.report.scenarios = [scenario_result(p) for p in plans]
        self.usable = 2

    async def events(self) -> AsyncIterator[Any]:
        plan = self.plans[0]
        yield ScenarioStarted(plan.name, plan.scenario.title, tuple(plan.runs))
        raise RuntimeError("the engine broke")

    def cancel_run(self) -> None:
        pass


async def test_engine_error_is_a_notification_not_a_crash(monkeypatch: Any) -> None:
    monkeypatch.setattr("lab.tui.app.LabSession", _BrokenSession)
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("r")
        # Watched for as it comes: it lives 10 s, which a loaded machine can spend before the
        # test gets to look once the session is over.
        broke = lambda: any("the engine broke" in n.message for n in app._notifications)  # noqa: E731
        await wait_for(broke, pilot)
        await wait_for(lambda: finished(app), pilot, 10)
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DetailsScreen)
        assert "RuntimeError" in str(app.screen.query_one("#details-body").render())
        await pilot.press("escape")
        assert app.is_running


async def test_results_grid_sorts_and_marks_the_best() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        with_results(app)
        await pilot.press("3")
        grid = app.query_one(ResultsGrid)
        assert grid.has_focus
        # 3 repeats a side: no tested winner, so the lowest time carries no best mark (the
        # marked case is in test_tui_logic); cpu has no "best".
        assert not grid.get_cell("processes-2", "time").value.best
        assert grid.get_cell("serial-1", "memory").value.best  # not a claim about speed
        assert not any(grid.get_cell(r, "cpu").value.best for r in ("serial-1", "threads-2"))
        # s sorts by the cursor's column: move to "time" (third column).
        await pilot.press("right", "right", "s")
        order = [grid.coordinate_to_cell_key((i, 0)).row_key.value for i in range(grid.row_count)]
        assert order[0] == "processes-2"
        await pilot.press("s")  # again: reversed
        order = [grid.coordinate_to_cell_key((i, 0)).row_key.value for i in range(grid.row_count)]
        assert order[-1] == "processes-2"
        # enter opens the run's details.
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailsScreen)


async def test_export_needs_results_and_reports_write_errors(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("e")
        assert not isinstance(app.screen, ExportScreen)
        with_results(app)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "no" / "such" / "r.md")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)  # still open, with the error shown
        assert "cannot write" in str(app.screen.query_one("#export-error").render())
        target = tmp_path / "r.csv"
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text().startswith("scenario,run_id,executor")


async def test_keys_are_in_footer_and_command_palette() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show}
        for action in (
            "run_selected",
            "run_all",
            "export",
            "toggle_view",
            "toggle_verdicts",
            "help",
            "quit",
        ):
            assert action in shown
        assert "cancel_run" not in shown  # only while a run is in flight: the footer is full
        # Every key in the footer fits at 80 columns, the grid focused included.
        with_results(app)
        await pilot.press("3")
        await pilot.pause()
        footer = app.query_one("Footer")
        keys = [k for k in footer.query("FooterKey") if not k.has_class("-command-palette")]
        palette = footer.query_one(".-command-palette")
        assert keys and all(k.region.right <= palette.region.x for k in keys)
        assert {k.action for k in keys} >= {"toggle_verdicts", "quit", "help"}
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in (
            "Run selected scenario", "Run all scenarios", "Export report",
            "Switch grid/chart", "Show verdicts and claims", "Read warnings", "Help", "Quit",
        ):  # fmt: skip
            assert title in titles
        assert "Cancel run" not in titles and "Stop all" not in titles  # nothing runs
        # The palette runs the same actions: switch to the chart by name.
        await pilot.press("ctrl+p")
        await pilot.press(*"switch grid")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one("#results-switcher").current == "chart"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("r")  # app keys are off while a dialog is open
        assert not app.running
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_resize_to_80x24_keeps_everything_reachable() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        with_results(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.size == (80, 24)
        for tab in ("1", "2", "3", "4"):
            await pilot.press(tab)
            await pilot.pause()
            assert app.query_one("Footer").region.y == 23
        await pilot.press("3")
        grid = app.query_one(ResultsGrid)
        assert grid.region.height > 5 and grid.region.width == 80
        await pilot.press("1")
        assert app.query_one("#scenario-list").region.width > 10


async def test_verdict_claims_fits_and_warnings_are_reachable_by_keyboard() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        result = fitted_result()
        with_results(app, result=result, machine_warnings=MACHINE_WARNINGS)
        await pilot.press("3")
        await pilot.pause()
        analysis = analyse_scenario(result, MACHINE)
        # Under the grid: the verdict, and how many warnings there are.
        assert analysis.verdict.text in rendered(app.query_one("#results-verdict"))
        grouped = group_notices(result.all_warnings())
        count = len(MACHINE_WARNINGS) + len(grouped)
        assert f"{count} warnings: w" in rendered(app.query_one("#results-legend"))
        # 80 columns: the compact grid shows the speedup with its significance; f shows all
        # the columns, and the speedup carries its interval, as the report does.
        grid = app.query_one(ResultsGrid)
        assert grid.compact and app.size.width == 80
        assert [str(c.label) for c in grid.columns.values()] == [
            "executor", "workers", "time ±MAD", "speedup", "cores", "memory",
        ]  # fmt: skip
        # 5 repeats a side, Holm over the matrix's rows: even 3.29x is not significant here.
        assert grid.get_cell("processes-4", "speedup").value.text == "3.29× n.s."
        assert grid.get_cell("uvloop-2", "speedup").value.text == "0.99× n.s."
        await pilot.press("f")
        await pilot.pause()
        assert not grid.compact and "throughput" in [str(c.label) for c in grid.columns.values()]
        assert grid.get_cell("processes-4", "speedup").value.text.startswith("3.29× (")
        assert "n.s." in grid.get_cell("uvloop-2", "speedup").value.text
        await pilot.press("f")
        await pilot.pause()
        assert grid.compact

        # v: everything the lab concludes, in one scrolling view.
        await pilot.press("v")
        await pilot.pause()
        view = app.query_one(AnalysisView)
        assert view.has_focus and not app.query_one("#results-verdict").display
        text = rendered(view.query_one("#analysis-body"), 200)
        assert analysis.verdict.text in text
        for explanation in analysis.verdict.explanations:
            assert explanation.text in text
        for claim in analysis.claims:
            assert f"{STATUS[claim.status][0]} {claim.claim}" in text
            assert claim.figures in text
        for row in scaling_rows(analysis.scaling):
            assert row["sigma"] in text and row["kappa"] in text
        assert "the sweep stopped before the peak" in text
        for notice in [*MACHINE_WARNINGS, *grouped]:
            assert notice["message"] in text
        # It scrolls by keyboard: the warnings are at the bottom.
        await pilot.press("end")
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y > 0

        # w: the warnings alone, in plain sentences, the machine's first.
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, DetailsScreen)
        body = rendered(app.screen.query_one("#details-body"), 200)
        messages = [n["message"] for n in [*MACHINE_WARNINGS, *grouped]]
        positions = [body.index(m) for m in messages]
        assert positions == sorted(positions)
        await pilot.press("escape")
        # v again: back to the view it came from; g from there goes to the chart.
        await pilot.press("v")
        assert app.query_one("#results-switcher").current == "grid"
        await pilot.press("g")
        assert app.query_one("#results-switcher").current == "chart"


async def test_run_details_give_the_speedup_interval_and_the_run_warnings() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        result = fitted_result()
        with_results(app, result=result)
        await pilot.press("3")
        grid = app.query_one(ResultsGrid)
        grid.move_cursor(row=grid.get_row_index("threads-4"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailsScreen)
        body = rendered(app.screen.query_one("#details-body"), 200)
        run = result.run("threads-4")
        assert run is not None
        assert speedup_with_uncertainty(run) in body and "p = " in body
        for notice in run.summary.warnings:
            assert notice["message"] in body


async def test_sweep_runs_are_told_apart_and_the_break_even_shown() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        result = sweep_result()
        with_results(app, "dispatch_overhead", result, [])
        await pilot.press("3")
        await pilot.pause()
        grid = app.query_one(ResultsGrid)
        assert grid.row_count == len(result.runs)
        assert "params" in [str(c.value) for c in grid.columns]
        assert grid.get_cell("threads-2@task_us=100", "params").value.text == "task_us=100"
        assert grid.get_cell("threads-2", "params").value.text == ""
        # Sweep runs did other work: they never hold a column's best mark.
        for column in ("time", "throughput", "speedup"):
            for run in result.runs:
                if run.params:
                    assert not grid.get_cell(run.run_id, column).value.best
        await pilot.press("v")
        await pilot.pause()
        text = rendered(app.query_one("#analysis-body"), 200)
        analysis = analyse_scenario(result, MACHINE)
        assert analysis.breakeven is not None
        assert analysis.breakeven.text in text
        assert "Task-size sweep" in text
        # The chart draws the scenario's own matrix only.
        await pilot.press("g")
        await pilot.pause()
        lines = chart_lines(analysis)
        assert all(w in (1.0, 2.0) for line in lines for w, _ in line.measured)
