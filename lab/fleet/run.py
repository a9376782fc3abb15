"""`--fleet ADDRESS`: one complete headless lab session per host of a Dask cluster, hosts in
parallel, each on one of its own workers (the launcher); the fleet report gathers them.

A host never runs two sessions at once (one task per host, pinned to its launcher), so hosts
never disturb their own measurements. A host whose launcher leaves the cluster is `lost`, one
whose session fails is `failed`; the other hosts' reports are kept either way. Ctrl+C (or
SIGTERM/SIGHUP) interrupts every host's session as Ctrl+C would on that host, waits for their
partial reports, and a second one stops them at once.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from types import FrameType
from typing import Any, TextIO

from lab.core.exit_codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED
from lab.core.textsafe import safe_text
from lab.core.units import format_seconds, plural
from lab.fleet.cluster import FleetError, Host, check_versions, connect, hosts
from lab.fleet.worker import run_host_session, stop_sessions
from lab.results.fleet import FleetReport, HostRun
from lab.results.reading import ReportInputError, parse_report
from lab.runner.system.groups import describe_exit

POLL_SECONDS = 0.25
LIVENESS_SECONDS = 1.0  # how often the scheduler is asked which workers are still there
LINES_WAIT_SECONDS = 2.0  # for a host's last progress lines to arrive after its result
STOP_GRACE_SECONDS = 30.0  # an interrupted host's lab stops in about two; then it is forced


class Fleet:
    """One fleet run against a connected client."""

    def __init__(self, client: Any, address: str, stderr: TextIO) -> None:
        self.client = client
        self.address = address
        self.stderr = stderr
        self.token = f"lab-fleet-{uuid.uuid4().hex}"
        self.report = FleetReport(scheduler=address)
        self.futures: dict[Any, HostRun] = {}
        self.received: dict[str, int] = {}  # progress lines shown, per host
        self.lock = threading.Lock()  # progress arrives on Dask's thread

    def say(self, text: str) -> None:
        with self.lock, contextlib.suppress(OSError):  # a terminal that hung up: it goes on
            self.stderr.write(safe_text(text, one_line=True) + "\n")
            self.stderr.flush()

    def start(self, found: list[Host], argv: list[str]) -> None:
        for host in found:
            self.follow(host.host)
            run = HostRun(host=host.host, workers=host.workers, launcher=host.launcher)
            self.report.hosts.append(run)
            future = self.client.submit(
                run_host_session,
                f"{self.token}-{host.host}",
                self.topic(host.host),
                argv,
                key=f"{self.token}-{host.host}",
                workers=[host.launcher],
                allow_other_workers=False,
                pure=False,
                retries=0,
            )
            self.futures[future] = run
            self.say(
                f"[{host.host}] started on {host.launcher} ({plural(len(host.workers), 'worker')})"
            )

    def topic(self, host: str) -> str:
        return f"{self.token}-progress-{host}"

    def follow(self, host: str) -> None:
        """Print the host's progress lines as its session writes them."""

        def show(event: tuple[float, Any]) -> None:
            self.say(f"[{host}] {event[1]}")
            self.received[host] = self.received.get(host, 0) + 1

        self.client.subscribe_topic(self.topic(host), show)

    def wait(self) -> None:
        """Until every host has ended: finished, failed, or lost with its launcher."""
        pending = dict(self.futures)
        checked = 0.0
        while pending:
            for future in [f for f in pending if f.done()]:
                self.finish(future, pending.pop(future))
            now = time.monotonic()
            if pending and now - checked >= LIVENESS_SECONDS:
                checked = now
                try:
                    # A client that lost its scheduler answers from its last (empty) view.
                    if self.client.status != "running":
                        raise ConnectionError(self.client.status)
                    alive = set(self.client.scheduler_info(n_workers=-1)["workers"])
                except Exception:  # Dask raises OSError, TimeoutError or its CommClosedError
                    for run in pending.values():
                        self.scheduler_lost(run)
                    return
                for future, run in list(pending.items()):
                    if run.launcher not in alive and not future.done():
                        del pending[future]
                        future.cancel()
                        self.lost(run)
            if pending:
                time.sleep(POLL_SECONDS)

    def lost(self, run: HostRun) -> None:
        self._mark_lost(
            run,
            f"its launcher worker {run.launcher} left the cluster mid-run (it died or was "
            "stopped); the session it ran there died with it",
        )

    def scheduler_lost(self, run: HostRun) -> None:
        self._mark_lost(
            run,
            f"the scheduler at {self.address} went away mid-run; the session on this host "
            "stops when its worker gives up on the scheduler (dask worker --death-timeout)",
        )

    def _mark_lost(self, run: HostRun, why: str) -> None:
        run.status = "lost"
        run.message = why
        self.say(f"[{run.host}] lost: {why}")

    def finish(self, future: Any, run: HostRun) -> None:
        if future.status == "cancelled" and not self.report.interrupted:
            # Not by us: we cancel only lost hosts (not waited for) and on an interrupt.
            self.scheduler_lost(run)
            return
        if future.status == "cancelled":
            run.status, run.message = "cancelled", "the fleet run was interrupted before it ended"
        elif future.status == "error":
            exc = future.exception()
            run.status = "failed"
            run.message = f"its launcher could not run the session ({type(exc).__name__}: {exc})"
        else:
            answer = future.result()
            self.take(run, answer)
            # Events travel apart from results: the host's last lines come before its verdict.
            deadline = time.monotonic() + LINES_WAIT_SECONDS
            while self.received.get(run.host, 0) < answer.get("forwarded", 0):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        self.say(f"[{run.host}] {self.line(run)}")

    def take(self, run: HostRun, answer: dict[str, Any]) -> None:
        """A host's session output: its report when the session wrote one, else why not."""
        run.exit_code = answer.get("exit_code")
        run.seconds = answer.get("seconds")
        stdout: str = answer.get("stdout") or ""
        if answer.get("stopped") and run.exit_code is None:
            run.status, run.message = "cancelled", "interrupted before its session started"
            return
        try:
            run.report = parse_report(stdout.encode("utf-8"), f"{run.host}'s report")
            run.report_json = json.loads(stdout)
        except (ReportInputError, ValueError):
            run.report = None
        why = (answer.get("stderr") or "").strip().splitlines()
        last = why[-1] if why else "no message"
        if run.report is None:
            run.status = "failed"
            run.message = f"its lab session {describe_exit(run.exit_code)} without a report: {last}"
        elif run.report.interrupted or answer.get("stopped"):
            run.status = "cancelled"
            run.message = "interrupted; the runs it finished are kept in its report"
        else:
            run.status = "ok"

    def line(self, run: HostRun) -> str:
        if run.status != "ok" or run.report is None:
            return f"{run.status}: {run.message}"
        runs = [r for s in run.report.scenarios for r in s.runs]
        bad = sum(r.status != "ok" for r in runs)
        health = "all ok" if not bad else f"{bad} not ok"
        return f"ok in {format_seconds(run.seconds)}: {plural(len(runs), 'run')}, {health}"

    def stop(self, signum: int) -> None:
        """Interrupt every host's session (signum as if sent on that host)."""
        launchers = [run.launcher for run in self.report.hosts]
        # A worker or a scheduler that is gone cannot be told: its sessions die with it.
        with contextlib.suppress(Exception):
            alive = set(self.client.scheduler_info(n_workers=-1)["workers"])
            self.client.run(
                stop_sessions,
                self.token,
                signum,
                workers=[w for w in launchers if w in alive],
                on_error="ignore",
            )


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a fleet run as Ctrl+C does."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {
        s: signal.signal(s, interrupt)
        for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None))
        if s
    }
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_fleet(
    address: str, argv: list[str], command: list[str], stderr: TextIO | None = None
) -> tuple[int, FleetReport | None]:
    """Run the fleet; (exit code, report). No report when the fleet could not start (exit 2)."""
    stderr = stderr or sys.stderr
    try:
        client = connect(address)
    except FleetError as exc:
        print(f"concurrency-lab --fleet: {safe_text(str(exc), one_line=True)}", file=stderr)
        return EXIT_BAD_INPUT, None
    try:
        with _signals_interrupt():
            return _run(client, address, argv, command, stderr)
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=10)


