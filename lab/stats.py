"""Descriptive statistics for repeat samples (median-centred, as pyperf and hyperfine report)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation (unscaled)."""
    if not values:
        return math.nan
    m = statistics.median(values)
    return statistics.median(abs(v - m) for v in values)


def describe(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {
            "n": 0,
            "median": None,
            "mean": None,
            "stdev": None,
            "min": None,
            "max": None,
            "mad": None,
        }
    return {
        "n": len(values),
        "median": statistics.median(values),
        "mean": statistics.fmean(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
        "mad": mad(values),
    }
