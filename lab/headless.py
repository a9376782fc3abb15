"""Headless mode: run plans, show progress on stderr, write the report. Never imports Textual."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from lab.analysis.summarise import finalise_scenario
from lab.core.exit_codes import EXIT_OK, EXIT_RUN_FAILED
from lab.core.stopping import STOP_SIGNALS, exit_status
from lab.core.textsafe import safe_text
from lab.core.units import format_eta, format_rate, format_seconds, plural
from lab.engine.events import (
    Event,
    Preparing,
    RunFinished,
    RunProgress,
    RunSkipped,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
)
from lab.engine.plan import ScenarioPlan
from lab.engine.session import LabSession
from lab.report.formats import render
from lab.report.write import (
    ReportPathError,
    target_problem,
    write_atomic,
    write_stream,
    write_whole,
)
from lab.results.model import Report


def _bar(fraction: float, width: int = 20) -> str:
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


class Progress:
    """A live status line on a terminal; plain lines (one per run) when stderr is not a TTY."""

    def __init__(self, stream: TextIO, total_runs: int) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.total_runs = total_runs
        self.runs_done = 0
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.width = 0
        self.shown: dict[tuple[str, str], str] = {}  # (scenario, run_id) -> status printed
        self.id_width = 14  # the scenario's longest run id: sweep ids run long

    def _line(self, text: str) -> None:
        text = safe_text(text, one_line=True)  # titles and messages come from scenario files
        # A terminal that hung up (SIGHUP) fails every write: the run and its report go on.
        with contextlib.suppress(OSError):
            if self.live:
                self.stream.write("\r" + " " * self.width + "\r")
                self.width = 0
            self.stream.write(text + "\n")
            self.stream.flush()

    def _status(self, text: str) -> None:
        now = time.monotonic()
        if not self.live or now - self.last_draw < 0.1:
            return
        text = safe_text(text, one_line=True)
        self.last_draw = now
        with contextlib.suppress(OSError):
            self.stream.write("\r" + text[:160].ljust(self.width))
            self.width = min(len(text), 160)
            self.stream.flush()

    def handle(self, event: Event) -> None:
        if isinstance(event, ScenarioStarted):
            self.id_width = max((len(r.run_id) for r in event.runs), default=14)
            self._line(f"== {event.scenario}: {event.title} ({plural(len(event.runs), 'run')})")
            for name, reason in event.skipped:
                self._line(f"   {name} cannot run here: {reason}")
        elif isinstance(event, Preparing):
            self._line(f"   {event.message}")
        elif isinstance(event, RunStarted):
            self._status(f"[{self.runs_done + 1}/{self.total_runs}] {event.run_id} starting")
        elif isinstance(event, RunProgress):
            phase = "start-up" if event.phase == "startup" else f"{event.phase} {event.repeat + 1}"
            overall = (self.runs_done + event.fraction) / max(1, self.total_runs)
            elapsed = time.monotonic() - self.started
            eta = elapsed * (1 - overall) / overall if overall > 0.02 else None
            self._status(
                f"[{self.runs_done + 1}/{self.total_runs}] {event.run_id:<{self.id_width}} {phase:<9} "
                f"{_bar(event.fraction)} {100 * event.fraction:3.0f}%  total {format_eta(eta)}"
            )
        elif isinstance(event, RunFinished):
            self.runs_done += 1
            run = event.result
            self.shown[(event.scenario, event.run_id)] = run.status
            wall = run.summary.wall_seconds.median
            tp = run.summary.throughput.value
            what = f"{format_seconds(wall)}, {format_rate(tp, run.unit)}" if wall and tp else ""
            if run.status != "ok" and run.error:
                what = run.error.message
            self._line(f"   {event.run_id:<{self.id_width}} {run.status:<9} {what}")
        elif isinstance(event, RunSkipped):
            self.total_runs -= 1  # counted in the plan, never run: the count must still end
            self._line(f"   {event.run_id:<{self.id_width}} {'skipped':<9} {event.reason}")
        elif isinstance(event, ScenarioFinished):
            self._corrections(event)
            if event.result.error:
                self._line(f"   scenario failed: {event.result.error}")

    def _corrections(self, event: ScenarioFinished) -> None:
        """A run shown `ok` that the scenario's cross-run answer check failed gets its line
        again, with the reason: the exit code is never 1 behind a column of `ok`."""
        for run in event.result.runs:
            shown = self.shown.get((event.scenario, run.run_id))
            if shown == "ok" and run.status != "ok":
                why = run.error.message if run.error else run.status
                self._line(f"   {run.run_id:<{self.id_width}} {run.status:<9} {why}")

    def close(self) -> None:
        if self.live and self.width:
            with contextlib.suppress(OSError):
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()


class StopSignals:
    """Ctrl+C (SIGINT), SIGTERM and SIGHUP (the terminal or SSH session went away) over the
    whole of a headless lab, from before its session starts until its report is written.

    One Python-level handler notes each signal the moment Python runs it, so none can fall
    between two handlers: the event loop's own (`add_signal_handler`) hands a signal over
    through its self-pipe, and one that came in the session's last instant was dropped with
    the loop, unread (the lab exited 0, its Ctrl+C lost).

    While the session runs, the first cancels it, which stops the runner in flight and cleans
    up (well within two seconds); a second says so; a third quits at once, for a cleanup that
    hangs. One after the session ended on its own, while its report is written, is only noted,
    since Python's own actions would cut the report short (a KeyboardInterrupt wherever the
    writing is; death by SIGTERM or SIGHUP): the report is written whole, then the lab exits
    with the signal's status; a second quits at once, for a reader that never reads."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.signum: int | None = None
        self.count = 0
        self.cancelled_session = False  # the first signal stopped a running session
        self._task: asyncio.Task[Any] | None = None
        self._previous: dict[int, Any] = {}
        self._wakeup: tuple[socket.socket, socket.socket] | None = None
        self._previous_wakeup = -1

    def __enter__(self) -> StopSignals:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def __call__(self, signum: int, frame: object = None) -> None:
        self.count += 1
        if self.count == 1:
            self.signum = signum
            if self._task is not None:
                self._stop_session()
        elif self.count == 2 and self.cancelled_session:
            with contextlib.suppress(OSError):
                self.stream.write("\nstopping: cleaning up (Ctrl+C once more to quit at once)\n")
                self.stream.flush()
        else:
            os._exit(exit_status(signum))

    @property
    def exit_code(self) -> int:
        return exit_status(self.signum or signal.SIGINT)

    def attach(self, task: asyncio.Task[Any]) -> None:
        """The session runs as `task` from now on: a stop signal cancels it. A signal that came
        before is acted on now."""
        self._task = task
        loop = task.get_loop()
        # Python runs a handler only in the main thread, between two bytecodes: a signal that
        # another thread took would wait for the loop's next wake-up. Its wake-up byte ends
        # the wait.
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        self._wakeup = (reader, writer)
        self._previous_wakeup = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        loop.add_reader(reader.fileno(), self._drain)
        if self.signum is not None:
            self._stop_session()

    def detach(self) -> None:
        """The session is over: from here a first signal is only noted."""
        if self._task is None:
            return
        loop = self._task.get_loop()
        self._task = None
        signal.set_wakeup_fd(self._previous_wakeup)
        if self._wakeup is not None:
            loop.remove_reader(self._wakeup[0].fileno())
            for end in self._wakeup:
                end.close()
            self._wakeup = None

    def _stop_session(self) -> None:
        # From the loop, between two of the task's steps: a cancel inside one (where this
        # handler may run) would cancel a task that is returning, and asyncio.run would raise.
        assert self._task is not None
        with contextlib.suppress(RuntimeError):  # the loop closed: the session is over
            self._task.get_loop().call_soon_threadsafe(self._cancel)

    def _cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self.cancelled_session = True
            self._task.cancel()

    def _drain(self) -> None:
        assert self._wakeup is not None
        with contextlib.suppress(OSError):
            while self._wakeup[0].recv(512):
                pass


