"""What scenario files and targets put into text is safe to print and to save (issue 14, low
items): URL passwords redacted, control characters escaped, CSV formulas neutralised."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from lab.core.textsafe import escape_controls, redact_urls, safe_text
from lab.report.formats import render
from lab.results.model import RunError
from tests import synthetic
from tests.conftest import LabSandbox


def lab(box: LabSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        capture_output=True, text=True, env=box.env(), timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.parametrize(
    "text, expected",
    [
        ("http://user:secret@host/x", "http://user:***@host/x"),
        (
            "see https://a:b@h:8080/p?q=1 and ftp://u:p@f",
            "see https://a:***@h:8080/p?q=1 and ftp://u:***@f",
        ),
        ("http://user@host/x", "http://user@host/x"),  # no password: nothing to hide
        ("'http://:tok@h'", "'http://:***@h'"),
        ("mail me: a@b.c", "mail me: a@b.c"),
    ],
)
def test_redact_urls(text: str, expected: str) -> None:
    assert redact_urls(text) == expected


def test_escape_controls_keeps_lines_unless_one_line() -> None:
    text = "a\x1b[2Jb\x07c\rd\x9be\tf\ng"
    assert escape_controls(text) == "a\\x1b[2Jb\\x07c\\x0dd\\x9be\tf\ng"
    assert escape_controls(text, one_line=True).endswith("e\\x09f\\x0ag")
    assert safe_text("é ü → ⚠ 中") == "é ü → ⚠ 中"


@pytest.mark.parametrize("fmt", ["md", "json", "csv", "html"])
def test_url_password_is_in_no_report_and_not_on_stderr(
    tmp_path: Path, lab_sandbox: LabSandbox, fmt: str
) -> None:
    scenario = tmp_path / "s.yaml"
    # Port 9 on loopback: nothing listens, so the lab says so, quoting the URL.
    scenario.write_text(
        "title: Private target\nworkload: {kind: http, requests: 5, urls: "
        "['http://admin:hunter2@127.0.0.1:9/x']}\nexecutors: [asyncio]\nworkers: [1]\n"
    )
    out = lab(lab_sandbox, "--report", "-", "--format", fmt, str(scenario))
    assert out.returncode == 1, out.stderr
    assert "refused the connection" in out.stderr  # the message is there, the secret is not
    assert "admin:***@127.0.0.1:9" in out.stderr + out.stdout
    assert "hunter2" not in out.stderr and "hunter2" not in out.stdout


def test_control_characters_from_a_scenario_never_reach_the_terminal(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        'name: "evil\\e[2J"\ntitle: "Evil\\e]0;pwned\\a title\\rfake ok"\n'
        "workload: {kind: dispatch, tasks: 5}\nexecutors: [serial]\nworkers: [1]\n"
        "repeats: 1\nwarmups: 0\nmin_time: 0\n"
    )
    checked = lab(lab_sandbox, "--check", str(scenario))
    assert checked.returncode == 0, checked.stderr
    assert "\\x1b]0;pwned\\x07" in checked.stdout
    for fmt in ("md", "csv", "json", "html"):
        out = lab(lab_sandbox, "--report", "-", "--format", fmt, str(scenario))
        assert out.returncode == 0, out.stderr
        for stream in (out.stdout, out.stderr):
            assert not any(c in stream for c in "\x1b\x07\r"), (fmt, stream[:300])
        # JSON escapes it its own way (the data stays exact); the text formats show \x1b.
        shown = "evil\\u001b[2J" if fmt == "json" else "evil\\x1b[2J"
        assert shown in out.stdout and "Evil\\x1b]0;pwned\\x07" in out.stderr
    bad_key = tmp_path / "k.yaml"
    bad_key.write_text('title: t\nworkload: {kind: dispatch}\n"wor\\ekers\\a": [1]\n')
    refused = lab(lab_sandbox, "--check", str(bad_key))
    assert refused.returncode == 2
    assert "\x1b" not in refused.stderr and "\x07" not in refused.stderr
    assert "wor\\x1bkers\\x07" in refused.stderr


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    result = synthetic.numeric()
    result.name = '=HYPERLINK("http://x")'
    result.runs[0].status = "failed"
    result.runs[0].error = RunError("exception", "@SUM(A1:A9) -1 +2")
    rows = list(csv.DictReader(io.StringIO(render(synthetic.report(result), "csv"))))
    assert rows[0]["scenario"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["error"] == "'@SUM(A1:A9) -1 +2"
    numbers = [r["speedup"] for r in rows if r["speedup"]]
    assert numbers and all(not n.startswith("'") for n in numbers)
