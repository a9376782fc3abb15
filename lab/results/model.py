"""The results model: one pydantic dataclass per record of a report, each field declared once.

The JSON a report holds is these classes' own serialisation (lab.results.codec), and the
published JSON Schema is generated from them (lab.report.schema, `--schema report`). Runs keep
their raw repeat values; summaries are derived from them and can be recomputed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import field
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Required

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    WrapSerializer,
)
from pydantic.dataclasses import dataclass
from typing_extensions import TypedDict  # pydantic needs it below Python 3.12

from lab import __version__
from lab.results.codec import DEFERRED, Omitted, dump, load
from lab.results.machine import MachineFacts
from lab.results.notices import Notice
from lab.results.repeat import Count, RepeatRecord
from lab.results.summary import Fastest, RunSummary

SCHEMA_ID: Final = "concurrency-lab/report"
SCHEMA_VERSION: Final = 1

RunStatus = Literal["ok", "failed", "timeout", "cancelled", "not_run"]


class ScenarioSettings(TypedDict, total=False):
    """How a scenario was run."""

    repeats: Required[int]
    warmups: Required[int]
    timeout: Required[float]
    min_time: float
    processes: Annotated[int, Field(ge=1)]  # runner processes per run (rounds)
    workers: Required[list[int]]  # the worker counts of its runs
    start_method: str | None
    quick: bool
    cluster: str | None  # an existing Dask scheduler the dask runs used (absent: LocalCluster)


class RoundsRecord(TypedDict, total=False):
    """Interleaved rounds: the shuffled order of each round (reproduced by --seed), and what the
    analysis found in them (lab.analysis.summarise, lab.analysis.controls)."""

    seed: Required[int]
    processes: Required[Annotated[int, Field(ge=1)]]
    count: Required[Count]
    order: Required[list[list[str]]]
    drift: float | None  # how much the baseline moved from round to round
    # other programs' cores per round; the rounds above the limit, and those left out of
    # every run's figures by the stated rule
    load: list[float | None]
    disturbed: list[int]
    dropped: list[int]


if TYPE_CHECKING:
    # Read and written key by key by the analysis, which predates the TypedDict.
    RoundsField = dict[str, Any]
else:
    RoundsField = RoundsRecord


@dataclass(config=DEFERRED)
class RunError:
    # exception, wrong_answer, worker_died, timeout, setup, runner_crashed, cancelled, mismatch
    kind: str
    message: str
    detail: str = ""


@dataclass(kw_only=True, config=DEFERRED)
class Memory:
    """Resident memory of a run's runner tree: before the workload, and its peaks."""

    idle_rss_bytes: int | None = None
    peak_rss_bytes: int | None = None
    peak_uss_bytes: int | None = None


def _summary_out(summary: RunSummary, handler: SerializerFunctionWrapHandler) -> Any:
    # Not summarised (a run still queued when the report was written): saved as {}, which
    # reads back as this same default.
    return {} if summary == RunSummary() else handler(summary)


@dataclass(config=DEFERRED)
class RunResult:
    run_id: str
    executor: str
    workers: Annotated[int, Field(ge=1)]
    unit: str
    tasks: Count
    status: RunStatus = "not_run"
    error: RunError | None = None
    start_method: str | None = None
    startup_seconds: float | None = None
    # tasks shipped to a worker at once by executors that chunk (process pool, dask)
    chunk_size: Annotated[int, Field(ge=1)] | None = None
    memory: Memory = field(default_factory=Memory)
    warmups: list[RepeatRecord] = field(default_factory=list)
    repeats: list[RepeatRecord] = field(default_factory=list)
    # CPU cores other programs kept busy while the run executed
    background_cpu_cores: float | None = None
    summary: Annotated[RunSummary, WrapSerializer(_summary_out)] = field(default_factory=RunSummary)
    params: dict[str, Any] = field(default_factory=dict)  # workload overrides of a sweep run
    # The app's own process during the run (the app fills it in; headless reports lack it):
    # CPU it took from the workload it measured.
    app_cpu_cores: Annotated[float | None, Omitted] = None
    # What its runners and their workers wrote on fds 1 and 2 (the measured code's prints,
    # warnings), bounded; never mixed with the events, which travel on a pipe of their own.
    output: Annotated[str, Omitted] = ""
    # Only with an interpreter axis (--python, `interpreters:`): its label (None: the lab's
    # own), and whether the GIL was on in this run's runner once the workload was loaded.
    interpreter: Annotated[str | None, Omitted] = None
    gil_enabled: Annotated[bool | None, Omitted] = None

    @property
    def idle_rss_bytes(self) -> int | None:
        return self.memory.idle_rss_bytes

    @property
    def peak_rss_bytes(self) -> int | None:
        return self.memory.peak_rss_bytes

    @property
    def peak_uss_bytes(self) -> int | None:
        return self.memory.peak_uss_bytes

    def to_json(self) -> dict[str, Any]:
        return dump(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        return load(cls, data)


@dataclass(config=DEFERRED)
class ScenarioResult:
    name: str
    source: str
    title: str
    description: str
    workload: dict[str, Any]
    settings: ScenarioSettings
    runs: list[RunResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the scenario could not be set up at all
    baseline: str | None = None  # run_id every speedup is measured against
    warnings: list[Notice] = field(default_factory=list)  # scenario-level (lab.analysis.noise)
    fastest: Fastest | None = None  # the fastest run against every other (significance)
    rounds: RoundsField | None = None
    # one interpreter's part of a scenario (lab.analysis.axis)
    interpreter: Annotated[str | None, Omitted] = None

    def at_base(self, run: RunResult) -> bool:
        """Whether a run measured the scenario's own workload, not another point of a sweep.

        The runs at the sweep's base point carry its values too (every view shows them), and
        the verdict, claims and fits are about those runs only: values are never mixed.
        """
        return all(self.workload.get(k) == v for k, v in run.params.items())

    def run(self, run_id: str) -> RunResult | None:
        return next((r for r in self.runs if r.run_id == run_id), None)

    def all_warnings(self) -> list[Notice]:
        """Scenario-level warnings, then each run's."""
        found = list(self.warnings)
        for run in self.runs:
            found.extend(run.summary.warnings)
        return found

    def to_json(self) -> dict[str, Any]:
        return dump(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScenarioResult:
        return load(cls, data)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(kw_only=True, config=DEFERRED)
class Report:
    schema: Literal["concurrency-lab/report"] = SCHEMA_ID
    schema_version: Literal[1] = SCHEMA_VERSION
    created: str = field(default_factory=_now)
    lab_version: str = __version__
    command: list[str] = field(default_factory=list)
    interrupted: bool = False
    machine: MachineFacts
    warnings: list[Notice] = field(default_factory=list)  # about the machine (lab.analysis.noise)
    scenarios: list[ScenarioResult] = field(default_factory=list)
    # The interpreter axis: label -> what it is (probe and runners); {} without an axis.
    interpreters: Annotated[dict[str, dict[str, Any]], Omitted] = field(default_factory=dict)

    @property
    def all_ok(self) -> bool:
        return not self.interrupted and all(
            s.error is None and all(r.status == "ok" for r in s.runs) for s in self.scenarios
        )

    def to_json(self) -> dict[str, Any]:
        """The measurements only; lab.report.jsonfile adds the analysis when it writes a file."""
        return dump(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return load(cls, data)

    def all_warnings(self) -> list[Notice]:
        """Every warning: the machine's, then each scenario's and its runs'."""
        found = list(self.warnings)
        for result in self.scenarios:
            found.extend(result.all_warnings())
        return found
