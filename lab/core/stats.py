"""Statistics for repeat samples: median-centred summaries, outliers and significance.

Everything here is distribution-free and deterministic (no random resampling), because the
samples are small (3-10 repeats) and rarely normal: scheduler hiccups make timing
distributions skewed with a long slow tail.

- `describe()`: n, median, mean, stdev, min, max, MAD and a confidence interval of the median
  from order statistics (the binomial method: exact for any continuous distribution).
- `modified_z_scores()` / `outliers()`: Iglewicz and Hoaglin's robust z-score,
  0.6745 (x - median) / MAD; |z| > 3.5 is an outlier (hyperfine's test too).
- `first_is_slow()`: the first repeat is an outlier on the slow side (a cold start).
- `mann_whitney_u()`: two-sided Mann-Whitney U test, exact (permutation distribution, ties
  handled) for small samples and a tie-corrected normal approximation for large ones.
- `ratio_interval()`: a confidence interval of the time ratio of two samples, from the
  Hodges-Lehmann estimator on log times with the Mann-Whitney critical value, so the interval
  excludes 1 exactly when the test is significant (for untied data).
- `compare_samples()`: all of that for "is A faster than B?".
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypedDict

from lab.core.order import binomial_half_cdfs, kth_difference

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
OUTLIER_Z = 3.5
EXACT_LIMIT = 30  # m + n up to which Mann-Whitney p-values are exact
TEST_NAME = "Mann-Whitney U, two-sided, α = 0.05"
TEST_DESCRIPTION = (
    "A difference is called significant when a two-sided Mann-Whitney U test on the repeat "
    "times gives p < 0.05 (exact p-values for small samples). Intervals are 95% "
    "distribution-free confidence intervals: of the median from order statistics, of a ratio "
    "from the Hodges-Lehmann estimator. At least 4 repeats on each side are needed before any "
    "difference can be significant."
)


def _sorted_median(ordered: Sequence[float]) -> float:
    n = len(ordered)
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _median_and_mad(values: Sequence[float]) -> tuple[list[float], float, float]:
    """(sorted values, median, MAD): one sort of the values and one of their deviations,
    shared by every figure that needs them (a summary reads them several times)."""
    ordered = sorted(values)
    median = _sorted_median(ordered)
    return ordered, median, _sorted_median(sorted([abs(v - median) for v in ordered]))


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation (unscaled)."""
    if not values:
        return math.nan
    return _median_and_mad(values)[2]


def _stdev(values: Sequence[float], mean: float) -> float:
    """Sample standard deviation, two-pass with exact sums: statistics.stdev's exact fractions
    cost seconds for 100,000 values, for digits beyond the 15th."""
    n = len(values)
    if n < 2:
        return 0.0
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


def _binomial_cdf_half(n: int, k: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    if k < 0:
        return 0.0
    return binomial_half_cdfs(n, min(k, n))[-1]


def median_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float | None, float | None, float | None]:
    """(low, high, achieved confidence) of the median, from order statistics.

    The interval [x(j), x(n-j+1)] covers the true median with probability
    1 - 2 P(Binomial(n, 1/2) <= j - 1); j is the largest rank that reaches `confidence`. With
    fewer than 6 values no pair of order statistics reaches 95%: the interval is then
    [min, max] and the achieved confidence says how much it is worth (93.75% for 5 values,
    50% for 2). The cumulative probabilities are summed once, in rank order: O(n).
    """
    if not values:
        return None, None, None
    return _median_interval_sorted(sorted(values), confidence)


def _median_interval_sorted(
    ordered: Sequence[float], confidence: float
) -> tuple[float | None, float | None, float | None]:
    n = len(ordered)
    tail = (1 - confidence) / 2
    last = (n + 1) // 2 - 1  # the largest j - 1 the loop below may reach
    cdfs = binomial_half_cdfs(n, max(0, last))
    j = 1
    while j + 1 <= (n + 1) // 2 and cdfs[j] <= tail:
        j += 1
    achieved = 1 - 2 * cdfs[j - 1] if n > 1 else 0.0
    return ordered[j - 1], ordered[n - j], achieved


class Description(TypedDict):
    """`describe()`'s figures, the shape a report's wall_seconds and cpu_seconds are saved in."""

    n: int
    median: float | None
    mean: float | None
    stdev: float | None
    min: float | None
    max: float | None
    mad: float | None
    ci_low: float | None
    ci_high: float | None
    ci_confidence: float | None
    relative_spread: float | None