def _run(
    client: Any, address: str, argv: list[str], command: list[str], stderr: TextIO
) -> tuple[int, FleetReport | None]:
    try:
        found = hosts(client, address)
        check_versions(client, found)
    except FleetError as exc:
        print(f"concurrency-lab --fleet: {safe_text(str(exc), one_line=True)}", file=stderr)
        return EXIT_BAD_INPUT, None
    fleet = Fleet(client, address, stderr)
    fleet.report.command = command
    fleet.say(
        f"fleet: {plural(len(found), 'host')} at {address}, one lab session each, in parallel"
    )
    try:
        fleet.start(found, argv)
        fleet.wait()
    except KeyboardInterrupt:
        fleet.report.interrupted = True
        fleet.say("interrupted: stopping every host's session (Ctrl+C again to stop at once)")
        try:
            fleet.stop(signal.SIGINT)
            _wait_briefly(fleet)
        except KeyboardInterrupt:
            fleet.stop(signal.SIGKILL)
        for future, run in fleet.futures.items():
            if future.done() and run.report is None and run.message is None:
                fleet.finish(future, run)
            elif not future.done():
                future.cancel()
                run.status, run.message = "cancelled", "stopped before it ended"
        return EXIT_INTERRUPTED, fleet.report
    report = fleet.report
    return (EXIT_OK if report.all_ok else EXIT_RUN_FAILED), report


def _wait_briefly(fleet: Fleet) -> None:
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and not all(f.done() for f in fleet.futures):
        time.sleep(POLL_SECONDS)
    if not all(f.done() for f in fleet.futures):
        fleet.stop(signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(f.done() for f in fleet.futures):
            time.sleep(POLL_SECONDS)
