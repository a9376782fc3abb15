"""The lab's own overhead: each executor through the lab against the raw primitive.

For every built-in workload at its default size and every executor, this script runs the same
tasks (a) the way a runner process does — the lab's Executor, its result tally (which checks
every answer) and its throttled progress — and (b) straight through the raw primitive:
a list comprehension, `asyncio.gather` under a semaphore, `ThreadPoolExecutor.map`,
`ProcessPoolExecutor.map` (same chunksize as the lab). Lab and raw repeats alternate, so drift
on a noisy machine hits both alike; a pass shorter than 0.1 s is repeated and averaged (for
both), as the lab's min_time calibration does. It prints median times and the ratio of throughputs
lab/raw (1.00 = no overhead; above 1 the lab is faster than the naive primitive).

    python benchmarks/lab_vs_raw.py                 # all built-ins, 5 alternating repeats
    python benchmarks/lab_vs_raw.py --repeats 9 numeric_crunching
    python benchmarks/lab_vs_raw.py --smoke         # every built-in scaled down, 1 repeat: seconds

Open-loop built-ins (an HTTP workload with a `rate`) are left out, named on one line of the
output: an open loop sends on a schedule for a fixed duration, so its time is the schedule's
whatever the executor, and a closed-loop gather is no raw counterpart for it.
benchmarks/open_loop_overhead.py measures the open loop's own overhead against a raw client
sending the same schedule.

`--smoke` checks that the script still runs against the lab's current API (a test runs it); its
figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.core.cpus import usable_cpus
from lab.runner.executors import executor_class
from lab.runner.executors.chunked import chunk_size
from lab.runner.progress import EventOut, ProgressSink
from lab.runner.protocol import RunnerEvent, to_line
from lab.runner.workloads import provisioner, workload_class
from lab.runner.workloads.base import Workload
from lab.scenario.loader import load_builtins

MIN_TIME = 0.1  # seconds, the lab's default min_time
# Smoke: HTTP requests per pass. The lab's --quick size (100 requests, 5 ms of server latency
# each) takes seconds per executor; 20 still go through every executor and both clients.
SMOKE_HTTP_REQUESTS = 20
OPEN_LOOP_BENCHMARK = "benchmarks/open_loop_overhead.py"


def smoke_scenario(scenario: Any) -> Any:
    """The lab's --quick scenario, its HTTP requests cut further (see SMOKE_HTTP_REQUESTS)."""
    quick = scenario.quick()
    if quick.workload.kind != "http":
        return quick
    fewer = quick.workload.model_copy(
        update={"requests": min(quick.workload.requests, SMOKE_HTTP_REQUESTS)}
    )
    return quick.model_copy(update={"workload": fewer})


class DevNullEvents:
    """Progress events are produced and serialised as a runner does (their cost is part of the
    lab), then written to /dev/null instead of the parent's pipe."""

    def __init__(self) -> None:
        self.stream = open(os.devnull, "w")  # noqa: SIM115 - open for the whole benchmark

    def send(self, message: RunnerEvent) -> None:
        self.stream.write(to_line(message) + "\n")


# The same protocol the runner's EventWriter satisfies: a change to it breaks the smoke test.
EVENTS: EventOut = DevNullEvents()


def lab_repeat(executor: Any, workload: Workload) -> float:
    tally = workload.new_tally()
    sink = ProgressSink(EVENTS, tally, "repeat", 0, workload.task_count())
    start = time.perf_counter()
    executor.run(workload, workload.tasks(), sink)
    elapsed = time.perf_counter() - start
    outcome = tally.finish()
    # A fast repeat made of failed requests would be a false win: refuse to time one.
    if outcome.errors and not getattr(workload.spec, "error_rate", 0):
        raise RuntimeError(f"lab repeat had errors: {outcome.errors}")
    return elapsed


class Raw:
    """The same work through the plain primitive, its pool or loop started once like the lab's."""

    def __init__(self, name: str, workers: int, workload: Workload, start_method: str) -> None:
        self.name, self.workers, self.workload = name, workers, workload
        self.fn: Callable[[Any], Any] = workload.sync_function
        if name == "threads":
            self.pool: Any = ThreadPoolExecutor(workers)
            list(self.pool.map(time.sleep, [0.01] * workers))
        elif name == "processes":
            import multiprocessing

            self.pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context(start_method)
            )
            list(self.pool.map(time.sleep, [0.05] * workers))
            self.chunk = chunk_size(workload.task_count(), workers)
        elif name in ("asyncio", "uvloop"):
            factory = None
            if name == "uvloop":
                import uvloop

                factory = uvloop.new_event_loop
            self.runner = asyncio.Runner(loop_factory=factory)
            self.stack = AsyncExitStack()
            self.runner.run(self.stack.enter_async_context(workload.async_session(workers)))

    async def _gather(self) -> list[Any]:
        sem = asyncio.Semaphore(self.workers)
        call = self.workload.run_async

        async def one(task: Any) -> Any:
            async with sem:
                return await call(task)

        return await asyncio.gather(*(one(t) for t in self.workload.tasks()))

    def repeat(self) -> float:
        tasks = self.workload.tasks()
        start = time.perf_counter()
        if self.name == "serial":
            results = [self.fn(t) for t in tasks]
        elif self.name == "threads":
            results = list(self.pool.map(self.fn, tasks))
        elif self.name == "processes":
            results = list(self.pool.map(self.fn, tasks, chunksize=self.chunk))
        else:
            results = self.runner.run(self._gather())
        elapsed = time.perf_counter() - start
        assert len(results) == self.workload.task_count()
        failed = [r for r in results if isinstance(r, tuple) and len(r) == 4 and r[1] != "ok"]
        if failed and not getattr(self.workload.spec, "error_rate", 0):
            raise RuntimeError(f"raw repeat had {len(failed)} failed requests, e.g. {failed[0]}")
        return elapsed

    def close(self) -> None:
        if self.name in ("threads", "processes"):
            self.pool.shutdown()
        elif self.name in ("asyncio", "uvloop"):
            self.runner.run(self.stack.aclose())
            self.runner.close()


