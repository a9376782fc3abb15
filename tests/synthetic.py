"""Synthetic measurements with known answers, for the verdict, claim and fit tests."""

from __future__ import annotations

from typing import Any

from lab.analysis.summarise import finalise_scenario
from lab.core.histogram import Histogram
from lab.results.machine import MachineFacts
from lab.results.model import Memory, Report, RunResult, ScenarioResult
from lab.results.repeat import RepeatRecord

MB = 1024 * 1024


def machine(usable: int = 2, gil: bool = True) -> MachineFacts:
    return {
        "cpu_model": "synthetic",
        "cpus_logical": usable,
        "cpus_usable": usable,
        "memory_total_bytes": 8 * 1024**3,
        "os": "test",
        "python": {"implementation": "CPython", "version": "3.x", "build": "", "gil_enabled": gil},
        "libraries": {},
    }


def latency_json(center_s: float, count: int = 200) -> dict[str, Any]:
    h = Histogram()
    for i in range(count):
        h.add(center_s * (0.8 + 0.4 * i / count))
    return h.to_json()


def run(
    executor: str,
    workers: int,
    throughput: float,
    *,
    cores: float = 1.0,
    repeats: int = 5,
    spread: float = 0.01,
    startup: float | None = None,
    memory: int | None = None,
    tasks: int = 1000,
    latency_s: float | None = None,
    errors: dict[str, int] | None = None,
    params: dict[str, Any] | None = None,
    status: str = "ok",
    unit: str = "tasks",
    busy: float | None = None,
) -> RunResult:
    """A run whose median throughput is `throughput` and which kept `cores` cores busy."""
    wall = tasks / throughput
    records = []
    for i in range(repeats if status == "ok" else 0):
        w = wall * (1 + spread * (i - (repeats - 1) / 2) / max(1, repeats - 1))
        records.append(
            RepeatRecord(
                "repeat",
                i,
                w,
                cores * w,
                0.0,
                tasks,
                tasks,
                "same",
                dict(errors or {}),
                latency_json(latency_s) if latency_s else None,
            )
        )
    if startup is None:
        startup = {"serial": 0.0, "processes": 0.05}.get(executor, 0.0005)
    if memory is None:
        base = 20 * MB
        memory = base + workers * (30 * MB if executor == "processes" else 100 * 1024)
    result = RunResult(
        run_id=f"{executor}-{workers}" + (f"@{params}" if params else ""),
        executor=executor,
        workers=workers,
        unit=unit,
        tasks=tasks,
        status=status,  # type: ignore[arg-type]
        startup_seconds=startup,
        repeats=records,
        memory=Memory(idle_rss_bytes=memory, peak_rss_bytes=memory, peak_uss_bytes=memory),
        params=dict(params or {}),
        # `busy` is the whole machine's busy cores, this run's own included.
        background_cpu_cores=max(0.0, busy - cores) if busy is not None else None,
    )
    if status != "ok":
        from lab.results.model import RunError

        result.error = RunError(status, f"the run {status}")
    return result


def scenario(
    name: str,
    kind: str,
    runs: list[RunResult],
    usable: int = 2,
    **workload: Any,
) -> ScenarioResult:
    result = ScenarioResult(
        name=name,
        source=f"builtin:{name}",
        title=name.replace("_", " "),
        description="",
        workload={"kind": kind, **workload},
        settings={"repeats": 5, "warmups": 0, "timeout": 60, "workers": [1, 2, 4]},
        runs=runs,
    )
    finalise_scenario(result, usable)
    return result


# -- scenarios shaped like the built-ins on a 2-core machine with a GIL ----------------------


def numeric(usable: int = 2, gil: bool = True) -> ScenarioResult:
    threads_cores = 1.9 if not gil else 1.0
    threads_tp = 190 if not gil else 102
    return scenario(
        "numeric_crunching",
        "numeric",
        [
            run("serial", 1, 100),
            run("asyncio", 1, 99),
            run("asyncio", 2, 98),
            run("asyncio", 4, 97),
            run("threads", 1, 100),
            run("threads", 2, threads_tp, cores=threads_cores),
            run("threads", 4, threads_tp - 2, cores=threads_cores),
            run("processes", 1, 99),
            run("processes", 2, 190, cores=1.9, startup=0.03),
            run("processes", 4, 195, cores=1.95, startup=0.05),
        ],
        usable=usable,
    )


