"""`view` of a report too big to show: one sentence and exit 2, at once (issue 21, section 3).

10,000 runs took 25 s to paint and 100,000 runs (1.1 GB) never painted and ignored `q`. A file
over VIEW_MAX_BYTES is refused before it is read; one over VIEW_MAX_RUNS runs before its runs
are summarised or painted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lab.cli import main
from lab.compare import load_report
from lab.compare.load import VIEW_MAX_BYTES, VIEW_MAX_RUNS
from tests.tui_fixtures import saved_report


def report_with_runs(path: Path, count: int) -> Path:
    """The saved report's first scenario, its runs repeated (each id unique) to count runs."""
    saved_report(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    scenario = data["scenarios"][0]
    runs = scenario["runs"]
    scenario["runs"] = [
        {**runs[i % len(runs)], "run_id": f"{runs[i % len(runs)]['run_id']}#{i}"}
        if i >= len(runs)
        else runs[i]
        for i in range(count)
    ]
    data["scenarios"] = [scenario]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_view_refuses_a_report_of_more_runs_than_it_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = report_with_runs(tmp_path / "many.json", VIEW_MAX_RUNS + 1)
    assert path.stat().st_size < VIEW_MAX_BYTES  # refused for its runs, not its size
    started = time.monotonic()
    assert main(["view", str(path)]) == 2
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{VIEW_MAX_RUNS + 1:,} runs; view opens reports of at most {VIEW_MAX_RUNS:,}" in err
    assert elapsed < 60, f"refusing took {elapsed:.0f} s"  # parsed, never summarised or painted
    assert len(load_report(str(path)).scenarios[0].runs) == VIEW_MAX_RUNS + 1  # compare reads it


def test_view_refuses_a_file_over_its_size_before_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = saved_report(tmp_path / "big.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["scenarios"][0]["description"] = "x" * VIEW_MAX_BYTES  # a valid report, just large
    path.write_text(json.dumps(data), encoding="utf-8")
    started = time.monotonic()
    assert main(["view", str(path)]) == 2
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "view opens reports of at most 16.0 MiB" in err
    assert elapsed < 5, f"refusing took {elapsed:.1f} s"  # the size, read from fstat


def test_view_opens_a_report_at_its_limit(tmp_path: Path) -> None:
    from lab.compare.load import load_for_view
    from lab.results.model import Report

    found = load_for_view(str(report_with_runs(tmp_path / "limit.json", VIEW_MAX_RUNS)))
    assert isinstance(found, Report) and len(found.scenarios[0].runs) == VIEW_MAX_RUNS
