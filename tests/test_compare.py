"""`concurrency-lab compare` on synthetic reports: matching, significance, the gate, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lab.analysis.summarise import finalise_scenario
from lab.cli import main as cli_main
from lab.compare import compare_reports, load_report
from lab.report.formats import render
from lab.results.model import Report, RunError, RunResult, ScenarioResult
from lab.results.repeat import RepeatRecord
from tests.synthetic import machine as synthetic_machine

BASE = [1.00, 1.02, 0.98, 1.01, 0.99]
NOISY_SAME = [1.01, 0.97, 1.03, 1.0, 0.985]


def make_run(executor: str, workers: int, walls: list[float], status: str = "ok") -> RunResult:
    run = RunResult(f"{executor}-{workers}", executor, workers, "tasks", 10, status=status)  # type: ignore[arg-type]
    if status != "ok":
        run.error = RunError("timeout", "the run did not finish within its 60 s timeout")
    run.repeats = [
        RepeatRecord("repeat", i, w, w, 0.0, 10, 10, digest="d") for i, w in enumerate(walls)
    ]
    return run


def make_report(
    scenarios: dict[str, list[RunResult]], tasks: int = 10, python: str = "3.11.7"
) -> Report:
    report = Report(
        machine={
            **synthetic_machine(),
            "cpu_model": "Test CPU",
            "python": {
                "implementation": "CPython",
                "version": python,
                "build": "",
                "gil_enabled": True,
            },
        },
        created="2026-01-01T00:00:00+00:00",
    )
    for name, runs in scenarios.items():
        result = ScenarioResult(
            name=name, source=f"{name}.yaml", title=name, description="",
            workload={"kind": "numeric", "tasks": tasks}, runs=runs,
            settings={"repeats": 5, "warmups": 1, "timeout": 60, "workers": [1, 2]},
        )  # fmt: skip
        finalise_scenario(result, 2)
        report.scenarios.append(result)
    return report


def write(tmp_path: Path, name: str, report: Report) -> str:
    path = tmp_path / name
    path.write_text(render(report, "json"))
    return str(path)


def compare(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(["compare", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_same_numbers_twice_show_no_significant_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(tmp_path, "a.json", make_report({"s": [make_run("serial", 1, BASE)]}))
    b = write(tmp_path, "b.json", make_report({"s": [make_run("serial", 1, NOISY_SAME)]}))
    code, out, _ = compare(a, b, "--fail-if-slower", "5", capsys=capsys)
    assert code == 0
    assert "| s | serial | 1 | 1.00 s ±1% | 1.00 s ±2% |" in out
    assert "no significant difference" in out and "**Gate passed**" in out
    assert "Same machine and software" in out
    assert "Mann-Whitney U" in out


def test_gate_fails_only_when_significantly_slower_by_more_than_pct(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slower = [1.2 * w for w in BASE]
    a = write(tmp_path, "a.json", make_report({"s": [make_run("threads", 2, BASE)]}))
    b = write(tmp_path, "b.json", make_report({"s": [make_run("threads", 2, slower)]}))
    code, out, _ = compare(a, b, "--fail-if-slower", "10", capsys=capsys)
    assert code == 1
    assert "**Gate failed**" in out and "s threads-2" in out and "20.0% slower" in out
    assert "⚠" not in out  # steady repeats, no background load recorded
    assert compare(a, b, "--fail-if-slower", "25", capsys=capsys)[0] == 0  # slower, not by 25%
    assert compare(a, b, capsys=capsys)[0] == 0  # no gate asked for
    assert compare(b, a, "--fail-if-slower", "10", capsys=capsys)[0] == 0  # B is faster


def test_too_few_repeats_make_the_gate_fail_closed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(tmp_path, "a.json", make_report({"s": [make_run("serial", 1, [1.0, 1.01])]}))
    b = write(tmp_path, "b.json", make_report({"s": [make_run("serial", 1, [2.0, 2.01])]}))
    code, out, err = compare(a, b, "--fail-if-slower", "5", capsys=capsys)
    assert code == 3
    assert "cannot tell: too few repeats" in out
    assert "**Gate inconclusive**" in out and "Gate passed" not in out
    assert "the gate cannot tell" in err and "--allow-inconclusive" in err
    code, out, _ = compare(a, b, "--fail-if-slower", "5", "--allow-inconclusive", capsys=capsys)
    assert code == 0
    assert compare(a, b, capsys=capsys)[0] == 0  # no gate asked for: a report, not a verdict


def test_no_matched_run_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.json", make_report({"s": [make_run("serial", 1, BASE)]}))
    b = write(tmp_path, "b.json", make_report({"t": [make_run("serial", 1, BASE)]}))
    code, out, err = compare(a, b, "--fail-if-slower", "5", capsys=capsys)
    assert code == 2
    assert "Gate passed" not in out and "**Gate failed**" in out
    assert "no run of the baseline matched a run of the other reports" in err
    assert compare(a, b, capsys=capsys)[0] == 2


def test_unmatched_runs_are_listed_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = make_report(
        {
            "s": [make_run("serial", 1, BASE), make_run("threads", 2, BASE),
                  make_run("processes", 2, BASE)],
            "only_a": [make_run("serial", 1, BASE)],
            "sized": [make_run("serial", 1, BASE)],
        }
    )  # fmt: skip
    b = make_report(
        {
            "s": [make_run("serial", 1, BASE), make_run("threads", 4, BASE),
                  make_run("processes", 2, BASE, status="timeout")],
            "only_b": [make_run("serial", 1, BASE)],
        },
        python="3.12.1",
    )  # fmt: skip
    b_sized = make_report({"sized": [make_run("serial", 1, BASE)]}, tasks=99)
    b.scenarios.append(b_sized.scenarios[0])
    pair = compare_reports(a, b, "a.json", "b.json")
    assert [m.key for m in pair.matched] == ["s serial-1"]
    reasons = {(u.scenario, u.run): u.reason for u in pair.unmatched}
    assert reasons == {
        ("s", "threads-2"): "only in a.json",
        ("s", "threads-4"): "only in b.json",
        ("s", "processes-2"): "timeout: the run did not finish within its 60 s timeout in b.json",
        ("only_a", "*"): "scenario only in a.json",
        ("only_b", "*"): "scenario only in b.json",
        ("sized", "serial-1"): "the workload differs (tasks 10 vs 99)",
    }
    assert "Python 3.11.7 → 3.12.1" in pair.differences

    code, out, _ = compare(
        write(tmp_path, "a.json", a), write(tmp_path, "b.json", b), capsys=capsys
    )
    assert code == 0
    assert "Not compared:" in out and "- `only_b`: scenario only in" in out
    assert "What differs: Python 3.11.7 → 3.12.1" in out


def test_json_output_and_three_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.json", make_report({"s": [make_run("serial", 1, BASE)]}))
    b = write(tmp_path, "b.json", make_report({"s": [make_run("serial", 1, NOISY_SAME)]}))
    c = write(
        tmp_path, "c.json", make_report({"s": [make_run("serial", 1, [2 * w for w in BASE])]})
    )
    code, out, _ = compare(a, b, c, "--format", "json", "--fail-if-slower", "50", capsys=capsys)
    assert code == 1
    data: dict[str, Any] = json.loads(out)
    assert data["schema"] == "concurrency-lab/compare" and data["failed"] is True
    assert [p["path"] for p in data["reports"]] == [a, b, c]
    first, second = data["comparisons"]
    assert first["report"] == b and first["regressions"] == []
    assert second["regressions"] == ["s serial-1"]
    row = second["matched"][0]
    assert row["significant"] and row["ratio"] == pytest.approx(2.0)
    assert row["ratio_low"] <= 2.0 <= row["ratio_high"]
    assert row["a"]["median"] == 1.0 and row["b"]["median"] == 2.0
    assert row["verdict"] == "100.0% slower"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        ("{not json", "not JSON"),
        ('{"schema": "something-else"}', "not a concurrency-lab report"),
        ('{"schema": "concurrency-lab/report", "schema_version": 9}', "schema version 9"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    good = write(tmp_path, "good.json", make_report({"s": [make_run("serial", 1, BASE)]}))
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    code, out, err = compare(good, str(bad), capsys=capsys)
    assert code == 2 and out == ""
    assert message in err and "bad.json" in err


def test_needs_two_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.json", make_report({"s": [make_run("serial", 1, BASE)]}))
    code, _, err = compare(good, capsys=capsys)
    assert code == 2 and "at least two reports" in err


def test_load_report_recomputes_statistics(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    data = json.loads(render(make_report({"s": [make_run("serial", 1, BASE)]}), "json"))
    for run in data["scenarios"][0]["runs"]:  # a report written before these statistics
        run["summary"]["wall_seconds"] = {
            k: run["summary"]["wall_seconds"][k]
            for k in ("n", "median", "mean", "stdev", "min", "max", "mad")
        }
    path.write_text(json.dumps(data))
    report = load_report(str(path))
    assert report.scenarios[0].runs[0].summary.wall_seconds.ci_low == 0.98


def test_help_mentions_compare(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    assert "concurrency-lab compare A.json B.json" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli_main(["compare", "--help"])
    assert "--fail-if-slower PCT" in capsys.readouterr().out


def test_disturbed_runs_are_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    busy = make_run("serial", 1, [1.2 * w for w in BASE])
    busy.background_cpu_cores = 1.4  # other programs used 1.4 of the 2 CPUs meanwhile
    a = write(tmp_path, "a.json", make_report({"s": [make_run("serial", 1, BASE)]}))
    b = write(tmp_path, "b.json", make_report({"s": [busy]}))
    code, out, _ = compare(a, b, "--fail-if-slower", "5", capsys=capsys)
    assert code == 1  # the gate still fails: CI decides what a busy runner is worth
    assert "**20.0% slower** ⚠" in out
    assert "1 of the 1 matched runs was disturbed" in out
    code, out, _ = compare(a, b, "--format", "json", capsys=capsys)
    assert json.loads(out)["comparisons"][0]["matched"][0]["disturbed_by"] == ["background_load"]


def test_gate_controls_the_family_of_matched_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One run 20% slower on 5 repeats fails the gate alone (p = 0.008), but among 12 runs
    Holm asks p < 0.05/12 of the smallest: the same evidence no longer suffices."""
    slower = [1.2 * w for w in BASE]
    alone_a = write(tmp_path, "a1.json", make_report({"s": [make_run("threads", 2, BASE)]}))
    alone_b = write(tmp_path, "b1.json", make_report({"s": [make_run("threads", 2, slower)]}))
    assert compare(alone_a, alone_b, "--fail-if-slower", "10", capsys=capsys)[0] == 1
    many_a = [make_run("threads", w, BASE) for w in range(1, 13)]
    many_b = [make_run("threads", w, BASE) for w in range(1, 12)]
    many_b.append(make_run("threads", 12, slower))
    a = write(tmp_path, "a.json", make_report({"s": many_a}))
    b = write(tmp_path, "b.json", make_report({"s": many_b}))
    code, out, _ = compare(a, b, "--fail-if-slower", "10", capsys=capsys)
    assert code == 0 and "**Gate passed**" in out
    assert "Holm-Bonferroni adjusted over the matched runs" in out


