"""Text from reports and from user code never reaches the terminal raw (issue 21, section 1).

The lab runs on a real pseudo-terminal (tests/pty_terminal.py) and the test reads the raw bytes
it writes there, as a terminal emulator gets them: no OSC 52 (clipboard write), no OSC 0
(window title) and no CSI 2J (clear screen) that came from the data, and no raw U+202E (bidi
override). Markup in names (`[/]`, `[cluster]`) is shown as written, never read as a tag.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from lab.compare import load_report
from lab.tui.app import LabApp
from tests.conftest import CONSOLE_SCRIPT, LabSandbox
from tests.pty_terminal import PtyApp
from tests.tui_fixtures import saved_report

# OSC 52 writes the clipboard, OSC 0 the window title, CSI 2J clears the screen; U+202E
# reverses what follows; `[/]` closes a tag that was never opened (a MarkupError).
EVIL = "\x1b]52;c;UFdORUQ=\x1b\\\x1b]0;T\x1b\\\x1b[2J\u202e[/][cluster]"
FORBIDDEN = {
    "OSC 52": b"\x1b]52",
    "OSC 0 from the data": b"\x1b]0;T",
    "CSI 2J": b"\x1b[2J",
    "raw U+202E": "\u202e".encode(),
}


def hostile_report(path: Path) -> Path:
    """A saved report with the attack in every free text: machine facts, warnings at every
    level, scenario names, titles and descriptions, run ids, a run's error."""
    saved_report(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["warnings"].append({"code": "machine_busy", "message": "busy " + EVIL})
    data["machine"]["hostname"] = "host" + EVIL
    data["machine"]["cpu_model"] = "cpu" + EVIL
    for scenario in data["scenarios"]:
        scenario["name"] += EVIL
        scenario["title"] = "title" + EVIL
        scenario["description"] = "description" + EVIL
        scenario["warnings"].append({"code": "noisy", "message": "scenario " + EVIL})
        renamed = {}
        for run in scenario["runs"]:
            renamed[run["run_id"]] = run["run_id"] + "[/]\u202e"
            run["run_id"] = renamed[run["run_id"]]
            run["summary"]["warnings"].append({"code": "noisy", "message": "run " + EVIL})
        scenario["baseline"] = renamed.get(scenario["baseline"], scenario["baseline"])
        last = scenario["runs"][-1]
        last["status"] = "failed"
        last["error"] = {"kind": "exception", "message": "ValueError: " + EVIL, "detail": EVIL}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# Seconds without output after a key that mean the app has drawn its answer (a frame is 1/60 s);
# over Textual's escape delay (0.1 s), so an escape is read alone before the next key comes.
QUIET = 0.25


def terminal_env(box: LabSandbox) -> dict[str, str]:
    return box.env(TERM="xterm-256color", COLUMNS="120", LINES="40", TEXTUAL_ANIMATIONS="none")


def assert_nothing_raw(output: bytes) -> None:
    found = {name: output.count(seq) for name, seq in FORBIDDEN.items() if seq in output}
    assert not found, f"written raw to the terminal: {found}"
    assert b"MarkupError" not in output  # (a task's own traceback is shown in its details)


def test_view_writes_no_sequence_from_a_report_to_the_terminal(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    path = hostile_report(tmp_path / "hostile.json")
    app = PtyApp.start([str(CONSOLE_SCRIPT), "view", str(path)], terminal_env(lab_sandbox))
    assert app.read_for(60, until=b"numeric_crunching"), bytes(app.output[-2000:])
    # Every view of the results, the warnings (w), a run's details (enter on the grid), the
    # next scenario, the System tab with the machine's facts and warnings.
    app.press("gvgw\x1b\r\x1b]2", quiet=QUIET)
    code = app.finish()
    output = bytes(app.output)
    assert code == 0, output[-2000:]
    assert_nothing_raw(output)
    # The attack is shown, escaped, where a person can see it.
    assert b"\\x1b]52;c;UFdORUQ=" in output and b"\\u202e" in output


async def test_view_shows_markup_in_names_as_written(tmp_path: Path) -> None:
    """`[/]` in a run id, scenario name, title, warning or error: no MarkupError, and the
    details of a run (enter on the grid) name it as written."""
    from textual.widgets import Label

    report = load_report(str(hostile_report(tmp_path / "hostile.json")))
    app = LabApp([], machine=report.machine, report=report, report_name="hostile.json")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for key in ("g", "v", "g", "w", "escape", "right_square_bracket", "left_square_bracket"):
            await pilot.press(key)
            await pilot.pause()
        app.results_pane.grid.focus()
        await pilot.press("enter")
        await pilot.pause()
        title = str(app.screen.query_one("#details-title", Label).render())
        assert "[/]" in title and "\u202e" not in title and "\\u202e" in title
        await pilot.press("escape")
        await pilot.press("2")
        await pilot.pause()
    assert app.return_code in (0, None)


BOOM = 'def run(i):\n    raise ValueError("\\x1b]0;T\\x1b\\\\" + "\\u202e" + "[/]")\n'


def test_the_app_shows_a_task_exception_escaped(tmp_path: Path, lab_sandbox: LabSandbox) -> None:
    """The live app: a task raises ValueError("\\x1b]0;T\\x1b\\\\"); the run fails, its
    notification and its details (d) show the message escaped."""
    (tmp_path / "boom.py").write_text(BOOM)
    scenario = tmp_path / "boom.yaml"
    scenario.write_text(
        textwrap.dedent(
            """\
            title: a task that raises
            workload: {kind: callable, function: boom:run, tasks: 2}
            executors: [serial]
            workers: [1]
            repeats: 1
            warmups: 0
            min_time: 0
            """
        )
    )
    app = PtyApp.start([str(CONSOLE_SCRIPT), str(scenario)], terminal_env(lab_sandbox))
    assert app.read_for(60, until=b"a task that raises"), bytes(app.output[-2000:])
    app.press("r", settle=0.5)
    assert app.read_for(120, until=b"d for details"), bytes(app.output[-3000:])
    app.press("d", settle=2.0, quiet=QUIET)
    shown = bytes(app.output)
    app.press("\x1b", quiet=QUIET)
    code = app.finish()
    output = bytes(app.output)
    assert code == 0, output[-2000:]
    assert_nothing_raw(output)
    assert b"ValueError" in shown and b"\\x1b]0;T" in shown


@pytest.mark.skipif(sys.platform != "linux", reason="pseudo-terminals as Linux has them")
def test_pty_helper_sees_what_the_terminal_gets() -> None:
    """The harness itself: a program that writes OSC 52 is caught (the checks can fail)."""
    script = "import sys; sys.stdout.write('\\x1b]52;c;eA==\\x07'); sys.stdout.flush()"
    app = PtyApp.start([sys.executable, "-c", script], dict(os.environ))
    app.read_for(10, until=b"\x07")
    app.finish()
    with pytest.raises(AssertionError, match="OSC 52"):
        assert_nothing_raw(bytes(app.output))


async def test_the_run_pane_shows_an_install_line_whole() -> None:
    """Issue 23: `pip install 'concurrency-lab[cluster]'` lost `[cluster]` (read as a tag)."""
    from textual.widgets import Label

    from lab.engine.plan import plan_scenario
    from lab.scenario.loader import load_builtins
    from lab.scenario.models import DASK
    from lab.tui.live import LiveState
    from tests.tui_fixtures import MACHINE

    loaded = load_builtins()
    app = LabApp(loaded, machine=MACHINE, loop_name="test loop")
    async with app.run_test(size=(120, 40)) as pilot:
        plan = plan_scenario(loaded[0])
        plan.skipped["dask"] = DASK.install
        app.state.live = LiveState.for_plans([plan])
        await app.run_pane.build_rows([plan])
        await pilot.pause()
        shown = [str(label.render()) for label in app.run_pane.query(Label)]
        assert any("pip install 'concurrency-lab[cluster]'" in text for text in shown), shown


def test_the_fleet_view_writes_no_sequence_from_a_peer(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    """Host names and messages come from peers: the fleet view shows them escaped."""
    from tests.test_fleet_view import saved_fleet

    path = saved_fleet(tmp_path / "fleet.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    for host in data["hosts"]:
        host["host"] += EVIL
        host["message"] = (host.get("message") or "") + EVIL
        if host.get("report"):
            host["report"]["machine"]["hostname"] = "peer" + EVIL
            host["report"]["scenarios"][0]["title"] = "title" + EVIL
    path.write_text(json.dumps(data), encoding="utf-8")
    app = PtyApp.start([str(CONSOLE_SCRIPT), "view", str(path)], terminal_env(lab_sandbox))
    assert app.read_for(60, until=b"10.0.0.2"), bytes(app.output[-2000:])
    app.press("]]", quiet=QUIET)
    code = app.finish()
    output = bytes(app.output)
    assert code == 0, output[-2000:]
    assert_nothing_raw(output)
    assert b"\\x1b]52;c;UFdORUQ=" in output


@pytest.mark.parametrize("command", ["view", "compare"])
def test_a_file_name_is_quoted_escaped_in_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """A path is text from outside too (`view` quoted it raw)."""
    from lab.cli import main

    name = str(tmp_path / "missing\x1b]0;T\x07\u202e.json")
    args = [name] if command == "view" else [name, name]
    assert main([command, *args]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\u202e" not in err and "\x07" not in err
    assert "missing\\x1b]0;T\\x07\\u202e.json" in err
