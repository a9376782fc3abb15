"""Statistics and warnings as the report carries and renders them, on synthetic runs."""

from __future__ import annotations

import csv
import io
import json

import jsonschema

from lab.analysis.summarise import finalise_scenario, summarise_run
from lab.report.formats import render
from lab.report.schema import REPORT_SCHEMA
from lab.results.model import Report, RunResult, ScenarioResult
from lab.results.repeat import RepeatRecord


def run(run_id: str, walls: list[float], workers: int = 1) -> RunResult:
    executor = run_id.split("-")[0]
    result = RunResult(run_id, executor, workers, "tasks", 10, status="ok")
    result.repeats = [
        RepeatRecord("repeat", i, w, w * 0.9, 0.01, 10, 10, digest="d") for i, w in enumerate(walls)
    ]
    return result


def scenario(*runs: RunResult) -> ScenarioResult:
    result = ScenarioResult(
        name="synthetic", source="synthetic.yaml", title="Synthetic", description="",
        workload={"kind": "numeric", "tasks": 10}, runs=list(runs),
        settings={"repeats": 5, "warmups": 0, "timeout": 60, "workers": [1, 2], "min_time": 0.1},
    )  # fmt: skip
    finalise_scenario(result, 2)
    return result


SERIAL = [1.00, 1.02, 0.98, 1.01, 0.99]
TWICE_AS_FAST = [0.50, 0.51, 0.49, 0.505, 0.495]
SAME_AS_SERIAL = [1.01, 0.97, 1.03, 1.0, 0.99]


def test_summary_carries_interval_outliers_and_warnings() -> None:
    r = run("threads-2", [1.0, 1.01, 0.99, 1.02, 1.7], workers=2)
    summarise_run(r, 2)
    wall = r.summary.wall_seconds
    assert wall.median == 1.01 and wall.ci_low == 0.99 and wall.ci_high == 1.7
    assert wall.ci_confidence == 1 - 2 / 32
    assert r.summary.outliers == [4]
    assert r.summary.loops == 1
    assert [w["code"] for w in r.summary.warnings] == ["outliers"]


def test_speedups_carry_uncertainty_and_significance() -> None:
    result = scenario(
        run("serial-1", SERIAL), run("processes-2", TWICE_AS_FAST, 2),
        run("threads-2", SAME_AS_SERIAL, 2),
    )  # fmt: skip
    serial, processes, threads = result.runs
    assert serial.summary.versus_baseline is None
    assert "versus_baseline" not in serial.summary.to_json()
    fast = processes.summary.versus_baseline
    assert fast is not None and fast.ratio_low is not None and fast.ratio_high is not None
    assert fast.significant and fast.ratio == processes.summary.speedup
    assert fast.ratio_low < 2.0 < fast.ratio_high
    same = threads.summary.versus_baseline
    assert same is not None and same.ratio_low is not None and same.ratio_high is not None
    assert not same.significant and same.ratio_low < 1 < same.ratio_high

    assert result.fastest is not None
    assert result.fastest.run_id == "processes-2"
    assert result.fastest.significant_against_all
    assert set(result.fastest.versus) == {"serial-1", "threads-2"}


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every Markdown table row, stripped of the padding that aligns them."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("| ")
    ]


def test_markdown_says_faster_only_when_significant() -> None:
    report = Report(machine={"cpu_model": "Test CPU", "python": {}})
    report.scenarios = [
        scenario(run("serial-1", SERIAL), run("processes-2", TWICE_AS_FAST, 2),
                 run("threads-2", SAME_AS_SERIAL, 2))
    ]  # fmt: skip
    text = render(report, "md")
    assert "**processes** (fastest)" in text
    assert "**processes-2** is the fastest: significantly faster than every other run" in text
    rows = table_rows(text)
    assert ["serial", "1", "1.00 s ±1%"] in [r[:3] for r in rows]  # median ±MAD%
    row = " | ".join(next(r for r in rows if r[:2] == ["threads", "2"]))
    assert "n.s." in row and "(0." in row
    assert "Mann-Whitney U" in text and "## Machine" in text


def test_markdown_ties_and_too_few_repeats() -> None:
    report = Report(machine={})
    report.scenarios = [scenario(run("serial-1", [1.0, 1.1]), run("threads-2", [0.9, 1.05], 2))]
    text = render(report, "md")
    assert "(lowest median)" in text and "(fastest)" not in text
    assert "not significantly faster than serial-1" in text
    assert "no difference can be significant: use at least 4" in text
    cells = next(r for r in table_rows(text) if r[0].startswith("**threads**"))
    assert "(too few repeats to test)" in cells[4] and "–" not in cells[4]


def test_warnings_reach_every_format_and_the_schema() -> None:
    report = Report(machine={"cpu_model": "x", "python": {}})
    report.warnings = [{"code": "machine_busy", "message": "Other programs were busy."}]
    report.scenarios = [
        scenario(run("serial-1", [1.6, 1.0, 1.01, 0.99, 1.02]),
                 run("threads-2", [1.0, 1.3, 0.8, 1.2, 0.9], 2))
    ]  # fmt: skip
    report.scenarios[0].warnings.append({"code": "page_cache", "message": "Cached corpus."})
    codes = [w["code"] for w in report.all_warnings()]
    assert codes == ["machine_busy", "page_cache", "slow_first_repeat", "high_spread"]

    text = render(report, "md")
    assert "**Warnings about the machine**" in text and "Other programs were busy." in text
    assert "the first repeat was the slowest" in text and "Cached corpus." in text

    data = json.loads(render(report, "json"))
    assert data["warnings"][0]["code"] == "machine_busy"
    assert data["scenarios"][0]["warnings"][0]["code"] == "page_cache"
    assert data["scenarios"][0]["fastest"]["test"].startswith("Mann-Whitney U")
    machine = {"cpu_model": "x", "cpus_logical": 2, "cpus_usable": 2, "memory_total_bytes": 1,
               "os": "x", "libraries": {},
               "python": {"implementation": "CPython", "version": "3", "build": "", "gil_enabled": True}}  # fmt: skip
    jsonschema.validate({**data, "machine": machine}, REPORT_SCHEMA)
    again = Report.from_json(data)
    assert json.loads(render(again, "json")) == data

    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert "the first repeat was the slowest" in rows[0]["warnings"]
    assert rows[1]["speedup_significant"] in ("True", "False")
    assert rows[0]["wall_ci_low_s"] and rows[0]["loops"] == "1"


def test_fastest_sentence_warns_when_runs_ran_beside_other_programs() -> None:
    busy = run("threads-2", SAME_AS_SERIAL, 2)
    busy.background_cpu_cores = 1.5
    report = Report(machine={})
    report.scenarios = [
        scenario(run("serial-1", SERIAL), run("processes-2", TWICE_AS_FAST, 2), busy)
    ]
    text = render(report, "md")
    assert "is the fastest: significantly faster than every other run" in text
    assert "Careful: 1 of the runs ran while other programs kept the CPUs busy" in text