def http(asyncio_extra: int = 300 * 1024, threads_extra: int = 2 * MB) -> ScenarioResult:
    def mem(extra: int, workers: int) -> int:
        return 30 * MB + extra * (workers - 1) // 31

    runs = [run("serial", 1, 90, cores=0.04, latency_s=0.011, unit="requests")]
    for executor, extra in (("asyncio", asyncio_extra), ("threads", threads_extra)):
        for w, tp in ((1, 89), (8, 650), (32, 2200)):
            runs.append(
                run(
                    executor,
                    w,
                    tp,
                    cores=0.05 + w / 100,
                    latency_s=0.012,
                    memory=mem(extra, w),
                    unit="requests",
                )
            )
    for w, tp in ((1, 90), (8, 640), (32, 2000)):
        runs.append(
            run("processes", w, tp, cores=0.2, latency_s=0.012, startup=0.2 * w, unit="requests")
        )
    return scenario("http_fanout", "http", runs)


def dispatch(feed_cheaper_in_processes: bool = False) -> ScenarioResult:
    proc_tp = 800_000 if feed_cheaper_in_processes else 50_000
    return scenario(
        "dispatch_overhead",
        "dispatch",
        [
            run("serial", 1, 3_000_000, repeats=5),
            run("asyncio", 1, 2_000_000),
            run("asyncio", 2, 1_900_000),
            run("threads", 1, 95_000),
            run("threads", 2, 94_000),
            run("processes", 1, proc_tp, startup=0.2),
            run("processes", 2, proc_tp * 0.8, startup=0.3),
        ],
        task_us=0.0,
    )


TASKS = 2000


def sweep_runs(
    sizes: list[float], startup: float = 0.2, thread_cost_us: float = 10.0
) -> list[RunResult]:
    """Threads: one core (GIL), 10 µs hand-off per task. Processes: 2 cores, 1.5 µs per task."""
    runs = []
    for size in sizes:
        params = {} if size == 0 else {"task_us": size}
        serial = TASKS * (0.3 + size) * 1e-6
        threads = TASKS * (thread_cost_us + size) * 1e-6
        procs = TASKS * (1.5 + size) * 1e-6 / 2
        runs += [
            run("serial", 1, TASKS / serial, tasks=TASKS, params=params),
            run("threads", 2, TASKS / threads, tasks=TASKS, params=params, startup=0.001),
            run("processes", 2, TASKS / procs, tasks=TASKS, params=params, startup=startup),
        ]
    return runs


def report(*scenarios: ScenarioResult, usable: int = 2, gil: bool = True) -> Report:
    return Report(machine=machine(usable, gil), scenarios=list(scenarios))


def open_loop_run(
    executor: str,
    workers: int,
    rate: float,
    *,
    reached: float | None = None,
    service_s: float = 0.006,
    p99_s: list[float] | None = None,
    repeats: int = 7,
    memory: int = 30 * MB,
    errors: dict[str, int] | None = None,
) -> RunResult:
    """An open-loop run at `rate` (a sweep point): it sends at `reached` requests a second
    (the rate itself unless given), its requests take `service_s` at the server, and in round
    i the slowest 2% of its requests take `p99_s[i]` at the server."""
    from lab.runner.workloads.openloop import OpenLoopMeter

    records = []
    sending = reached or rate
    count = int(rate)
    for i in range(repeats):
        meter = OpenLoopMeter(rate, 1.0, "constant")
        for k in range(count):
            due = k / rate
            sent = k / sending
            slow = p99_s[i % len(p99_s)] if p99_s and k >= count * 0.98 else 0.0
            meter.add(due, sent, max(service_s, slow))
        wall = max(1.0, count / sending)
        record = RepeatRecord(
            "repeat", i, wall, 0.1 * wall, 0.0, count, count, None, dict(errors or {})
        )
        record.open_loop = meter.record()
        record.round = i
        records.append(record)
    return RunResult(
        run_id=f"{executor}-{workers}@rate={rate:g}",
        executor=executor,
        workers=workers,
        unit="requests",
        tasks=count,
        status="ok",
        repeats=records,
        peak_rss_bytes=memory,
        peak_uss_bytes=memory,
        params={"rate": rate},
    )
