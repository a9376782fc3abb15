"""The results model. `Report.to_json()` is the documented, versioned JSON schema (schema.py).

Runs keep their raw repeat values; summaries are derived from them and can be recomputed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lab import __version__
from lab.histogram import Histogram
from lab.noise import Notice, run_warnings
from lab.stats import TEST_NAME, compare_samples, describe, outliers

SCHEMA_ID = "concurrency-lab/report"
SCHEMA_VERSION = 1

RunStatus = Literal["ok", "failed", "timeout", "cancelled", "not_run"]


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
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepeatRecord:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


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
    warmups: list[RepeatRecord] = field(default_factory=list)
    repeats: list[RepeatRecord] = field(default_factory=list)
    idle_rss_bytes: int | None = None
    peak_rss_bytes: int | None = None
    peak_uss_bytes: int | None = None
    background_cpu_cores: float | None = None  # other programs' CPU use during the run
    summary: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # workload overrides of a sweep run

    def summarise(self, usable_cpus: int) -> None:
        """Derive the summary from raw repeats (speedup is filled in at the scenario level)."""
        walls = [r.wall_seconds for r in self.repeats]
        wall = describe(walls)
        throughputs = [r.throughput for r in self.repeats]
        cpu = [r.cpu_seconds for r in self.repeats]
        median_wall = wall["median"]
        amount = self.repeats[0].amount if self.repeats else None
        cores = (
            describe(cpu)["median"] / median_wall  # type: ignore[operator]
            if self.repeats and median_wall
            else None
        )
        latency = Histogram()
        errors: dict[str, int] = {}
        for r in self.repeats:
            if r.latency:
                latency.merge(Histogram.from_json(r.latency))
            for k, v in r.errors.items():
                errors[k] = errors.get(k, 0) + v
        self.summary = {
            "wall_seconds": wall,
            "throughput": {
                **describe(throughputs),
                "value": amount / median_wall if amount is not None and median_wall else None,
                "unit": f"{self.unit}/s",
            },
            "cpu_seconds": describe(cpu),
            "cpu_cores": cores,
            "cpu_utilisation": cores / usable_cpus if cores is not None else None,
            "speedup": None,
            "efficiency": None,
            "latency": latency.summary() if latency.count else None,
            "errors": errors,
            "error_count": sum(errors.values()),
            **self._noise(walls, usable_cpus),
        }

    def _noise(self, walls: list[float], usable: int) -> dict[str, Any]:
        """Outliers, passes per repeat and the run's noise warnings (lab.noise)."""
        loops = max((r.loops for r in self.repeats), default=1)
        return {
            "outliers": outliers(walls),
            "loops": loops,
            "warnings": run_warnings(
                self.run_id, walls, loops, len(self.warmups), self.background_cpu_cores, usable
            ),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "executor": self.executor,
            "workers": self.workers,
            "unit": self.unit,
            "tasks": self.tasks,
            "status": self.status,
            "error": asdict(self.error) if self.error else None,
            "start_method": self.start_method,
            "startup_seconds": self.startup_seconds,
            "memory": {
                "idle_rss_bytes": self.idle_rss_bytes,
                "peak_rss_bytes": self.peak_rss_bytes,
                "peak_uss_bytes": self.peak_uss_bytes,
            },
            "warmups": [r.to_json() for r in self.warmups],
            "repeats": [r.to_json() for r in self.repeats],
            "background_cpu_cores": self.background_cpu_cores,
            "summary": self.summary,
            "params": self.params,
        }

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
            warmups=[RepeatRecord.from_json(r) for r in data.get("warmups", [])],
            repeats=[RepeatRecord.from_json(r) for r in data.get("repeats", [])],
            idle_rss_bytes=memory.get("idle_rss_bytes"),
            peak_rss_bytes=memory.get("peak_rss_bytes"),
            peak_uss_bytes=memory.get("peak_uss_bytes"),
            background_cpu_cores=data.get("background_cpu_cores"),
            summary=data.get("summary") or {},
            params=data.get("params") or {},
        )


def _walls(run: RunResult) -> list[float]:
    return [r.wall_seconds for r in run.repeats]


