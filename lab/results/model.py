"""The results model. `Report.to_json()` is the documented, versioned JSON schema (schema.py).

Runs keep their raw repeat values; summaries are derived from them and can be recomputed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict, cast

from lab import __version__
from lab.results.machine import MachineFacts
from lab.results.notices import Notice
from lab.results.openloop import OpenLoopRecord
from lab.results.summary import Fastest, RunSummary

SCHEMA_ID = "concurrency-lab/report"
SCHEMA_VERSION = 1

RunStatus = Literal["ok", "failed", "timeout", "cancelled", "not_run"]


class ScenarioSettings(TypedDict, total=False):
    """How a scenario was run; the schema requires repeats, warmups, timeout and workers."""

    repeats: int
    warmups: int
    timeout: float
    min_time: float
    processes: int  # runner processes per run (rounds)
    workers: list[int]  # the worker counts of its runs
    start_method: str | None
    quick: bool
    cluster: str | None  # an existing Dask scheduler the dask runs used (absent: LocalCluster)


@dataclass
class RepeatRecord:
    phase: str  # "warmup" or "repeat"
    index: int
    wall_seconds: float
    cpu_user: float
    cpu_system: float
    amount: float
    tasks: int
    digest: str | None = None
    errors: dict[str, int] = field(default_factory=dict)
    latency: dict[str, Any] | None = None  # Histogram.to_json()
    loops: int = 1  # passes over the tasks (calibration); times and amounts are per pass
    # "hash repr" per task (or group of tasks), kept by workloads that compare results by value
    # (kind: callable) in a run's first record, to say which task two executors disagree on.
    results: list[str] | None = None
    round: int | None = None  # the session's round (interleaved measurement); None before rounds
    process: int | None = None  # which of the run's runner processes measured it
    # Page faults of the runner and its workers, per pass (a fresh large buffer per read costs
    # one per page in some threads and none in others: the allocator, not concurrency).
    minor_faults: float | None = None
    major_faults: float | None = None
    # Cores other programs kept busy while this repeat was measured (its round's load is the
    # time-weighted mean over the round's repeats: lab.analysis.controls).
    background_cores: float | None = None
    # The http workload's open loop (a rate instead of a request count): lab.results.openloop.
    open_loop: OpenLoopRecord | None = None

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_user + self.cpu_system

    @property
    def throughput(self) -> float:
        return self.amount / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cpu_seconds"] = self.cpu_seconds
        data["throughput"] = self.throughput
        if data["results"] is None:
            del data["results"]
        if data["open_loop"] is None:
            del data["open_loop"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepeatRecord:
        names = cls.__dataclass_fields__
        known = {k: v for k, v in data.items() if k in names}
        known["open_loop"] = OpenLoopRecord.from_json(data.get("open_loop"))
        return cls(**known)


@dataclass
class RunError:
    kind: str  # exception, wrong_answer, worker_died, timeout, setup, runner_crashed, cancelled, mismatch
    message: str
    detail: str = ""


@dataclass
class RunResult:
    run_id: str
    executor: str
    workers: int
    unit: str
    tasks: int
    status: RunStatus = "not_run"
    error: RunError | None = None
    start_method: str | None = None
    startup_seconds: float | None = None
    chunk_size: int | None = None  # tasks shipped to a worker at once (process pool, dask)
    warmups: list[RepeatRecord] = field(default_factory=list)
    repeats: list[RepeatRecord] = field(default_factory=list)
    idle_rss_bytes: int | None = None
    peak_rss_bytes: int | None = None
    peak_uss_bytes: int | None = None
    background_cpu_cores: float | None = None  # other programs' CPU use during the run
    # The app's own process during the run (the app fills it in; headless reports lack it):
    # CPU it took from the workload it measured.
    app_cpu_cores: float | None = None
    summary: RunSummary = field(default_factory=RunSummary)
    params: dict[str, Any] = field(default_factory=dict)  # workload overrides of a sweep run
    interpreter: str | None = None  # label of the interpreter it ran under; None: the lab's own
    # What its runners and their workers wrote on fds 1 and 2 (the measured code's prints,
    # warnings), bounded; never mixed with the events, which travel on a pipe of their own.
    output: str = ""
    gil_enabled: bool | None = None  # in its runner once the workload was loaded (axis only)

    def to_json(self) -> dict[str, Any]:
        axis = (
            {"interpreter": self.interpreter, "gil_enabled": self.gil_enabled}
            if self.interpreter is not None
            else {}
        )
        return (
            axis
            | {
                "run_id": self.run_id,
                "executor": self.executor,
                "workers": self.workers,
                "unit": self.unit,
                "tasks": self.tasks,
                "status": self.status,
                "error": asdict(self.error) if self.error else None,
                "start_method": self.start_method,
                "startup_seconds": self.startup_seconds,
                "chunk_size": self.chunk_size,
                "memory": {
                    "idle_rss_bytes": self.idle_rss_bytes,
                    "peak_rss_bytes": self.peak_rss_bytes,
                    "peak_uss_bytes": self.peak_uss_bytes,
                },
                "warmups": [r.to_json() for r in self.warmups],
                "repeats": [r.to_json() for r in self.repeats],
                "background_cpu_cores": self.background_cpu_cores,
                "summary": self.summary.to_json(),
                "params": self.params,
            }
            | ({"app_cpu_cores": self.app_cpu_cores} if self.app_cpu_cores is not None else {})
            | ({"output": self.output} if self.output else {})
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        memory = data.get("memory") or {}
        err = data.get("error")
        return cls(
            run_id=data["run_id"],
            executor=data["executor"],
            workers=data["workers"],
            unit=data["unit"],
            tasks=data["tasks"],
            status=data["status"],
            error=RunError(**err) if err else None,
            start_method=data.get("start_method"),
            startup_seconds=data.get("startup_seconds"),
            chunk_size=data.get("chunk_size"),
            warmups=[RepeatRecord.from_json(r) for r in data.get("warmups", [])],
            repeats=[RepeatRecord.from_json(r) for r in data.get("repeats", [])],
            idle_rss_bytes=memory.get("idle_rss_bytes"),
            peak_rss_bytes=memory.get("peak_rss_bytes"),
            peak_uss_bytes=memory.get("peak_uss_bytes"),
            background_cpu_cores=data.get("background_cpu_cores"),
            app_cpu_cores=data.get("app_cpu_cores"),
            summary=RunSummary.from_json(data.get("summary")),
            params=data.get("params") or {},
            interpreter=data.get("interpreter"),
            gil_enabled=data.get("gil_enabled"),
            output=str(data.get("output") or ""),
        )


@dataclass
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
    rounds: dict[str, Any] | None = None  # seed, processes, count, order; drift (analysis)
    interpreter: str | None = None  # one interpreter's part of a scenario (lab.results.axis)

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
        return {
            "name": self.name,
            "source": self.source,
            "title": self.title,
            "description": self.description,
            "workload": self.workload,
            "settings": self.settings,
            "skipped": self.skipped,
            "error": self.error,
            "baseline": self.baseline,
            "warnings": self.warnings,
            "fastest": self.fastest.to_json() if self.fastest else None,
            "rounds": self.rounds,
            "runs": [r.to_json() for r in self.runs],
        } | ({"interpreter": self.interpreter} if self.interpreter else {})

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScenarioResult:
        return cls(
            name=data["name"],
            source=data["source"],
            title=data["title"],
            description=data.get("description", ""),
            workload=data["workload"],
            settings=data["settings"],
            runs=[RunResult.from_json(r) for r in data.get("runs", [])],
            skipped=data.get("skipped") or {},
            error=data.get("error"),
            baseline=data.get("baseline"),
            warnings=data.get("warnings") or [],
            fastest=Fastest.from_json(data.get("fastest")),
            rounds=data.get("rounds"),
            interpreter=data.get("interpreter"),
        )


@dataclass
class Report:
    machine: MachineFacts
    scenarios: list[ScenarioResult] = field(default_factory=list)
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    lab_version: str = __version__
    command: list[str] = field(default_factory=list)
    interrupted: bool = False
    warnings: list[Notice] = field(default_factory=list)  # about the machine (lab.analysis.noise)
    # The interpreter axis: label -> what it is (probe and runners); {} without an axis.
    interpreters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def all_ok(self) -> bool:
        return not self.interrupted and all(
            s.error is None and all(r.status == "ok" for r in s.runs) for s in self.scenarios
        )

    def to_json(self) -> dict[str, Any]:
        """The measurements only; lab.report.jsonfile adds the analysis when it writes a file."""
        return {
            "schema": SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "created": self.created,
            "lab_version": self.lab_version,
            "command": self.command,
            "interrupted": self.interrupted,
            "machine": self.machine,
            "warnings": self.warnings,
            "scenarios": [s.to_json() for s in self.scenarios],
        } | ({"interpreters": self.interpreters} if self.interpreters else {})

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        # Kept as saved, keys this version does not know included: the report is a record.
        machine = cast(MachineFacts, data.get("machine") or {})
        return cls(
            machine=machine,
            scenarios=[ScenarioResult.from_json(s) for s in data.get("scenarios", [])],
            created=data.get("created", ""),
            lab_version=data.get("lab_version", ""),
            command=data.get("command") or [],
            interrupted=bool(data.get("interrupted")),
            warnings=data.get("warnings") or [],
            interpreters=data.get("interpreters") or {},
        )

    def all_warnings(self) -> list[Notice]:
        """Every warning: the machine's, then each scenario's and its runs'."""
        found = list(self.warnings)
        for result in self.scenarios:
            found.extend(result.all_warnings())
        return found
