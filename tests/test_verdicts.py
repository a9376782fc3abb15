"""Verdict rules on synthetic measurements: each rule fires on the facts it is about."""

from __future__ import annotations

import pytest

from lab.analysis.analyse import analyse_scenario
from lab.analysis.facts import Machine, scenario_facts
from lab.analysis.rules import Explanation
from lab.analysis.summarise import summarise_run
from lab.analysis.verdicts import compare_samples, verdict_for
from lab.results.model import ScenarioResult
from tests.synthetic import MB, dispatch, http, machine, numeric, run, scenario


def explained(result: ScenarioResult, usable: int = 2, gil: bool = True) -> dict[str, Explanation]:
    v = verdict_for(scenario_facts(result, machine(usable, gil)))
    return {e.executor: e for e in v.explanations}


def test_significance_separates_clear_differences_only() -> None:
    assert compare_samples([10, 10.1, 9.9, 10.05], [20, 20.2, 19.8, 20.1]).significant
    assert not compare_samples([10, 12, 8, 11], [10.5, 12.5, 8.5, 11]).significant
    few = compare_samples([10, 10.1], [20, 21])
    assert not few.significant and "too few repeats" in few.note
    lone = compare_samples([10], [])
    assert lone.p_value is None and not lone.significant


def test_winner_margin_and_significance() -> None:
    v = verdict_for(scenario_facts(numeric(), machine()))
    assert v.winner == "processes" and v.workers == 4
    assert v.runner_up == "threads"
    assert v.margin == pytest.approx(195 / 102, rel=0.01)
    assert v.over_serial == pytest.approx(1.95, rel=0.01)
    assert v.significance is not None and v.significance.significant
    assert "processes wins" in v.text and "1.91x over threads" in v.text
    assert "1.95x over serial" in v.text and "significant" in v.text


def test_gil_rule_names_speedup_workers_and_cores() -> None:
    e = explained(numeric())["threads"]
    assert e.rule == "gil" and e.decided
    assert "1.02x at 2 workers" in e.text and "1.00 of 2 cores" in e.text
    assert "pure-Python bytecode holds the GIL" in e.text


def test_event_loop_rule_for_asyncio_on_cpu_work() -> None:
    e = explained(numeric())["asyncio"]
    assert e.rule == "event_loop_one_core"
    assert "0.98x at 2 workers" in e.text and "one event loop" in e.text


def test_processes_rule_names_speedup_startup_and_memory_per_worker() -> None:
    e = explained(numeric())["processes"]
    assert e.rule == "processes_parallel"
    assert "1.95x at 4 workers using 1.95 of 2 cores" in e.text
    assert "ms to start the pool" in e.text and "+30.0 MiB per worker" in e.text


def test_serial_line_says_cpu_bound_or_waiting() -> None:
    assert explained(numeric())["serial"].rule == "serial_cpu"
    serial = explained(http())["serial"]
    assert serial.rule == "serial_waits" and "0.04 cores busy" in serial.text


def test_waits_overlap_rule_with_latency() -> None:
    e = explained(http())["threads"]
    assert e.rule == "waits_overlap"
    assert "24.4x at 32 workers" in e.text and "latency p50" in e.text
    assert explained(http())["processes"].text.endswith("per worker")


def test_releases_gil_rule_on_hashing() -> None:
    result = scenario(
        "h",
        "hashing",
        [
            run("serial", 1, 400, unit="MB"),
            run("threads", 1, 400),
            run("threads", 2, 760, cores=1.9),
        ],
        chunk_size=1024 * 1024,
    )
    e = explained(result)["threads"]
    assert e.rule == "releases_gil"
    assert "1.90x at 2 workers using 1.90 cores" in e.text
    assert "2048 bytes" in e.text and "1.0 MiB" in e.text


def test_no_gil_build_explains_thread_scaling_by_the_missing_gil() -> None:
    e = explained(numeric(gil=False), gil=False)["threads"]
    assert e.rule == "releases_gil" and "no GIL" in e.text


def test_single_cpu_rule() -> None:
    result = scenario(
        "one",
        "numeric",
        [run("serial", 1, 100), run("threads", 1, 100), run("threads", 2, 99)],
        usable=1,
    )
    e = explained(result, usable=1)["threads"]
    assert e.rule == "single_cpu" and "1 CPU" in e.text


def test_slower_than_serial_rule_names_per_task_costs() -> None:
    e = explained(dispatch())["threads"]
    assert e.rule == "slower_than_serial"
    assert "µs per task vs" in e.text and "serially" in e.text
    assert explained(dispatch())["serial"].rule == "serial_unknown"  # repeats too short