def describe(values: Sequence[float]) -> Description:
    if not values:
        return {
            "n": 0,
            "median": None,
            "mean": None,
            "stdev": None,
            "min": None,
            "max": None,
            "mad": None,
            "ci_low": None,
            "ci_high": None,
            "ci_confidence": None,
            "relative_spread": None,
        }
    ordered, median, spread = _median_and_mad(values)
    low, high, achieved = _median_interval_sorted(ordered, CONFIDENCE)
    mean = math.fsum(values) / len(values)
    return {
        "n": len(values),
        "median": median,
        "mean": mean,
        "stdev": _stdev(values, mean),
        "min": ordered[0],
        "max": ordered[-1],
        "mad": spread,
        "ci_low": low,
        "ci_high": high,
        "ci_confidence": achieved,
        # MAD / median: the "±2%" shown next to a median, and what the spread warning checks.
        "relative_spread": spread / median if median else None,
    }


def modified_z_scores(values: Sequence[float]) -> list[float]:
    """0.6745 (x - median) / MAD for each value (Iglewicz and Hoaglin, 1993).

    When more than half the values are equal the MAD is 0; the mean absolute deviation
    (scaled by 0.7979, its ratio to the standard deviation) takes its place, as in
    Iglewicz and Hoaglin's and IBM's definitions. All equal: every score is 0.
    """
    if len(values) < 3:
        return [0.0] * len(values)
    _, median, spread = _median_and_mad(values)
    if spread > 0:
        return [0.6745 * (v - median) / spread for v in values]
    mean_ad = statistics.fmean(abs(v - median) for v in values)
    if mean_ad == 0:
        return [0.0] * len(values)
    return [(v - median) / (1.253314 * mean_ad) for v in values]


def outliers(
    values: Sequence[float], threshold: float = OUTLIER_Z, scores: Sequence[float] | None = None
) -> list[int]:
    """Indices of values whose modified z-score exceeds `threshold` in magnitude (pass the
    scores when they are at hand: computing them sorts the values twice)."""
    found = modified_z_scores(values) if scores is None else scores
    return [i for i, z in enumerate(found) if abs(z) > threshold]


def first_is_slow(
    values: Sequence[float], threshold: float = OUTLIER_Z, scores: Sequence[float] | None = None
) -> bool:
    """The first value is the slowest and an outlier: hyperfine's "slow initial run" test."""
    if len(values) < 3:
        return False
    found = modified_z_scores(values) if scores is None else scores
    return values[0] == max(values) and found[0] > threshold


# --- Mann-Whitney U ------------------------------------------------------------------------


def _ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing the mean of their ranks (midranks)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


@functools.lru_cache(maxsize=128)
def _rank_sum_counts(doubled_ranks: tuple[int, ...], m: int) -> tuple[int, ...]:
    """counts[s]: how many ways m of the ranks (doubled, so integers) sum to s."""
    total = sum(doubled_ranks)
    # ways[k][s]: subsets of size k of the ranks seen so far with sum s.
    ways = [[0] * (total + 1) for _ in range(m + 1)]
    ways[0][0] = 1
    seen = 0
    for r in doubled_ranks:
        seen += r
        for k in range(m, 0, -1):
            row, prev = ways[k], ways[k - 1]
            for s in range(seen, r - 1, -1):
                if prev[s - r]:
                    row[s] += prev[s - r]
    return tuple(ways[m])


@dataclass(frozen=True)
class MannWhitney:
    u: float  # U of the first sample: pairs (a, b) with a > b, ties counting one half
    p_value: float  # two-sided
    method: str  # "exact" or "normal"


def mann_whitney_u(a: Sequence[float], b: Sequence[float]) -> MannWhitney | None:
    """Two-sided Mann-Whitney U test of "a and b come from the same distribution".

    None when a sample is empty. Exact for m + n <= EXACT_LIMIT: the p-value is the share of
    all C(m + n, m) ways to split the pooled ranks whose rank sum lies at least as far from
    its mean as the observed one, so ties are handled exactly. Larger samples use the normal
    approximation with tie and continuity corrections.
    """
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        return None
    pooled = [*a, *b]
    ranks = _ranks(pooled)
    rank_sum = sum(ranks[:m])
    u = rank_sum - m * (m + 1) / 2
    big_n = m + n
    if big_n <= EXACT_LIMIT:
        doubled = tuple(sorted(round(2 * r) for r in ranks))
        counts = _rank_sum_counts(doubled, m)
        expected2 = m * (big_n + 1)  # twice the mean rank sum
        observed = abs(round(2 * rank_sum) - expected2)
        extreme = sum(c for s, c in enumerate(counts) if c and abs(s - expected2) >= observed)
        return MannWhitney(u, min(1.0, extreme / math.comb(big_n, m)), "exact")
    ties: dict[float, int] = {}
    for r in ranks:
        ties[r] = ties.get(r, 0) + 1
    tie_term = sum(t**3 - t for t in ties.values()) / (big_n * (big_n - 1))
    variance = m * n / 12 * ((big_n + 1) - tie_term)
    if variance <= 0:
        return MannWhitney(u, 1.0, "normal")
    z = max(0.0, abs(u - m * n / 2) - 0.5) / math.sqrt(variance)
    return MannWhitney(u, min(1.0, math.erfc(z / math.sqrt(2))), "normal")


