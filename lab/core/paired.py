"""Paired statistics for interleaved rounds: ratios within a round, tested on the pairs.

Two runs measured in the same round saw the same state of the machine, so the ratio of their
times cancels what drifted between rounds (neighbours, frequency, cache). The pairs are what
is tested, never the pooled times:

- `paired_ratios()`: a_i / b_i for every round both runs measured.
- `wilcoxon_signed_rank()`: two-sided Wilcoxon signed-rank test of the log-ratios against 0,
  exact (ties and all) up to EXACT_PAIRS pairs, tie-corrected normal approximation beyond.
  Zero differences are dropped (Wilcoxon's convention). With n pairs the smallest possible
  p-value is 2 / 2**n: 6 pairs are the fewest that can reach p < 0.05.
- `compare_paired()`: median ratio, its distribution-free interval (order statistics, as
  lab.core.stats.median_interval), and the test, in the shape of lab.core.stats.Comparison.
- `holm()`: Holm-Bonferroni adjusted p-values, for a family of comparisons.
- `drift()`: how much one run's time moved from round to round.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from lab.core.stats import ALPHA, Comparison, median_interval

EXACT_PAIRS = 40
PAIRED_TEST_NAME = "Wilcoxon signed-rank on paired log-ratios, two-sided, Holm-adjusted, α = 0.05"
PAIRED_TEST_DESCRIPTION = (
    "Runs are measured in interleaved rounds (one repeat of every run per round, in a shuffled "
    "order), so a speedup is the median of per-round ratios to the baseline of the same round. "
    "A difference is called significant when a two-sided Wilcoxon signed-rank test on the "
    "log-ratios gives p < 0.05 after Holm-Bonferroni adjustment over the comparisons shown "
    "together. Intervals are 95% distribution-free intervals of the median ratio (order "
    "statistics). At least 6 rounds are needed before any difference can be significant."
)


def paired_ratios(a: Mapping[int, float], b: Mapping[int, float]) -> list[float]:
    """a / b for every round in both (keys: round numbers; values: positive times)."""
    return [a[r] / b[r] for r in sorted(a.keys() & b.keys()) if a[r] > 0 and b[r] > 0]


@functools.lru_cache(maxsize=128)
def _signed_rank_counts(doubled_ranks: tuple[int, ...]) -> tuple[int, ...]:
    """counts[s]: how many sign assignments give a positive doubled-rank sum of s."""
    counts = [0] * (sum(doubled_ranks) + 1)
    counts[0] = 1
    reached = 0
    for rank in doubled_ranks:
        reached += rank
        for s in range(reached, rank - 1, -1):
            counts[s] += counts[s - rank]
    return tuple(counts)


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their mean rank; one sort, one pass."""
    n = len(values)
    order = sorted(range(n), key=values.__getitem__)
    ranks = [0.0] * n
    i = 0
    while i < n:
        value, j = values[order[i]], i + 1
        while j < n and values[order[j]] == value:
            j += 1
        rank = (i + j + 1) / 2
        for k in order[i:j]:
            ranks[k] = rank
        i = j
    return ranks


def wilcoxon_signed_rank(differences: Sequence[float]) -> tuple[float, str] | None:
    """(two-sided p-value, method) for differences centred on 0; None without any non-zero."""
    nonzero = [d for d in differences if d != 0 and math.isfinite(d)]
    n = len(nonzero)
    if n == 0:
        return None
    ranks = _ranks([abs(d) for d in nonzero])
    w_plus = sum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    if n <= EXACT_PAIRS:
        doubled = tuple(sorted(round(2 * r) for r in ranks))
        counts = _signed_rank_counts(doubled)
        total = 2**n
        w = round(2 * w_plus)
        low = sum(counts[: w + 1]) / total
        high = sum(counts[w:]) / total
        return min(1.0, 2 * min(low, high)), "exact"
    mean = n * (n + 1) / 4
    ties: dict[float, int] = {}
    for r in ranks:
        ties[r] = ties.get(r, 0) + 1
    var = n * (n + 1) * (2 * n + 1) / 24 - sum(t**3 - t for t in ties.values()) / 48
    if var <= 0:
        return 1.0, "normal"
    z = (abs(w_plus - mean) - 0.5) / math.sqrt(var)
    return min(1.0, math.erfc(max(0.0, z) / math.sqrt(2))), "normal"