async def run_session(session: LabSession, progress: Progress, stop: StopSignals) -> int | None:
    """Consume the session's events; returns None when it ran to the end, else the exit code
    of the signal that interrupted it (130 for Ctrl+C, 143 for SIGTERM, 129 for SIGHUP)."""
    task = asyncio.current_task()
    assert task is not None
    stop.attach(task)
    try:
        async with contextlib.aclosing(session.events()) as events:
            async for event in events:
                progress.handle(event)
        return None
    except asyncio.CancelledError:
        if not stop.cancelled_session:
            raise  # cancelled by someone else: not ours to swallow
        task.uncancel()
        return stop.exit_code
    finally:
        stop.detach()
        progress.close()


def write_report(text: str, output: str, stdout: TextIO | None) -> None:
    if output == "-":
        if stdout is None:  # started with stdout closed (`>&-`): Python has no sys.stdout
            raise OSError(errno.EBADF, "stdout is closed")
        write_stream(stdout, text)
    else:
        write_atomic(Path(output), text)


def report_path_problem(output: str) -> str | None:
    """Why a report cannot be written to output, checked before anything runs; None if it can."""
    return target_problem(output)


def run_headless(
    plans: list[ScenarioPlan],
    output: str,
    fmt: str,
    command: list[str],
    stderr: TextIO | None = None,
    seed: int | None = None,
) -> int:
    stderr = stderr or sys.stderr
    session = LabSession(plans, command=command, seed=seed)
    progress = Progress(stderr, sum(len(p.runs) for p in plans))
    interrupted: int | None = None
    internal: BaseException | None = None
    with StopSignals(stderr) as stop:
        try:
            interrupted = asyncio.run(run_session(session, progress, stop))
        except Exception as exc:  # a bug: still write what completed, then say so
            internal = exc
        code = _finish(session, interrupted, internal, output, fmt, stderr)
    if stop.signum is not None and interrupted is None and internal is None:
        with contextlib.suppress(OSError):
            stderr.write("stopped: every run had finished, and the report is whole\n")
        return exit_status(stop.signum)
    return code


