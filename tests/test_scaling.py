"""Amdahl and USL fits on synthetic throughput with known parameters."""

from __future__ import annotations

import pytest

from lab.analysis.scaling import amdahl, fit, fit_scenario, usl
from tests.synthetic import run, scenario

WORKERS = (1, 2, 4, 8, 16, 32, 64)


def test_perfectly_parallel_fits_serial_fraction_near_zero() -> None:
    f = fit([(n, 100.0 * n) for n in WORKERS])
    assert f.amdahl is not None and f.usl is not None
    assert f.amdahl.sigma == pytest.approx(0.0, abs=1e-6)
    assert f.usl.sigma == pytest.approx(0.0, abs=1e-6)
    assert f.usl.kappa == pytest.approx(0.0, abs=1e-9)
    assert f.amdahl.lam == pytest.approx(100.0, rel=1e-6)
    assert f.usl.peak_workers is None  # no finite peak: still rising
    assert any("stopped before the peak" in w for w in f.warnings)


def test_fully_serial_fits_serial_fraction_near_one() -> None:
    f = fit([(n, 100.0) for n in WORKERS])
    assert f.amdahl is not None and f.usl is not None
    assert f.amdahl.sigma == pytest.approx(1.0, abs=1e-6)
    assert f.usl.predict(64) == pytest.approx(100.0, rel=1e-3)
    assert not any("stopped before the peak" in w for w in f.warnings)


@pytest.mark.parametrize("sigma", [0.05, 0.3, 0.8])
def test_amdahl_serial_fraction_recovered(sigma: float) -> None:
    f = fit([(n, amdahl(n, 50.0, sigma)) for n in WORKERS])
    assert f.amdahl is not None
    assert f.amdahl.sigma == pytest.approx(sigma, abs=1e-6)
    assert f.amdahl.peak_throughput == pytest.approx(50.0 / sigma, rel=1e-4)  # the ceiling λ/σ
    assert f.amdahl.rmse < 1e-6


@pytest.mark.parametrize(("sigma", "kappa"), [(0.05, 0.002), (0.02, 0.0005), (0.1, 0.05)])
def test_usl_contention_and_coherency_recovered(sigma: float, kappa: float) -> None:
    f = fit([(n, usl(n, 100.0, sigma, kappa)) for n in WORKERS])
    assert f.usl is not None
    assert f.usl.sigma == pytest.approx(sigma, rel=1e-3, abs=1e-5)
    assert f.usl.kappa == pytest.approx(kappa, rel=1e-3)
    peak = ((1 - sigma) / kappa) ** 0.5
    assert f.usl.peak_workers == pytest.approx(peak, rel=1e-3)
    assert f.usl.peak_throughput == pytest.approx(usl(peak, 100.0, sigma, kappa), rel=1e-4)


def test_usl_with_noise_stays_close() -> None:
    noise = [1.01, 0.99, 1.02, 0.98, 1.0, 1.01, 0.99]
    pts = [(n, usl(n, 100.0, 0.05, 0.002) * e) for n, e in zip(WORKERS, noise, strict=True)]
    f = fit(pts)
    assert f.usl is not None
    assert f.usl.sigma == pytest.approx(0.05, abs=0.02)
    assert f.usl.peak_workers == pytest.approx(21.8, rel=0.25)


def test_too_few_points_are_warned_about() -> None:
    one = fit([(1, 100.0)])
    assert one.amdahl is None and one.usl is None
    assert "at least 2" in one.warnings[0]
    two = fit([(1, 100.0), (2, 180.0)])
    assert two.amdahl is not None and two.usl is None
    assert any("USL needs at least 3" in w for w in two.warnings)
    three = fit([(1, 100.0), (2, 180.0), (4, 300.0)])
    assert three.usl is not None
    assert any("indicative only" in w for w in three.warnings)


def test_peak_beyond_the_sweep_is_warned_and_a_measured_peak_is_not() -> None:
    before = fit([(n, usl(n, 100.0, 0.02, 0.0005)) for n in (1, 2, 4, 8)])
    assert any("about 44 workers" in w for w in before.warnings)
    past = fit([(n, usl(n, 100.0, 0.1, 0.05)) for n in (1, 2, 4, 8, 16)])
    assert not any("stopped before the peak" in w for w in past.warnings)


def test_curve_is_speedup_against_the_baseline() -> None:
    f = fit([(n, 100.0 * n) for n in (1, 2, 4, 8)], baseline=100.0)
    curve = f.curve("usl", upto=8)
    assert curve[0] == pytest.approx((1.0, 1.0))
    assert curve[-1][0] == pytest.approx(8.0)
    assert curve[-1][1] == pytest.approx(8.0, rel=1e-6)
    assert fit([(1, 5.0)]).curve() == []


def test_fit_scenario_uses_each_pool_and_skips_serial_failures_and_sweeps() -> None:
    result = scenario(
        "s",
        "numeric",
        [
            run("serial", 1, 100),
            run("processes", 1, 100),
            run("processes", 2, 190),
            run("processes", 4, 340),
            run("processes", 8, 1, status="failed"),
            run("processes", 2, 9999, params={"task_us": 100}),
            run("threads", 2, 100),
        ],
    )
    fits = fit_scenario(result)
    assert list(fits) == ["processes", "threads"]
    assert [n for n, _ in fits["processes"].points] == [1.0, 2.0, 4.0]
    assert fits["processes"].baseline == pytest.approx(100.0)
    assert fits["processes"].amdahl is not None
    assert fits["threads"].amdahl is None  # one worker count only
    data = fits["processes"].to_json()
    assert data["usl"]["sigma"] >= 0 and data["points"][0] == [1.0, pytest.approx(100.0)]
