"""A run's summary: the figures derived from its raw repeats (lab.analysis.summarise builds it).

Frozen, so a summary is replaced whole (`dataclasses.replace`) rather than edited key by key.
Each class is a pydantic dataclass: its fields are the JSON a report holds (lab.results.codec
writes and reads it; lab.report.schema generates the schema from it). A key an older report
lacks takes the field's default; a key this version does not know is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, Required

from pydantic import Field, PlainSerializer, ValidatorFunctionWrapHandler, WrapValidator
from pydantic.dataclasses import dataclass
from typing_extensions import TypedDict  # pydantic needs it below Python 3.12

from lab.core.histogram import Histogram
from lab.core.paired import comparison_from_json
from lab.core.stats import Comparison, describe
from lab.results.codec import DEFERRED, Omitted, dump, load
from lab.results.notices import Notice


class ComparisonJSON(TypedDict, total=False):
    """lab.core.stats.Comparison.to_json() (and lab.core.paired.AdjustedComparison's): sample
    a against sample b, ratio = median(a) / median(b)."""

    ratio: Required[float | None]
    ratio_low: Required[float | None]
    ratio_high: Required[float | None]
    ratio_confidence: float | None
    p_value: Required[float | None]
    method: str | None
    significant: Required[bool]
    can_be_significant: bool
    n_a: int
    n_b: int
    # paired on common rounds (n_a = n_b = pairs); `significant` follows `p_adjusted`,
    # Holm-Bonferroni over the `family` of comparisons shown together
    paired: NotRequired[bool]
    p_adjusted: NotRequired[float | None]
    family: NotRequired[Annotated[int, Field(ge=0)]]


def _comparison_in(value: Any, handler: ValidatorFunctionWrapHandler) -> Comparison:
    if isinstance(value, Comparison):
        return value
    return comparison_from_json(handler(value))


def _comparison_out(value: Comparison) -> dict[str, Any]:
    return value.to_json()


if TYPE_CHECKING:
    ComparisonField = Comparison
else:
    # A Comparison in memory, its JSON shape (ComparisonJSON) in a report.
    ComparisonField = Annotated[
        ComparisonJSON,
        WrapValidator(_comparison_in),
        PlainSerializer(_comparison_out, return_type=ComparisonJSON),
    ]


@dataclass(frozen=True, config=DEFERRED)
class Distribution:
    """`lab.core.stats.describe()` of a sample: median-centred, with the median's 95% interval."""

    n: int = 0
    median: float | None = None
    mean: float | None = None
    stdev: float | None = None
    min: float | None = None
    max: float | None = None
    mad: float | None = None
    # 95% CI of the median from order statistics; ci_confidence is what it really reaches.
    ci_low: float | None = None
    ci_high: float | None = None
    ci_confidence: float | None = None
    relative_spread: float | None = None  # MAD / median: the "±2%" shown next to a median

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        return cls(**describe(values))


@dataclass(frozen=True, config=DEFERRED)
class Throughput(Distribution):
    """Per-repeat throughputs, and `value`: the amount over the median time, in `unit`."""

    value: float | None = None
    unit: str = ""


@dataclass(frozen=True, config=DEFERRED)
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


@dataclass(frozen=True, config=DEFERRED)
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
    versus_baseline: Annotated[ComparisonField | None, Omitted] = None
    # Medians per pass: page faults of the runner and its workers (None: not recorded).
    minor_faults: Annotated[float | None, Omitted] = None
    major_faults: Annotated[float | None, Omitted] = None
    # Why this run's figures against serial are in doubt (lab.analysis.controls): a failed
    # negative control, a speedup beyond the cores. Shown as a mark beside its speedup.
    doubts: Annotated[list[str], Omitted] = field(default_factory=list)
    # The median of the negative controls (1-worker runs of the serial function) per round (a)
    # against this run (b): the speedup judged against the controls instead of serial.
    versus_controls: Annotated[ComparisonField | None, Omitted] = None

    def to_json(self) -> dict[str, Any]:
        return {} if self == RunSummary() else dump(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RunSummary:
        return load(cls, data or {})


@dataclass(frozen=True, config=DEFERRED)
class Fastest:
    """The run with the lowest median time, tested against every other finished run."""

    run_id: str
    test: str = ""  # the test's name, as lab.core.stats.TEST_NAME words it
    significant_against_all: bool = False
    # Every other run (a) against the fastest (b): ratio is how many times faster it is.
    versus: dict[str, ComparisonField] = field(default_factory=dict)
    # the family-wise correction over `versus` ("Holm-Bonferroni")
    correction: Annotated[str, Omitted] = ""
