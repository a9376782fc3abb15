"""The lab checks its own numbers: negative controls, physical limits and disturbed rounds.

Synthetic rounds with known answers first (the rules, every sentence they write), then the same
situations built for real in runner processes: a baseline slowed on purpose (the `slow` fault),
page faults counted per pass for a function that allocates a fresh buffer per read, and every
built-in at a small size, whose 1-worker runs must stay within a band of serial.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lab.analysis import controls
from lab.analysis.analyse import analyse_scenario
from lab.analysis.summarise import finalise_scenario
from lab.analysis.winner import round_times
from lab.engine.plan import make_plan
from lab.engine.session import LabSession
from lab.report.cells import run_cells
from lab.report.formats import render
from lab.report.schema import REPORT_SCHEMA
from lab.results.model import Report, RunResult, ScenarioResult
from lab.results.repeat import RepeatRecord
from lab.scenario.builtins import builtin_paths
from lab.scenario.loader import parse_scenario, resolve
from lab.scenario.workload_specs import HttpWorkload
from tests.conftest import LabSandbox
from tests.faults import fault_env
from tests.synthetic import machine
from tests.test_builtin_reports import assert_report_holds

ROUNDS = 10


def timed(
    executor: str,
    workers: int,
    seconds: float,
    *,
    tasks: int = 64,
    faults: float | None = None,
    loads: list[float] | None = None,
    slow_rounds: dict[int, float] | None = None,
    cores: float = 1.0,
    seed: int = 0,
) -> RunResult:
    """A run measured in ROUNDS rounds: `seconds` per pass with 1% jitter, times `slow_rounds`'
    factor in those rounds; `cores` kept busy; `faults` minor page faults per pass."""
    rng = random.Random(f"{executor}-{workers}-{seed}")
    records = []
    for i in range(ROUNDS):
        wall = seconds * (1 + rng.uniform(-0.01, 0.01)) * (slow_rounds or {}).get(i, 1.0)
        records.append(
            RepeatRecord(
                phase="repeat",
                index=i,
                wall_seconds=wall,
                cpu_user=cores * wall,
                cpu_system=0.0,
                amount=tasks,
                tasks=tasks,
                digest="same",
                round=i,
                process=0,
                minor_faults=faults,
                major_faults=0.0 if faults is not None else None,
                background_cores=(loads or [0.02] * ROUNDS)[i],
            )
        )
    return RunResult(
        run_id=f"{executor}-{workers}",
        executor=executor,
        workers=workers,
        unit="tasks",
        tasks=tasks,
        status="ok",
        repeats=records,
    )


def judged(kind: str, runs: list[RunResult], usable: int = 2, **workload: Any) -> ScenarioResult:
    result = ScenarioResult(
        name="s",
        source="s.yaml",
        title="s",
        description="",
        workload={"kind": kind, **workload},
        settings={"repeats": ROUNDS, "warmups": 0, "timeout": 60, "workers": [1, 2]},
        runs=runs,
        rounds={"seed": 1, "processes": 1, "count": ROUNDS, "order": []},
    )
    finalise_scenario(result, usable)
    return result


def codes(result: ScenarioResult) -> list[str]:
    return [w["code"] for w in result.all_warnings()]


def by_id(result: ScenarioResult) -> dict[str, RunResult]:
    return {r.run_id: r for r in result.runs}


def hashing_artifact() -> ScenarioResult:
    """Issue 26's table: serial pays a page fault per 4 KiB read, one thread does not."""
    return judged(
        "hashing",
        [
            timed("serial", 1, 0.0698, faults=15360),
            timed("threads", 1, 0.0438, faults=40),
            timed("processes", 1, 0.0721, faults=15500),
            timed("threads", 2, 0.0233, faults=60, cores=1.87),
            timed("processes", 2, 0.0403, faults=15600, cores=1.81),
        ],
    )


