"""The classic claims: confirmed, refuted or not measured, from synthetic measurements."""

from __future__ import annotations

from lab.analysis.analyse import analyse_report
from lab.analysis.claims import CLAIMS, ClaimResult, machine_notes, merge_claims, scenario_claims
from lab.analysis.facts import Machine, scenario_facts
from lab.results.model import ScenarioResult
from tests.synthetic import MB, dispatch, http, machine, numeric, report, run, scenario


def claims_of(result: ScenarioResult, usable: int = 2, gil: bool = True) -> dict[str, ClaimResult]:
    return {c.id: c for c in scenario_claims(scenario_facts(result, machine(usable, gil)))}


def test_builtin_shaped_run_decides_every_claim() -> None:
    a = analyse_report(report(dispatch(), http(), numeric()))
    status = {c.id: c.status for c in a.claims}
    assert status == {
        "threads_cpu": "confirmed",
        "io_waits": "confirmed",
        "processes_cores": "confirmed",
        "processes_cost": "confirmed",
        "asyncio_memory": "confirmed",
    }
    assert all(c.figures for c in a.claims)
    assert [c.id for c in a.claims] == [c.id for c in CLAIMS]
    assert not a.notes


def test_threads_cpu_confirmed_with_figures() -> None:
    c = claims_of(numeric())["threads_cpu"]
    assert c.status == "confirmed"
    assert "threads 1.02x at 2 workers, 1.00 of 2 cores busy" in c.figures


def test_no_gil_build_refutes_threads_cpu_and_says_it_is_expected() -> None:
    c = claims_of(numeric(gil=False), gil=False)["threads_cpu"]
    assert c.status == "refuted"
    assert "no GIL" in c.note
    assert any("no GIL" in n for n in machine_notes(Machine(2, gil=False)))


def test_one_usable_cpu_leaves_parallel_cpu_claims_not_measured() -> None:
    c = claims_of(numeric(usable=1), usable=1)
    assert c["threads_cpu"].status == "not measured"
    assert "1 usable CPU" in c["threads_cpu"].figures
    assert c["processes_cores"].status == "not measured"
    assert any("1 CPU" in n for n in machine_notes(Machine(1, gil=True)))


def test_processes_cores_refuted_when_they_stay_on_one_core() -> None:
    result = scenario(
        "n",
        "numeric",
        [run("serial", 1, 100), run("processes", 2, 101, cores=1.0)],
    )
    assert claims_of(result)["processes_cores"].status == "refuted"


def test_io_waits_confirmed_and_refuted() -> None:
    assert claims_of(http())["io_waits"].status == "confirmed"
    flat = scenario(
        "w",
        "http",
        [
            run("serial", 1, 90, cores=0.04),
            run("threads", 8, 600, cores=0.1),
            run("asyncio", 8, 91, cores=0.05),
        ],
    )
    c = claims_of(flat)["io_waits"]
    assert c.status == "refuted" and "asyncio 1.01x at 8 workers" in c.figures


def test_processes_cost_confirmed_or_refuted_by_feeding() -> None:
    c = claims_of(dispatch())["processes_cost"]
    assert c.status == "confirmed"
    assert "start ✓" in c.figures and "feed ✓" in c.figures and "memory ✓" in c.figures
    cheap = claims_of(dispatch(feed_cheaper_in_processes=True))["processes_cost"]
    # One refuted part does not refute a claim its other parts confirm: it is "partly".
    assert cheap.status == "partly" and "feed ✗" in cheap.figures
    assert "start ✓" in cheap.figures and "memory ✓" in cheap.figures
    assert "chunks" in cheap.figures


def test_asyncio_memory_confirmed_refuted_and_within_noise() -> None:
    assert claims_of(http())["asyncio_memory"].status == "confirmed"
    worse = claims_of(http(asyncio_extra=4 * MB, threads_extra=1 * MB))["asyncio_memory"]
    assert worse.status == "refuted"
    same = claims_of(http(asyncio_extra=1 * MB, threads_extra=1 * MB + 1000))["asyncio_memory"]
    assert same.status == "inconclusive"


def test_claims_a_scenario_cannot_bear_on_are_not_measured_with_a_reason() -> None:
    c = claims_of(dispatch())
    for claim_id in ("threads_cpu", "io_waits", "processes_cores", "asyncio_memory"):
        assert c[claim_id].status == "not measured", claim_id
        assert c[claim_id].figures


def test_merge_marks_mixed_parts_partly_and_not_measured_lists_reasons() -> None:
    a = scenario_claims(scenario_facts(dispatch(True), machine()))
    b = scenario_claims(scenario_facts(numeric(), machine()))
    merged = {c.id: c for c in merge_claims([("d", a), ("n", b)])}
    cost = merged["processes_cost"]
    assert cost.status == "partly" and cost.scenarios == ["d", "n"]
    assert "d (partly): " in cost.figures and "n (confirmed): " in cost.figures
    waits = merged["io_waits"]
    assert waits.status == "not measured" and "no scenario measured it" in waits.figures


