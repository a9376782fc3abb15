"""A small log-bucketed latency histogram: bounded memory for any number of requests."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypedDict

# Buckets grow by 2% so any percentile is within about 1% of the true value.
_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)
_FLOOR = 1e-6  # one microsecond


def _bucket(seconds: float) -> int:
    if seconds <= _FLOOR:
        return 0
    return int(math.log(seconds / _FLOOR) / _LOG_GROWTH) + 1


def _bucket_value(index: int) -> float:
    """Geometric middle of a bucket."""
    if index == 0:
        return _FLOOR
    return float(_FLOOR * _GROWTH ** (index - 0.5))


class Percentiles(TypedDict):
    count: int
    mean: float | None
    min: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


def _number(value: object) -> float:
    """A count or time from a histogram's JSON; absent (None) is 0."""
    if value is None:
        return 0.0
    if not isinstance(value, int | float | str):
        raise TypeError(f"a histogram figure must be a number, not {value!r}")
    return float(value)


@dataclass
class Histogram:
    counts: dict[int, int] = field(default_factory=dict)
    count: int = 0
    total: float = 0.0
    maximum: float = 0.0
    minimum: float = math.inf

    def add(self, seconds: float) -> None:
        b = _bucket(seconds)
        self.counts[b] = self.counts.get(b, 0) + 1
        self.count += 1
        self.total += seconds
        self.maximum = max(self.maximum, seconds)
        self.minimum = min(self.minimum, seconds)

    def merge(self, other: Histogram) -> None:
        for b, c in other.counts.items():
            self.counts[b] = self.counts.get(b, 0) + c
        self.count += other.count
        self.total += other.total
        self.maximum = max(self.maximum, other.maximum)
        self.minimum = min(self.minimum, other.minimum)

    def percentile(self, q: float) -> float | None:
        if not self.count:
            return None
        rank = max(1, math.ceil(q / 100 * self.count))
        seen = 0
        for b in sorted(self.counts):
            seen += self.counts[b]
            if seen >= rank:
                return min(max(_bucket_value(b), self.minimum), self.maximum)
        return self.maximum

    def summary(self) -> Percentiles:
        return {
            "count": self.count,
            "mean": self.total / self.count if self.count else None,
            "min": self.minimum if self.count else None,
            "p50": self.percentile(50),
            "p95": self.percentile(95),
            "p99": self.percentile(99),
            "max": self.maximum if self.count else None,
        }

    def to_json(self) -> dict[str, object]:
        return {
            "growth": _GROWTH,
            "floor": _FLOOR,
            "buckets": {str(b): c for b, c in sorted(self.counts.items())},
            "count": self.count,
            "total": self.total,
            "min": self.minimum if self.count else None,
            "max": self.maximum,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Histogram:
        buckets = data.get("buckets") or {}
        assert isinstance(buckets, dict)
        h = cls({int(k): int(v) for k, v in buckets.items()})
        h.count = int(_number(data.get("count")))
        h.total = _number(data.get("total"))
        h.maximum = _number(data.get("max"))
        mn = data.get("min")
        h.minimum = _number(mn) if mn is not None else math.inf
        return h
