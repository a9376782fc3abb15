"""Live state of a session, coalesced: the latest progress per run and the latest CPU sample.

The event stream can deliver progress faster than a terminal needs it. The app folds every
event into this state as it arrives (O(1), no queue) and repaints only what changed on a
timer, so nothing grows without bound however fast the runners report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.core.units import format_eta, format_rate
from lab.engine.events import (
    CpuSample,
    Event,
    Preparing,
    RunFinished,
    RunProgress,
    RunSkipped,
    RunStarted,
    ScenarioStarted,
)
from lab.engine.plan import ScenarioPlan
from lab.results.notices import Notice, notice

RunKey = tuple[int, str]  # (index of the scenario in the session's plan, run_id)
APP_CPU_LIMIT = 0.05  # cores: the app means to take under 5% of one core from a run
# Shorter runs are not warned about: the app's fixed work per run (the results and their
# analysis redrawn at its start and end) dominates them, not what drawing a run costs.
APP_CPU_MIN_SECONDS = 1.0


class AppCpuMeter:
    """The app's own CPU use over each run, as cores: what drawing took from the workload.

    `time.process_time` counts every thread of this process (user and system) and nothing
    of the runner's, which lives in its own process.
    """

    def __init__(
        self,
        cpu: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cpu, self._clock = cpu, clock
        self._start: tuple[float, float] | None = None
        self.over: dict[str, float] = {}  # run_id -> cores, the runs above APP_CPU_LIMIT

    def start(self) -> None:
        self._start = (self._cpu(), self._clock())

    def stop(self, run_id: str) -> float | None:
        """Cores used since `start`; None when no run was started or no time passed."""
        if self._start is None:
            return None
        cpu, wall = self._cpu() - self._start[0], self._clock() - self._start[1]
        self._start = None
        if wall <= 0:
            return None
        cores = max(0.0, cpu / wall)
        if cores > APP_CPU_LIMIT and wall >= APP_CPU_MIN_SECONDS:
            self.over[run_id] = cores
        return cores

    def notice(self) -> Notice | None:
        """The report's warning about the runs during which the app took too much CPU."""
        if not self.over:
            return None
        runs = ", ".join(f"{r} {100 * c:.1f}%" for r, c in self.over.items())
        return notice(
            "app_cpu",
            f"The app itself used more than {100 * APP_CPU_LIMIT:.0f}% of one core while "
            f"runs executed ({runs}): CPU the measured runs did not get. For the quietest "
            "figures run headless (--report).",
        )


@dataclass
class RunState:
    key: RunKey
    executor: str
    workers: int
    state: str = "queued"  # queued, startup, warmup, repeat, then the run's final status
    fraction: float = 0.0
    repeat: int = 0
    repeats: int = 0
    warmups: int = 0
    eta_seconds: float | None = None
    throughput: float | None = None
    message: str = ""
    dirty: bool = True

    @property
    def finished(self) -> bool:
        return self.state in ("ok", "failed", "timeout", "cancelled", "not_run", "skipped")


def describe(run: RunState) -> str:
    """The one-line status shown beside a run's progress bar."""
    if run.state == "queued":
        return "queued"
    if run.state == "startup":
        return "starting…"
    if run.state in ("warmup", "repeat"):
        total = run.warmups if run.state == "warmup" else run.repeats
        parts = [f"{run.state} {run.repeat + 1}/{max(total, 1)}", format_eta(run.eta_seconds)]
        rate = format_rate(run.throughput, "tasks") if run.throughput is not None else ""
        if rate:
            parts.append(rate)
        return "  ".join(parts)
    if run.state == "ok":
        return "done"
    return f"{run.state}: {run.message}" if run.message else run.state


@dataclass
class LiveState:
    runs: dict[RunKey, RunState] = field(default_factory=dict)
    scenario: int = -1  # index of the scenario in progress, in plan order
    current: RunKey | None = None
    cpu: tuple[float, ...] = ()
    cpu_dirty: bool = False
    runs_done: int = 0
    preparing: str = ""  # the latest step of getting an interpreter ready (an env built)

    @classmethod
    def for_plans(cls, plans: list[ScenarioPlan]) -> LiveState:
        state = cls()
        for index, plan in enumerate(plans):
            for run in plan.runs:
                key = (index, run.run_id)
                state.runs[key] = RunState(key, run.executor, run.workers)
        return state

    @property
    def total(self) -> int:
        return len(self.runs)

    def apply(self, event: Event) -> None:
        if isinstance(event, ScenarioStarted):
            self.scenario += 1
        elif isinstance(event, Preparing):
            self.preparing = event.message
        elif isinstance(event, RunStarted):
            self.preparing = ""
            run = self.runs.get((self.scenario, event.run_id))
            self.current = (self.scenario, event.run_id)
            if run is not None:
                run.state, run.repeats, run.warmups = "startup", event.repeats, event.warmups
                run.dirty = True
        elif isinstance(event, RunProgress):
            run = self.runs.get((self.scenario, event.run_id))
            if run is not None and not run.finished:
                run.state = event.phase
                run.fraction = event.fraction
                run.repeat = event.repeat
                run.eta_seconds = event.eta_seconds
                run.throughput = event.throughput
                run.dirty = True
        elif isinstance(event, RunFinished):
            run = self.runs.get((self.scenario, event.run_id))
            self.runs_done += 1
            if self.current == (self.scenario, event.run_id):
                self.current = None
            if run is not None:
                result = event.result
                run.state = result.status
                run.message = result.error.message if result.error else ""
                if result.status == "ok":
                    run.fraction = 1.0
                run.eta_seconds = None
                run.dirty = True
        elif isinstance(event, RunSkipped):
            run = self.runs.get((self.scenario, event.run_id))
            self.runs_done += 1  # planned, so counted in the total: it is done with
            if run is not None:
                run.state, run.message, run.dirty = "skipped", event.reason, True
        elif isinstance(event, CpuSample):
            self.cpu = event.per_core
            self.cpu_dirty = True

    def take_dirty(self) -> list[RunState]:
        """The runs changed since the last call (each at most once), marked clean."""
        changed = [run for run in self.runs.values() if run.dirty]
        for run in changed:
            run.dirty = False
        return changed