def _busy_numeric() -> ScenarioResult:
    """Other processes keep one of the two cores busy: nothing can show parallel CPU work."""
    return scenario(
        "busy",
        "numeric",
        [
            run("serial", 1, 100, busy=2.0),
            run("threads", 2, 80, cores=0.8, busy=1.9),
            run("processes", 2, 103, cores=1.03, busy=2.0),
        ],
    )


def test_a_busy_machine_makes_parallel_cpu_claims_inconclusive_not_refuted() -> None:
    c = claims_of(_busy_numeric())
    assert c["processes_cores"].status == "inconclusive"
    assert "other processes kept 1.0 of 2 cores busy" in c["processes_cores"].figures
    assert c["threads_cpu"].status == "inconclusive"
    assert "no run had 2 free cores" in c["threads_cpu"].figures


def test_asyncio_memory_refuted_when_its_waits_do_not_overlap() -> None:
    result = scenario(
        "w",
        "http",
        [
            run("serial", 1, 90, cores=0.04),
            run("asyncio", 1, 89, memory=30 * MB),
            run("asyncio", 32, 100, memory=30 * MB),
            run("threads", 1, 89, memory=30 * MB),
            run("threads", 32, 2000, memory=32 * MB),
        ],
    )
    c = claims_of(result)["asyncio_memory"]
    assert c.status == "refuted" and "did not overlap" in c.figures


def test_a_serial_run_starved_by_other_load_still_counts_as_cpu_bound() -> None:
    result = scenario(
        "starved",
        "numeric",
        [run("serial", 1, 100, cores=0.6, busy=1.9), run("threads", 2, 100, cores=0.6, busy=1.9)],
    )
    facts = scenario_facts(result, machine())
    assert facts.serial_share is not None and facts.serial_share > 0.8
    assert facts.character == "cpu"


def test_threads_cpu_uses_one_thread_as_reference_when_serial_was_slowed() -> None:
    result = scenario(
        "slow_serial",
        "numeric",
        [
            run("serial", 1, 60, cores=0.6, busy=2.0),
            run("threads", 1, 100),
            run("threads", 2, 98, cores=1.0),
        ],
    )
    c = claims_of(result)["threads_cpu"]
    assert c.status == "confirmed" and "0.98x over one worker" in c.figures


# --- must not fire: claims that once read more into their figures than was there ---------------


def _http_memory(aio: tuple[int, int], thr: tuple[int, int]) -> ScenarioResult:
    """asyncio and threads at 1 and 32 waits with these (smallest, largest) peak memories."""
    runs = [run("serial", 1, 90, cores=0.04, latency_s=0.011, unit="requests")]
    for executor, (small, big) in (("asyncio", aio), ("threads", thr)):
        runs.append(run(executor, 1, 89, cores=0.06, memory=small, unit="requests"))
        runs.append(run(executor, 32, 2200, cores=0.37, memory=big, unit="requests"))
    return scenario("http_fanout", "http", runs)


def test_asyncio_memory_not_confirmed_when_its_peak_is_higher() -> None:
    # Smaller increment (+8.0 vs +11.6 MiB) but a peak 6.4 MiB above the threads' peak.
    c = claims_of(_http_memory((40 * MB, 48 * MB), (30 * MB, int(41.6 * MB))))["asyncio_memory"]
    assert c.status != "confirmed"
    assert c.status == "inconclusive" and "the peak is higher" in c.figures
    assert "judged on the increment" in c.figures and "noise floor" in c.figures


def test_asyncio_memory_not_decided_by_a_difference_at_the_old_threshold() -> None:
    # 256 KiB apart: what the old threshold let through as "confirmed".
    c = claims_of(_http_memory((30 * MB, 32 * MB), (30 * MB, 32 * MB + 256 * 1024)))
    assert c["asyncio_memory"].status == "inconclusive"
    assert "within the noise floor" in c["asyncio_memory"].figures


def test_processes_cost_not_refuted_by_one_part() -> None:
    cheap = claims_of(dispatch(feed_cheaper_in_processes=True))["processes_cost"]
    assert cheap.status != "refuted"


def test_processes_cost_refuted_only_when_every_part_is() -> None:
    runs = [
        run("serial", 1, 3_000_000),
        run("threads", 2, 50_000, startup=0.3, memory=200 * MB),
        run("processes", 2, 900_000, startup=0.01, memory=50 * MB),
    ]
    c = claims_of(scenario("dispatch_overhead", "dispatch", runs, task_us=0.0))
    assert c["processes_cost"].status == "refuted"
    assert "start ✗" in c["processes_cost"].figures and "memory ✗" in c["processes_cost"].figures