@dataclass
class ScenarioResult:
    name: str
    source: str
    title: str
    description: str
    workload: dict[str, Any]
    settings: dict[str, Any]  # repeats, warmups, timeout, start_method, workers, quick
    runs: list[RunResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the scenario could not be set up at all
    baseline: str | None = None  # run_id every speedup is measured against
    warnings: list[Notice] = field(default_factory=list)  # scenario-level (lab.noise)
    fastest: dict[str, Any] | None = None  # the fastest run against every other (significance)

    def run(self, run_id: str) -> RunResult | None:
        return next((r for r in self.runs if r.run_id == run_id), None)

    def finalise(self, usable_cpus: int) -> None:
        """Summaries, result agreement across executors, and speedups against serial.

        Runs of a sweep (`params`) are compared with the serial run at the same point.
        """
        for run in self.runs:
            run.summarise(usable_cpus)
        groups: dict[str, list[RunResult]] = {}
        for run in self.runs:
            groups.setdefault(json.dumps(run.params, sort_keys=True), []).append(run)
        self.baseline = None
        for key, runs in groups.items():
            self._check_agreement(runs)
            base = next((r for r in runs if r.executor == "serial" and r.status == "ok"), None)
            if key == "{}":
                self.baseline = base.run_id if base else None
            base_wall = base.summary["wall_seconds"]["median"] if base else None
            for run in runs:
                wall = run.summary["wall_seconds"]["median"]
                if base_wall and wall and run.status == "ok":
                    run.summary["speedup"] = base_wall / wall
                    run.summary["efficiency"] = base_wall / wall / run.workers
                    if run is not base:
                        assert base is not None
                        run.summary["versus_baseline"] = compare_samples(
                            _walls(base), _walls(run)
                        ).to_json()
        self.fastest = self._fastest()

    def _fastest(self) -> dict[str, Any] | None:
        """The run with the lowest median time, tested against every other finished run.

        Each entry's `ratio` is the other run's median over the fastest's (how many times
        faster the fastest is), `significant` whether the Mann-Whitney test says so.
        """
        # Sweep runs (params) did other work: they never compete with the scenario's own runs.
        ok = [r for r in self.runs if r.status == "ok" and r.repeats and not r.params]
        if not ok:
            return None
        best = min(ok, key=lambda r: r.summary["wall_seconds"]["median"])
        versus = {
            r.run_id: compare_samples(_walls(r), _walls(best)).to_json()
            for r in ok
            if r is not best
        }
        return {
            "run_id": best.run_id,
            "test": TEST_NAME,
            "significant_against_all": bool(versus)
            and all(v["significant"] for v in versus.values()),
            "versus": versus,
        }

    def all_warnings(self) -> list[Notice]:
        """Scenario-level warnings, then each run's."""
        found = list(self.warnings)
        for run in self.runs:
            found.extend(run.summary.get("warnings") or [])
        return found

    @staticmethod
    def _check_agreement(runs: list[RunResult]) -> None:
        """Every executor must compute the same answers; a run that differs is failed."""
        reference: str | None = None
        for run in sorted(runs, key=lambda r: r.executor != "serial"):
            digests = {r.digest for r in [*run.warmups, *run.repeats] if r.digest is not None}
            if run.status != "ok" or not digests:
                continue
            if len(digests) > 1:
                run.status = "failed"
                run.error = RunError("mismatch", "repeats of this run computed different results")
                continue
            digest = digests.pop()
            if reference is None:
                reference = digest
            elif digest != reference:
                run.status = "failed"
                run.error = RunError(
                    "mismatch", f"results differ from the other executors ({digest} vs {reference})"
                )

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
            "fastest": self.fastest,
            "runs": [r.to_json() for r in self.runs],
        }

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
            fastest=data.get("fastest"),
        )


@dataclass
class Report:
    machine: dict[str, Any]
    scenarios: list[ScenarioResult] = field(default_factory=list)
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    lab_version: str = __version__
    command: list[str] = field(default_factory=list)
    interrupted: bool = False
    warnings: list[Notice] = field(default_factory=list)  # about the machine (lab.noise)

    @property
    def all_ok(self) -> bool:
        return not self.interrupted and all(
            s.error is None and all(r.status == "ok" for r in s.runs) for s in self.scenarios
        )

    def to_json(self) -> dict[str, Any]:
        # Verdicts, claims and fits are derived from the runs (and recomputed on load); the
        # import is late because lab.report.explain reads this module.
        from lab.report.explain import analysis_json

        per_scenario, overall = analysis_json(self)
        return {
            "schema": SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "created": self.created,
            "lab_version": self.lab_version,
            "command": self.command,
            "interrupted": self.interrupted,
            "machine": self.machine,
            "warnings": self.warnings,
            "scenarios": [
                s.to_json() | a for s, a in zip(self.scenarios, per_scenario, strict=True)
            ],
            **overall,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(
            machine=data.get("machine") or {},
            scenarios=[ScenarioResult.from_json(s) for s in data.get("scenarios", [])],
            created=data.get("created", ""),
            lab_version=data.get("lab_version", ""),
            command=data.get("command") or [],
            interrupted=bool(data.get("interrupted")),
            warnings=data.get("warnings") or [],
        )

    def all_warnings(self) -> list[Notice]:
        """Every warning: the machine's, then each scenario's and its runs'."""
        found = list(self.warnings)
        for result in self.scenarios:
            found.extend(result.all_warnings())
        return found
