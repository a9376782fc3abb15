"""The app's own CPU use while a run is live: in a real terminal, and headless beside the engine.

    python benchmarks/app_cpu.py [--window SECONDS]
    python benchmarks/app_cpu.py --compare OTHER_CHECKOUT [--runs 3] [--window SECONDS]
    python benchmarks/app_cpu.py --smoke       (short windows, 80x24 only: checks the script runs)

**In a pty** (what a user sees): `concurrency-lab numeric_crunching` is started on a real
pseudo-terminal of 80x24 and of 200x50, with `TERM=xterm-256color` and with `TERM=screen`;
`r` starts the built-in run and, once its runner has worked for a few seconds, a window in the
middle of the run counts the CPU time of the app process alone (user + system, all its
threads; its runners are other processes and are not counted) and the bytes the app wrote to
the terminal. Both per second of wall time. CPU time, not wall time: on a shared, loaded
machine the figure stays what the app itself consumed. Targets: under 5% of one core at
80x24 and under 8% at 200x50.

`--compare OTHER_CHECKOUT` measures another copy of the lab (e.g. `git archive` of an older
commit unpacked in a folder) against this one, interleaved A B A B ... so that both see the
same load, `--runs` times each at every size and TERM.

**Headless** (the engine's share): one long process-pool run consumed by a bare loop over
`LabSession.events()`, then inside Textual's headless test driver at 80x24 and 120x40. That
driver writes nothing to a terminal, so it misses what encoding and writing the screen costs;
the pty figures are the ones that count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.engine.events import RunProgress
from lab.engine.plan import make_plan
from lab.engine.session import LabSession
from lab.scenario.loader import load_builtins, parse_scenario
from lab.tui.app import LabApp

SCENARIO = """\
title: CPU probe
workload: {kind: numeric, tasks: 64, size: 60000}
executors: [processes]
workers: [2]
repeats: 5
warmups: 0
timeout: 600
"""
# --smoke's: smaller tasks, so that the pool's first chunk (the first repeat event) comes in a
# fraction of a second; a repeat still lasts far longer than SMOKE_WINDOW.
SMOKE_SCENARIO = SCENARIO.replace("size: 60000", "size: 20000")
assert SMOKE_SCENARIO != SCENARIO

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((80, 24), (200, 50))
TERMS = ("xterm-256color", "screen")
TARGET = {(80, 24): 5.0, (200, 50): 8.0}  # % of one core
SMOKE_WINDOW = 0.3  # seconds: --smoke's measured windows, settle time and ready-quiet alike
# The app of the checkout named by argv[1] ("" for the one this interpreter imports).
LAUNCH = (
    "import sys\n"
    "root = sys.argv.pop(1)\n"
    "if root: sys.path.insert(0, root)\n"
    "from lab.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


# ---------------------------------------------------------------- in a real terminal


@dataclass(frozen=True)
class PtyFigure:
    cpu_percent: float  # of one core, the app process alone
    bytes_per_second: float  # written by the app to its terminal


class Terminal:
    """The master side of the app's pty: drains and counts what the app writes."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.written = 0
        self.last_output = time.monotonic()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.5)
                if not ready:
                    continue
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the app closed the terminal
                return
            if not chunk:
                return
            with self._lock:
                self.written += len(chunk)
                self.last_output = time.monotonic()

    def count(self) -> int:
        with self._lock:
            return self.written

    def quiet_for(self) -> float:
        with self._lock:
            return time.monotonic() - self.last_output

    def press(self, keys: bytes) -> None:
        os.write(self.fd, keys)


