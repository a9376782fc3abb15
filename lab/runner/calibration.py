"""Calibration: how many passes over the tasks make one repeat long enough to time.

Like pyperf's loop calibration, a repeat too short for the clock and the scheduler runs the whole
task list several times, and its record holds per-pass averages (`loops` says how many).
"""

from __future__ import annotations

import math
from typing import Any

from lab.core.histogram import Histogram
from lab.results.openloop import OpenLoopRecord
from lab.results.repeat import Phase, RepeatRecord
from lab.runner.workloads.base import WrongAnswer

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
        self.minor_faults = 0
        self.major_faults = 0
        self.amount = 0.0
        self.tasks = 0
        self.digest: str | None = None
        self.errors: dict[str, int] = {}
        self.latency: Histogram | None = None
        self.results: list[str] | None = None  # per-task records, from the pass that kept them
        self.open_loop: OpenLoopRecord | None = None  # an open loop runs one pass per repeat

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
        if self.results is None:
            self.results = getattr(outcome, "results", None)
        self.open_loop = getattr(outcome, "open_loop", None) or self.open_loop
        for k, v in outcome.errors.items():
            self.errors[k] = self.errors.get(k, 0) + v
        if outcome.latency is not None:
            if self.latency is None:
                self.latency = Histogram()
            self.latency.merge(outcome.latency)

    def usage(self, used: tuple[float, float, int, int]) -> None:
        """CPU seconds (user, system) and page faults (minor, major) over all the passes.

        Read once around all the passes: reading them walks the process tree, too slow per pass.
        """
        self.cpu_user, self.cpu_system, self.minor_faults, self.major_faults = used

    def record(self, phase: Phase, index: int) -> RepeatRecord:
        n = max(1, self.passes)
        return RepeatRecord(
            phase=phase,
            index=index,
            wall_seconds=self.wall / n,
            cpu_user=self.cpu_user / n,
            cpu_system=self.cpu_system / n,
            minor_faults=self.minor_faults / n,
            major_faults=self.major_faults / n,
            amount=self.amount / n,
            tasks=self.tasks,
            digest=self.digest,
            errors=self.errors,  # totals over all passes
            latency=self.latency.to_json() if self.latency is not None else None,
            loops=self.passes,
            # per-task records (kind: callable), only when kept
            results=self.results,
            open_loop=self.open_loop,
        )
