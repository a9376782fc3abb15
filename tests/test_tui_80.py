"""The app at 80x24: what must stay readable, and the app's own CPU while a run is live."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jsonschema
import pytest

from lab.engine.events import RunFinished, RunStarted, ScenarioStarted
from lab.report.formats import render
from lab.report.schema import REPORT_SCHEMA
from lab.results.model import Report, RunResult
from lab.scenario.loader import load_builtins
from lab.tui.knobs import values_of
from lab.tui.live import APP_CPU_LIMIT, AppCpuMeter
from lab.tui.results import best_runs
from lab.tui.state import LabState
from lab.tui.widgets.knobs_form import CheckList
from tests.tui_fixtures import (
    MACHINE,
    MACHINE_WARNINGS,
    builtin_index,
    fitted_result,
    make_app,
    with_results,
)


@pytest.fixture(autouse=True)
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lab.engine.plan.usable_cpus", lambda: 2)
    monkeypatch.setattr("lab.scenario.spec.usable_cpus", lambda: 2)


async def test_notifications_never_cover_the_verdict_line() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        with_results(app, result=fitted_result(), machine_warnings=MACHINE_WARNINGS)
        await pilot.press("3")
        for n in range(3):
            app.notify(
                f"notification {n}: long enough to wrap onto a second line at 80", timeout=30
            )
        await pilot.pause(0.3)
        toasts = list(app.screen.query("Toast"))
        assert len(toasts) == 3
        verdict = app.query_one("#results-verdict").region
        legend = app.query_one("#results-legend").region
        for toast in toasts:
            assert not toast.region.overlaps(verdict) and not toast.region.overlaps(legend)


async def test_ticked_and_unticked_boxes_differ_in_plain_text() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        boxes = app.query_one(CheckList)
        boxes.deselect("asyncio")
        await pilot.pause()
        lines = {
            str(boxes.get_option_at_index(y).value): boxes.render_line(y).text
            for y in range(boxes.option_count)
        }
        assert lines["serial"].startswith("▐X▌") and lines["asyncio"].startswith("▐ ▌")
        assert all(lines[n].startswith("▐X▌") for n in ("uvloop", "threads", "processes"))


def test_quick_knobs_hold_the_values_that_will_run() -> None:
    index = builtin_index("numeric_crunching")
    scenarios = load_builtins()
    state = LabState(scenarios, MACHINE, quick=True, selected=index)
    quick = scenarios[index].scenario.quick()
    assert state.scenario(index) == quick
    assert (quick.repeats, quick.warmups) != (
        scenarios[index].scenario.repeats,
        scenarios[index].scenario.warmups,
    )
    plans = state.plan([index])
    assert plans is not None and plans[0].quick
    assert plans[0].scenario == quick  # planned as shown, not scaled down a second time
    # An edit above --quick's limits runs as typed: the knobs are what runs.
    edited = dataclasses.replace(values_of(quick), repeats="5", warmups="1")
    assert state.edit(edited) == {}
    plans = state.plan([index])
    assert plans is not None and (plans[0].scenario.repeats, plans[0].scenario.warmups) == (5, 1)


def test_the_app_records_its_own_cpu_per_run_and_warns_above_the_limit() -> None:
    cpu, clock = [10.0], [100.0]
    meter = AppCpuMeter(cpu=lambda: cpu[0], clock=lambda: clock[0])
    meter.start()
    cpu[0], clock[0] = 10.02, 102.0  # 1% of a core
    assert meter.stop("serial-1") == pytest.approx(0.01)
    assert meter.notice() is None
    meter.start()
    cpu[0], clock[0] = 10.32, 104.0  # 15% of a core
    assert meter.stop("processes-2") == pytest.approx(0.15)
    warning = meter.notice()
    assert warning is not None and warning["code"] == "app_cpu"
    assert "processes-2 15.0%" in warning["message"] and "serial-1" not in warning["message"]
    assert meter.stop("processes-2") is None  # not started: nothing to say
    meter.start()
    cpu[0], clock[0] = cpu[0] + 0.25, clock[0] + 0.5  # 50%, but over half a second
    assert meter.stop("threads-1") == pytest.approx(0.5)
    assert "threads-1" not in meter.over  # a short run is the app's fixed per-run work
    assert APP_CPU_LIMIT == 0.05


def test_the_state_fills_app_cpu_cores_and_the_schema_accepts_it() -> None:
    index = builtin_index("numeric_crunching")
    state = LabState(load_builtins(), MACHINE, selected=index)
    plans = state.plan([index])
    assert plans is not None
    plan = plans[0]
    first = plan.runs[0]
    state.apply(ScenarioStarted(plan.name, plan.scenario.title, tuple(plan.runs)))
    state.apply(RunStarted(plan.name, first.run_id, first.executor, first.workers, 64, 0, 1))
    run = RunResult(first.run_id, first.executor, first.workers, "tasks", 64, status="ok")
    state.apply(RunFinished(plan.name, first.run_id, run))
    assert run.app_cpu_cores is not None and run.app_cpu_cores >= 0
    result = fitted_result()
    result.runs[0].app_cpu_cores = 0.031
    data: dict[str, Any] = json.loads(render(Report(machine=MACHINE, scenarios=[result]), "json"))
    jsonschema.validate(data, REPORT_SCHEMA)
    assert data["scenarios"][0]["runs"][0]["app_cpu_cores"] == 0.031
    assert "app_cpu_cores" not in data["scenarios"][0]["runs"][1]  # headless reports lack it
    back = Report.from_json(data)
    assert back.scenarios[0].runs[0].app_cpu_cores == 0.031


def test_efficiency_above_100_percent_is_never_the_best() -> None:
    result = fitted_result()
    superlinear = result.run("threads-2")
    assert superlinear is not None
    superlinear.summary = dataclasses.replace(superlinear.summary, efficiency=1.4)
    marks = best_runs(result)
    assert "threads-2" not in marks["efficiency"]
    assert marks["efficiency"]  # the best honest one is still marked


async def test_cycling_with_one_scenario_says_so() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["no results yet"]
        with_results(app, result=fitted_result())
        await pilot.press("3", "right_square_bracket")
        await pilot.pause()
        assert any(
            "one scenario's results: nothing else to show" in n.message for n in app._notifications
        )


def _check_whole_columns(grid: Any) -> None:
    """Every scrollable column on screen is whole, or not shown at all (blank): header row."""
    x = round(grid.scroll_x)
    fixed = grid.fixed_width()
    width = grid.size.width
    header = grid.render_line(0).text
    edges = grid.column_edges()
    for j, column in enumerate(grid.ordered_columns[grid.fixed_columns :]):
        start, end = fixed + edges[j] - x, fixed + edges[j + 1] - x
        if end <= fixed or start >= width:
            continue
        shown = header[max(start, fixed) : min(end, width)]
        if start >= fixed and end - grid.cell_padding <= width:
            assert shown.strip() == column.label.plain
        else:
            assert shown.strip() == "", f"{column.label.plain!r} cut at {x}: {shown!r}"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_sideways_scrolling_stops_at_column_boundaries(size: tuple[int, int]) -> None:
    """All columns (`f` at 80; the default at 120): each left/right step lands on a column start,
    with the cursor's column whole on screen; a wheel stopping mid-column shows no cut cell."""
    from lab.tui.widgets.grid import ResultsGrid

    app = make_app()
    async with app.run_test(size=size) as pilot:
        with_results(app, result=fitted_result(), machine_warnings=MACHINE_WARNINGS)
        await pilot.press("3", *(["f"] if size[0] < 120 else []))
        await pilot.pause()
        grid = app.query_one(ResultsGrid)
        edges = grid.column_edges()
        assert grid.virtual_size.width > grid.size.width  # wider than the screen: it scrolls
        offsets = set()
        steps = ["right"] * len(grid.columns) + ["left"] * len(grid.columns) + ["end", "home"]
        for key in steps:
            await pilot.press(key)
            await pilot.pause()
            x = grid.scroll_x
            offsets.add(x)
            assert x in edges, f"{key}: scroll_x {x} is not a column start {edges}"
            column = grid.cursor_coordinate.column - grid.fixed_columns
            if column >= 0:
                room = grid.size.width - grid.fixed_width()
                assert x <= edges[column] and edges[column + 1] <= x + room
            _check_whole_columns(grid)
        assert len(offsets) > 1 and 0 in offsets  # it did scroll, and came back
        for x in range(1, edges[-1]):  # wherever a mouse wheel leaves it
            grid.scroll_x = x
            if grid.scroll_x == x:
                _check_whole_columns(grid)
