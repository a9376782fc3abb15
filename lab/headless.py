"""Headless mode: run plans, show progress on stderr, write the report. Never imports Textual."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from lab.events import (
    Event,
    RunFinished,
    RunProgress,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
)
from lab.orchestrator import LabSession
from lab.plan import ScenarioPlan
from lab.report.formats import render, write_atomic
from lab.report.model import Report

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _bar(fraction: float, width: int = 20) -> str:
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA –"
    seconds = int(seconds + 0.5)
    return f"ETA {seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"ETA {seconds}s"


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

    def _line(self, text: str) -> None:
        if self.live:
            self.stream.write("\r" + " " * self.width + "\r")
            self.width = 0
        self.stream.write(text + "\n")
        self.stream.flush()

    def _status(self, text: str) -> None:
        now = time.monotonic()
        if not self.live or now - self.last_draw < 0.1:
            return
        self.last_draw = now
        self.stream.write("\r" + text[:160].ljust(self.width))
        self.width = min(len(text), 160)
        self.stream.flush()

    def handle(self, event: Event) -> None:
        if isinstance(event, ScenarioStarted):
            self._line(f"== {event.scenario}: {event.title} ({len(event.runs)} runs)")
        elif isinstance(event, RunStarted):
            self._status(f"[{self.runs_done + 1}/{self.total_runs}] {event.run_id} starting")
        elif isinstance(event, RunProgress):
            phase = "start-up" if event.phase == "startup" else f"{event.phase} {event.repeat + 1}"
            overall = (self.runs_done + event.fraction) / max(1, self.total_runs)
            elapsed = time.monotonic() - self.started
            eta = elapsed * (1 - overall) / overall if overall > 0.02 else None
            self._status(
                f"[{self.runs_done + 1}/{self.total_runs}] {event.run_id:<14} {phase:<9} "
                f"{_bar(event.fraction)} {100 * event.fraction:3.0f}%  total {_eta(eta)}"
            )
        elif isinstance(event, RunFinished):
            self.runs_done += 1
            run = event.result
            wall = (run.summary.get("wall_seconds") or {}).get("median")
            tp = (run.summary.get("throughput") or {}).get("value")
            what = f"{wall:.3f} s, {tp:,.1f} {run.unit}/s" if wall and tp else ""
            if run.status != "ok" and run.error:
                what = f"{run.status}: {run.error.message}"
            self._line(f"   {event.run_id:<14} {run.status:<9} {what}")
        elif isinstance(event, ScenarioFinished) and event.result.error:
            self._line(f"   scenario failed: {event.result.error}")

    def close(self) -> None:
        if self.live and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


async def run_session(session: LabSession, progress: Progress) -> bool:
    """Consume the session's events; returns False when interrupted by Ctrl+C."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with contextlib.aclosing(session.events()) as events:
            async for event in events:
                progress.handle(event)
        return True
    except asyncio.CancelledError:
        task.uncancel()
        return False
    finally:
        progress.close()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)


def write_report(report: Report, output: str, fmt: str, stdout: TextIO) -> None:
    text = render(report, fmt)
    if output == "-":
        stdout.write(text)
        stdout.flush()
    else:
        write_atomic(Path(output), text)


def run_headless(
    plans: list[ScenarioPlan],
    output: str,
    fmt: str,
    command: list[str],
    stderr: TextIO | None = None,
) -> int:
    stderr = stderr or sys.stderr
    session = LabSession(plans, command=command)
    progress = Progress(stderr, sum(len(p.runs) for p in plans))
    completed = asyncio.run(run_session(session, progress))
    report = session.report
    write_report(report, output, fmt, sys.stdout)
    if output != "-":
        stderr.write(f"report written to {output}\n")
    if not completed:
        stderr.write(
            "interrupted: the report holds every completed run; the rest are marked not_run\n"
        )
        return EXIT_INTERRUPTED
    return EXIT_OK if report.all_ok else EXIT_RUN_FAILED
