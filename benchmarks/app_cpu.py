"""The app's own CPU use while a run is live, against the engine alone on the same run.

    python benchmarks/app_cpu.py [SECONDS]
    python benchmarks/app_cpu.py --smoke     (a 0.5 s window at 80x24 only: checks the script runs)

Runs one long process-pool run three times, one after the other: once consumed by a bare loop
over `LabSession.events()` (the engine: runner I/O, memory and CPU sampling), then inside the
Textual app (headless, Run tab showing) at 80x24 and at 120x40. For each it prints the CPU
time of this process (user + system, every thread; not the runner's) over a window in the
middle of the run, as a percentage of one core. CPU time, not wall time: on a shared, loaded
machine the figure stays what this process itself consumed. The target is under 5% of one
core for the app at both sizes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
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


def cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


async def engine_alone(window: float) -> float:
    session = LabSession(make_plan([parse_scenario(SCENARIO, "probe.yaml", "probe")]))
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


async def in_the_app(window: float, size: tuple[int, int]) -> float:
    probe = parse_scenario(SCENARIO, "probe.yaml", "probe")
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


def main() -> None:
    smoke = sys.argv[1:] == ["--smoke"]
    window = 0.5 if smoke else float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    engine = asyncio.run(engine_alone(window))
    print(f"engine alone (no UI):          {engine:5.1f}% of one core  (window {window:g} s)")
    for size in ((80, 24),) if smoke else ((80, 24), (120, 40)):
        app = asyncio.run(in_the_app(window, size))
        verdict = "ok" if app < 5 else "OVER the 5% target"
        print(
            f"the app at {size[0]}x{size[1]} (engine + UI): {app:5.1f}% of one core, "
            f"UI {app - engine:+.1f}%  {verdict}"
        )


if __name__ == "__main__":
    main()