def _finish(
    session: LabSession,
    interrupted: int | None,
    internal: BaseException | None,
    output: str,
    fmt: str,
    stderr: TextIO,
) -> int:
    """Write the session's report (what completed, after a fault or an interrupt too) and
    say how it ended; returns the exit code."""
    report = session.report
    if interrupted is not None or internal is not None:
        report.interrupted = True
        for result in report.scenarios:
            finalise_scenario(result, session.usable)
    written = _write_or_fall_back(report, output, fmt, stderr)
    if internal is not None:
        stderr.write(f"internal error: {type(internal).__name__}: {internal}\n")
        if os.environ.get("LAB_DEBUG"):
            traceback.print_exception(internal, file=stderr)
        return EXIT_RUN_FAILED
    if interrupted is not None:
        runs = [r for s in report.scenarios for r in s.runs]
        done = sum(r.status not in ("not_run", "cancelled") for r in runs)
        repeats = sum(len(r.repeats) for r in runs if r.status == "cancelled")
        with contextlib.suppress(OSError):  # a terminal that hung up
            stderr.write(
                f"interrupted: the report keeps the {done} runs that finished and the {repeats} "
                f"repeats measured by the {sum(r.status == 'cancelled' for r in runs)} runs "
                f"marked cancelled; {sum(r.status == 'not_run' for r in runs)} marked not_run\n"
            )
        return interrupted
    if not written:
        return EXIT_RUN_FAILED
    return EXIT_OK if report.all_ok else EXIT_RUN_FAILED


def _write_or_fall_back(report: Report, output: str, fmt: str, stderr: TextIO) -> bool:
    """Write the report where asked; if that fails (disk full, folder gone), put it on stdout
    rather than lose it, and if stdout fails too, in a file of the temp folder whose path is
    printed. Returns whether it went where asked."""
    text = render(report, fmt)
    try:
        write_report(text, output, sys.stdout)
    except OSError as exc:
        why = str(exc) if isinstance(exc, ReportPathError) else exc.strerror or str(exc)
        prefix = (
            "" if isinstance(exc, ReportPathError) else f"cannot write the report to {output}: "
        )
        stderr.write(f"{prefix}{why}; ")
        if output != "-":
            stderr.write("writing it to stdout instead\n")
            try:
                write_report(text, "-", sys.stdout)
            except OSError as again:
                stderr.write(f"cannot write the report to stdout either: {again.strerror}; ")
            else:
                return False
        stderr.write(_rescue(text, fmt) + "\n")
        return False
    if output != "-":
        stderr.write(f"report written to {output}\n")
    return True


def _rescue(text: str, fmt: str) -> str:
    """Last resort for a report nowhere else would take: a new file in the temp folder."""
    try:
        fd, name = tempfile.mkstemp(prefix="concurrency-lab-report-", suffix=f".{fmt}")
        try:
            write_whole(fd, text)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"saving it in the temp folder failed too ({exc.strerror or exc}): it is lost"
    return f"saved it as {name} instead"