def _spawn(columns: int, lines: int, term: str, root: str, args: list[str]) -> tuple[int, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = term
    pid, fd = pty.fork()
    if pid == 0:  # the child: its size set before Textual reads it
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
            os.execve(sys.executable, [sys.executable, "-P", "-c", LAUNCH, root, *args], env)
        finally:
            os._exit(127)
    return pid, fd


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(0.1)


def app_in_a_pty(
    columns: int,
    lines: int,
    term: str,
    window: float,
    root: str = "",
    args: tuple[str, ...] = ("numeric_crunching",),
    settle: float = 4.0,
    quiet: float = 1.0,
) -> PtyFigure:
    """Run the app on a pty, press r, and measure a window in the middle of the run.

    The app counts as ready once it drew its first screen and then wrote nothing for `quiet`
    seconds."""
    pid, fd = _spawn(columns, lines, term, root, list(args))
    app = psutil.Process(pid)
    terminal = Terminal(fd)
    try:
        _wait(lambda: terminal.count() > 0 and terminal.quiet_for() > quiet, 60, "the app")
        terminal.press(b"r")
        _wait(lambda: app.children(recursive=True), 60, "a runner")
        time.sleep(settle)  # past the runner's start-up, into the rounds
        cpu0, bytes0, t0 = sum(app.cpu_times()[:2]), terminal.count(), time.monotonic()
        time.sleep(window)
        cpu1, bytes1, t1 = sum(app.cpu_times()[:2]), terminal.count(), time.monotonic()
        if not app.children(recursive=True):
            time.sleep(1.0)  # between two runner processes of the session?
            if not app.children(recursive=True):
                raise RuntimeError("the run ended before the window did: give a shorter window")
        terminal.press(b"q")
        with contextlib.suppress(psutil.TimeoutExpired):
            app.wait(30)
    finally:
        if app.is_running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        with contextlib.suppress(OSError):
            os.close(fd)
    return PtyFigure(100 * (cpu1 - cpu0) / (t1 - t0), (bytes1 - bytes0) / (t1 - t0))


def _cell(figures: list[PtyFigure]) -> str:
    cpu = [f.cpu_percent for f in figures]
    rate = statistics.median(f.bytes_per_second for f in figures)
    runs = " ".join(f"{c:.1f}" for c in cpu)
    return f"{statistics.median(cpu):5.1f}% ({runs})  {rate / 1024:6.1f} KiB/s"


def in_a_pty(window: float, runs: int, sizes: tuple[tuple[int, int], ...]) -> None:
    print(f"the app in a pty, numeric_crunching live; {os.getloadavg()[0]:.1f} load")
    for columns, lines in sizes:
        for term in TERMS:
            figures = [app_in_a_pty(columns, lines, term, window) for _ in range(runs)]
            verdict = (
                "ok" if max(f.cpu_percent for f in figures) < TARGET[(columns, lines)] else "OVER"
            )
            print(
                f"the app at {columns}x{lines} TERM={term:<14} {_cell(figures)}  "
                f"{verdict} (target {TARGET[(columns, lines)]:g}%)"
            )


def compare(other: Path, window: float, runs: int) -> None:
    """This checkout (B) against another (A), interleaved A B A B at every size and TERM."""
    print(f"A: {other}\nB: {ROOT}\nwindow {window:g} s, {runs} runs each, interleaved A B A B")
    print(f"load before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows = []
    for columns, lines in SIZES:
        for term in TERMS:
            a: list[PtyFigure] = []
            b: list[PtyFigure] = []
            for _ in range(runs):
                a.append(app_in_a_pty(columns, lines, term, window, root=str(other)))
                b.append(app_in_a_pty(columns, lines, term, window, root=str(ROOT)))
            rows.append((columns, lines, term, a, b))
            print(f"{columns}x{lines} TERM={term:<14} A {_cell(a)}   B {_cell(b)}", flush=True)
    print(f"load after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


# ---------------------------------------------------------------- headless


async def engine_alone(window: float, scenario: str) -> float:
    session = LabSession(make_plan([parse_scenario(scenario, "probe.yaml", "probe")]))
    start = started = 0.0
    share: float | None = None
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            if isinstance(event, RunProgress) and event.phase == "repeat" and not started:
                start, started = cpu_seconds(), time.monotonic()
            if started and share is None and time.monotonic() - started >= window:
                share = 100 * (cpu_seconds() - start) / (time.monotonic() - started)
                session.cancel_run()  # then let the session end on its own
    if share is None:
        raise SystemExit("the run ended before the window did: give a shorter window")
    return share


async def in_the_app(window: float, size: tuple[int, int], scenario: str) -> float:
    probe = parse_scenario(scenario, "probe.yaml", "probe")
    builtins = load_builtins()
    app = LabApp([*builtins, probe], selected=len(builtins))
    async with app.run_test(size=size) as pilot:
        await pilot.press("r")
        live = app.state
        while live.live.runs.get((0, "processes-2")) is None or (
            live.live.runs[(0, "processes-2")].state != "repeat"
        ):
            await asyncio.sleep(0.05)
        start, started = cpu_seconds(), time.monotonic()
        await asyncio.sleep(window)
        share = 100 * (cpu_seconds() - start) / (time.monotonic() - started)
        if live.live.runs[(0, "processes-2")].state != "repeat":
            raise SystemExit("the run ended before the window did: give a shorter window")
        await pilot.press("q")
    return share


def headless(window: float, sizes: tuple[tuple[int, int], ...], scenario: str = SCENARIO) -> None:
    engine = asyncio.run(engine_alone(window, scenario))
    print(
        f"headless: engine alone (no UI)            {engine:5.1f}% of one core (window {window:g} s)"
    )
    for size in sizes:
        app = asyncio.run(in_the_app(window, size, scenario))
        print(f"headless: the app at {size[0]}x{size[1]} (engine + UI) {app:5.1f}% of one core")


def smoke() -> None:
    """Every path once, with windows too short for the figures to mean anything: what is left
    is start-up (the app's, the sessions', their runners' process pools), so the app in its pty
    starts up while the headless sessions run beside it, in a thread."""
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(1) as beside:
        probe = Path(folder, "probe.yaml")  # a short run: seconds, not a minute
        probe.write_text(SMOKE_SCENARIO.replace("repeats: 5", "repeats: 2"), encoding="utf-8")
        in_pty = beside.submit(
            app_in_a_pty,
            80,
            24,
            "xterm-256color",
            SMOKE_WINDOW,
            args=(str(probe),),
            settle=SMOKE_WINDOW,
            quiet=SMOKE_WINDOW,
        )
        headless(SMOKE_WINDOW, ((80, 24),), SMOKE_SCENARIO)
        figure = in_pty.result()
    print(f"the app at 80x24 in a pty: {figure.cpu_percent:.1f}% of one core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=15.0, help="seconds measured (15)")
    parser.add_argument("--runs", type=int, default=3, help="runs at each size and TERM (3)")
    parser.add_argument("--compare", type=Path, metavar="OTHER_CHECKOUT")
    parser.add_argument("--smoke", action="store_true")
    options = parser.parse_args()
    if options.compare is not None:
        compare(options.compare.resolve(), options.window, options.runs)
        return
    if options.smoke:
        smoke()
        return
    headless(8.0, ((80, 24), (120, 40)))
    in_a_pty(options.window, options.runs, SIZES)


if __name__ == "__main__":
    main()