# Two reruns on a VM whose speed flips between two states (as this 2-core VM's did): each run
# varies by about ±20%, and neither report is slower than the other.
BIMODAL_A = [0.34, 0.49, 0.33, 0.48, 0.34, 0.47, 0.33, 0.49, 0.35, 0.46]
BIMODAL_B = [0.48, 0.33, 0.47, 0.34, 0.49, 0.33, 0.46, 0.35, 0.48, 0.34]


def test_a_noisy_rerun_passes_and_says_what_the_noise_could_hide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Spread alone is not a disturbance: the test sees it. The pass names the runs whose
    interval leaves room for a slowdown of PCT, and --strict refuses to pass them."""
    a = write(tmp_path, "a.json", make_report({"s": [make_run("serial", 1, BIMODAL_A)]}))
    b = write(tmp_path, "b.json", make_report({"s": [make_run("serial", 1, BIMODAL_B)]}))
    code, out, _ = compare(a, b, "--fail-if-slower", "10", capsys=capsys)
    assert code == 0
    assert "**Gate passed**" in out and "⚠" not in out
    assert "Resolution: in 1 of 1 matched runs" in out and "s serial-1 up to" in out
    code, out, err = compare(a, b, "--fail-if-slower", "10", "--strict", capsys=capsys)
    assert code == 3
    assert "**Gate inconclusive**" in out and "a 10% slowdown cannot be ruled out" in out
    assert "the gate cannot tell" in err
    code, out, _ = compare(a, b, "--fail-if-slower", "10", "--format", "json", capsys=capsys)
    data = json.loads(out)
    assert data["inconclusive"] is False and data["strict"] is False
    (reaches,) = data["comparisons"][0]["cannot_rule_out"].values()
    assert reaches > 1.10


def test_a_steady_rerun_passes_strict_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ±2% repeats the interval rules out a 10% slowdown: nothing to warn about."""
    a = write(tmp_path, "a.json", make_report({"s": [make_run("serial", 1, BASE * 2)]}))
    b = write(tmp_path, "b.json", make_report({"s": [make_run("serial", 1, NOISY_SAME * 2)]}))
    code, out, _ = compare(a, b, "--fail-if-slower", "10", "--strict", capsys=capsys)
    assert code == 0 and "**Gate passed**" in out
    assert "Resolution:" not in compare(a, b, "--fail-if-slower", "10", capsys=capsys)[1]


