"""The app's logic without a screen: knobs validation, progress coalescing, grid cells."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.analysis.analyse import analyse_scenario
from lab.engine.events import (
    CpuSample,
    RunFinished,
    RunProgress,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
)
from lab.engine.plan import RunPlan, ScenarioPlan
from lab.engine.session import LabSession
from lab.report.cells import run_cells
from lab.results.model import RunResult
from lab.results.summary import RunSummary
from lab.scenario.loader import load_builtins
from lab.tui.analysis import scenario_notices, warnings_body
from lab.tui.knobs import apply_knobs, values_of
from lab.tui.live import LiveState, describe
from lab.tui.results import (
    best_runs,
    chart_lines,
    columns_for,
    grid_cells,
    preview,
    speedup_series,
    speedup_text,
)
from lab.tui.state import LabState
from tests.tui_fixtures import (
    MACHINE,
    MACHINE_WARNINGS,
    builtin_index,
    finished_result,
    fitted_result,
    sweep_result,
)


def builtin(name: str):  # type: ignore[no-untyped-def]
    return next(s for s in load_builtins() if s.name == name)


def test_knobs_round_trip_unchanged() -> None:
    for loaded in load_builtins():
        scenario, errors = apply_knobs(loaded.scenario, values_of(loaded.scenario))
        assert errors == {} and scenario == loaded.scenario


def test_knobs_change_the_scenario_through_the_models() -> None:
    base = builtin("file_hashing").scenario
    values = dataclasses.replace(
        values_of(base), executors=("threads", "serial"), workers="2 cpus", size2="3 MiB"
    )
    scenario, errors = apply_knobs(base, values)
    assert errors == {} and scenario is not None
    # Canonical order; models the form does not toggle (interpreters here) stay as written.
    assert scenario.executors == ["serial", "threads", "interpreters"]
    assert scenario.workers == [2, "cpus"]
    assert scenario.workload.file_size == 3 * 1024**2  # type: ignore[union-attr]


def test_knob_errors_are_keyed_by_field() -> None:
    # Only the form's own models, so that unticking them all leaves none.
    base = builtin("numeric_crunching").scenario.model_copy(
        update={"executors": ["serial", "threads", "processes"]}
    )
    values = dataclasses.replace(
        values_of(base), executors=(), workers="1, 0", size1="many", size2="-1", warmups="x"
    )
    scenario, errors = apply_knobs(base, values)
    assert scenario is None
    assert set(errors) == {"executors", "workers", "size1", "size2", "warmups"}
    assert errors["size1"] == "should be a whole number"
    assert "cpus" in errors["workers"]


def _plan() -> ScenarioPlan:
    loaded = builtin("dispatch_overhead")
    runs = [RunPlan("serial-1", "serial", 1), RunPlan("threads-2", "threads", 2)]
    return ScenarioPlan(loaded.name, loaded.source, loaded.scenario, runs)


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=500))
def test_progress_is_coalesced_to_the_latest_value(fractions: list[float]) -> None:
    plan = _plan()
    live = LiveState.for_plans([plan])
    live.apply(ScenarioStarted(plan.name, "t", tuple(plan.runs)))
    live.apply(RunStarted(plan.name, "threads-2", "threads", 2, 10, 0, 1))
    live.take_dirty()
    for f in fractions:
        live.apply(RunProgress(plan.name, "threads-2", "repeat", 0, 1, 10, f, 1.0, 5.0))
        live.apply(CpuSample((f * 100, 0.0), "threads-2"))
    changed = live.take_dirty()
    assert [r.key for r in changed] == [(0, "threads-2")]  # one repaint, however many events
    assert changed[0].fraction == fractions[-1]
    assert live.cpu == (fractions[-1] * 100, 0.0)
    assert live.take_dirty() == []


def test_finished_run_shows_full_and_its_status() -> None:
    plan = _plan()
    live = LiveState.for_plans([plan])
    live.apply(ScenarioStarted(plan.name, "t", tuple(plan.runs)))
    live.apply(RunStarted(plan.name, "serial-1", "serial", 1, 10, 0, 1))
    assert live.current == (0, "serial-1")
    live.apply(RunProgress(plan.name, "serial-1", "repeat", 0, 5, 10, 0.5, 2.0, 2.5))
    assert describe(live.runs[(0, "serial-1")]) == "repeat 1/1  ETA 2s  2.5 tasks/s"
    ok = RunResult("serial-1", "serial", 1, "tasks", 10, status="ok")
    live.apply(RunFinished(plan.name, "serial-1", ok))
    run = live.runs[(0, "serial-1")]
    assert run.fraction == 1.0 and describe(run) == "done" and live.current is None
    assert live.runs_done == 1


def test_grid_cells_are_the_report_cells_and_best_is_marked() -> None:
    result = finished_result()
    cells = grid_cells(result)
    for run in result.runs:
        expected = run_cells(run)
        expected["speedup"] = speedup_text(expected)
        for column, _ in columns_for(result):
            if column != "status":
                assert cells[run.run_id][column].text == expected[column]
    marks = best_runs(result)
    # 3 repeats a side: no test can name a winner, so no speed column marks one.
    assert result.fastest is not None and not result.fastest.significant_against_all
    assert not {"time", "throughput", "speedup", "efficiency"} & set(marks)
    result.fastest = dataclasses.replace(result.fastest, significant_against_all=True)
    marks = best_runs(result)  # as for a tested winner
    assert marks["time"] == marks["speedup"] == {result.fastest.run_id} == {"processes-2"}
    assert "serial-1" not in marks.get("efficiency", set())  # the baseline is 100% by definition
    assert "cpu" not in marks
    assert [c for c, _ in columns_for(result)][-1] == "status"
    assert "latency" not in dict(columns_for(result))


def test_preview_leaves_the_session_result_untouched() -> None:
    result = finished_result()
    for run in result.runs:
        run.summary = RunSummary()  # as during a run: not yet finalised
    shown = preview(result, 4)
    processes = shown.run("processes-2")
    assert processes is not None and (processes.summary.speedup or 0) > 1.5
    assert all(r.summary == RunSummary() for r in result.runs)
    series = speedup_series(shown)
    assert set(series) == {"serial", "asyncio", "uvloop", "threads", "processes"}
    assert [w for w, _ in series["processes"]] == [1, 2]


def test_speedup_cell_carries_interval_and_significance() -> None:
    base = {"speedup": "1.82×", "speedup_ci": "", "significance": ""}
    assert speedup_text(base) == "1.82×"  # the baseline itself
    assert speedup_text({**base, "speedup_ci": "(1.77–1.87)"}) == "1.82× (1.77–1.87)"
    assert speedup_text({**base, "speedup_ci": "(0.95–1.01)", "significance": "n.s."}) == (
        "1.82× (0.95–1.01) n.s."
    )
    assert speedup_text({**base, "significance": "(too few repeats to test)"}) == (
        "1.82× (<4 repeats)"
    )
    assert speedup_text({**base, "speedup": "–"}) == "–"
    cells = grid_cells(fitted_result())
    assert cells["processes-4"]["speedup"].text.startswith("3.29× (")


def test_chart_lines_are_the_engines_fits_over_its_points() -> None:
    result = fitted_result()
    analysis = analyse_scenario(result, MACHINE)
    lines = {line.executor: line for line in chart_lines(analysis)}
    assert set(lines) == {"asyncio", "uvloop", "threads", "processes"}  # serial has no fit
    for name, line in lines.items():
        fit = analysis.scaling[name]
        assert line.law == "USL"  # 3 worker counts
        assert line.measured == [(n, x / fit.baseline) for n, x in fit.points]
        assert line.curve == fit.curve("usl", upto=4.0)
        assert line.curve[0][0] == 1.0 and line.curve[-1][0] == 4.0
    # The measured speedups are the grid's (throughput against wall time: the same ratio).
    speedups = dict(speedup_series(result)["processes"])
    for workers, speedup in lines["processes"].measured:
        assert abs(speedups[int(workers)] - speedup) < 1e-9
    # Two worker counts: Amdahl only.
    two = chart_lines(analyse_scenario(finished_result(), MACHINE))
    assert {line.law for line in two} == {"Amdahl"}


def test_sweep_runs_get_their_own_column_and_never_compete() -> None:
    result = sweep_result()
    assert [c for c, _ in columns_for(result)][:3] == ["executor", "workers", "params"]
    assert "params" not in dict(columns_for(fitted_result()))
    marks = best_runs(result)
    assert all("@" not in run_id for ids in marks.values() for run_id in ids)
    series = speedup_series(result)
    assert all(w in (1, 2) for points in series.values() for w, _ in points)
    assert len(series["threads"]) == 2  # not one point per task size


def test_warnings_machine_first_then_the_runs_folded() -> None:
    result = fitted_result()
    notices = scenario_notices(result, MACHINE_WARNINGS)
    codes = [n["code"] for n in notices]
    assert codes[: len(MACHINE_WARNINGS)] == [n["code"] for n in MACHINE_WARNINGS]
    assert {"slow_first_repeat", "high_spread"} <= set(codes)
    body = warnings_body(result, [], machine_known=False)
    assert "not read yet" in body and "threads-4" in body
    quiet = warnings_body(finished_result(), [], machine_known=True)
    assert "none: governor" in quiet and "none: the repeats were steady" in quiet


# ---------------------------------------------------------------- LabState, without a screen


def state_for(*names: str) -> LabState:
    """The built-ins, with the first named one selected."""
    state = LabState(load_builtins(), MACHINE)
    state.select(builtin_index(names[0]) if names else 0)
    return state


def test_state_imports_no_textual() -> None:
    """The app's domain state is plain Python: importable and testable without a terminal."""
    code = (
        "import sys, lab.tui.state; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_state_keeps_knob_edits_per_scenario() -> None:
    state = state_for("numeric_crunching")
    index = state.selected
    base = state.scenarios[index].scenario
    assert state.edit(dataclasses.replace(values_of(base), repeats="1")) == {}
    assert state.scenario(index).repeats == 1 and state.edited == {index: state.scenario(index)}
    # Editing back to the file's values drops the edit rather than keeping a copy.
    assert state.edit(values_of(base)) == {}
    assert state.edited == {} and state.scenario(index) == base

    errors = state.edit(dataclasses.replace(values_of(base), workers="1, 0"))
    assert set(errors) == {"workers"} and state.form_errors == {index: errors}
    assert state.knobs_invalid([index]) and not state.knobs_invalid([index + 1])
    assert state.scenario(index) == base  # an invalid form never changes what runs
    state.select(index)  # the form is reloaded from the scenario: its errors go
    assert not state.knobs_invalid([index])

    state.edit(dataclasses.replace(values_of(base), repeats="2"))
    state.reset_knobs()
    assert state.scenario(index) == base


def test_state_plans_with_the_edits_and_resets_the_live_state() -> None:
    state = state_for("numeric_crunching")
    index = state.selected
    base = state.scenarios[index].scenario
    state.edit(dataclasses.replace(values_of(base), executors=("serial",), repeats="1"))
    plans = state.plan([index])
    assert plans is not None and [p.scenario.repeats for p in plans] == [1]
    assert [r.executor for r in plans[0].runs] == ["serial"]
    assert state.plan_keys == [index]
    assert list(state.live.runs) == [(0, "serial-1")]


def test_state_folds_events_into_results_and_failures() -> None:
    state = state_for("numeric_crunching")
    key = state.selected
    plans = state.plan([key])
    assert plans is not None
    plan = plans[0]
    assert state.apply(ScenarioStarted(plan.name, plan.scenario.title, tuple(plan.runs))) is None
    assert state.results_key == key
    first = plan.runs[0]
    state.apply(RunStarted(plan.name, first.run_id, first.executor, first.workers, 64, 0, 1))
    text, subtitle = state.status_line()
    # 80 columns: the run's id and the keys; the scenario is the heading above the rows.
    assert text == f"run 1 of {len(plan.runs)} · {first.run_id} · c cancel · x stop all"
    assert subtitle == f"running {first.run_id}"

    failed = RunResult(first.run_id, first.executor, first.workers, "tasks", 64, status="timeout")
    alert = state.apply(RunFinished(plan.name, first.run_id, failed))
    assert (
        alert == f"numeric_crunching {first.run_id} timeout (d for details)"
    )  # not "timeout: timeout"
    title, body = state.failures[-1]
    assert title == f"numeric_crunching: {first.run_id} timeout" and "status     timeout" in body

    result = finished_result()
    state.interrupted.add(key)  # an earlier session was interrupted: this one finished
    assert state.apply(ScenarioFinished(plan.name, result)) is None
    assert state.results == {key: result} and key not in state.interrupted

    broken = dataclasses.replace(result, error="cannot provision the files")
    alert = state.apply(ScenarioFinished(plan.name, broken))
    assert alert == "numeric_crunching failed: cannot provision the files (d for details)"
    assert state.failures[-1] == ("numeric_crunching: scenario failed", broken.error)


def test_state_keeps_an_interrupted_scenario_and_marks_the_rest_not_run() -> None:
    state = state_for("numeric_crunching")
    key = state.selected
    plans = state.plan([key])
    assert plans is not None
    session = LabSession(plans)  # never started: its report holds every run as not_run
    session.report.warnings = list(MACHINE_WARNINGS)
    state.session = session
    state.apply(ScenarioStarted(plans[0].name, plans[0].scenario.title, tuple(plans[0].runs)))
    result, live = state.shown_result()  # the scenario in flight: a preview, every run queued
    assert result is not None and live == {r.run_id: "queued" for r in plans[0].runs}
    assert state.machine_warnings_shown() == MACHINE_WARNINGS

    summary, failed = state.end_session(session, completed=False)
    assert state.session is None and state.live.current is None
    assert state.results[key] is session.report.scenarios[0] and key in state.interrupted
    assert state.machine_warnings[key] == MACHINE_WARNINGS
    assert {r.state for r in state.live.runs.values()} == {"not_run"}
    assert summary == f"finished: 0 of {len(plans[0].runs)} runs ok" and not failed
    assert state.status_line() == (f"Session over: 0 of {len(plans[0].runs)} runs ok.", None)


def test_state_cycles_and_exports_the_latest_results() -> None:
    state = state_for("numeric_crunching")
    assert not state.cycle_results(1) and state.export_report() is None
    numeric, dispatch = builtin_index("numeric_crunching"), builtin_index("dispatch_overhead")
    state.results = {numeric: finished_result(), dispatch: sweep_result()}
    state.machine_warnings = {numeric: list(MACHINE_WARNINGS), dispatch: list(MACHINE_WARNINGS)}
    state.interrupted = {dispatch}

    state.results_key = None
    assert state.cycle_results(1) and state.results_key == min(numeric, dispatch)
    assert state.cycle_results(1) and state.results_key == max(numeric, dispatch)
    assert state.cycle_results(1) and state.results_key == min(numeric, dispatch)  # wraps
    assert state.cycle_results(-1) and state.results_key == max(numeric, dispatch)

    report = state.export_report()
    assert report is not None
    assert [s.name for s in report.scenarios] == [
        state.scenarios[i].name for i in sorted((numeric, dispatch))
    ]
    assert report.warnings == MACHINE_WARNINGS  # each session's warnings, once
    assert report.interrupted and report.machine == MACHINE


def test_state_warnings_text_names_the_results_shown() -> None:
    state = state_for("numeric_crunching")
    assert state.warnings_text()[0] == "Warnings"
    key = state.selected
    result = fitted_result()
    state.results[key] = result
    state.machine_warnings[key] = list(MACHINE_WARNINGS)
    state.results_key = key
    assert state.warnings_text() == (
        "Warnings: numeric_crunching",
        warnings_body(result, MACHINE_WARNINGS, True),
    )


def test_state_analysis_is_cached_until_the_runs_change(monkeypatch: pytest.MonkeyPatch) -> None:
    state = state_for("numeric_crunching")
    result = finished_result()
    first = state.analysis(0, result)
    assert first is not None and state.analysis(0, result) is first
    result.runs[-1].status = "failed"  # a changed run: analysed again
    again = state.analysis(0, result)
    assert again is not None and again is not first

    def broken(*args: object) -> None:
        raise ZeroDivisionError("a bug in a rule")

    monkeypatch.setattr("lab.tui.state.analyse_scenario", broken)
    assert state.analysis(1, finished_result()) is None  # the results stay; d tells why
    title, body = state.failures[-1]
    assert title == "numeric_crunching: the analysis failed" and "ZeroDivisionError" in body


def test_state_merges_claims_over_every_scenario_with_results() -> None:
    state = state_for("numeric_crunching")
    numeric = builtin_index("numeric_crunching")
    state.results = {numeric: finished_result()}
    assert state.merged_claims() == ([], 1)
    state.results[builtin_index("dispatch_overhead")] = sweep_result()
    merged, count = state.merged_claims()
    assert count == 2 and merged
