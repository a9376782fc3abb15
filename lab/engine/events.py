"""The event stream every consumer (the Textual app, the headless reporter) reads.

Events are produced by `lab.engine.session.LabSession.events()`; each is a small frozen dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.engine.plan import RunPlan
from lab.results.model import Report, RunResult, ScenarioResult
from lab.results.repeat import RepeatRecord


@dataclass(frozen=True)
class ScenarioStarted:
    scenario: str
    title: str
    runs: tuple[RunPlan, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # models that cannot run here, and why


@dataclass(frozen=True)
class RunStarted:
    scenario: str
    run_id: str
    executor: str
    workers: int
    tasks: int
    warmups: int
    repeats: int


@dataclass(frozen=True)
class RunProgress:
    scenario: str
    run_id: str
    phase: str  # "startup", "warmup" or "repeat"
    repeat: int
    done: int  # tasks done in this warmup/repeat
    total: int  # tasks per warmup/repeat
    fraction: float  # of the whole run, 0..1
    eta_seconds: float | None  # for the rest of this run
    throughput: float | None  # tasks per second in the current repeat


@dataclass(frozen=True)
class RepeatFinished:
    scenario: str
    run_id: str
    record: RepeatRecord


@dataclass(frozen=True)
class RunFinished:
    scenario: str
    run_id: str
    result: RunResult


@dataclass(frozen=True)
class CpuSample:
    per_core: tuple[float, ...]  # percent busy per logical CPU since the previous sample
    run_id: str | None


@dataclass(frozen=True)
class Preparing:
    """A step of getting an interpreter ready (its runner environment built, or found broken)."""

    scenario: str
    message: str


@dataclass(frozen=True)
class RunSkipped:
    """A planned run that cannot happen here: its interpreter's environment lacks what the
    executor needs (uvloop without a wheel for it). The scenario's result lists it as skipped."""

    scenario: str
    run_id: str
    reason: str


@dataclass(frozen=True)
class ScenarioFinished:
    scenario: str
    result: ScenarioResult


@dataclass(frozen=True)
class SessionFinished:
    report: Report


Event = (
    ScenarioStarted
    | Preparing
    | RunStarted
    | RunProgress
    | RepeatFinished
    | RunFinished
    | RunSkipped
    | CpuSample
    | ScenarioFinished
    | SessionFinished
)
