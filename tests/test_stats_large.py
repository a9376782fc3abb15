"""Statistics that stay O(n log n) with many repeats (issue 14, item 9) give the same answers
as the exact, all-pairs methods they replace. Timing lives in benchmarks/stats_scaling.py."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from lab.core import stats
from lab.core.order import kth_difference


def exact_median_rank(n: int, confidence: float = stats.CONFIDENCE) -> tuple[int, float]:
    """The textbook way, in exact fractions: P(X <= k) = sum of C(n, i) / 2^n for i <= k."""
    tail = Fraction(1 - confidence) / 2
    cdf: list[Fraction] = []
    total = 0
    for i in range((n + 1) // 2 + 1):
        total += math.comb(n, i)
        cdf.append(Fraction(total, 2**n))
    j = 1
    while j + 1 <= (n + 1) // 2 and cdf[j] <= tail:
        j += 1
    return j, float(1 - 2 * cdf[j - 1]) if n > 1 else 0.0


@pytest.mark.parametrize("n", [*range(1, 80), 199, 2000, 2001, 2345])
def test_median_interval_matches_exact_binomial_sums(n: int) -> None:
    values = [float(i) for i in range(n)]
    random.Random(n).shuffle(values)
    low, high, achieved = stats.median_interval(values)
    j, exact = exact_median_rank(n)
    assert (low, high) == (float(j - 1), float(n - j))
    assert achieved == pytest.approx(exact, abs=1e-12)


def test_median_interval_of_100000_repeats_is_the_normal_one() -> None:
    n = 100_000
    values = [float(i) for i in range(n)]
    low, high, achieved = stats.median_interval(values)
    assert low is not None and high is not None and achieved is not None
    expected = n / 2 - 1.959964 * math.sqrt(n) / 2  # normal approximation of the rank
    assert abs(low - expected) <= 2 and high == n - 1 - low
    assert 0.95 <= achieved < 0.9505


def brute_kth(x: list[float], y: list[float], k: int) -> float:
    return sorted(a - b for a in x for b in y)[k - 1]


@pytest.mark.parametrize("shape", ["lognormal", "ties", "pareto", "equal"])
def test_kth_difference_matches_sorting_every_pair(shape: str) -> None:
    rng = random.Random(shape)

    def draw() -> float:
        if shape == "lognormal":
            return rng.lognormvariate(0, 0.3)
        if shape == "ties":
            return float(rng.randint(1, 4))
        if shape == "pareto":
            return rng.paretovariate(1.1)
        return 2.0

    for _ in range(60):
        m, n = rng.randint(1, 70), rng.randint(1, 70)
        x = sorted(math.log(draw()) for _ in range(m))
        y = sorted(math.log(draw()) for _ in range(n))
        for k in {1, m * n, max(1, m * n // 40), rng.randint(1, m * n)}:
            assert kth_difference(x, y, k) == pytest.approx(
                brute_kth(x, y, k), rel=1e-12, abs=1e-12
            )


def test_kth_difference_refuses_a_rank_outside_the_pairs() -> None:
    with pytest.raises(ValueError):
        kth_difference([1.0], [1.0], 2)


def test_ratio_interval_above_the_all_pairs_limit_matches_all_pairs() -> None:
    rng = random.Random(9)
    a = [rng.lognormvariate(0, 0.1) for _ in range(130)]
    b = [rng.lognormvariate(0.05, 0.1) for _ in range(140)]
    assert len(a) * len(b) > stats.ALL_PAIRS_LIMIT
    low, high, achieved = stats.ratio_interval(a, b)
    k, confidence = stats._u_critical(len(a), len(b), stats.CONFIDENCE)
    diffs = sorted(math.log(x) - math.log(y) for x in a for y in b)
    assert low == pytest.approx(math.exp(diffs[k - 1]), rel=1e-12)
    assert high == pytest.approx(math.exp(diffs[-k]), rel=1e-12)
    assert achieved == confidence


def test_compare_samples_of_thousands_of_repeats_finds_a_two_percent_change() -> None:
    rng = random.Random(4)
    a = [rng.lognormvariate(0, 0.05) for _ in range(5000)]
    b = [1.02 * rng.lognormvariate(0, 0.05) for _ in range(5000)]
    c = stats.compare_samples(b, a)
    assert c.method == "normal" and c.significant
    assert c.ratio_low is not None and c.ratio_high is not None
    assert c.ratio_low < 1.02 < c.ratio_high and c.ratio_low > 1.0
