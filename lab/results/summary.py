"""A run's summary: the figures derived from its raw repeats (lab.analysis.summarise builds it).

Frozen, so a summary is replaced whole (`dataclasses.replace`) rather than edited key by key.
`to_json()` writes exactly the shape the report schema documents, and `from_json()` reads that
shape back, from reports of any version: a field a report lacks takes its default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from lab.core.histogram import Histogram
from lab.core.paired import comparison_from_json
from lab.core.stats import Comparison, describe
from lab.results.notices import Notice


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of `data` that are fields of `cls`: newer or older keys are ignored."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class Distribution:
    """`lab.core.stats.describe()` of a sample: median-centred, with the median's 95% interval."""

    n: int = 0
    median: float | None = None
    mean: float | None = None
    stdev: float | None = None
    min: float | None = None
    max: float | None = None
    mad: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_confidence: float | None = None
    relative_spread: float | None = None  # MAD / median: the "±2%" shown next to a median

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        return cls(**describe(values))

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Distribution:
        return cls(**_known(cls, data or {}))


@dataclass(frozen=True)
class Throughput(Distribution):
    """Per-repeat throughputs, and `value`: the amount over the median time, in `unit`."""

    value: float | None = None
    unit: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Throughput:
        return cls(**_known(cls, data or {}))


@dataclass(frozen=True)
class Latency:
    """Percentiles of every request's latency over all repeats (seconds)."""

    count: int = 0
    mean: float | None = None
    min: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, histogram: Histogram) -> Latency | None:
        return cls(**histogram.summary()) if histogram.count else None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Latency | None:
        return cls(**_known(cls, data)) if data else None


@dataclass(frozen=True)
class RunSummary:
    """Figures of one run. The default (`RunSummary()`) is a run not summarised yet."""

    wall_seconds: Distribution = field(default_factory=Distribution)
    throughput: Throughput = field(default_factory=Throughput)
    cpu_seconds: Distribution = field(default_factory=Distribution)
    cpu_cores: float | None = None  # CPU seconds over wall seconds, medians
    cpu_utilisation: float | None = None  # cpu_cores over the usable CPUs
    speedup: float | None = None  # set at the scenario level, against the serial run
    efficiency: float | None = None  # speedup per worker
    latency: Latency | None = None
    errors: dict[str, int] = field(default_factory=dict)
    error_count: int = 0
    outliers: list[int] = field(default_factory=list)  # indices of outlying repeats
    loops: int = 1
    warnings: list[Notice] = field(default_factory=list)
    # The serial baseline (a) against this run (b): ratio is the speedup. None for the
    # baseline itself and for runs nothing was compared with; the JSON then has no key.
    versus_baseline: Comparison | None = None
    # Medians per pass: page faults of the runner and its workers (None: not recorded).
    minor_faults: float | None = None
    major_faults: float | None = None
    # Why this run's figures against serial are in doubt (lab.analysis.controls): a failed
    # negative control, a speedup beyond the cores. Shown as a mark beside its speedup.
    doubts: list[str] = field(default_factory=list)
    # The median of the negative controls (1-worker runs of the serial function) per round (a)
    # against this run (b): the speedup judged against the controls instead of serial.
    versus_controls: Comparison | None = None

    def to_json(self) -> dict[str, Any]:
        if self == RunSummary():
            # Not summarised (a run still queued when the report was written): saved as {},
            # which reads back as this same default.
            return {}
        data = asdict(self)
        for key in ("versus_baseline", "versus_controls"):
            del data[key]
            comparison: Comparison | None = getattr(self, key)
            if comparison is not None:
                data[key] = comparison.to_json()
        for key in ("minor_faults", "major_faults", "versus_controls"):
            if data.get(key) is None:
                data.pop(key, None)  # absent, as in reports made before they existed
        if not self.doubts:
            del data["doubts"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RunSummary:
        data = data or {}
        versus = data.get("versus_baseline")
        controls = data.get("versus_controls")
        return cls(
            wall_seconds=Distribution.from_json(data.get("wall_seconds")),
            throughput=Throughput.from_json(data.get("throughput")),
            cpu_seconds=Distribution.from_json(data.get("cpu_seconds")),
            cpu_cores=data.get("cpu_cores"),
            cpu_utilisation=data.get("cpu_utilisation"),
            speedup=data.get("speedup"),
            efficiency=data.get("efficiency"),
            latency=Latency.from_json(data.get("latency")),
            errors=dict(data.get("errors") or {}),
            error_count=int(data.get("error_count") or 0),
            outliers=list(data.get("outliers") or []),
            loops=int(data.get("loops") or 1),
            warnings=list(data.get("warnings") or []),
            versus_baseline=comparison_from_json(versus) if versus else None,
            minor_faults=data.get("minor_faults"),
            major_faults=data.get("major_faults"),
            doubts=[str(d) for d in data.get("doubts") or []],
            versus_controls=comparison_from_json(controls) if controls else None,
        )


@dataclass(frozen=True)
class Fastest:
    """The run with the lowest median time, tested against every other finished run."""

    run_id: str
    test: str  # the test's name, as lab.core.stats.TEST_NAME words it
    significant_against_all: bool
    # Every other run (a) against the fastest (b): ratio is how many times faster it is.
    versus: dict[str, Comparison] = field(default_factory=dict)
    correction: str = ""  # the family-wise correction over `versus` ("Holm-Bonferroni")

    def to_json(self) -> dict[str, Any]:
        data = {
            "run_id": self.run_id,
            "test": self.test,
            "significant_against_all": self.significant_against_all,
            "versus": {run_id: c.to_json() for run_id, c in self.versus.items()},
        }
        if self.correction:
            data["correction"] = self.correction
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Fastest | None:
        if not data:
            return None
        return cls(
            run_id=data["run_id"],
            test=str(data.get("test") or ""),
            significant_against_all=bool(data.get("significant_against_all")),
            versus={k: comparison_from_json(v) for k, v in (data.get("versus") or {}).items()},
            correction=str(data.get("correction") or ""),
        )