def open_loop_report(p99s: list[float], rate: float = 800.0) -> Report:
    """One open-loop run whose repeats all last 1 s but whose corrected p99 is p99s[i]."""
    from lab.results.openloop import OpenLoopRecord

    run = RunResult("asyncio-4", "asyncio", 4, "requests", 800, status="ok")
    run.repeats = []
    for i, p99 in enumerate(p99s):
        figures: Any = {"count": 800, "p50": 0.005, "p90": 0.006, "p99": p99, "p999": p99,
                        "max": p99}  # fmt: skip
        record = RepeatRecord("repeat", i, 1.0 + 0.001 * i, 0.1, 0.0, 800, 800, digest="d")
        record.open_loop = OpenLoopRecord(rate, rate, 800, 0.0, "constant", figures, figures)
        run.repeats.append(record)
    report = make_report({"s": [run]})
    report.scenarios[0].workload = {"kind": "http", "rate": rate}
    return report


def test_open_loop_runs_are_gated_on_corrected_p99_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [0.010, 0.0102, 0.0098, 0.0101, 0.0099]
    a = write(tmp_path, "a.json", open_loop_report(base))
    same = write(tmp_path, "same.json", open_loop_report([0.0101, 0.0097, 0.0103, 0.01, 0.0099]))
    code, out, _ = compare(a, same, "--fail-if-slower", "10", capsys=capsys)
    assert code == 0, out
    assert "| s | asyncio (corrected p99) | 4 | 10.0 ms | 10.0 ms |" in out
    # The same times, but callers waited twice as long at p99: the gate fails.
    slower = write(tmp_path, "slower.json", open_loop_report([2 * p for p in base]))
    code, out, _ = compare(a, slower, "--fail-if-slower", "10", capsys=capsys)
    assert code == 1, out
    assert "s asyncio-4 (corrected p99)" in out and "100.0% slower" in out
    # Too few repeats: it fails closed, as a time does.
    few_a = write(tmp_path, "few_a.json", open_loop_report([0.01, 0.011]))
    few_b = write(tmp_path, "few_b.json", open_loop_report([0.03, 0.031]))
    assert compare(few_a, few_b, "--fail-if-slower", "10", capsys=capsys)[0] == 3


def test_an_open_loop_run_without_p99_on_one_side_is_not_matched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [0.010, 0.0102, 0.0098, 0.0101, 0.0099]
    a = open_loop_report(base)
    b = open_loop_report(base)
    for record in b.scenarios[0].runs[0].repeats:
        assert record.open_loop is not None
        record.open_loop.corrected["p99"] = None
    pair = compare_reports(a, b)
    assert [u.reason for u in pair.unmatched] == ["no corrected p99 in B"]