@dataclass(frozen=True)
class AdjustedComparison(Comparison):
    """A Comparison that knows whether it is paired (n_a = n_b = pairs) and its p-value after
    Holm-Bonferroni over the `family` of comparisons shown with it (`significant` follows)."""

    paired: bool = False
    p_adjusted: float | None = None
    family: int = 0

    @property
    def can_be_significant(self) -> bool:
        if self.paired:
            return can_be_significant(self.n_a)
        return super().can_be_significant

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["can_be_significant"] = self.can_be_significant
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AdjustedComparison:
        base = Comparison.from_json(data)
        return cls(
            **{f.name: getattr(base, f.name) for f in fields(Comparison)},
            paired=bool(data.get("paired")),
            p_adjusted=data.get("p_adjusted"),
            family=int(data.get("family") or 0),
        )


def comparison_from_json(data: dict[str, Any]) -> Comparison:
    """An AdjustedComparison where the JSON has its fields, else the plain Comparison (so an
    older report reads back to exactly the JSON it was)."""
    if "p_adjusted" in data or "paired" in data:
        return AdjustedComparison.from_json(data)
    return Comparison.from_json(data)


def with_adjusted(c: Comparison, p: float | None, family: int) -> AdjustedComparison:
    """`c` with its Holm-adjusted p-value; significant only when that p and the sample allow."""
    paired = isinstance(c, AdjustedComparison) and c.paired
    values = {f.name: getattr(c, f.name) for f in fields(Comparison)}
    adjusted = AdjustedComparison(**values, paired=paired, p_adjusted=p, family=family)
    significant = p is not None and p < ALPHA and adjusted.can_be_significant
    return replace(adjusted, significant=significant)


def adjust_family(comparisons: Mapping[str, Comparison]) -> dict[str, AdjustedComparison]:
    """Holm-Bonferroni over a family of comparisons (rows of a matrix; a winner's tests)."""
    keys = list(comparisons)
    ps = [comparisons[k].p_value for k in keys]
    family = sum(1 for p in ps if p is not None)
    return {
        k: with_adjusted(comparisons[k], p, family) for k, p in zip(keys, holm(ps), strict=True)
    }


def compare_paired(a: Mapping[int, float], b: Mapping[int, float]) -> AdjustedComparison:
    """Median of the per-round ratios a / b, its interval, and the signed-rank test."""
    ratios = paired_ratios(a, b)
    test = wilcoxon_signed_rank([math.log(r) for r in ratios])
    low, high, achieved = median_interval(ratios)
    p = test[0] if test else (1.0 if ratios else None)
    return AdjustedComparison(
        ratio=statistics.median(ratios) if ratios else None,
        ratio_low=low,
        ratio_high=high,
        ratio_confidence=achieved,
        p_value=p,
        method=f"paired {test[1]}" if test else "paired",
        significant=p is not None and p < ALPHA,
        n_a=len(ratios),
        n_b=len(ratios),
        paired=True,
    )


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None stays None and does not count in the family).

    Compare each adjusted value with α: the family-wise error rate stays at most α.
    """
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(present)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def can_be_significant(pairs: int, family: int = 1) -> bool:
    """Whether `pairs` rounds can give p < α at all, after Holm over `family` comparisons."""
    return pairs > 0 and 2 / 2**pairs * max(1, family) < ALPHA


def drift(times: Mapping[int, float]) -> float | None:
    """(slowest - fastest) / median of one run's round times: how far the machine moved.

    Read on the baseline, which does the same work every round: whatever changed its time
    changed the machine, and would have landed on a model comparison without rounds.
    """
    values = [t for t in times.values() if t > 0]
    if len(values) < 2:
        return None
    return (max(values) - min(values)) / statistics.median(values)
