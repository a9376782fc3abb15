"""Verdicts, claims and fits in the JSON, Markdown and HTML reports."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import jsonschema

from lab.cli import build_parser
from lab.report.formats import FORMATS, format_for_path, render
from lab.report.schema import REPORT_SCHEMA
from lab.results.model import Report
from tests.synthetic import dispatch, http, numeric, report, run, scenario, sweep_runs


def _full_report() -> Report:
    swept = scenario("dispatch_sweep", "dispatch", sweep_runs([0, 50, 200]), task_us=0.0)
    return report(dispatch(), http(), numeric(), swept)


def test_json_has_verdicts_claims_scaling_and_round_trips() -> None:
    data = json.loads(render(_full_report(), "json"))
    jsonschema.validate(data, REPORT_SCHEMA)
    numeric_data = data["scenarios"][2]
    assert numeric_data["verdicts"]["winner"] == "processes"
    assert {e["executor"] for e in numeric_data["verdicts"]["explanations"]} >= {"threads"}
    assert numeric_data["claims"][0]["id"] == "threads_cpu"
    assert numeric_data["scaling"]["processes"]["usl"]["sigma"] is not None
    assert data["scenarios"][3]["breakeven"]["batch"]["kind"] == "crossing"
    assert {c["status"] for c in data["claims"]} <= {"confirmed", "refuted", "partly"}
    again = Report.from_json(data)
    assert json.loads(render(again, "json")) == data


def test_markdown_has_claims_table_and_a_verdict_per_scenario() -> None:
    text = render(_full_report(), "md")
    assert "## Classic claims, on this machine" in text
    assert text.count("**Verdict:**") == 4
    assert "| threads do not speed up CPU-bound pure-Python code | ✅ confirmed |" in text
    assert "pure-Python bytecode holds the GIL" in text
    assert "**Scaling**" in text and "USL σ (contention)" in text
    assert "**Break-even** (task-size sweep)" in text


def test_markdown_notes_a_single_cpu_machine() -> None:
    text = render(report(numeric(usable=1), usable=1), "md")
    assert "1 CPU" in text and "– not measured" in text


def test_html_is_self_contained_and_has_the_charts() -> None:
    page = render(_full_report(), "html")
    assert page.startswith("<!DOCTYPE html>")
    # Offline: nothing is loaded from anywhere (SVG's xmlns is a name, not a download).
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page)
    assert "<script" not in page and "@import" not in page and "<link" not in page
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    titles = " ".join(svgs)
    assert "Speedup against workers (numeric_crunching)" in titles
    assert "Request latency distribution (http_fanout)" in titles
    assert "Threads vs processes by work per task" in titles
    assert "USL fit" in page and "measured" in page
    assert "Classic claims, on this machine" in page and "Verdict:" in page
    assert page.count("<table>") >= 8


def test_html_survives_failed_and_empty_scenarios() -> None:
    broken = scenario("broken", "numeric", [run("serial", 1, 1, status="failed")])
    empty = scenario("empty", "http", [])
    page = render(report(broken, empty), "html")
    assert "no run succeeded" in page


def test_html_is_a_format_everywhere() -> None:
    assert "html" in FORMATS
    assert format_for_path("out.html") == "html" and format_for_path("x.HTM") == "html"
    args = build_parser().parse_args(["--report", "out.html", "--format", "html"])
    assert args.format == "html"


def test_markdown_and_json_do_not_load_the_plotting_library() -> None:
    code = (
        "import sys\n"
        "from lab.report.formats import render\n"
        "from tests.synthetic import report, numeric\n"
        "render(report(numeric()), 'md'); render(report(numeric()), 'json')\n"
        "assert 'pygal' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