# --- which runs are controls -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("executor", "workers", "workload", "expected"),
    [
        ("threads", 1, {"kind": "numeric"}, True),
        ("processes", 1, {"kind": "hashing"}, True),
        ("dask", 1, {"kind": "numeric"}, True),
        ("asyncio", 1, {"kind": "numeric"}, True),  # runs the sync function on its loop
        ("uvloop", 1, {"kind": "dispatch"}, True),
        ("asyncio", 1, {"kind": "hashing"}, False),  # aiofiles: code of its own
        ("uvloop", 1, {"kind": "http"}, False),  # the aiohttp client
        ("asyncio", 1, {"kind": "callable", "async_function": "m:f"}, False),
        ("asyncio", 1, {"kind": "callable"}, True),
        ("threads", 2, {"kind": "numeric"}, False),
        ("serial", 1, {"kind": "numeric"}, False),
    ],
)
def test_which_runs_are_negative_controls(
    executor: str, workers: int, workload: dict[str, Any], expected: bool
) -> None:
    run = RunResult(f"{executor}-{workers}", executor, workers, "tasks", 10)
    assert controls.is_control(run, workload) is expected


# --- the rules on synthetic rounds --------------------------------------------------------------


def test_a_control_faster_than_serial_puts_every_claim_against_serial_in_doubt() -> None:
    result = hashing_artifact()
    runs = by_id(result)
    failed = [w for w in result.warnings if w["code"] == "control_failed"]
    assert len(failed) == 1
    text = failed[0]["message"]
    assert "threads-1 1.60x (faster)" in text
    assert "processes-1" not in text.split(" against serial")[0]  # it agrees with serial
    # The allocator, named in plain words with the figures that show it.
    assert "serial-1 took 15,320 more page faults per pass than threads-1" in text
    assert "memory allocation, not concurrency" in text
    # Every run significantly different from serial carries the doubt.
    for run_id in ("threads-1", "threads-2", "processes-2"):
        assert "a negative control failed" in runs[run_id].summary.doubts, run_id
    # The control itself, outside the band, gets its sentence.
    band = [w for w in runs["threads-1"].summary.warnings if w["code"] == "control_band"]
    assert band and "one worker cannot beat serial on the same work" in band[0]["message"]


def test_a_speedup_beyond_the_cores_is_a_physical_limit_broken() -> None:
    runs = by_id(hashing_artifact())
    limit = [w for w in runs["threads-2"].summary.warnings if w["code"] == "physical_limit"]
    assert len(limit) == 1
    assert limit[0]["message"].startswith(
        "threads-2 is 3.00x faster than serial on 2 CPUs: more than the cores allow"
    )
    assert any("beyond the cores" in d for d in runs["threads-2"].summary.doubts)
    # 1.73x on 2 CPUs is within what two cores can do.
    assert not [w for w in runs["processes-2"].summary.warnings if w["code"] == "physical_limit"]


def test_the_doubt_mark_is_beside_the_speedup_in_every_format() -> None:
    result = hashing_artifact()
    runs = by_id(result)
    assert run_cells(runs["threads-2"])["speedup"] == "3.00×!"
    # 3% slower than serial, significantly: its own claim against serial is in doubt too.
    assert run_cells(runs["processes-1"])["speedup"] == "0.98×!"
    report = Report(machine=machine(), scenarios=[result])
    markdown = render(report, "md")
    assert "3.00×!" in markdown
    assert "A `!` after a speedup marks it doubtful" in markdown
    html = render(report, "html")
    assert "3.00×!" in html
    csv_text = render(report, "csv")
    assert "a negative control failed" in csv_text


def test_the_verdict_and_the_claims_carry_the_doubt() -> None:
    result = hashing_artifact()
    analysis = analyse_scenario(result, machine())
    assert analysis.verdict.winner_run == "threads-2"
    assert "doubtful: threads-2: a negative control failed" in analysis.verdict.text
    decided = [c for c in analysis.claims if c.decided]
    assert decided
    assert all("doubtful: a negative control failed in this scenario" in c.figures for c in decided)


def test_controls_that_agree_with_each_other_but_not_with_serial_mean_a_disturbed_baseline() -> (
    None
):
    """Issue 26's transient load: serial hit harder than the others, every control 1.06-1.10x
    faster, and uvloop-4 "significantly" faster than serial on pure-Python primes."""
    result = judged(
        "numeric",
        [
            timed("serial", 1, 1.10),
            timed("asyncio", 1, 1.03),
            timed("uvloop", 1, 1.01),
            timed("threads", 1, 1.02),
            timed("processes", 1, 1.04),
            timed("uvloop", 4, 1.025),
            timed("processes", 2, 0.55, cores=1.9),
        ],
    )
    assert "baseline_disturbed" in codes(result)
    runs = by_id(result)
    uvloop = runs["uvloop-4"].summary
    assert uvloop.versus_baseline is not None and uvloop.versus_baseline.significant
    assert "a negative control failed" in uvloop.doubts
    assert "not faster than the 1-worker controls" in uvloop.doubts
    assert run_cells(runs["uvloop-4"])["speedup"].endswith("!")
    # Judged against the controls too, processes-2 still wins clearly; both figures are kept.
    processes = runs["processes-2"].summary
    assert processes.versus_controls is not None and processes.versus_controls.significant
    assert processes.speedup is not None and processes.versus_controls.ratio is not None
    assert processes.speedup > processes.versus_controls.ratio > 1.8


