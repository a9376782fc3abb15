"""`concurrency-lab view REPORT.json`: a saved report in the app, read-only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from textual.widgets import Tab

from lab.cli import main
from lab.compare import load_report
from lab.report.schema import REPORT_SCHEMA
from lab.tui.app import LabApp
from tests.tui_fixtures import saved_report


def view_app(path: Path) -> LabApp:
    report = load_report(str(path))
    return LabApp([], machine=report.machine, report=report, report_name=path.name)


async def test_view_shows_results_verdicts_and_chart_and_runs_nothing(tmp_path: Path) -> None:
    path = saved_report(tmp_path / "saved.json")
    jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), REPORT_SCHEMA)
    app = view_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.tabs.active == "results"
        assert [t.id for t in app.query(Tab)] == ["--content-tab-results", "--content-tab-system"]
        assert app.results_pane.grid.row_count == 13  # numeric_crunching's runs
        assert "viewing saved.json (read-only)" in app.sub_title
        assert app.check_action("run_selected", ()) is False
        assert app.check_action("show_tab", ("run",)) is False
        await pilot.press("r", "a", "1", "2")  # nothing to run, no tab to go to
        await pilot.pause()
        assert app.state.session is None and app.tabs.active == "results"
        await pilot.press("g")
        assert app.results_pane.view == "chart"
        await pilot.press("v")
        assert app.results_pane.view == "verdicts"
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert app.state.results_key == 1
        assert app.results_pane.grid.result is not None
        assert app.results_pane.grid.result.name == "dispatch_overhead"
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Run all scenarios" not in titles and "Cancel run" not in titles
        assert "Export report" in titles


def test_view_bad_files_exit_2_with_one_line(tmp_path: Path) -> None:
    not_json = tmp_path / "notes.json"
    not_json.write_text("hello", encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text('{"schema": "something-else"}', encoding="utf-8")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # a reader that opened it would block forever
    for argv in (
        ["view", str(fifo)],
        ["view", str(tmp_path / "missing.json")],
        ["view", str(not_json)],
        ["view", str(other)],
        ["view", str(tmp_path)],  # a directory
        ["view"],
        ["view", "a.json", "b.json"],
    ):
        code = subprocess.run(
            [sys.executable, "-m", "lab", *argv], capture_output=True, text=True, timeout=60
        )
        assert code.returncode == 2, (argv, code.stderr)
        assert len(code.stderr.strip().splitlines()) == 1, code.stderr
        assert "Traceback" not in code.stderr and code.stdout == ""


def test_help_names_view(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "concurrency-lab view REPORT.json" in out
