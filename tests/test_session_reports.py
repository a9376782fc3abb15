"""A real session end to end (runner processes), and every report format."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import jsonschema
import pytest

from lab.engine.events import (
    CpuSample,
    RepeatFinished,
    RunFinished,
    RunProgress,
    RunStarted,
    ScenarioFinished,
    SessionFinished,
)
from lab.engine.plan import make_plan
from lab.engine.session import LabSession
from lab.report.csvfile import CSV_COLUMNS
from lab.report.formats import render
from lab.report.schema import REPORT_SCHEMA
from lab.results.model import Report
from lab.scenario.loader import LoadedScenario

pytestmark = pytest.mark.slow

SCENARIO = """\
title: Tiny numeric
description: a few primes
workload: {kind: numeric, tasks: 8, size: 400}
workers: [1, 2]
repeats: 2
warmups: 1
min_time: 0
"""
# Two rounds in two runner processes, each warmed up once: what is checked below. Not
# calibration (min_time: 0), which is tests/test_calibration.py's subject.


@pytest.fixture(scope="module")
def session_events() -> tuple[Report, list[object]]:
    import asyncio
    import textwrap

    from lab.scenario.loader import parse_scenario

    loaded = parse_scenario(textwrap.dedent(SCENARIO), "tiny.yaml", "tiny")
    session = LabSession(make_plan([loaded]))

    async def consume() -> list[object]:
        return [event async for event in session.events()]

    events = asyncio.run(consume())
    return session.report, events


def test_all_runs_complete(session_events: tuple[Report, list[object]]) -> None:
    report, _ = session_events
    runs = report.scenarios[0].runs
    assert [r.run_id for r in runs] == [
        "serial-1", "asyncio-1", "asyncio-2", "uvloop-1", "uvloop-2",
        "threads-1", "threads-2", "processes-1", "processes-2",
    ]  # fmt: skip
    for run in runs:
        assert run.status == "ok", run.error
        # Two rounds, one per runner process, and each process warms up once.
        assert len(run.repeats) == 2 and len(run.warmups) == 2
        assert sorted(r.round for r in run.repeats) == [0, 1]
        assert sorted(r.process for r in run.repeats) == [0, 1]
        assert run.summary.speedup is not None
        assert run.peak_rss_bytes and run.peak_rss_bytes > 1_000_000
        # Runs this short end between two of the parent's USS samples; the runner's own reading counts.
        assert run.peak_uss_bytes and run.peak_uss_bytes > 5_000_000
        assert run.startup_seconds is not None
    assert report.scenarios[0].baseline == "serial-1"
    assert report.all_ok


def test_event_stream_shape(session_events: tuple[Report, list[object]]) -> None:
    _, events = session_events
    assert isinstance(events[-1], SessionFinished)
    assert isinstance(events[-2], ScenarioFinished)
    started = [e for e in events if isinstance(e, RunStarted)]
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert len(started) == len(finished) == 9
    assert sum(isinstance(e, RepeatFinished) for e in events) == 9 * (2 + 2)
    progress = [e for e in events if isinstance(e, RunProgress)]
    assert progress and all(0 <= p.fraction <= 1 for p in progress)
    assert any(p.fraction == 1 for p in progress)
    assert all(len(e.per_core) >= 1 for e in events if isinstance(e, CpuSample))


def test_json_matches_schema_and_round_trips(session_events: tuple[Report, list[object]]) -> None:
    report, _ = session_events
    data = json.loads(render(report, "json"))
    jsonschema.validate(data, REPORT_SCHEMA)
    again = Report.from_json(data)
    assert json.loads(render(again, "json")) == data


def test_markdown_marks_fastest_and_lists_every_run(
    session_events: tuple[Report, list[object]],
) -> None:
    report, _ = session_events
    text = render(report, "md")
    assert "## Tiny numeric (`tiny`)" in text
    # "(fastest)" only when significantly faster than every other run; 2 repeats never are.
    assert text.count("(fastest)") + text.count("(lowest median)") == 1
    for executor in ("serial", "asyncio", "uvloop", "threads", "processes"):
        assert re.search(rf"\| {executor} +\|", text) or f"**{executor}** (lowest median)" in text


def test_real_session_has_verdicts_and_an_offline_html_report(
    session_events: tuple[Report, list[object]],
) -> None:
    report, _ = session_events
    data = json.loads(render(report, "json"))
    scenario = data["scenarios"][0]
    # 2 rounds: no paired test can be significant, so the verdict is a tie, never a winner.
    assert scenario["verdicts"]["winner"] is None
    assert scenario["verdicts"]["text"].startswith("tie between ")
    assert scenario["rounds"]["count"] == 2 and len(scenario["rounds"]["order"]) == 2
    assert len(scenario["verdicts"]["explanations"]) == 5
    assert set(scenario["scaling"]) == {"asyncio", "uvloop", "threads", "processes"}
    assert len(data["claims"]) == 5
    page = render(report, "html")
    assert "<svg" in page and "Speedup against workers (tiny)" in page


def test_csv_has_a_row_per_run(session_events: tuple[Report, list[object]]) -> None:
    report, _ = session_events
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert len(rows) == 9
    assert list(rows[0]) == CSV_COLUMNS
    assert {r["status"] for r in rows} == {"ok"}
    assert all(float(r["wall_median_s"]) > 0 for r in rows)


def test_make_scenario_fixture(make_scenario: Callable[..., LoadedScenario]) -> None:
    plan = make_plan(
        [
            make_scenario(
                "title: x\nworkload: {kind: dispatch}\nexecutors: [serial, threads]\nworkers: [3]\n"
            )
        ]
    )
    assert [r.run_id for r in plan[0].runs] == ["serial-1", "threads-3"]