def test_a_healthy_session_has_no_doubts() -> None:
    result = judged(
        "numeric",
        [
            timed("serial", 1, 1.00),
            timed("threads", 1, 1.01),
            timed("processes", 1, 1.00),
            timed("asyncio", 1, 0.995),
            timed("threads", 2, 1.02),
            timed("processes", 2, 0.52, cores=1.9),
        ],
    )
    assert not set(codes(result)) & {
        "control_failed", "control_band", "baseline_disturbed", "physical_limit",
    }  # fmt: skip
    assert not controls.doubtful_runs(result)
    assert "doubtful" not in analyse_scenario(result, machine()).verdict.text


def test_a_control_slower_by_its_price_per_task_is_no_artifact() -> None:
    """Near-empty tasks: a process pool of one is far slower than serial, and that is the
    model's price per task (dispatch_overhead's point), not a disturbed baseline."""
    result = judged(
        "dispatch",
        [
            timed("serial", 1, 0.002, tasks=2000),
            timed("threads", 1, 0.010, tasks=2000),
            timed("processes", 1, 0.090, tasks=2000),
        ],
    )
    assert not set(codes(result)) & {"control_failed", "control_band", "baseline_disturbed"}
    # With 5 ms tasks the same gap is no longer the price of a task.
    slow = judged(
        "numeric",
        [
            timed("serial", 1, 0.32, tasks=64),
            timed("threads", 1, 0.32, tasks=64),
            timed("processes", 1, 0.45, tasks=64),
        ],
    )
    band = [w for w in by_id(slow)["processes-1"].summary.warnings if w["code"] == "control_band"]
    assert band and "x serial's time, more than the model's price per task" in band[0]["message"]
    assert "control_failed" in codes(slow)


def test_disturbed_rounds_are_named_and_left_out_of_every_run() -> None:
    loads = [0.02] * ROUNDS
    loads[2] = loads[3] = 1.0  # a busy loop on one of the two cores
    # Serial was hit harder than threads-1 in those rounds: kept, they would make a gap.
    serial = timed("serial", 1, 1.0, loads=loads, slow_rounds={2: 1.6, 3: 1.6})
    result = judged(
        "numeric",
        [
            serial,
            timed("threads", 1, 1.0, loads=loads),
            timed("processes", 2, 0.52, cores=1.9, loads=loads),
        ],
    )
    assert result.rounds is not None
    assert result.rounds["disturbed"] == [2, 3]
    assert result.rounds["dropped"] == [2, 3]
    assert result.rounds["load"][2] == 1.0
    notice = next(w for w in result.warnings if w["code"] == "disturbed_rounds")
    assert "round 3 (1.0 cores), 4 (1.0 cores)" in notice["message"]
    assert "left out of every run's times, speedups and tests alike" in notice["message"]
    threads = by_id(result)["threads-1"].summary
    assert threads.versus_baseline is not None and threads.versus_baseline.n_a == ROUNDS - 2
    assert threads.wall_seconds.n == ROUNDS - 2
    assert "control_failed" not in codes(result)


def test_too_few_quiet_rounds_keeps_every_round_and_says_so() -> None:
    loads = [1.0] * 5 + [0.02] * 5
    result = judged("numeric", [timed("serial", 1, 1.0, loads=loads), timed("threads", 1, 1.0)])
    assert result.rounds is not None
    assert result.rounds["disturbed"] == [0, 1, 2, 3, 4]
    assert result.rounds["dropped"] == []
    notice = next(w for w in result.warnings if w["code"] == "disturbed_rounds")
    assert "only 5 quiet rounds remained" in notice["message"]


def test_finalising_twice_does_not_repeat_the_checks() -> None:
    result = hashing_artifact()
    before = codes(result)
    finalise_scenario(result, 2)
    assert codes(result) == before


