"""Reports written by earlier versions of the lab still load, through `compare` and through
`view`'s reader: real files under tests/data/reports/ (see its README for how each was made).
A field an older shape lacks reads as "not recorded" (None), never as a made-up figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.compare.load import load_for_view, load_report
from lab.results.model import Report
from lab.runner.system.child_env import child_env

DATA = Path(__file__).resolve().parent / "data" / "reports"
OLD = ["before-page-faults.json", "before-run-output.json"]
ALL = [*OLD, "current.json"]
RUNS = {"serial-1", *(f"{m}-{w}" for m in ("asyncio", "threads", "processes") for w in (1, 2))}


@pytest.mark.parametrize("name", ALL)
def test_each_report_loads_for_compare_and_view(name: str) -> None:
    path = str(DATA / name)
    for report in (load_report(path), load_for_view(path)):
        assert isinstance(report, Report)
        [scenario] = report.scenarios
        assert {run.run_id for run in scenario.runs} == RUNS
        for run in scenario.runs:
            assert run.status == "ok", run.run_id
            assert len(run.repeats) == 3 and run.summary.wall_seconds.n == 3, run.run_id
            assert run.summary.throughput.value is not None and run.summary.throughput.value > 0


def test_fields_an_old_shape_lacks_read_as_not_recorded() -> None:
    report = load_report(str(DATA / "before-page-faults.json"))
    for run in report.scenarios[0].runs:
        for record in run.repeats:
            assert record.minor_faults is None and record.major_faults is None
            assert record.background_cores is None
        assert run.summary.minor_faults is None and run.summary.major_faults is None
        assert run.output == ""


@pytest.mark.parametrize("name", OLD)
def test_compare_reads_an_old_report_beside_a_current_one(name: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lab", "compare", str(DATA / name), str(DATA / "current.json")],
        capture_output=True, text=True, env=child_env(), timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr  # 1: slower, which a comparison may find
    assert "Traceback" not in out.stderr
    assert "7 matched runs" in out.stdout, out.stdout
