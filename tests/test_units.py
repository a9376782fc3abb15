"""The one set of formatters: rates to three significant figures, plurals, p-values."""

from __future__ import annotations

import pytest

from lab.core.units import format_p, format_rate, plural


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 tasks/s"),
        (2.5, "2.5 tasks/s"),
        (99.96, "100 tasks/s"),
        (1234, "1,234 tasks/s"),
        (9999.4, "9,999 tasks/s"),
        (9999.6, "10.0 k tasks/s"),
        (70279, "70.3 k tasks/s"),
        (999_460, "999 k tasks/s"),
        (999_960, "1.00 M tasks/s"),  # not "1000 k"
        (3_551_049.8, "3.55 M tasks/s"),
        (2.1e9, "2.10 G tasks/s"),
    ],
)
def test_rates_keep_three_figures_and_the_unit(value: float, text: str) -> None:
    assert format_rate(value, "tasks") == text


def test_plural_says_one_run_and_two_runs() -> None:
    assert [plural(n, "run") for n in (0, 1, 2, 1200)] == [
        "0 runs",
        "1 run",
        "2 runs",
        "1,200 runs",
    ]


@pytest.mark.parametrize(
    ("p", "text"),
    [(1.0, "p > 0.99"), (0.5, "p = 0.50"), (0.031, "p = 0.031"), (0.0001, "p < 0.001")],
)
def test_p_values_never_read_p_equals_1(p: float, text: str) -> None:
    assert format_p(p) == text
