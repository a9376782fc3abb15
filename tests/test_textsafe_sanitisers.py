"""One sanitiser per output (lab.core.textsafe), each checked on hostile text, and each in
linear time: at 1 MB of the input that made the old URL pattern backtrack (a 200,000-letter
title took `--check` 40 s), every function must finish in seconds (issue 21, sections 1 and 3).
"""

from __future__ import annotations

import csv
import io
import sys
import time
import unicodedata
from collections.abc import Callable

import pytest

from lab.core.textsafe import (
    csv_cell,
    escape_controls,
    html_text,
    markdown_text,
    markup_text,
    redact_urls,
    safe_text,
)

# What a hostile report or exception carries: OSC 52 (clipboard write), OSC 0 (window title),
# CSI 2J (clear screen), a bidi override and isolate, a zero-width joiner, a BOM, C1 CSI.
HOSTILE = "a\x1b]52;c;UFdORUQ=\x1b\\b\x1b]0;T\x07c\x1b[2Jd\u202ee\u2066f\u200dg\ufeffh\x9bi"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u200d", "\ufeff")


def test_every_control_and_format_character_is_escaped() -> None:
    """The spelled-out class matches this Python's Unicode database: every Cc and Cf."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            assert escape_controls(char, one_line=True) != char, hex(code)
            assert escape_controls(char, one_line=True).isascii(), hex(code)


def test_terminal_sanitiser_shows_escapes_instead_of_sequences() -> None:
    shown = safe_text(HOSTILE)
    assert not any(c in shown for c in RAW)
    assert "\\x1b]52;c;UFdORUQ=" in shown and "\\u202ee" in shown and "\\x9bi" in shown
    assert safe_text("x\U000e0041y") == "x\\U000e0041y"  # a tag character, beyond the BMP
    assert safe_text(shown) == shown  # idempotent: escaping twice changes nothing
    assert safe_text("é ü → ⚠ 中 ×") == "é ü → ⚠ 中 ×"  # printable text is left alone


@pytest.mark.parametrize(
    "text", ["[/]", "concurrency-lab[cluster]", "[b]bold[/b]", "[@click=app.quit]q", "a[", "x\\"]
)
def test_markup_sanitiser_text_is_shown_as_written(text: str) -> None:
    from rich.text import Text
    from textual.content import Content

    escaped = markup_text(text)
    assert Content.from_markup(escaped).plain == text
    assert Text.from_markup(escaped).plain.replace("\\", "") == text.replace("\\", "")
    assert Content.from_markup(f"[b]{markup_text(HOSTILE)}[/b]").plain == safe_text(HOSTILE)


def test_markdown_sanitiser_never_breaks_a_table_row() -> None:
    cell = markdown_text("a|b\nc\r\nd\u2028e\u2029f<script>x</script>" + HOSTILE)
    assert "\n" not in cell and "\r" not in cell and "\u2028" not in cell and "<" not in cell
    assert "a\\|b" in cell and "&lt;script>" in cell
    assert not any(c in cell for c in RAW)
    row = f"| {cell} | 2 |"
    assert row.replace("\\|", "").count("|") == 3  # exactly the row's own three pipes


def test_html_sanitiser_escapes_markup_and_controls() -> None:
    shown = html_text('<img src=x onerror="alert(1)">' + HOSTILE)
    assert "<" not in shown and '"' not in shown and not any(c in shown for c in RAW)
    assert shown.startswith("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;")


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("  =1+1", "'  =1+1"),  # blanks first: still a formula to a spreadsheet
        ("\t=1+1", "\\x09=1+1"),  # a tab is escaped, so the cell starts with a backslash
        ("a\nb", "a\\x0ab"),
        ("plain", "plain"),
        (-1.5, -1.5),  # numbers stay numbers
        (None, None),
    ],
)
def test_csv_sanitiser_neutralises_formulas(value: object, expected: object) -> None:
    assert csv_cell(value) == expected


def test_csv_cell_survives_a_csv_round_trip_on_one_line() -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([csv_cell("=1\n+2"), csv_cell(HOSTILE)])
    assert out.getvalue().count("\n") == 1
    assert next(csv.reader(io.StringIO(out.getvalue())))[0] == "'=1\\x0a+2"


MB = 1024 * 1024
# The inputs that make a backtracking pattern quadratic: one long word (the old scheme pattern
# retried from each letter), `://` then colons with no `@`, runs of backslashes and brackets
# (Rich's own markup escape is quadratic on backslashes), every character to escape.
WORST_CASES = {
    "letters": "a" * MB,
    "scheme-then-colons": "a://" + ":" * MB,
    "many-schemes": "a://b:" * (MB // 6),
    "backslashes": "\\" * MB,
    "brackets": "[a" * (MB // 2),
    "escapes": "\x1b\u202e" * (MB // 2),
    "pipes-and-lines": "|\n" * (MB // 2),
    "blanks-then-formula": " " * MB + "=",
}
SANITISERS: dict[str, Callable[[str], object]] = {
    "redact_urls": redact_urls,
    "escape_controls": escape_controls,
    "safe_text": safe_text,
    "markup_text": markup_text,
    "markdown_text": markdown_text,
    "html_text": html_text,
    "csv_cell": csv_cell,
}


@pytest.mark.parametrize("name", SANITISERS)
def test_each_sanitiser_is_linear_at_one_megabyte(name: str) -> None:
    function = SANITISERS[name]
    for case, text in WORST_CASES.items():
        started = time.perf_counter()
        function(text)
        elapsed = time.perf_counter() - started
        # Linear work is well under a second here; a quadratic pattern takes hours at 1 MB.
        assert elapsed < 5, f"{name} took {elapsed:.1f} s on 1 MB of {case}"


def test_redaction_still_finds_passwords_in_long_text() -> None:
    text = "x" * MB + " see https://admin:hunter2@127.0.0.1:8080/ and 1http://u:p@h"
    redacted = redact_urls(text)
    assert "hunter2" not in redacted and "https://admin:***@127.0.0.1:8080/" in redacted
    assert "1http://u:***@h" in redacted


def test_every_report_format_gets_every_string_through_its_sanitiser() -> None:
    """A line break, a pipe, a tag and a bidi override in a run's executor and error, the
    scenario's name and the machine's CPU: each format stays well formed, the report itself
    is left as it was (map_strings copies)."""
    from lab.core.textsafe import map_strings
    from lab.report.formats import render
    from lab.results.model import RunError
    from tests import synthetic

    evil = "x\n| injected | row |\r\n<script>alert(1)</script>\u202e=1+1"
    result = synthetic.numeric()
    result.name = "numeric" + evil
    run = result.runs[-1]
    run.status, run.error = "failed", RunError("exception", evil)
    report = synthetic.report(result)
    report.machine["cpu_model"] = evil
    for fmt in ("md", "html", "csv"):
        text = render(report, fmt)
        assert "\u202e" not in text and "\r" not in text, fmt
        assert fmt == "csv" or "<script>" not in text, fmt  # (in CSV a tag is only text)
    md = render(report, "md")
    carrying = [line for line in md.splitlines() if "injected" in line]
    assert carrying and not any(
        line.startswith(("| injected", "<script", "=1")) for line in md.splitlines()
    )
    rows = [line for line in carrying if line.startswith("|")]
    assert rows and all(line.endswith("|") for line in rows)  # a cell never breaks its row
    assert not any("| injected | row |" in line for line in rows)  # pipes escaped in cells
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert len(rows) == len(result.runs) and rows[-1]["error"].startswith("x\\x0a")
    assert report.machine["cpu_model"] == evil and result.name == "numeric" + evil  # untouched
    copied = map_strings({"k\u202e": [evil, 1.5, None, ("t\x1b", 2)]}, safe_text)
    assert copied == {"k\\u202e": [safe_text(evil), 1.5, None, ("t\\x1b", 2)]}
