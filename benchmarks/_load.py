"""Shared by the load benchmarks: run one scenario through the lab, collect memory figures."""

from __future__ import annotations

import asyncio
import resource
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.core.units import format_bytes
from lab.engine.plan import make_plan
from lab.engine.session import LabSession
from lab.scenario.loader import parse_scenario

# A smoke run's scenario settings: one pass of one runner process (its figures mean nothing).
SMOKE_SETTINGS = "repeats: 1\nwarmups: 0\nprocesses: 1\nmin_time: 0\n"


def run_scenario(text: str) -> list[Any]:
    """Every run of the scenario, as the lab measured it (runner processes, memory sampled
    from the parent every 100 ms over the runner's whole process tree)."""
    plans = make_plan([parse_scenario(textwrap.dedent(text), "load.yaml", "load")])
    session = LabSession(plans)

    async def consume() -> None:
        async for _ in session.events():
            pass

    asyncio.run(consume())
    return session.report.scenarios[0].runs


def lab_rss() -> str:
    """Peak RSS of this process: the orchestrator's side of the lab."""
    return format_bytes(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def row(size: int, run: Any) -> str:
    wall = run.summary.wall_seconds.median
    tp = run.summary.throughput.value
    rss = format_bytes(run.peak_rss_bytes) if run.peak_rss_bytes else "–"
    uss = format_bytes(run.peak_uss_bytes) if run.peak_uss_bytes else "–"
    idle = format_bytes(run.idle_rss_bytes) if run.idle_rss_bytes else "–"
    errors = run.summary.error_count
    status = run.status if run.status == "ok" else f"{run.status}: {run.error.message}"
    return (
        f"{size:>9,} {run.run_id:<14} {wall or 0:>8.2f} {tp or 0:>11,.0f} "
        f"{idle:>11} {rss:>11} {uss:>11} {errors:>6}  {status}"
    )


HEADER = (
    f"{'tasks':>9} {'run':<14} {'wall s':>8} {'per s':>11} "
    f"{'idle RSS':>11} {'peak RSS':>11} {'peak USS':>11} {'errors':>6}  status"
)


def sweep_sizes(sizes: list[int], scenario_for: Callable[[int], str], noun: str) -> int:
    """Run the scenario at each size, print a row per run, then how peak RSS grew per run.
    Returns the exit code: 1 when a run did not finish ok (its memory figures mean nothing)."""
    print(HEADER)
    peaks: dict[str, list[int]] = {}
    failed = 0
    for size in sizes:
        for run in run_scenario(scenario_for(size)):
            print(row(size, run), flush=True)
            failed += run.status != "ok"
            peaks.setdefault(run.run_id, []).append(run.peak_rss_bytes or 0)
    for run_id, values in peaks.items():
        if len(values) >= 2 and values[0]:
            print(
                f"{run_id}: peak RSS at {sizes[-1]:,} {noun} is {values[-1] / values[0]:.2f}x "
                f"the peak at {sizes[0]:,} ({sizes[-1] / sizes[0]:.0f}x the {noun})"
            )
    print(f"orchestrator (this process) peak RSS: {lab_rss()}")
    return 1 if failed else 0
