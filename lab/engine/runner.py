"""The runner process: executes one run (one executor at one worker count) in isolation.

Started fresh for every run as `python -m lab.engine.runner`, like a pyperf worker, so the app, earlier
runs and their threads never perturb a measurement. It reads a RunSpec as JSON on stdin and
writes newline-delimited JSON events on stdout:

  ready    {pid, rss}                                   before any work
  startup  {seconds}                                    pool or loop start-up, timed alone
  progress {phase, repeat, done, total, elapsed}        throttled to about 15 Hz
  repeat   {phase, index, wall_seconds, cpu_user, ...,  one finished warmup or repeat: per-pass
            loops}                                      averages over its `loops` passes
  error    {kind, message, detail}                      the run failed (sent before cleanup)
  done     {max_rss, cpu_seconds, uss}                  clean end (uss: tree, pool still up)
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import sys
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from typing import IO, Any

import psutil
from pydantic import TypeAdapter

from lab.engine.calibration import PassTotals, calibrate_loops
from lab.engine.executors import executor_class
from lab.engine.progress import ProgressSink
from lab.engine.system import parent_death
from lab.engine.system.groups import tree_memory
from lab.engine.workloads import workload_class
from lab.engine.workloads.base import (
    TargetUnreachable,
    UserCodeError,
    WorkloadSetupError,
    WrongAnswer,
)
from lab.scenario.spec import WorkloadSpec

# A test seam: the module it names (tests.faults) gets each workload and may return one that
# fails on purpose. Users never set it; unset, nothing is imported.
TEST_HOOK_ENV = "LAB_TEST_HOOK"


class EventWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def emit(self, event: str, **fields: Any) -> None:
        fields["event"] = event
        self.stream.write(json.dumps(fields, separators=(",", ":")) + "\n")
        self.stream.flush()


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

    For the orchestrator's background-load check (lab.engine.system.probes.BackgroundMeter): forkserver pool
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


def peak_rss() -> int:
    """This process's own RSS high-water mark.

    Not getrusage's ru_maxrss: Linux carries the parent's peak over fork and exec, so every
    runner would report at least the orchestrator's size.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def root_cause(exc: BaseException) -> BaseException:
    """asyncio's TaskGroup wraps tasks' exceptions in an ExceptionGroup: the first one says why
    (when every task fails alike, the others only repeat it)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def classify(exc: BaseException) -> str:
    exc = root_cause(exc)
    if isinstance(exc, WrongAnswer):
        return "wrong_answer"
    if isinstance(exc, BrokenProcessPool):
        return "worker_died"
    if isinstance(exc, WorkloadSetupError):
        return "setup"
    if isinstance(exc, UserCodeError):
        return exc.kind
    if isinstance(exc, TargetUnreachable):
        return "unreachable"
    return "exception"


def describe(exc: BaseException, stage: str) -> str:
    """The reason a run failed, in plain words, for the report and the progress line."""
    exc = root_cause(exc)
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, BrokenProcessPool):
        return str(exc) or "a pool worker process died abruptly (killed, or it exited)"
    if isinstance(exc, WrongAnswer):
        return f"wrong answer: {exc}"
    if isinstance(exc, TargetUnreachable | WorkloadSetupError | UserCodeError):
        return str(exc)
    if stage == "startup":
        return f"the workers did not start: {text}"
    if stage == "tasks":
        return f"a task raised {text}"
    return text


def emit_error(out: EventWriter, exc: BaseException, stage: str) -> None:
    cause = root_cause(exc)
    # A scenario's own code failed: its traceback, trimmed to its frames, not the lab's.
    detail = (
        cause.detail
        if isinstance(cause, UserCodeError)
        else "".join(traceback.format_exception(exc))
    )
    with contextlib.suppress(OSError, ValueError):
        out.emit("error", kind=classify(exc), message=describe(exc, stage), detail=detail)


def execute(spec: dict[str, Any], out: EventWriter) -> int:
    out.emit("ready", pid=os.getpid(), rss=psutil.Process().memory_info().rss)
    stage = "setup"
    executor = None
    try:
        workload_spec = TypeAdapter(WorkloadSpec).validate_python(spec["workload"])
        workload = workload_class(workload_spec.kind)(workload_spec, spec["context"])
        if hook := os.environ.get(TEST_HOOK_ENV):  # tests only: see tests/faults.py
            workload = importlib.import_module(hook).wrap(workload, spec.get("run_id"))
        executor = executor_class(spec["executor"])(spec["workers"], spec["start_method"])
        total = workload.task_count()
        min_time = float(spec.get("min_time") or 0.0)
        timeout = float(spec.get("timeout") or 0.0)

        stage = "startup"
        t0 = time.perf_counter()
        executor.start(workload)
        out.emit("startup", seconds=time.perf_counter() - t0)
        phases = [("warmup", i) for i in range(spec["warmups"])]
        phases += [("repeat", i) for i in range(spec["repeats"])]
        # Passes per phase: decided after the run's first pass, revised below.
        loops: int | None = None if min_time > 0 else 1
        for number, (phase, index) in enumerate(phases):
            totals = PassTotals()
            sink: ProgressSink | None = None
            cpu0 = cpu_times()
            while totals.passes < (loops or 1):
                stage = "setup"
                began = time.perf_counter()
                workload.before_repeat()
                tally = workload.new_tally()
                if sink is None:
                    sink = ProgressSink(out, tally, phase, index, total * (loops or 1))
                sink.tally = tally
                stage = "tasks"
                start = time.perf_counter()
                if totals.passes == 0:
                    sink.start = start
                executor.run(workload, workload.tasks(), sink)
                wall = time.perf_counter() - start
                stage = "check"
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
    except BaseException as exc:
        # Report first: closing a pool can wait on its workers, and the orchestrator stops
        # the whole runner as soon as it has the reason.
        emit_error(out, exc, stage)
        if executor is not None:
            with contextlib.suppress(Exception):
                executor.close()
        return 1
    # The parent samples USS only a few times a second, which a short run can slip between;
    # this reading, with the pool still up and outside any timed region, covers such runs.
    _, uss = tree_memory(os.getpid(), with_uss=True)
    executor.close()
    out.emit("done", max_rss=peak_rss(), cpu_seconds=total_cpu_seconds(), uss=uss)
    return 0


def main() -> int:
    parent_death.arm_from_env()  # a SIGKILLed lab takes its runners with it
    # Events own the real stdout; anything a workload prints goes to stderr instead.
    events = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr
    out = EventWriter(events)
    try:
        spec = json.loads(sys.stdin.read())
        return execute(spec, out)
    except BaseException as exc:
        emit_error(out, exc, "setup")
        return 1


if __name__ == "__main__":
    sys.exit(main())