def test_the_new_figures_round_trip_through_a_report_that_the_schema_accepts() -> None:
    result = hashing_artifact()
    report = Report(machine=machine(), scenarios=[result])
    data = json.loads(render(report, "json"))
    jsonschema.validate(data, REPORT_SCHEMA)
    saved = data["scenarios"][0]
    assert saved["rounds"]["dropped"] == []
    threads = next(r for r in saved["runs"] if r["run_id"] == "threads-2")
    assert threads["repeats"][0]["minor_faults"] == 60
    assert threads["repeats"][0]["background_cores"] == 0.02
    again = Report.from_json(data).scenarios[0]
    loaded = {r.run_id: r for r in again.runs}
    assert loaded["threads-2"].summary.doubts == by_id(result)["threads-2"].summary.doubts
    assert loaded["threads-2"].summary.minor_faults == 60
    # A report older than these fields loads, and its summaries keep no doubts.
    for run in saved["runs"]:
        for key in ("doubts", "minor_faults", "major_faults", "versus_controls"):
            run["summary"].pop(key, None)
    old = Report.from_json(data).scenarios[0]
    assert not controls.doubtful_runs(old)


# --- built for real, in runner processes ----------------------------------------------------------

NUMERIC = """\
title: controls
workload: {kind: numeric, kernel: primes, tasks: 12, size: 1500}
executors: [serial, threads]
workers: [1, 2]
repeats: 8
warmups: 0
processes: 1
min_time: 0
timeout: 60
"""


async def run_scenarios(*loaded: Any) -> Report:
    session = LabSession(make_plan(list(loaded)))
    async with contextlib.aclosing(session.events()) as events:
        async for _ in events:
            pass
    return session.report


