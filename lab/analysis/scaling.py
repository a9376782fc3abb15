"""Scaling models fitted to throughput against worker count: Amdahl's law and the USL.

    Amdahl:  X(N) = λ·N / (1 + σ·(N − 1))                     σ: serial fraction
    USL:     X(N) = λ·N / (1 + σ·(N − 1) + κ·N·(N − 1))        σ: contention, κ: coherency

Both are fitted by least squares in pure Python. For fixed (σ, κ) the model is linear in λ,
so λ has a closed form and only σ (Amdahl) or σ and κ (USL) are searched: a grid, then a
bounded pattern search from the best grid point. That is exact enough for a handful of
points and needs neither numpy nor scipy.

Everything here is plain data: the app draws `ScalingFit.curve()` over the measured points.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lab.results.model import RunResult, ScenarioResult
from lab.scenario.models import is_baseline

Point = tuple[float, float]  # (workers, throughput)

_KAPPA_GRID = [0.0] + [10 ** (e / 10) for e in range(-70, 1)]  # 1e-7 .. 1
_SIGMA_GRID = [i / 100 for i in range(101)]


@dataclass
class ModelFit:
    """One fitted law. `peak_workers` is None when the law has no finite peak."""

    model: str  # "amdahl" or "usl"
    lam: float  # throughput of one worker, as the law sees it
    sigma: float  # Amdahl: serial fraction; USL: contention
    kappa: float  # USL: coherency (0 for Amdahl)
    rmse: float  # root mean square error, relative to the mean measured throughput
    peak_workers: float | None
    peak_throughput: float | None  # at the peak, or the ceiling λ/σ when the law has no peak

    def predict(self, workers: float) -> float:
        return usl(workers, self.lam, self.sigma, self.kappa)


@dataclass
class ScalingFit:
    """The fits for one executor in one scenario."""

    executor: str
    unit: str  # the workload's unit ("tasks", "MB"); throughput is unit per second
    points: list[Point]  # median throughput per worker count, sorted by workers
    baseline: float | None  # the serial throughput speedups are measured against
    amdahl: ModelFit | None = None
    usl: ModelFit | None = None
    warnings: list[str] = field(default_factory=list)

    def curve(self, model: str = "usl", upto: float | None = None, steps: int = 60) -> list[Point]:
        """Points of the fitted law from 1 worker to `upto` (default: past the last point).

        Values are speedups against the serial baseline where there is one, else throughput.
        """
        fit = self.usl if model == "usl" else self.amdahl
        if fit is None or not self.points:
            return []
        top = upto or max(self.points[-1][0] * 1.5, (fit.peak_workers or 0) * 1.2, 2)
        scale = self.baseline or 1.0
        out = []
        for i in range(steps + 1):
            n = 1 + (top - 1) * i / steps
            out.append((n, fit.predict(n) / scale))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "executor": self.executor,
            "unit": self.unit,
            "points": [[w, x] for w, x in self.points],
            "baseline": self.baseline,
            "amdahl": asdict(self.amdahl) if self.amdahl else None,
            "usl": asdict(self.usl) if self.usl else None,
            "warnings": self.warnings,
        }


def usl(n: float, lam: float, sigma: float, kappa: float) -> float:
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


def amdahl(n: float, lam: float, sigma: float) -> float:
    return usl(n, lam, sigma, 0.0)


def _profile(points: Sequence[Point], sigma: float, kappa: float) -> tuple[float, float]:
    """Best λ for fixed (σ, κ) and the sum of squared errors it leaves."""
    sxg = sgg = sxx = 0.0
    for n, x in points:
        g = n / (1 + sigma * (n - 1) + kappa * n * (n - 1))
        sxg += x * g
        sgg += g * g
        sxx += x * x
    lam = sxg / sgg if sgg > 0 else 0.0
    return lam, max(0.0, sxx - lam * sxg)


def _pattern_search(
    cost: Callable[[list[float]], float],
    start: list[float],
    steps: list[float],
    bounds: list[tuple[float, float]],
    tolerance: float = 1e-12,
    max_evaluations: int = 20_000,
) -> list[float]:
    """Bounded compass search: try ± each step, halve the steps when nothing improves."""
    best = list(start)
    best_cost = cost(best)
    evaluations = 1
    steps = list(steps)
    while max(steps) > tolerance and evaluations < max_evaluations:
        improved = False
        for i, step in enumerate(steps):
            for direction in (1.0, -1.0):
                trial = list(best)
                lo, hi = bounds[i]
                trial[i] = min(hi, max(lo, trial[i] + direction * step))
                if trial[i] == best[i]:
                    continue
                c = cost(trial)
                evaluations += 1
                if c < best_cost:
                    best, best_cost, improved = trial, c, True
                    break
        if not improved:
            steps = [s / 2 for s in steps]
    return best


def _rmse(points: Sequence[Point], predict: Callable[[float], float]) -> float:
    mean = statistics.fmean(x for _, x in points)
    if mean <= 0:
        return 0.0
    mse = statistics.fmean((predict(n) - x) ** 2 for n, x in points)
    return math.sqrt(mse) / mean


def fit_amdahl(points: Sequence[Point]) -> ModelFit:
    """Least-squares Amdahl fit: σ in [0, 1] is the serial fraction."""
    best_sigma = min(_SIGMA_GRID, key=lambda s: _profile(points, s, 0.0)[1])
    (sigma,) = _pattern_search(
        lambda p: _profile(points, p[0], 0.0)[1], [best_sigma], [0.01], [(0.0, 1.0)]
    )
    lam, _ = _profile(points, sigma, 0.0)
    ceiling = lam / sigma if sigma > 1e-9 else None
    return ModelFit(
        "amdahl",
        lam,
        sigma,
        0.0,
        _rmse(points, lambda n: amdahl(n, lam, sigma)),
        peak_workers=None,
        peak_throughput=ceiling,
    )


def fit_usl(points: Sequence[Point]) -> ModelFit:
    """Least-squares USL fit: σ in [0, 1] (contention), κ ≥ 0 (coherency)."""
    top_n = max(n for n, _ in points)
    kappa_max = 1.0 if top_n <= 1 else max(1.0, 10.0 / top_n)
    grid = [(s, k) for s in _SIGMA_GRID for k in _KAPPA_GRID]
    s0, k0 = min(grid, key=lambda p: _profile(points, p[0], p[1])[1])
    sigma, kappa = _pattern_search(
        lambda p: _profile(points, p[0], p[1])[1],
        [s0, k0],
        [0.01, max(k0, 1e-4) / 2],
        [(0.0, 1.0), (0.0, kappa_max)],
    )
    lam, _ = _profile(points, sigma, kappa)
    if kappa > 1e-12:
        # Below one worker the peak is at 1: any worker added only loses throughput.
        peak = max(1.0, math.sqrt(max(0.0, 1 - sigma) / kappa))
        peak_n: float | None = peak
        peak_x: float | None = usl(peak, lam, sigma, kappa)
    else:
        peak_n, peak_x = None, (lam / sigma if sigma > 1e-9 else None)
    return ModelFit(
        "usl",
        lam,
        sigma,
        kappa,
        _rmse(points, lambda n: usl(n, lam, sigma, kappa)),
        peak_workers=peak_n,
        peak_throughput=peak_x,
    )


def fit(
    points: Sequence[Point],
    executor: str = "",
    unit: str = "",
    baseline: float | None = None,
) -> ScalingFit:
    """Fit both laws to one executor's (workers, throughput) points and say what to distrust."""
    by_n: dict[float, list[float]] = {}
    for n, x in points:
        if n >= 1 and x > 0 and math.isfinite(x):
            by_n.setdefault(float(n), []).append(float(x))
    pts = sorted((n, statistics.median(xs)) for n, xs in by_n.items())
    result = ScalingFit(executor, unit, pts, baseline)
    distinct = len(pts)
    if distinct < 2:
        result.warnings.append(
            f"{distinct} worker count{'s' if distinct != 1 else ''} measured: "
            "a scaling fit needs at least 2 (Amdahl) or 3 (USL)"
        )
        return result
    result.amdahl = fit_amdahl(pts)
    if distinct < 3:
        result.warnings.append("2 worker counts measured: Amdahl only; the USL needs at least 3")
        return result
    result.usl = fit_usl(pts)
    if distinct == 3:
        result.warnings.append(
            "3 worker counts for 3 USL parameters: the fit passes through every point, "
            "so σ and κ are indicative only (measure 4 or more worker counts)"
        )
    top = pts[-1][0]
    law = result.usl
    if law.peak_workers is not None and round(law.peak_workers) > top:
        result.warnings.append(
            f"the sweep stopped before the peak: the USL puts it at about "
            f"{law.peak_workers:.0f} workers, beyond the largest measured ({top:g})"
        )
    elif law.peak_workers is None and law.predict(2 * top) > 1.05 * law.predict(top):
        gain = law.predict(2 * top) / law.predict(top) - 1
        result.warnings.append(
            f"the sweep stopped before the peak: throughput was still rising at {top:g} "
            f"workers (the fit predicts +{100 * gain:.0f}% at {2 * top:g}) and no decline "
            "was measured, so no peak can be placed"
        )
    return result


def _ok(run: RunResult) -> bool:
    return run.status == "ok" and bool(run.summary.throughput.value)


def main_runs(result: ScenarioResult) -> list[RunResult]:
    """The scenario's own matrix, without the runs of a parameter sweep."""
    return [r for r in result.runs if result.at_base(r)]


def serial_throughput(runs: Sequence[RunResult]) -> float | None:
    base = next((r for r in runs if is_baseline(r.executor) and _ok(r)), None)
    return base.summary.throughput.value if base else None


def fit_scenario(result: ScenarioResult) -> dict[str, ScalingFit]:
    """One ScalingFit per pool executor (serial has nothing to scale), in report order."""
    runs = main_runs(result)
    baseline = serial_throughput(runs)
    fits: dict[str, ScalingFit] = {}
    for executor in dict.fromkeys(r.executor for r in runs):
        if is_baseline(executor):
            continue
        mine = [r for r in runs if r.executor == executor and _ok(r)]
        unit = next((r.unit for r in runs if r.executor == executor), "")
        points = [(float(r.workers), r.summary.throughput.value or 0.0) for r in mine]
        fits[executor] = fit(points, executor, unit, baseline)
    return fits
