"""`concurrency-lab view fleet.json`: a fleet report in the app, read-only, and the fleet
report's comparison of hosts on fixed data (no cluster: the reports are built here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
from textual.widgets import DataTable

from lab.analysis.fleet import compare_hosts
from lab.compare.load import load_report_or_fleet
from lab.report.formats import render_fleet
from lab.report.schema import FLEET_SCHEMA
from lab.results.fleet import FleetReport
from lab.results.model import Report
from lab.tui.fleetview import FleetViewApp
from tests.fleet_fixtures import fleet_of, slower
from tests.tui_fixtures import MACHINE, fitted_result, sweep_result


def saved_fleet(path: Path) -> Path:
    """A fleet report as `--fleet` writes it: two hosts (one 1.5x slower at everything) and a
    third whose worker died."""
    fast = Report(machine=MACHINE, scenarios=[fitted_result(), sweep_result()], created="x")
    slow_machine = {**MACHINE, "hostname": "old-box", "cpu_model": "Old CPU 1.2GHz"}
    slow = slower(
        Report(machine=slow_machine, scenarios=[fitted_result(), sweep_result()], created="x"),
        1.5,
    )
    fleet = fleet_of(fast, slow)
    path.write_text(render_fleet(fleet, "json"), encoding="utf-8")
    return path


def test_the_faster_host_wins_each_model_and_the_json_validates(tmp_path: Path) -> None:
    path = saved_fleet(tmp_path / "fleet.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, FLEET_SCHEMA)
    fleet = load_report_or_fleet(str(path))
    assert isinstance(fleet, FleetReport)
    numeric = compare_hosts(fleet)[0]
    assert numeric.hosts == ["10.0.0.2", "10.0.0.3"]  # the lost host ran nothing
    for model in numeric.models:
        # 1.5x on every repeat: significant for each model even after Holm over the table.
        assert model.fastest == "10.0.0.2" and model.winner == "10.0.0.2", model.executor
        ratio = model.versus["10.0.0.3"].ratio
        assert ratio is not None and abs(ratio - 1.5) < 1e-9
    md = render_fleet(fleet, "md")
    assert "| 10.0.0.4 " in md and "lost: its launcher worker" in md
    assert "10.0.0.2 wins serial, asyncio, uvloop, threads, processes (" in md


def view_app(path: Path) -> FleetViewApp:
    fleet = load_report_or_fleet(str(path))
    assert isinstance(fleet, FleetReport)
    return FleetViewApp(fleet, path.name)


async def test_view_shows_hosts_and_winners_and_steps_through_scenarios(tmp_path: Path) -> None:
    app = view_app(saved_fleet(tmp_path / "fleet.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        hosts: DataTable[Any] = app.query_one("#hosts", DataTable)
        models: DataTable[Any] = app.query_one("#models", DataTable)
        assert hosts.row_count == 3
        assert "viewing fleet fleet.json (read-only)" in app.sub_title
        first = [str(c) for c in models.get_row_at(0)]
        assert first[:2] == ["serial", "10.0.0.2"]
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert app.index == 1
        assert str(app.query_one("#scenario-title").render()).startswith("[2/2] ")
        await pilot.press("right_square_bracket")
        assert app.index == 0


def test_view_opens_a_fleet_report_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(view_app(saved_fleet(tmp_path / "fleet.json")), terminal_size=(80, 24))


def test_view_refuses_a_broken_fleet_report_in_one_line(tmp_path: Path) -> None:
    path = saved_fleet(tmp_path / "fleet.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["hosts"][0]["status"] = "exploded"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "lab", "view", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "hosts[0].status" in done.stderr, done.stderr
