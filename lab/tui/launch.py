"""The app's two ways in, for the command line: the scenarios to run, or a saved report."""

from __future__ import annotations

from lab.results.model import Report
from lab.scenario.loader import LoadedScenario
from lab.tui.app import LabApp


def view_report(report: Report, name: str) -> int:
    """Open a saved report read-only (`concurrency-lab view`); returns the exit code."""
    result = LabApp([], machine=report.machine, report=report, report_name=name).run()
    return int(result or 0)


def run_app(scenarios: list[LoadedScenario], quick: bool = False, selected: int = 0) -> int:
    """Open the app; returns its exit code."""
    result = LabApp(scenarios, quick=quick, selected=selected).run()
    return int(result or 0)
