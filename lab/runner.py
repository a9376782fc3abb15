"""The runner process: executes one run (one executor at one worker count) in isolation.

Started fresh for every run as `python -m lab.runner`, like a pyperf worker, so the app, earlier
runs and their threads never perturb a measurement. It reads a RunSpec as JSON on stdin and
writes newline-delimited JSON events on stdout:

  ready    {pid, rss}                                   before any work
  startup  {seconds}                                    pool or loop start-up, timed alone
  progress {phase, repeat, done, total}                 throttled to PROGRESS_HZ
  repeat   {phase, index, wall_seconds, cpu_user, ...,  one finished warmup or repeat: per-pass
            loops}                                      averages over its `loops` passes
  error    {kind, message, detail}                      the run failed
  done     {max_rss, cpu_seconds}                       clean end
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import sys
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from typing import IO, Any

import psutil
from pydantic import TypeAdapter

from lab.executors import executor_class
from lab.histogram import Histogram
from lab.scenario import WorkloadSpec
from lab.workloads import workload_class
from lab.workloads.base import Tally, WorkloadSetupError, WrongAnswer

PROGRESS_HZ = 15.0


class EventWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def emit(self, event: str, **fields: Any) -> None:
        fields["event"] = event
        self.stream.write(json.dumps(fields, separators=(",", ":")) + "\n")
        self.stream.flush()


class ProgressSink:
    """Receives every task result: checks it (via the tally) and throttles progress events."""

    def __init__(self, out: EventWriter, tally: Tally, phase: str, index: int, total: int) -> None:
        self.out = out
        self.add = tally.add
        self.phase = phase
        self.index = index
        self.total = total
        self.done = 0
        self.start = time.perf_counter()
        self.next_emit = self.start + 1.0 / PROGRESS_HZ

    def __call__(self, result: Any) -> None:
        self.add(result)
        self.done += 1
        now = time.perf_counter()
        if now >= self.next_emit:
            self.next_emit = now + 1.0 / PROGRESS_HZ
            self.out.emit(
                "progress", phase=self.phase, repeat=self.index, done=self.done,
                total=self.total, elapsed=now - self.start,
            )  # fmt: skip


def cpu_times() -> tuple[float, float]:
    """User and system CPU of this process, its reaped children and its live children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = me.ru_utime + reaped.ru_utime
    system = me.ru_stime + reaped.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            c = child.cpu_times()
        except psutil.Error:
            continue
        user += c.user
        system += c.system
    return user, system


def total_cpu_seconds() -> float:
    """All CPU this runner and its descendants used so far, including the reaped ones.

    For the orchestrator's background-load check (lab.noise.BackgroundMeter): forkserver pool
    workers are reaped by the forkserver, so its children's times count too.
    """
    me = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = me.ru_utime + me.ru_stime + reaped.ru_utime + reaped.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            c = child.cpu_times()
        except psutil.Error:
            continue
        total += c.user + c.system + c.children_user + c.children_system
    return total


MAX_LOOPS = 100_000
TIMEOUT_SHARE = 0.5  # calibration never plans more than this share of the run's timeout


def calibrate_loops(
    pass_seconds: float, min_time: float, phases: int, timeout: float, pass_cost: float = 0.0
) -> int:
    """Passes over the tasks per warmup or repeat, so that each lasts at least `min_time`.

    Like pyperf's loop calibration: a workload whose tasks take 2 ms in all is run 50 times per
    repeat at min_time 0.1 s, and the repeat's times are divided by 50. `pass_cost` is the
    wall time of one pass including the untimed work around it (tallies, page-cache eviction);
    the remaining `phases` may use at most TIMEOUT_SHARE of the timeout.
    """
    if min_time <= 0 or pass_seconds >= min_time:
        return 1
    loops = math.ceil(min_time / max(pass_seconds, 1e-9))
    if timeout > 0:
        cost = max(pass_seconds, pass_cost, 1e-9)
        loops = min(loops, int(TIMEOUT_SHARE * timeout / (max(1, phases) * cost)))
    return max(1, min(MAX_LOOPS, loops))


