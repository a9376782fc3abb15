"""The runner process: executes one run (one executor at one worker count) in isolation.

Started as `python -m lab.runner.main`, like a pyperf worker, so the app, other runs and their
threads never perturb a measurement. It speaks the typed messages of lab.runner.protocol: a
RunSpec line on stdin, then (in rounds) one MeasureCommand per measured repeat; events go out
as JSON lines on the pipe the session passed (EVENT_FD_ENV), never on stdout: ready, startup (pool or loop start-up, timed alone), progress
(throttled to about 15 Hz), repeat (one warmup or repeat: per-pass averages over its `loops`
passes), error (sent before cleanup) and done (max_rss, cpu_seconds, uss of the tree with the
pool still up). End of stdin closes the run, so a runner whose session died stops by itself.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import resource
import sys
import time
import traceback
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import IO, Any, NamedTuple

import psutil
from pydantic import TypeAdapter

from lab.results.repeat import Phase
from lab.runner.calibration import PassTotals, calibrate_loops
from lab.runner.executors import executor_class
from lab.runner.executors.base import ClusterProblem, Executor, WorkerLost
from lab.runner.peaks import Peak
from lab.runner.progress import ProgressSink
from lab.runner.protocol import (
    EVENT_FD_ENV,
    UNREACHABLE,
    CloseCommand,
    Done,
    Facts,
    MeasureCommand,
    Ready,
    RepeatDone,
    RunnerError,
    RunnerEvent,
    RunSpec,
    Startup,
    parse_command,
    to_line,
)
from lab.runner.system import parent_death, pyfacts, strays
from lab.runner.system.groups import tree_memory
from lab.runner.workloads import workload_class
from lab.runner.workloads.base import (
    TargetUnreachable,
    UserCodeError,
    Workload,
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

    def send(self, message: RunnerEvent) -> None:
        self.stream.write(to_line(message) + "\n")
        self.stream.flush()


class Usage(NamedTuple):
    """CPU seconds and page faults of this process, its reaped children and its live children."""

    user: float
    system: float
    minor_faults: int
    major_faults: int

    def __sub__(self, other: tuple[Any, ...]) -> Usage:
        return Usage(*(a - b for a, b in zip(self, other, strict=True)))

    def __add__(self, other: tuple[Any, ...]) -> Usage:
        return Usage(*(a + b for a, b in zip(self, other, strict=True)))


def _faults_of(pid: int) -> tuple[int, int]:
    """A live process's own minor and major page faults (/proc/PID/stat, fields 10 and 12)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return 0, 0
    # fields[0] is field 3 (state): minflt is field 10, majflt field 12
    return int(fields[7]), int(fields[9])


def usage() -> Usage:
    """CPU and page faults of this process, its reaped children and its live children.

    Page faults say where time went that no profile of the work shows: a fresh large buffer
    per read costs a fault per page in one thread and none in another (issue 26).
    """
    me = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = me.ru_utime + reaped.ru_utime
    system = me.ru_stime + reaped.ru_stime
    minor = me.ru_minflt + reaped.ru_minflt
    major = me.ru_majflt + reaped.ru_majflt
    for child in psutil.Process().children(recursive=True):
        try:
            c = child.cpu_times()
        except psutil.Error:
            continue
        user += c.user
        system += c.system
        child_minor, child_major = _faults_of(child.pid)
        minor += child_minor
        major += child_major
    return Usage(user, system, minor, major)


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
    if isinstance(exc, BrokenProcessPool | WorkerLost):
        return "worker_died"
    if isinstance(exc, WorkloadSetupError | ClusterProblem):
        return "setup"
    if isinstance(exc, UserCodeError):
        return exc.kind
    if isinstance(exc, TargetUnreachable):
        return UNREACHABLE
    return "exception"


def describe(exc: BaseException, stage: str) -> str:
    """The reason a run failed, in plain words, for the report and the progress line."""
    exc = root_cause(exc)
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, BrokenProcessPool):
        return str(exc) or "a pool worker process died abruptly (killed, or it exited)"
    if isinstance(exc, WrongAnswer):
        return f"wrong answer: {exc}"
    if isinstance(exc, WorkerLost | ClusterProblem):
        return str(exc)
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
        out.send(RunnerError(classify(exc), describe(exc, stage), detail))


