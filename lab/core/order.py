"""Order statistics for large samples, in O(n log n): the binomial tail sums behind the
median's confidence interval, and the k-th smallest of m * n pairwise differences (the
Hodges-Lehmann interval) without listing them. lab.core.stats builds on these."""

from __future__ import annotations

import bisect
import functools
import itertools
import math

EXACT_BINOMIAL_LIMIT = 2000  # n up to which the median's interval uses exact integer sums


@functools.lru_cache(maxsize=32)
def binomial_half_cdfs(n: int, upto: int) -> tuple[float, ...]:
    """[P(X <= 0), ..., P(X <= upto)] for X ~ Binomial(n, 1/2), in O(upto) steps.

    Exact (integer sums, one rounding) for n <= EXACT_BINOMIAL_LIMIT; above it, each term
    from lgamma in floating point, whose relative error (about 1e-12) cannot move a rank.
    Cached: every run of a session has the same number of repeats, and each summary asks
    several times.
    """
    cdfs: list[float] = []
    if n <= EXACT_BINOMIAL_LIMIT:
        term, total, scale = 1, 0, 2**n
        for i in range(upto + 1):
            total += term
            cdfs.append(total / scale)
            term = term * (n - i) // (i + 1)
        return tuple(cdfs)
    base = math.lgamma(n + 1) - n * math.log(2)
    acc = 0.0
    for i in range(upto + 1):
        acc += math.exp(base - math.lgamma(i + 1) - math.lgamma(n - i + 1))
        cdfs.append(acc)
    return tuple(cdfs)


def _count_at_most(x: list[float], y: list[float], t: float) -> int:
    """How many pairs (i, j) have x[i] - y[j] <= t (both sorted): y[j] >= x[i] - t."""
    n = len(y)
    return len(x) * n - sum(map(bisect.bisect_left, itertools.repeat(y), [v - t for v in x]))


def kth_difference(x: list[float], y: list[float], k: int) -> float:
    """The k-th smallest (1-based) of the len(x) * len(y) differences x[i] - y[j], both sorted.

    O((m + n) log(m + n)) per step of a search on the value (interpolation, falling back to
    halving), without listing the m * n differences: the bracket (low, high] narrows until it
    holds about m + n of them, which are then listed and sorted. Counting compares y[j] with x[i] - t, which may differ from
    x[i] - y[j] <= t by one rounding, so the result can differ from sorting every difference
    by a few units in the last place, never more.
    """
    m, n = len(x), len(y)
    if not 1 <= k <= m * n:
        raise ValueError(f"k = {k} is outside 1..{m * n}")
    smallest, largest = x[0] - y[-1], x[-1] - y[0]
    # Just outside every difference (far more than a rounding away): no pair is at or below
    # low, every pair is at or below high.
    margin = 1e-6 * (1 + abs(smallest) + abs(largest))
    low, high = smallest - margin, largest + margin
    count_low, count_high = 0, m * n
    slack = (m + n) // 3
    halve = False
    while count_high - count_low > m + n:
        gap = count_high - count_low
        if halve:
            middle = low + (high - low) / 2
        else:
            # Interpolate the rank, aiming a little past k on the far side so that both ends
            # close in: a few steps on smooth data, where halving would take twenty.
            aim = k - slack if k - count_low > count_high - k else k + slack
            aim = min(max(aim, count_low + 1), count_high - 1)
            middle = low + (high - low) * ((aim - count_low) / gap)
        if not low < middle < high:
            middle = low + (high - low) / 2
            if not low < middle < high:  # no float between them: what is left equals high
                return high
        count = _count_at_most(x, y, middle)
        if count >= k:
            high, count_high = middle, count
        else:
            low, count_low = middle, count
        # Interpolation that did not halve the gap (skewed or tied data) gives way to halving.
        halve = not halve and count_high - count_low > gap / 2
    starts = map(bisect.bisect_left, itertools.repeat(y), [v - high for v in x])
    stops = map(bisect.bisect_left, itertools.repeat(y), [v - low for v in x])
    between = [v - w for v, a, b in zip(x, starts, stops, strict=True) if b > a for w in y[a:b]]
    between.sort()
    # Listed with the same comparisons as counted: exactly count_high - count_low of them.
    return between[k - count_low - 1]