@pytest.mark.slow
async def test_a_baseline_slowed_on_purpose_is_caught(
    lab_sandbox: LabSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serial spins 5x its work after each task (CPU, like an artifact): threads-1, the same
    function on one worker, is far faster, and threads-2 beats serial by more than 2 cores can."""
    for name, value in fault_env("serial-1:slow@6").items():
        monkeypatch.setenv(name, value)
    report = await run_scenarios(parse_scenario(NUMERIC, "c.yaml", "c"))
    result = report.scenarios[0]
    runs = by_id(result)
    assert all(r.status == "ok" for r in runs.values())
    limit = [w for w in runs["threads-2"].summary.warnings if w["code"] == "physical_limit"]
    assert (
        limit and "faster than serial on 2 CPUs: more than the cores allow" in limit[0]["message"]
    )
    assert run_cells(runs["threads-2"])["speedup"].endswith("!")
    band = [w for w in runs["threads-1"].summary.warnings if w["code"] == "control_band"]
    assert band and "one worker cannot beat serial" in band[0]["message"]
    assert "control_failed" in codes(result)
    verdict = analyse_scenario(result, report.machine).verdict
    assert "doubtful" in verdict.text
    # Every measured repeat says how loaded the machine was and how many faults it took.
    for run in runs.values():
        assert all(r.background_cores is not None for r in run.repeats)
        assert all(r.minor_faults is not None for r in run.repeats)


@pytest.mark.slow
async def test_the_same_scenario_unslowed_breaks_no_physical_limit(lab_sandbox: LabSandbox) -> None:
    report = await run_scenarios(parse_scenario(NUMERIC, "c.yaml", "c"))
    result = report.scenarios[0]
    assert "physical_limit" not in codes(result)
    threads = by_id(result)["threads-1"].summary.speedup
    assert threads is not None and 0.7 < threads < 1.4


# The allocator's own behaviour (a fresh 1 MiB buffer per read faults its pages in again in the
# main thread, not in a pool thread) is what issue 26 found, but whether glibc trims an arena
# depends on what else runs: in a parallel suite the pool thread faulted as often as serial.
# Here the function faults by itself, deterministically, so the lab's counting is what is tested.
FAULTS_IN_THE_MAIN_THREAD = '''\
import mmap
import threading

PAGES = 512
REUSED = bytearray(PAGES * 4096)


def touch(i):
    """One byte per 4 KiB page: of a fresh anonymous map in the main thread (a fault each), of
    one buffer reused across calls in any other thread (faulted in once)."""
    main = threading.current_thread() is threading.main_thread()
    buffer = mmap.mmap(-1, PAGES * 4096) if main else REUSED
    for offset in range(0, PAGES * 4096, 4096):
        buffer[offset] = 1
    return PAGES
'''


@pytest.mark.slow
async def test_page_faults_are_counted_per_pass_and_named_when_a_control_differs(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    """Faults are counted per pass for the runner and its workers: the same function takes a
    page fault per page in serial's main thread and next to none in a pool thread."""
    (tmp_path / "faulting.py").write_text(FAULTS_IN_THE_MAIN_THREAD)
    text = textwrap.dedent(
        """\
        title: faults in the main thread
        workload: {kind: callable, function: "faulting:touch", tasks: 8}
        executors: [serial, threads]
        workers: [1]
        repeats: 6
        warmups: 1
        processes: 1
        min_time: 0
        """
    )
    (tmp_path / "f.yaml").write_text(text)
    report = await run_scenarios(*resolve([str(tmp_path / "f.yaml")]))
    result = report.scenarios[0]
    runs = by_id(result)
    serial, threads = runs["serial-1"].summary, runs["threads-1"].summary
    assert serial.minor_faults is not None and threads.minor_faults is not None
    # 8 tasks of 512 fresh pages: 4,096 faults a pass in the main thread.
    assert serial.minor_faults >= 8 * 512
    assert serial.minor_faults > 10 * threads.minor_faults
    # Where the control differs from serial, the warning names the faults as the cause.
    for warning in result.all_warnings():
        if warning["code"] in ("control_failed", "control_band"):
            assert "more page faults per pass than threads-1" in warning["message"]


# Every built-in has controls (1-worker runs of the serial function). Slower than serial by less
# than their model's price per task explains, they pass; on dispatch_overhead's near-empty tasks
# every one is far slower, which is that scenario's point, and only a faster one would fail.
# Issue 26's artifact made a control 1.6x faster than serial in every round: the fast side is
# tight. The slow side is loose: on a loaded machine (load average 20) a pool's hand-offs wait
# for the scheduler, and processes-1 read 0.62-0.68x serial on hashing and integration. A gap
# is called systematic only when every round shows it: in the parallel suite another test
# shares the cores, and one disturbed round can move a median of six (1.79x was seen once).
TEST_BAND = (0.5, 1.4)
# Seconds per repeat, calibrated: what a per-round ratio needs, half a measurement's default.
CONTROL_MIN_TIME = 0.05


def diagnosis(result: ScenarioResult, base: RunResult) -> str:
    """What a failure needs to tell a machine's disturbance from the lab's artifact: every run
    of serial's group per round, the rounds' loads, and what the lab itself concluded."""
    group = [
        r
        for r in result.runs
        if r is not base
        and r.repeats
        and (r.params, r.interpreter) == (base.params, base.interpreter)
    ]
    rows = "; ".join(
        f"{r.run_id} {', '.join(f'{x:.2f}' for x in per_round(base, r))}" for r in group
    )
    loads = (result.rounds or {}).get("load") or []
    said = " | ".join(
        w["message"]
        for w in result.all_warnings()
        if w["code"] in (*controls.CODES, "control_band")
    )
    return (
        f"Against serial per round: {rows}. Round loads (cores): "
        f"{', '.join('-' if x is None else f'{x:.2f}' for x in loads)}. The lab said: {said or '-'}"
    )


def per_round(base: RunResult, run: RunResult) -> list[float]:
    """serial's time over the run's, round by round: the run's speedup in each round."""
    a, b = round_times(base), round_times(run)
    return [a[r] / b[r] for r in sorted(a.keys() & b.keys())]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(builtin_paths()))
