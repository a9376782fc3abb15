"""A fleet report built in memory: two hosts that finished and a third whose worker died, as
`--fleet` would write it. No cluster is needed to test how fleet reports read and render."""

from __future__ import annotations

from dataclasses import replace

from lab.results.fleet import FleetReport, HostRun
from lab.results.model import Report


def slower(report: Report, factor: float) -> Report:
    """The same runs, every repeat `factor` times slower: another, slower host."""
    for result in report.scenarios:
        for run in result.runs:
            run.repeats = [replace(r, wall_seconds=r.wall_seconds * factor) for r in run.repeats]
    return report


def fleet_of(fast: Report, slow: Report, network: str = "10.0.0") -> FleetReport:
    """Hosts NETWORK.2 (`fast`) and NETWORK.3 (`slow`), and NETWORK.4, lost mid-run."""
    scheduler = f"tcp://{network}.1:8786"
    a, b, c = (f"{network}.{n}" for n in (2, 3, 4))
    return FleetReport(
        scheduler=scheduler,
        created="2026-01-01T00:00:00+00:00",
        command=["concurrency-lab", "--report", "fleet.json", "--fleet", scheduler],
        hosts=[
            HostRun(a, [f"tcp://{a}:4000"], f"tcp://{a}:4000", "ok",
                    seconds=61.0, exit_code=0, report=fast),
            HostRun(b, [f"tcp://{b}:4000"], f"tcp://{b}:4000", "ok",
                    seconds=88.0, exit_code=0, report=slow),
            HostRun(c, [f"tcp://{c}:4000"], f"tcp://{c}:4000", "lost",
                    message=f"its launcher worker tcp://{c}:4000 left the cluster mid-run"),
        ],
    )  # fmt: skip