def test_gain_without_parallelism_is_called_out() -> None:
    result = scenario(
        "g",
        "hashing",
        [
            run("serial", 1, 100, cores=0.5),
            run("threads", 1, 300, cores=1.0),
            run("threads", 2, 290, cores=1.0),
        ],
    )
    e = explained(result)["threads"]
    assert e.rule == "gain_not_parallel"
    assert "3.00x over serial at 1 worker" in e.text and "0.97x from 1 to 2 workers" in e.text


def test_a_rule_that_cannot_decide_says_so() -> None:
    result = scenario(
        "u",
        "numeric",
        [run("serial", 1, 100), run("threads", 1, 100), run("threads", 2, 125, cores=1.25)],
    )
    e = explained(result)["threads"]
    assert e.rule == "undecided" and not e.decided
    assert "no rule decides" in e.text and "1.25x at 2 workers" in e.text


def test_failures_and_errors_are_reported() -> None:
    result = scenario(
        "f",
        "http",
        [
            run("serial", 1, 90, cores=0.04),
            run("threads", 1, 89, cores=0.05, errors={"http_500": 3}),
            run("threads", 8, 600, cores=0.1, errors={"http_500": 4}),
            run("processes", 1, 1, status="timeout"),
        ],
    )
    e = explained(result)
    assert "35 errors across its runs (http_500: 35)" in e["threads"].text
    assert e["processes"].rule == "no_run" and "timeout" in e["processes"].text


def test_analysis_works_on_a_report_loaded_from_json() -> None:
    from lab.results.model import Report
    from tests.synthetic import report

    original = report(numeric(), http())
    loaded = Report.from_json(original.to_json())
    a = analyse_scenario(loaded.scenarios[0], Machine.from_report(loaded.machine))
    assert a.verdict.winner == "processes"
    assert set(a.scaling) == {"asyncio", "threads", "processes"}
    data = a.to_json()
    assert {"verdicts", "claims", "scaling", "breakeven"} <= set(data)


def test_memory_per_worker_is_the_slope() -> None:
    facts = scenario_facts(numeric(), machine())
    per = facts.models["processes"].memory_per_worker
    assert per == pytest.approx(30 * MB, rel=1e-6)


def test_busy_machine_rule_explains_a_process_pool_on_one_free_core() -> None:
    result = scenario(
        "busy",
        "numeric",
        [
            run("serial", 1, 100, busy=1.1),
            run("processes", 1, 100, busy=2.0),
            run("processes", 2, 103, cores=1.03, busy=2.0),
        ],
    )
    e = explained(result)
    assert e["processes"].rule == "busy_machine"
    assert "other processes kept 1.0 of 2 cores busy" in e["processes"].text
    assert "leaving 1.0 free" in e["processes"].text
    v = verdict_for(scenario_facts(result, machine()))
    assert v.text.count("over serial") == 1  # the runner-up is serial: said once


def test_gains_are_measured_against_the_faster_single_worker_run() -> None:
    """A serial baseline slowed by other load must not make one busy core look parallel."""
    result = scenario(
        "slow_serial",
        "numeric",
        [
            run("serial", 1, 60, cores=0.6, busy=2.0),
            run("threads", 1, 100),
            run("threads", 2, 98, cores=1.0),
        ],
    )
    e = explained(result)["threads"]
    assert e.rule == "gil"
    assert "0.98x over one worker (1.63x over serial) at 2 workers" in e.text


def test_cpu_use_counts_every_calibrated_pass() -> None:
    # 200 µs per pass is too short to time CPU alone, but 1,000 passes were measured together.
    from lab.analysis.facts import run_facts
    from lab.results.repeat import RepeatRecord

    short = run("serial", 1, 100, cores=1.0, tasks=1)
    for r in short.repeats:
        r.wall_seconds, r.cpu_user, r.loops = 0.0002, 0.0002, 1000
    summarise_run(short, 2)
    facts = run_facts(short)
    assert facts is not None and facts.cores == pytest.approx(1.0)
    short.repeats = [RepeatRecord("repeat", 0, 0.0002, 0.0002, 0.0, 1, 1)]
    summarise_run(short, 2)
    assert run_facts(short).cores is None  # type: ignore[union-attr]


# --- must not fire: every explanation rule, fed facts it is not about --------------------------

from lab.analysis import rules  # noqa: E402
from lab.analysis.facts import ScenarioFacts  # noqa: E402


def facts_of(result: ScenarioResult, usable: int = 2) -> ScenarioFacts:
    return scenario_facts(result, machine(usable))


