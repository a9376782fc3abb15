"""What the measured code prints is kept with its run, successful or not, and shown in the run's
details: never on the event pipe, never lost (issue 21: fds 1 and 2 go to a capture of their own).
"""

from __future__ import annotations

import contextlib
import json
import textwrap
from pathlib import Path

import pytest

from lab.engine.plan import make_plan
from lab.engine.rounds import OUTPUT_KEPT, keep_output
from lab.engine.session import LabSession
from lab.report.formats import render
from lab.report.schema import REPORT_SCHEMA
from lab.results.model import Report
from lab.scenario.loader import resolve
from lab.tui.state import run_details
from tests.conftest import LabSandbox

CHATTY = """\
import os
import sys


def task(i):
    print(f"hello from task {i} in {os.getpid()}")
    print("a warning on stderr", file=sys.stderr)
    return i * i
"""


def test_kept_output_is_bounded() -> None:
    assert keep_output("", "") == ""
    assert keep_output("a", "b") == "a\nb"
    kept = keep_output("x" * OUTPUT_KEPT, "more")
    assert kept.startswith("x" * OUTPUT_KEPT) and kept.endswith("5 more characters left out]")


@pytest.mark.slow
async def test_a_successful_run_keeps_what_its_code_printed(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    import jsonschema

    (tmp_path / "chatty.py").write_text(CHATTY)
    (tmp_path / "c.yaml").write_text(
        textwrap.dedent(
            """\
            title: chatty
            workload: {kind: callable, function: "chatty:task", tasks: 3}
            executors: [serial, processes]
            workers: [1]
            repeats: 1
            warmups: 0
            processes: 1
            min_time: 0
            """
        )
    )
    session = LabSession(make_plan(resolve([str(tmp_path / "c.yaml")])))
    async with contextlib.aclosing(session.events()) as events:
        async for _ in events:
            pass
    report: Report = session.report
    runs = {r.run_id: r for r in report.scenarios[0].runs}
    for run_id in ("serial-1", "processes-1"):
        run = runs[run_id]
        assert run.status == "ok", run.error
        assert "hello from task 2 in" in run.output
        assert "a warning on stderr" in run.output
        details = run_details("chatty", run)
        assert "output of the runner and its workers (fds 1 and 2):" in details
        assert "hello from task 0" in details
    data = json.loads(render(report, "json"))
    jsonschema.validate(data, REPORT_SCHEMA)
    assert "hello from task 1" in data["scenarios"][0]["runs"][0]["output"]
    assert Report.from_json(data).scenarios[0].runs[0].output == runs["serial-1"].output
