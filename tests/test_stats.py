"""Statistics on synthetic samples with known answers (no timing anywhere)."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from lab.core import stats


def brute_force_p(a: list[float], b: list[float]) -> float:
    """Two-sided permutation p-value of the rank sum, by listing every split of the pool."""
    pooled = [*a, *b]
    ranks = stats._ranks(pooled)
    m, n = len(a), len(pooled)
    expected = m * (n + 1) / 2
    observed = abs(sum(ranks[:m]) - expected)
    splits = list(itertools.combinations(range(n), m))
    extreme = sum(1 for s in splits if abs(sum(ranks[i] for i in s) - expected) >= observed - 1e-9)
    return extreme / len(splits)


def test_describe_keeps_old_keys_and_adds_the_interval() -> None:
    d = stats.describe([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert {"n", "median", "mean", "stdev", "min", "max", "mad"} <= set(d)
    assert d["median"] == 5.5 and d["mean"] == 5.5 and d["mad"] == 2.5
    assert d["stdev"] == pytest.approx(3.0276503540974917)
    # n = 10: the order statistics x(2) and x(9) cover the median with 1 - 22/1024.
    assert (d["ci_low"], d["ci_high"]) == (2, 9)
    assert d["ci_confidence"] == pytest.approx(1 - 22 / 1024)
    assert d["relative_spread"] == pytest.approx(2.5 / 5.5)


def test_describe_empty_and_single() -> None:
    assert stats.describe([])["median"] is None
    one = stats.describe([3.0])
    assert one["stdev"] == 0.0 and one["ci_low"] == one["ci_high"] == 3.0
    assert one["ci_confidence"] == 0.0


@pytest.mark.parametrize(
    ("n", "ranks", "confidence"),
    [
        (2, (1, 2), 0.5),
        (5, (1, 5), 1 - 2 / 32),  # five values cannot reach 95%: [min, max] is 93.75%
        (6, (1, 6), 1 - 2 / 64),
        (10, (2, 9), 1 - 22 / 1024),
        (20, (6, 15), 1 - 2 * 21700 / 2**20),
    ],
)
def test_median_interval_order_statistics(
    n: int, ranks: tuple[int, int], confidence: float
) -> None:
    values = list(range(1, n + 1))
    random.Random(n).shuffle(values)
    low, high, achieved = stats.median_interval(values)
    assert (low, high) == ranks
    assert achieved == pytest.approx(confidence)


def test_modified_z_scores_and_outliers() -> None:
    values = [10.0, 10.1, 9.9, 10.05, 9.95, 15.0]
    assert stats.outliers(values) == [5]
    scores = stats.modified_z_scores(values)
    # median 10.025, MAD 0.075: 0.6745 * 4.975 / 0.075
    assert scores[5] == pytest.approx(0.6745 * 4.975 / 0.075)


def test_outliers_when_mad_is_zero_use_the_mean_absolute_deviation() -> None:
    # More than half equal: MAD = 0; mean absolute deviation 0.8 takes its place.
    assert stats.outliers([1.0, 1.0, 1.0, 1.0, 5.0]) == [4]
    assert stats.outliers([2.0, 2.0, 2.0]) == []
    assert stats.outliers([1.0, 9.0]) == []  # too few values to call anything an outlier


def test_first_is_slow() -> None:
    assert stats.first_is_slow([1.6, 1.0, 1.01, 0.99, 1.02])
    assert not stats.first_is_slow([1.0, 1.6, 1.01, 0.99, 1.02])  # slow, but not the first
    assert not stats.first_is_slow([1.03, 1.0, 1.01, 0.99, 1.02])  # first, but not an outlier


def test_mann_whitney_exact_known_values() -> None:
    # Complete separation of 5 and 5: the two most extreme of C(10, 5) = 252 splits.
    result = stats.mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert result is not None
    assert result.u == 0 and result.method == "exact"
    assert result.p_value == pytest.approx(2 / 252)
    # 3 and 3 can never be significant: the best possible p is 2 / 20.
    result = stats.mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert result is not None and result.p_value == pytest.approx(0.1)
    # Identical samples: p = 1.
    result = stats.mann_whitney_u([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0])
    assert result is not None and result.p_value == 1.0
    assert stats.mann_whitney_u([], [1.0]) is None


@pytest.mark.parametrize("seed", range(6))
def test_mann_whitney_exact_matches_brute_force_with_ties(seed: int) -> None:
    rng = random.Random(seed)
    a = [float(rng.randint(0, 6)) for _ in range(rng.randint(2, 7))]
    b = [float(rng.randint(2, 8)) for _ in range(rng.randint(2, 7))]
    result = stats.mann_whitney_u(a, b)
    assert result is not None
    assert result.p_value == pytest.approx(brute_force_p(a, b))
    # U counts the pairs with a > b, ties counting one half.
    assert result.u == sum((x > y) + 0.5 * (x == y) for x in a for y in b)


def test_mann_whitney_normal_approximation_is_close_to_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(7)
    a = [rng.gauss(0, 1) for _ in range(14)]
    b = [rng.gauss(0.8, 1) for _ in range(14)]
    exact = stats.mann_whitney_u(a, b)
    monkeypatch.setattr(stats, "EXACT_LIMIT", 0)
    normal = stats.mann_whitney_u(a, b)
    assert exact is not None and normal is not None
    assert normal.method == "normal"
    assert normal.p_value == pytest.approx(exact.p_value, abs=0.01)


def test_u_critical_values() -> None:
    # m = n = 5: P(U <= 2) = 4/252 <= 0.025 < P(U <= 3) = 7/252.
    k, achieved = stats._u_critical(5, 5, 0.95)
    assert k == 3 and achieved == pytest.approx(1 - 8 / 252)
    assert stats._u_critical(2, 2, 0.95)[0] == 0


def test_ratio_interval_brackets_a_known_ratio() -> None:
    base = [1.00, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97]
    twice = [2 * x for x in reversed(base)]
    low, high, achieved = stats.ratio_interval(twice, base)
    assert low is not None and high is not None and achieved is not None
    assert low < 2 < high
    assert low > 1.9 and high < 2.1
    assert achieved >= 0.95


def test_ratio_interval_tiny_samples_say_how_little_they_are_worth() -> None:
    low, high, achieved = stats.ratio_interval([2.0, 2.2], [1.0, 1.1])
    assert (low, high) == (pytest.approx(2.0 / 1.1), pytest.approx(2.2 / 1.0))
    assert achieved == pytest.approx(1 - 2 / 6)


def test_compare_samples_significant_and_not() -> None:
    slow = [2.0, 2.1, 2.05, 1.95, 2.02]
    fast = [1.0, 1.02, 0.98, 1.01, 0.99]
    c = stats.compare_samples(slow, fast)
    assert c.ratio == pytest.approx(2.02 / 1.0)
    assert c.significant and c.p_value == pytest.approx(2 / 252)
    assert c.ratio_low is not None and c.ratio_high is not None
    assert c.ratio_low <= c.ratio <= c.ratio_high
    assert c.can_be_significant

    same = stats.compare_samples([1.0, 1.1, 0.9, 1.05, 0.95], [1.02, 0.98, 1.07, 0.93, 1.0])
    assert not same.significant and same.p_value is not None and same.p_value > 0.5
    assert same.ratio_low is not None and same.ratio_high is not None
    assert same.ratio_low < 1 < same.ratio_high

    tiny = stats.compare_samples([2.0, 2.1], [1.0, 1.1])
    assert not tiny.significant and not tiny.can_be_significant
    data = tiny.to_json()
    assert data["can_be_significant"] is False and data["n_a"] == 2


def test_significance_and_interval_agree_on_untied_data() -> None:
    rng = random.Random(3)
    for _ in range(40):
        a = [rng.uniform(1, 2) for _ in range(6)]
        shift = rng.uniform(0.9, 1.4)
        b = [shift * rng.uniform(1, 2) for _ in range(6)]
        c = stats.compare_samples(a, b)
        assert c.ratio_low is not None and c.ratio_high is not None
        excludes_one = c.ratio_high < 1 or c.ratio_low > 1
        assert excludes_one == c.significant, (a, b, c)


def test_binomial_helper() -> None:
    assert stats._binomial_cdf_half(4, 4) == 1.0
    assert stats._binomial_cdf_half(4, -1) == 0.0
    assert stats._binomial_cdf_half(10, 1) == pytest.approx(11 / 1024)
    assert math.isnan(stats.mad([]))
