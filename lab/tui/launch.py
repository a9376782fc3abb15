"""The app's two ways in, for the command line: the scenarios to run, or a saved report."""

from __future__ import annotations

import os
import sys

from lab.core.exit_codes import EXIT_BAD_INPUT
from lab.core.textsafe import safe_text
from lab.results.model import Report
from lab.scenario.loader import LoadedScenario
from lab.tui.app import LabApp


def terminal_problem(command: str) -> str | None:
    """Why the app cannot draw here (one sentence), or None: it needs a terminal on stdin
    (keys) and stdout (the screen); without one Textual crashes or writes escape codes forever.
    """
    for fd, role in ((0, "stdin (its keys)"), (1, "stdout (its screen)")):
        try:
            if os.isatty(fd):
                continue
        except OSError:
            pass
        return (
            f"{command} needs a terminal, and {role} is not one; for scripts use "
            "`concurrency-lab --report -` or `concurrency-lab compare`"
        )
    return None


def refuse_without_terminal(command: str) -> int | None:
    problem = terminal_problem(command)
    if problem is None:
        return None
    print(safe_text(problem, one_line=True), file=sys.stderr)
    return EXIT_BAD_INPUT


def view_report(report: Report, name: str) -> int:
    """Open a saved report read-only (`concurrency-lab view`); returns the exit code."""
    result = LabApp([], machine=report.machine, report=report, report_name=name).run()
    return int(result or 0)


def run_app(scenarios: list[LoadedScenario], quick: bool = False, selected: int = 0) -> int:
    """Open the app; returns its exit code."""
    if (refused := refuse_without_terminal("concurrency-lab (the app)")) is not None:
        return refused
    result = LabApp(scenarios, quick=quick, selected=selected).run()
    return int(result or 0)