async def bench_scenario(
    item: Any, repeats: int, executors: list[str], smoke: bool = False
) -> list[tuple[str, int, float, float]]:
    # Smoke: the lab's --quick workload and at most 2 workers, one pass each (no warmup).
    scenario = smoke_scenario(item.scenario) if smoke else item.scenario
    spec = scenario.workload
    workers_max = max(scenario.resolved_workers(usable_cpus()))
    if smoke:
        workers_max = min(workers_max, 2)
    min_time = 0.0 if smoke else MIN_TIME
    rows = []
    with tempfile.TemporaryDirectory(prefix="concurrency-lab-bench-") as tmp:
        async with provisioner(spec.kind)(spec, Path(tmp)) as context:
            for name in executors:
                workers = 1 if name == "serial" else workers_max
                rows.append(
                    await asyncio.to_thread(
                        bench_pair, spec, context, name, workers, scenario, repeats, min_time
                    )
                )
    return rows


def bench_pair(
    spec: Any,
    context: dict[str, Any],
    name: str,
    workers: int,
    scenario: Any,
    repeats: int,
    min_time: float = MIN_TIME,
) -> tuple[str, int, float, float]:
    # Separate workload objects: an async workload holds its loop's HTTP session.
    workload = workload_class(spec.kind)(spec, context)
    lab_ex = executor_class(name)(workers, scenario.resolved_start_method())
    lab_ex.start(workload)
    raw = Raw(
        name, workers, workload_class(spec.kind)(spec, context), scenario.resolved_start_method()
    )
    lab_times, raw_times = [], []
    try:
        loops = 1
        if min_time:  # not in a smoke run: there one pass of each is the whole point
            lab_repeat(lab_ex, workload)  # warmup both
            # Like the lab's min_time calibration: a pass shorter than MIN_TIME is repeated and
            # averaged, for lab and raw alike, so timer and scheduler noise do not decide it.
            loops = max(1, math.ceil(min_time / max(raw.repeat(), 1e-9)))

        def lab_avg() -> float:
            return sum(lab_repeat(lab_ex, workload) for _ in range(loops)) / loops

        def raw_avg() -> float:
            return sum(raw.repeat() for _ in range(loops)) / loops

        for i in range(repeats):
            # Alternate which goes first so neither always inherits the other's cache state.
            if i % 2:
                raw_times.append(raw_avg())
                lab_times.append(lab_avg())
            else:
                lab_times.append(lab_avg())
                raw_times.append(raw_avg())
    finally:
        lab_ex.close()
        raw.close()
    return name, workers, statistics.median(lab_times), statistics.median(raw_times)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenarios", nargs="*", help="built-in names (default: all)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--executors", default="serial,asyncio,uvloop,threads,processes")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, 1 repeat: checks the script runs"
    )
    args = parser.parse_args()
    if args.smoke:
        args.repeats = 1
    builtins = {s.name: s for s in load_builtins()}
    unknown = [name for name in args.scenarios if name not in builtins]
    if unknown:
        parser.error(f"not a built-in: {', '.join(unknown)} (built-ins: {', '.join(builtins)})")
    asked = args.scenarios or list(builtins)
    open_loops = [name for name in asked if builtins[name].scenario.open_loop]
    names = [name for name in asked if name not in open_loops]
    executors = args.executors.split(",")
    print(
        f"usable CPUs: {usable_cpus()}, repeats: {args.repeats} alternating, Python {sys.version.split()[0]}"
    )
    if names:
        print(
            f"{'scenario':<20} {'executor':<10} {'workers':>7} {'lab (s)':>10} {'raw (s)':>10} {'lab/raw':>8}"
        )
    worst = float("inf")
    for name in names:
        for executor, workers, lab_t, raw_t in asyncio.run(
            bench_scenario(builtins[name], args.repeats, executors, args.smoke)
        ):
            ratio = raw_t / lab_t  # throughput ratio: same work, so inverse of the time ratio
            worst = min(worst, ratio)
            print(
                f"{name:<20} {executor:<10} {workers:>7} {lab_t:>10.4f} {raw_t:>10.4f} {ratio:>8.3f}"
            )
    if open_loops:
        print(
            f"left out, open loop (a fixed-duration schedule; no closed-loop raw counterpart): "
            f"{', '.join(open_loops)}; {OPEN_LOOP_BENCHMARK} measures its overhead"
        )
    if names:
        print(f"lowest lab/raw throughput ratio: {worst:.3f} (target >= 0.95)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
