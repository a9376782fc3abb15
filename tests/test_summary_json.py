"""RunSummary keeps the JSON shape the schema documents, and reads reports of any age."""

from __future__ import annotations

import json

import jsonschema

from lab.analysis.summarise import summarise_run
from lab.report.formats import render
from lab.report.schema import REPORT_SCHEMA
from lab.results.model import Report, RunResult, ScenarioResult
from lab.results.summary import Distribution, Latency, RunSummary, Throughput
from tests.synthetic import machine, run, scenario

SUMMARY_KEYS = [
    "wall_seconds", "throughput", "cpu_seconds", "cpu_cores", "cpu_utilisation", "speedup",
    "efficiency", "latency", "errors", "error_count", "outliers", "loops", "warnings",
]  # fmt: skip
DESCRIBE_KEYS = [
    "n", "median", "mean", "stdev", "min", "max", "mad", "ci_low", "ci_high", "ci_confidence",
    "relative_spread",
]  # fmt: skip


def _result() -> ScenarioResult:
    return scenario(
        "s", "numeric", [run("serial", 1, 100.0), run("threads", 2, 190.0, latency_s=0.002)]
    )


def test_summary_json_has_the_documented_keys_in_order() -> None:
    serial, threads = _result().runs
    assert list(serial.summary.to_json()) == SUMMARY_KEYS  # the baseline has no versus_baseline
    data = threads.summary.to_json()
    assert list(data) == [*SUMMARY_KEYS, "versus_baseline"]
    assert list(data["wall_seconds"]) == DESCRIBE_KEYS
    assert list(data["throughput"]) == [*DESCRIBE_KEYS, "value", "unit"]
    assert list(data["latency"]) == ["count", "mean", "min", "p50", "p95", "p99", "max"]
    assert data["versus_baseline"]["can_be_significant"] in (True, False)
    assert data["speedup"] == threads.summary.speedup
    json.dumps(data, allow_nan=False)


def test_summary_round_trips_through_json() -> None:
    for measured in _result().runs:
        data = json.loads(json.dumps(measured.summary.to_json()))
        again = RunSummary.from_json(data)
        assert again == measured.summary
        assert again.to_json() == data


def test_unsummarised_run_is_saved_as_an_empty_summary() -> None:
    queued = RunResult("threads-2", "threads", 2, "tasks", 10)  # status not_run
    assert queued.to_json()["summary"] == {}
    assert RunResult.from_json(queued.to_json()).summary == RunSummary()


def test_run_without_repeats_is_summarised_as_before() -> None:
    queued = RunResult("threads-2", "threads", 2, "tasks", 10)
    summarise_run(queued, 2)
    data = queued.to_json()["summary"]
    assert list(data) == SUMMARY_KEYS
    assert data["wall_seconds"] == dict.fromkeys(DESCRIBE_KEYS) | {"n": 0}
    assert data["throughput"]["value"] is None and data["throughput"]["unit"] == "tasks/s"
    assert data["latency"] is None and data["errors"] == {} and data["loops"] == 1
    result = ScenarioResult("s", "s.yaml", "S", "", {"kind": "numeric"}, _SETTINGS, [queued])
    report = Report(machine=machine(), scenarios=[result])
    jsonschema.validate(json.loads(render(report, "json")), REPORT_SCHEMA)


_SETTINGS = {"repeats": 3, "warmups": 0, "timeout": 60, "workers": [2]}


def test_an_older_summary_shape_still_loads() -> None:
    """Reports from before the median's interval, n_a/n_b and loops were recorded."""
    old = {
        "wall_seconds": {"n": 3, "median": 1.0, "mean": 1.0, "stdev": 0.0, "min": 1.0,
                         "max": 1.0, "mad": 0.0},
        "throughput": {"value": 10.0, "unit": "tasks/s"},
        "cpu_seconds": {"n": 3, "median": 0.9},
        "speedup": 2.0,
        "latency": {"p50": 0.001, "p99": 0.004, "count": 9},
        "versus_baseline": {"ratio": 2.0, "ratio_low": 1.8, "ratio_high": 2.2, "p_value": 0.03,
                            "significant": True, "unknown_later_key": 1},
        "some_key_from_elsewhere": [1, 2],
    }  # fmt: skip
    summary = RunSummary.from_json(old)
    assert summary.wall_seconds == Distribution(3, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0)
    assert summary.throughput == Throughput(value=10.0, unit="tasks/s")
    assert summary.cpu_seconds.median == 0.9 and summary.cpu_seconds.ci_low is None
    assert summary.latency == Latency(count=9, p50=0.001, p99=0.004)
    assert summary.loops == 1 and summary.warnings == [] and summary.error_count == 0
    versus = summary.versus_baseline
    assert versus is not None and versus.significant and versus.ratio == 2.0
    assert versus.n_a == versus.n_b == 0 and versus.method is None


def test_fastest_keeps_its_json_shape_and_round_trips() -> None:
    result = _result()
    assert result.fastest is not None and result.fastest.run_id == "threads-2"
    data = json.loads(json.dumps(result.to_json()))["fastest"]
    # The old keys in their order, then the family-wise correction rounds brought (optional).
    assert list(data) == ["run_id", "test", "significant_against_all", "versus", "correction"]
    assert data["correction"] == "Holm-Bonferroni"
    assert list(data["versus"]) == ["serial-1"]
    assert data["versus"]["serial-1"] == result.fastest.versus["serial-1"].to_json()
    assert ScenarioResult.from_json(result.to_json()).fastest == result.fastest
    assert ScenarioResult.from_json({**result.to_json(), "fastest": None}).fastest is None