def _hashing(threads_tp: float, threads_1: float = 60) -> ScenarioResult:
    """A folder of tiny files: threads use two cores yet end up slower than serial."""
    return scenario(
        "file_hashing",
        "hashing",
        [
            run("serial", 1, 100, cores=0.95),
            run("threads", 1, threads_1, cores=0.95),
            run("threads", 4, threads_tp, cores=1.4),
        ],
        folder="/data/tiny",
    )


def test_rule_no_run_does_not_fire_on_a_model_that_ran() -> None:
    f = facts_of(numeric())
    assert rules.rule_no_run(f.models["threads"], f) is None


def test_rule_serial_does_not_fire_on_other_models() -> None:
    f = facts_of(numeric())
    assert all(rules.rule_serial(m, f) is None for e, m in f.models.items() if e != "serial")


def test_rule_slower_does_not_blame_hand_over_for_a_small_overhead() -> None:
    # The reported case: 6 ms tasks, one worker, about 1.5 ms more per task than serial.
    result = scenario(
        "numeric_crunching",
        "numeric",
        [run("serial", 1, 1000 / 6), run("processes", 1, 1000 / 7.7, startup=0.05)],
        tasks=1000,
    )
    f = facts_of(result)
    e = rules.rule_slower(f.models["processes"], f)
    assert e is not None  # 0.78x: slower than serial, and said so
    assert "more than the task itself" not in e.text
    assert "handing each task over costs about 1.7 ms on top of the task's 6.0 ms" in e.text


def test_rule_slower_still_names_hand_over_that_exceeds_the_task() -> None:
    f = facts_of(dispatch())
    e = rules.rule_slower(f.models["threads"], f)
    assert e is not None and "more than the task itself" in e.text


def test_rule_slower_does_not_fire_at_serial_speed() -> None:
    f = facts_of(numeric())
    assert rules.rule_slower(f.models["threads"], f) is None


def test_rule_releases_gil_does_not_explain_a_slowdown() -> None:
    f = facts_of(_hashing(threads_tp=85))  # 0.85x, though 1.4 cores busy and 1.4x over 1 worker
    assert rules.rule_releases_gil(f.models["threads"], f) is None
    e = rules.explain(f.models["threads"], f)
    assert e.rule == "per_file_overhead" and "releases the GIL" not in e.text
    assert "0.85x" in e.text and "tiny reads" in e.text


def test_rule_per_file_overhead_does_not_fire_on_a_gain_or_other_kinds() -> None:
    f = facts_of(_hashing(threads_tp=160, threads_1=95))
    assert rules.rule_slowdown_tiny_files(f.models["threads"], f) is None
    assert rules.explain(f.models["threads"], f).rule == "releases_gil"
    n = facts_of(numeric())
    assert rules.rule_slowdown_tiny_files(n.models["asyncio"], n) is None


def test_rule_waits_does_not_fire_on_cpu_work() -> None:
    f = facts_of(numeric())
    assert all(rules.rule_waits(m, f) is None for m in f.models.values())


def test_rule_single_cpu_does_not_fire_with_two_cpus() -> None:
    f = facts_of(numeric())
    assert all(rules.rule_single_cpu(m, f) is None for m in f.models.values())


def test_rule_gil_does_not_fire_on_waiting_work() -> None:
    f = facts_of(http())
    assert rules.rule_gil(f.models["threads"], f) is None


def test_rule_gain_not_parallel_does_not_fire_on_real_scaling() -> None:
    f = facts_of(numeric())
    assert rules.rule_gain_not_parallel(f.models["processes"], f) is None


def test_rule_busy_machine_does_not_fire_on_an_idle_machine() -> None:
    f = facts_of(numeric())
    assert rules.rule_busy_machine(f.models["processes"], f) is None


def test_rule_processes_parallel_does_not_fire_on_threads_or_one_core() -> None:
    f = facts_of(numeric())
    assert rules.rule_processes_parallel(f.models["threads"], f) is None
    one = facts_of(
        scenario(
            "numeric_crunching",
            "numeric",
            [run("serial", 1, 100), run("processes", 2, 100, cores=1.0)],
        )
    )
    assert rules.rule_processes_parallel(one.models["processes"], one) is None


def test_failed_requests_never_make_a_winner() -> None:
    result = scenario(
        "http_fanout",
        "http",
        [
            run("serial", 1, 90, cores=0.04, unit="requests"),
            run("asyncio", 8, 5000, cores=0.1, unit="requests", errors={"refused": 900}),
            run("threads", 8, 600, cores=0.1, unit="requests"),
        ],
    )
    v = verdict_for(scenario_facts(result, machine()))
    assert v.winner != "asyncio" and "asyncio wins" not in v.text
