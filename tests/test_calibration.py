"""Calibration (`min_time`): passes per repeat, as pyperf calibrates loops."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lab.engine.plan import make_plan
from lab.results.repeat import RepeatRecord
from lab.runner.calibration import calibrate_loops
from lab.scenario.loader import LoadedScenario
from tests.test_runner_protocol import run_runner, spec


def test_calibrate_loops() -> None:
    assert calibrate_loops(0.002, 0.1, phases=5, timeout=120) == 50
    assert calibrate_loops(0.0015, 0.1, phases=5, timeout=120) == 67  # rounds up
    assert calibrate_loops(0.2, 0.1, phases=5, timeout=120) == 1  # already long enough
    assert calibrate_loops(0.002, 0.0, phases=5, timeout=120) == 1  # calibration off
    # Never plans more than half the timeout for the phases still to run...
    assert calibrate_loops(0.01, 10.0, phases=10, timeout=1.0) == 5
    # ...counting the untimed work around each pass too.
    assert calibrate_loops(0.001, 0.1, phases=10, timeout=10, pass_cost=0.1) == 5
    assert calibrate_loops(0.0, 0.1, phases=1, timeout=0) == 100_000  # capped


def test_runner_loops_short_repeats_and_reports_per_pass() -> None:
    code, events, stderr = run_runner(
        spec(executor="serial", workers=1, min_time=0.2, timeout=60, warmups=1, repeats=2)
    )
    assert code == 0, stderr
    repeats = [e["record"] for e in events if e["event"] == "repeat"]
    assert [r["phase"] for r in repeats] == ["warmup", "repeat", "repeat"]
    for r in repeats:
        # 30 empty tasks take far less than 0.2 s: the phase passes over them many times...
        assert r["loops"] > 1
        # ...and reports one pass: the amount, tasks and answer of the 30 tasks.
        assert r["tasks"] == 30 and r["amount"] == 30
        assert r["digest"] == str(30 * 29 // 2)
    measured = [r["loops"] for r in repeats[1:]]
    assert measured[0] == measured[1]  # fixed after the warmup
    final = [e for e in events if e["event"] == "progress"][-1]
    assert final["done"] == final["total"] == 30 * repeats[-1]["loops"]
    done = events[-1]
    assert done["event"] == "done" and done["cpu_seconds"] > 0


def test_runner_without_min_time_runs_one_pass() -> None:
    code, events, _ = run_runner(spec())
    assert code == 0
    assert {e["record"]["loops"] for e in events if e["event"] == "repeat"} == {1}


def test_scenario_min_time_field_and_cli_override(
    make_scenario: Callable[..., LoadedScenario],
) -> None:
    loaded = make_scenario("title: x\nworkload: {kind: dispatch}\nmin_time: 0.5\n")
    assert loaded.scenario.min_time == 0.5
    assert make_plan([loaded])[0].scenario.min_time == 0.5
    assert make_plan([loaded], min_time=0)[0].scenario.min_time == 0
    default = make_scenario("title: x\nworkload: {kind: dispatch}\n")
    assert default.scenario.min_time == 0.1
    from lab.scenario.loader import ScenarioError

    with pytest.raises(ScenarioError):
        make_scenario("title: x\nworkload: {kind: dispatch}\nmin_time: -1\n")


def test_old_repeat_records_read_as_one_loop() -> None:
    record = RepeatRecord.from_json(
        {"phase": "repeat", "index": 0, "wall_seconds": 1.0, "cpu_user": 0.5,
         "cpu_system": 0.0, "amount": 3, "tasks": 3}
    )  # fmt: skip
    assert record.loops == 1 and record.to_json()["loops"] == 1


def test_cli_min_time_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    from lab.cli import build_parser

    assert build_parser().parse_args(["--min-time", "0.5"]).min_time == 0.5
    assert build_parser().parse_args([]).min_time is None  # each scenario's own
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--min-time", "-1"])
    assert exc.value.code == 2
    assert "between 0 and 3600" in capsys.readouterr().err