class Measurer:
    """Times warmups and repeats of one run, keeping calibration across them."""

    def __init__(self, spec: RunSpec, workload: Workload, executor: Executor, out: EventWriter):
        self.spec = spec
        self.workload = workload
        self.executor = executor
        self.out = out
        self.total = workload.task_count()
        self.stage = "setup"
        # Passes per phase: decided after the run's first pass, revised below.
        # An open loop's repeat lasts its schedule: one pass, never calibrated.
        self.loops: int | None = None if spec.min_time > 0 and not workload.open_loop else 1
        self.phases_left = spec.warmups + spec.repeats + spec.commanded
        self.first = True
        self.workers = Peak()  # an existing cluster's, which no sampling of this tree sees

    def usage(self) -> Usage:
        """This runner's tree and the executor's workers outside it (an existing cluster),
        whose memory is read at the same moments: around each repeat, never inside one."""
        mine = usage()
        remote = self.executor.remote_usage()
        self.workers.take(remote.rss, remote.uss)
        return mine + Usage(remote.user, remote.system, 0, 0)

    def phase(self, phase: Phase, index: int, round_: int | None = None) -> None:
        spec, workload = self.spec, self.workload
        totals = PassTotals()
        sink: ProgressSink | None = None
        usage0 = self.usage()
        while totals.passes < (self.loops or 1):
            self.stage = "setup"
            began = time.perf_counter()
            workload.before_repeat()
            tally = workload.new_tally()
            if sink is None:
                sink = ProgressSink(self.out, tally, phase, index, self.total * (self.loops or 1))
            sink.tally = tally
            self.stage = "tasks"
            start = time.perf_counter()
            if totals.passes == 0:
                sink.start = start
            self.executor.run(workload, workload.tasks(), sink)
            wall = time.perf_counter() - start
            self.stage = "check"
            totals.add(wall, tally.finish())
            if self.loops is None:
                cost = time.perf_counter() - began
                self.loops = calibrate_loops(
                    wall, spec.min_time, self.phases_left, spec.timeout, cost
                )
                sink.total = self.total * self.loops
        totals.usage(self.usage() - usage0)
        assert sink is not None
        self.phases_left -= 1
        # The first pass is often cold (slow), so recalibrate from whole phases: after the
        # first one and after each warmup. Times stay comparable: they are per pass.
        if spec.min_time > 0 and not workload.open_loop and (self.first or phase == "warmup"):
            self.loops = calibrate_loops(
                totals.wall / totals.passes, spec.min_time, self.phases_left, spec.timeout
            )
        self.first = False
        sink.emit(time.perf_counter() - sink.start)
        record = totals.record(phase, index)
        record.round = round_
        self.out.send(RepeatDone(record))


def commands(stream: IO[str]) -> Iterator[MeasureCommand]:
    """The session's repeat commands, until it closes the run (or its end of the pipe)."""
    for line in stream:
        if not line.strip():
            continue
        command = parse_command(line)
        if isinstance(command, CloseCommand):
            return
        yield command


def execute(spec: RunSpec, out: EventWriter, orders: Iterator[MeasureCommand]) -> int:
    out.send(Ready(os.getpid(), psutil.Process().memory_info().rss))
    measurer: Measurer | None = None
    executor = None
    stage = "setup"
    try:
        workload_spec = TypeAdapter(WorkloadSpec).validate_python(spec.workload)
        workload = workload_class(workload_spec.kind)(workload_spec, spec.context)
        if hook := os.environ.get(TEST_HOOK_ENV):  # tests only: see tests/faults.py
            workload = importlib.import_module(hook).wrap(workload, spec.run_id)
        executor = executor_class(spec.executor)(spec.workers, spec.start_method, spec.cluster)
        measurer = Measurer(spec, workload, executor, out)

        stage = "startup"
        t0 = time.perf_counter()
        executor.start(workload)
        out.send(Startup(time.perf_counter() - t0, executor.chunk))
        # Untimed, once the workload and the pool are loaded: a free-threaded build may have
        # turned its GIL on for one of their extension modules.
        out.send(Facts(pyfacts.runtime_facts()))
        stage = "measure"
        for i in range(spec.warmups):
            measurer.phase("warmup", i)
        for i in range(spec.repeats):
            measurer.phase("repeat", i)
        for order in orders:
            measurer.phase("repeat", order.index, order.round)
    except BaseException as exc:
        # Report first: closing a pool can wait on its workers, and the session stops the
        # whole runner as soon as it has the reason.
        emit_error(out, exc, measurer.stage if measurer and stage == "measure" else stage)
        if executor is not None:
            with contextlib.suppress(Exception):
                executor.close()
        return 1
    # The parent samples USS only a few times a second, which a short run can slip between;
    # this reading, with the pool still up and outside any timed region, covers such runs.
    _, uss = tree_memory(os.getpid(), with_uss=True)
    executor.close()
    assert measurer is not None
    workers = measurer.workers
    out.send(Done(peak_rss(), total_cpu_seconds(), uss, workers.rss, workers.uss))
    return 0


def event_stream() -> IO[str]:
    """The pipe the session passed for events (EVENT_FD_ENV), kept from the processes this
    runner starts: a pool worker that execs never holds it, and one forked from here cannot
    find it by a fixed number."""
    value = os.environ.pop(EVENT_FD_ENV, "")
    if not value.isdigit() or int(value) <= 2:
        raise SystemExit(
            f"lab.runner.main: {EVENT_FD_ENV} must name the event pipe's file descriptor "
            "(above 2); the runner is started by the lab's session"
        )
    fd = int(value)
    os.set_inheritable(fd, False)
    return os.fdopen(fd, "w", encoding="utf-8")


def main() -> int:
    parent_death.arm_from_env()  # a SIGKILLed lab takes its runners with it
    # Orphans of what the measured code starts (a daemon, a start_new_session child) become
    # this runner's children, where the session finds them (lab.runner.system.strays).
    parent_death.become_subreaper()
    out = EventWriter(event_stream())
    try:
        first = sys.stdin.readline()
        spec = RunSpec.from_line(first)
        return execute(spec, out, commands(sys.stdin))
    except BaseException as exc:
        emit_error(out, exc, "setup")
        return 1
    finally:
        # What the measured code started in a session of its own would outlive the run (the
        # session finds it by the environment mark too, unless it cleared its environment).
        # Here, not in execute(): run in-process, that would reach the caller's children.
        strays.kill_escaped_descendants()


if __name__ == "__main__":
    sys.exit(main())
