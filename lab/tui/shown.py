"""What the app shows of scenario files, saved reports and runs: the terminal's sanitiser.

Textual drops some control characters (BEL) but passes ESC through to the terminal, so a
scenario's title, a report's warning or a task's exception could write the clipboard (OSC 52),
retitle or clear the terminal. Two layers keep them out:

- the data: scenario names, titles and descriptions, and every string a viewed report shows,
  are escaped (lab.core.textsafe.safe_text) once, where the app takes them in, so they are shown
  as `\\x1b` in a layout that counts them;
- the screen: `UnsafeCharacters` (lab.tui.linefilter), a line filter on every line every
  widget paints, escapes whatever a path forgot, so no control or bidi character from any
  source reaches the terminal.

Markup is the other half: text from outside goes into widgets as plain text (`markup=False`,
`Text`, `Content`), never into Rich or Textual markup, where `[/]` would crash the app and
`pip install 'concurrency-lab[cluster]'` would lose its `[cluster]`.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from lab.core.textsafe import map_strings, safe_text
from lab.results.model import Report, RunResult, ScenarioResult
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
    """The saved report with every string it shows escaped (names, run ids, executors,
    warnings, errors, machine facts), scenario names and titles on one line."""
    shown = copy.copy(report)
    shown.machine = map_strings(report.machine, safe_text)
    shown.warnings = map_strings(report.warnings, safe_text)
    shown.scenarios = [_shown_result(result) for result in report.scenarios]
    return shown


def _shown_result(result: ScenarioResult) -> ScenarioResult:
    shown = copy.copy(result)
    shown.runs = []
    shown = map_strings(shown, safe_text)
    shown.runs = [_shown_run(run) for run in result.runs]
    shown.name = safe_text(result.name, one_line=True)
    shown.title = safe_text(result.title, one_line=True)
    return shown


def _shown_run(run: RunResult) -> RunResult:
    # The repeat records are measurements (and digests of task results the app never shows):
    # walking them too would cost seconds at a thousand runs. The line filter still guards them.
    shown = copy.copy(run)
    shown.warmups, shown.repeats = [], []
    shown = map_strings(shown, safe_text)
    shown.warmups, shown.repeats = run.warmups, run.repeats
    return shown