class PassTotals:
    """Sums over the passes of one warmup or repeat; the record holds per-pass averages."""

    def __init__(self) -> None:
        self.passes = 0
        self.wall = 0.0
        self.cpu_user = 0.0
        self.cpu_system = 0.0
        self.amount = 0.0
        self.tasks = 0
        self.digest: str | None = None
        self.errors: dict[str, int] = {}
        self.latency: Histogram | None = None

    def add(self, wall: float, outcome: Any) -> None:
        if self.passes and outcome.digest != self.digest:
            raise WrongAnswer(
                f"two passes over the same tasks computed different results "
                f"({outcome.digest} vs {self.digest})"
            )
        self.passes += 1
        self.wall += wall
        self.amount += outcome.amount
        self.tasks = outcome.tasks
        self.digest = outcome.digest
        for k, v in outcome.errors.items():
            self.errors[k] = self.errors.get(k, 0) + v
        if outcome.latency is not None:
            if self.latency is None:
                self.latency = Histogram()
            self.latency.merge(outcome.latency)

    def cpu(self, cpu0: tuple[float, float], cpu1: tuple[float, float]) -> None:
        # Read once around all the passes: reading it walks the process tree, too slow per pass.
        self.cpu_user = cpu1[0] - cpu0[0]
        self.cpu_system = cpu1[1] - cpu0[1]

    def record(self, phase: str, index: int) -> dict[str, Any]:
        n = max(1, self.passes)
        return {
            "phase": phase,
            "index": index,
            "wall_seconds": self.wall / n,
            "cpu_user": self.cpu_user / n,
            "cpu_system": self.cpu_system / n,
            "amount": self.amount / n,
            "tasks": self.tasks,
            "digest": self.digest,
            "errors": self.errors,  # totals over all passes
            "latency": self.latency.to_json() if self.latency is not None else None,
            "loops": self.passes,
        }


def execute(spec: dict[str, Any], out: EventWriter) -> int:
    out.emit("ready", pid=os.getpid(), rss=psutil.Process().memory_info().rss)
    workload_spec = TypeAdapter(WorkloadSpec).validate_python(spec["workload"])
    workload = workload_class(workload_spec.kind)(workload_spec, spec["context"])
    executor = executor_class(spec["executor"])(spec["workers"], spec["start_method"])
    total = workload.task_count()
    min_time = float(spec.get("min_time") or 0.0)
    timeout = float(spec.get("timeout") or 0.0)

    t0 = time.perf_counter()
    executor.start(workload)
    out.emit("startup", seconds=time.perf_counter() - t0)
    try:
        phases = [("warmup", i) for i in range(spec["warmups"])]
        phases += [("repeat", i) for i in range(spec["repeats"])]
        # Passes per phase: decided after the run's first pass, revised below.
        loops: int | None = None if min_time > 0 else 1
        for number, (phase, index) in enumerate(phases):
            totals = PassTotals()
            sink: ProgressSink | None = None
            cpu0 = cpu_times()
            while totals.passes < (loops or 1):
                began = time.perf_counter()
                workload.before_repeat()
                tally = workload.new_tally()
                if sink is None:
                    sink = ProgressSink(out, tally, phase, index, total * (loops or 1))
                sink.add = tally.add
                start = time.perf_counter()
                if totals.passes == 0:
                    sink.start = start
                executor.run(workload, workload.tasks(), sink)
                wall = time.perf_counter() - start
                totals.add(wall, tally.finish())
                if loops is None:
                    cost = time.perf_counter() - began
                    loops = calibrate_loops(wall, min_time, len(phases) - number, timeout, cost)
                    sink.total = total * loops
            totals.cpu(cpu0, cpu_times())
            assert sink is not None
            # The first pass is often cold (slow), so recalibrate from whole phases: after the
            # first one and after each warmup. Times stay comparable: they are per pass.
            if min_time > 0 and (number == 0 or phase == "warmup"):
                loops = calibrate_loops(
                    totals.wall / totals.passes, min_time, len(phases) - number - 1, timeout
                )
            out.emit(
                "progress", phase=phase, repeat=index, done=sink.done, total=sink.total,
                elapsed=time.perf_counter() - sink.start,
            )  # fmt: skip
            out.emit("repeat", **totals.record(phase, index))
    finally:
        executor.close()
    out.emit(
        "done",
        max_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        cpu_seconds=total_cpu_seconds(),
    )
    return 0


def classify(exc: BaseException) -> str:
    if isinstance(exc, WrongAnswer):
        return "wrong_answer"
    if isinstance(exc, BrokenProcessPool):
        return "worker_died"
    if isinstance(exc, WorkloadSetupError):
        return "setup"
    return "exception"


def main() -> int:
    # Events own the real stdout; anything a workload prints goes to stderr instead.
    events = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr
    out = EventWriter(events)
    try:
        spec = json.loads(sys.stdin.read())
        return execute(spec, out)
    except BaseException as exc:
        detail = "".join(traceback.format_exception(exc))
        if isinstance(exc, BrokenProcessPool):
            message = "a worker process died abruptly (killed, or it exited)"
        else:
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        with contextlib.suppress(OSError):
            out.emit("error", kind=classify(exc), message=message, detail=detail)
        return 1


if __name__ == "__main__":
    sys.exit(main())
