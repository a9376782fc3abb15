"""What the app shows of scenario files and saved reports: the same safe text as every report.

Textual drops some control characters (BEL) but passes ESC through to the terminal, so a
scenario's title could move the cursor or retitle the terminal. Names, titles and
descriptions are escaped (lab.core.textsafe) once, where the app takes them in.
"""

from __future__ import annotations

from dataclasses import replace

from lab.core.textsafe import safe_text
from lab.results.model import Report
from lab.scenario.loader import LoadedScenario


def shown_scenarios(scenarios: list[LoadedScenario]) -> list[LoadedScenario]:
    shown = []
    for item in scenarios:
        scenario = item.scenario.model_copy(
            update={
                "title": safe_text(item.scenario.title, one_line=True),
                "description": safe_text(item.scenario.description),
            }
        )
        shown.append(replace(item, name=safe_text(item.name, one_line=True), scenario=scenario))
    return shown


def shown_report(report: Report) -> Report:
    """The saved report with its scenarios' names, titles and descriptions escaped (in place:
    the app only shows and re-exports it)."""
    for result in report.scenarios:
        result.name = safe_text(result.name, one_line=True)
        result.title = safe_text(result.title, one_line=True)
        result.description = safe_text(result.description)
    return report
