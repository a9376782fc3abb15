"""The app shows scenario files' and saved reports' text escaped, as every report format does.

Textual strips BEL but writes ESC through to the terminal: a title could otherwise move the
cursor or retitle the terminal of whoever opens the file.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.compare import load_report
from lab.scenario.loader import resolve
from lab.tui.app import LabApp
from lab.tui.state import LabState
from tests.tui_fixtures import MACHINE, saved_report

HOSTILE = (
    'title: "Evil \\e]0;pwned\\a title \\e[2J"\n'
    'description: "clears \\e[2J the screen; see http://user:secret@127.0.0.1/"\n'
    "workload: {kind: dispatch, tasks: 10}\n"
    "executors: [serial]\nworkers: [1]\n"
)


def test_state_escapes_scenario_text(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(HOSTILE)
    state = LabState(resolve([str(path)]), MACHINE)
    scenario = state.scenarios[0].scenario
    for text in (scenario.title, scenario.description):
        assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;pwned" in scenario.title
    assert "secret" not in scenario.description


async def test_app_never_writes_a_scenarios_escape_to_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(HOSTILE)
    app = LabApp(resolve([str(path)]), machine=MACHINE, loop_name="test loop")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = str(app.query_one("#scenario-info").render())
        assert "\\x1b]0;pwned" in shown and "\x1b" not in shown


def test_a_viewed_report_is_escaped_too(tmp_path: Path) -> None:
    path = saved_report(tmp_path / "r.json")
    data = json.loads(path.read_text())
    data["scenarios"][0]["title"] = "Evil \x1b]0;pwned\x07"
    path.write_text(json.dumps(data))
    state = LabState.for_report(load_report(str(path)))
    assert state.results[0].title == "Evil \\x1b]0;pwned\\x07"