@functools.lru_cache(maxsize=128)
def _u_critical(m: int, n: int, confidence: float) -> tuple[int, float]:
    """(k, achieved confidence): the largest k with 2 P(U <= k - 1) <= 1 - confidence.

    For untied samples; k = 0 when even the most extreme split is too likely (tiny samples).
    """
    tail = (1 - confidence) / 2
    total = math.comb(m + n, m)
    if m + n <= EXACT_LIMIT:
        counts = _rank_sum_counts(tuple(range(2, 2 * (m + n) + 1, 2)), m)
        # U = rank sum - m(m+1)/2; doubled rank sums step by 2 from m(m+1).
        offset = m * (m + 1)
        cumulative, k = 0, 0
        for u in range(m * n + 1):
            cumulative += counts[offset + 2 * u]
            if cumulative / total > tail:
                break
            k = u + 1
        achieved = 1 - 2 * sum(counts[offset + 2 * u] for u in range(k)) / total
        return k, achieved
    z = statistics.NormalDist().inv_cdf(1 - tail)
    k = max(0, math.floor(m * n / 2 - z * math.sqrt(m * n * (m + n + 1) / 12)))
    return k, confidence


def ratio_interval(
    a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float | None, float | None, float | None]:
    """(low, high, achieved confidence) of the ratio a / b of two samples of positive times.

    Hodges-Lehmann: the pairwise log differences log(a_i) - log(b_j), sorted; the interval runs
    from the k-th smallest to the k-th largest, k from the Mann-Whitney distribution. With
    fewer than 4 values per side the interval is the full range of pairwise ratios, and the
    achieved confidence says how little that is worth.
    """
    a = [x for x in a if x > 0]
    b = [x for x in b if x > 0]
    if not a or not b:
        return None, None, None
    k, achieved = _u_critical(len(a), len(b), confidence)
    if k == 0:
        achieved = 1 - 2 / math.comb(len(a) + len(b), len(a))
        k = 1
    log_a, log_b = sorted(math.log(x) for x in a), sorted(math.log(y) for y in b)
    if len(a) * len(b) <= ALL_PAIRS_LIMIT:
        diffs = sorted(x - y for x in log_a for y in log_b)
        low, high = diffs[k - 1], diffs[-k]
    else:
        pairs = len(a) * len(b)
        low = kth_difference(log_a, log_b, k)
        high = kth_difference(log_a, log_b, pairs - k + 1)
    return math.exp(low), math.exp(high), max(0.0, achieved)


ALL_PAIRS_LIMIT = 10_000  # m * n up to which every pairwise difference is sorted


@dataclass(frozen=True)
class Comparison:
    """How sample `a` compares with sample `b` (times: smaller is faster)."""

    ratio: float | None  # median(a) / median(b)
    ratio_low: float | None
    ratio_high: float | None
    ratio_confidence: float | None
    p_value: float | None
    method: str | None
    significant: bool  # p < ALPHA
    n_a: int
    n_b: int

    @property
    def can_be_significant(self) -> bool:
        """Whether these sample sizes allow p < ALPHA at all (Mann-Whitney needs 4 + 4)."""
        if not self.n_a or not self.n_b:
            return False
        return 2 / math.comb(self.n_a + self.n_b, self.n_a) < ALPHA

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["can_be_significant"] = self.can_be_significant
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Comparison:
        """The inverse of `to_json`; reports older than a field leave it None (or 0 repeats)."""
        return cls(
            ratio=data.get("ratio"),
            ratio_low=data.get("ratio_low"),
            ratio_high=data.get("ratio_high"),
            ratio_confidence=data.get("ratio_confidence"),
            p_value=data.get("p_value"),
            method=data.get("method"),
            significant=bool(data.get("significant")),
            n_a=int(data.get("n_a") or 0),
            n_b=int(data.get("n_b") or 0),
        )


def compare_samples(a: Sequence[float], b: Sequence[float]) -> Comparison:
    """Ratio of medians a / b with its interval, and the Mann-Whitney test of a against b."""
    test = mann_whitney_u(a, b)
    med_a = statistics.median(a) if a else None
    med_b = statistics.median(b) if b else None
    ratio = med_a / med_b if med_a is not None and med_b else None
    low, high, achieved = ratio_interval(a, b)
    p = test.p_value if test else None
    return Comparison(
        ratio=ratio,
        ratio_low=low,
        ratio_high=high,
        ratio_confidence=achieved,
        p_value=p,
        method=test.method if test else None,
        significant=p is not None and p < ALPHA,
        n_a=len(a),
        n_b=len(b),
    )