async def test_every_builtin_keeps_its_controls_in_a_band_and_breaks_no_physical_limit(
    lab_sandbox: LabSandbox, name: str
) -> None:
    (loaded,) = resolve([name])
    quick = loaded.scenario.quick()
    if loaded.scenario.open_loop:
        pytest.skip(
            f"{name} is an open loop: no serial baseline and no speedups, so no controls; it is "
            "judged by the rate held and corrected p99 (tests/test_open_loop*.py)"
        )
    # 2 workers too: no multi-worker run of a built-in may break a physical limit. Two values
    # of a sweep at most (a control is judged at each), to keep the test short. A ratio per
    # round needs repeats long enough for the clock and the scheduler, not a measurement's:
    # calibrated to 0.05 s, and a serial pass of about that much where one takes longer.
    update: dict[str, Any] = {
        "workers": [1, 2],
        "repeats": 6,
        "processes": 1,
        "warmups": 0,
        "min_time": min(quick.min_time, CONTROL_MIN_TIME),
    }
    if quick.sweep:
        update["sweep"] = {k: v[:2] for k, v in quick.sweep.items()}
    workload = quick.workload
    if getattr(workload, "task_sizes_us", None):
        update["workload"] = workload.model_copy(update={"task_sizes_us": [100.0]})
    if isinstance(workload, HttpWorkload) and workload.latency_ms > 0:
        # Each serial request waits out the server's latency: enough of them for CONTROL_MIN_TIME.
        enough = max(8, math.ceil(CONTROL_MIN_TIME * 1000 / workload.latency_ms))
        update["workload"] = workload.model_copy(
            update={"requests": min(workload.requests, enough)}
        )
    small = replace(loaded, scenario=quick.model_copy(update=update))
    report = await run_scenarios(small)
    problems = breaches(report)
    if problems and (report.scenarios[0].rounds or {}).get("disturbed"):
        # The lab saw other programs compete in its rounds and said so: as its report asks,
        # measure again. An artifact of the lab (issue 26's) is in every session; the noise
        # of a machine shared with other tests (every round of the parallel suite) seldom
        # twice: local_cluster's processes-1 read 1.82x and 1.61x serial in every round, in
        # two of some twenty full runs, with 1.1 other cores busy in each round.
        first = " ".join(problems)
        report = await run_scenarios(small)
        again = breaches(report)
        problems = [*again, f"(a first session too: {first})"] if again else []
    assert not problems, f"{name}: " + " ".join(problems)
    # The session that judged the controls is this built-in's report-shape check too.
    assert_report_holds(report, name)


def breaches(report: Report) -> list[str]:
    """Every control outside TEST_BAND in every round, every run past the cores, and no
    control at all: each as words, with the diagnosis."""
    result = report.scenarios[0]
    usable = int(report.machine.get("cpus_usable") or 1)
    found: list[str] = []
    checked = 0
    for run in result.runs:
        base = next(
            r
            for r in result.runs
            if r.executor == "serial"
            and r.params == run.params
            and r.interpreter == run.interpreter
        )
        if run is base or run.status != "ok":
            continue  # a run that failed fails assert_report_holds
        ratios = per_round(base, run)
        limit = controls.core_limit(run, usable) * (1 + controls.LIMIT_MARGIN)
        broken = [w for w in run.summary.warnings if w["code"] == "physical_limit"]
        if broken and min(ratios) > limit:
            found.append(f"{broken[0]['message']} {diagnosis(result, base)}")
        if not controls.is_control(run, result.workload):
            continue
        speedup = run.summary.speedup
        assert speedup is not None
        checked += 1
        if speedup < 1 and not controls.slow_side_judged(run, base):
            continue  # slower by the model's price per task: dispatch_overhead's point
        fast = speedup > TEST_BAND[1] and min(ratios) > 1
        slow = speedup < TEST_BAND[0] and max(ratios) < 1
        if fast or slow:
            found.append(
                f"{run.run_id} at {speedup:.2f}x serial, in every round: "
                f"{', '.join(f'{r:.2f}' for r in ratios)}. {diagnosis(result, base)}"
            )
    if not checked:
        found.append("no 1-worker run of the serial function ran")
    return found


def test_rounds_are_dropped_only_while_the_rest_can_still_be_tested() -> None:
    """Six quiet rounds of ten cannot show a significant difference among 12 comparisons after
    Holm (2/64 x 12 > 0.05): dropping four would cost every verdict, so all are kept."""
    loads = [0.02] * ROUNDS
    for i in (1, 2, 3, 4):
        loads[i] = 1.0
    runs = [timed("serial", 1, 1.0, loads=loads)]
    for executor in ("asyncio", "uvloop", "threads", "processes"):
        for workers in (1, 2, 4):
            runs.append(
                timed(
                    executor,
                    workers,
                    1.0 if executor != "processes" else 0.5 + 0.5 / workers,
                    loads=loads,
                )
            )
    result = judged("numeric", runs)
    assert result.rounds is not None
    assert result.rounds["disturbed"] == [1, 2, 3, 4]
    assert result.rounds["dropped"] == []
    notice = next(w for w in result.warnings if w["code"] == "disturbed_rounds")
    assert "to test the 12 comparisons against serial" in notice["message"]
    assert "every round was kept and the negative controls judge them" in notice["message"]
    assert by_id(result)["processes-2"].summary.versus_baseline is not None
    assert by_id(result)["processes-2"].summary.versus_baseline.significant
