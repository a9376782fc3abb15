"""What the results grid and the speedup chart show, from the engine's own results.

The cells are `lab.report.formats.run_cells`, the same text the Markdown report prints, so
the app and `--report` show one set of numbers; the chart's measured points and fitted curves
are `lab.analysis.scaling`'s, from `lab.analysis.verdicts.analyse_scenario`. No Textual here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lab.analysis.analyse import ScenarioAnalysis
from lab.analysis.summarise import finalise_scenario
from lab.report.cells import run_cells, significant_winner
from lab.results.model import RunResult, ScenarioResult
from lab.scenario.kinds import traits as kind_traits

# (key, header) in the report's column order; latency and errors only for HTTP workloads.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("executor", "executor"),
    ("workers", "workers"),
    ("params", "sweep"),
    ("time", "time (median ±MAD)"),
    ("throughput", "throughput"),
    ("speedup", "speedup (95% CI)"),
    ("efficiency", "efficiency"),
    ("cpu", "cpu"),
    ("memory", "memory"),
    ("startup", "startup"),
    ("latency", "latency p50/p95/p99"),
    ("errors", "errors"),
    ("status", "status"),
)
LATENCY_COLUMNS = ("latency", "errors")
# The columns that fit 80 terminal columns; the rest are in a run's details (enter) and in
# the full set (f). Units move to the header where the cell would repeat them.
COMPACT = ("executor", "workers", "params", "time", "speedup", "cpu", "memory", "errors", "status")
COMPACT_HEADERS = {"time": "time ±MAD", "speedup": "speedup", "cpu": "cores"}
# Which way is better, per column with a "best" (cpu use is neither good nor bad).
BEST: dict[str, Callable[[list[float]], float]] = {
    "time": min,
    "throughput": max,
    "speedup": max,
    "efficiency": max,
    "memory": min,
    "startup": min,
    "latency": min,
    "errors": min,
}
BEST_MARK = " *"
SPEED_COLUMNS = ("time", "throughput", "speedup", "efficiency")


def columns_for(
    result: ScenarioResult, compact: bool = False, live: bool = False
) -> list[tuple[str, str]]:
    """The report's columns for this scenario: latency for HTTP, `sweep` when it has sweep runs.

    Compact: the columns of `COMPACT`, with the sweep's parameter names as its header; the
    status only while some run is not ok (queued, running, failed).
    """
    http = kind_traits(result.workload.get("kind")).measures_latency
    sweep = any(r.params for r in result.runs)
    columns = [
        c for c in COLUMNS if (http or c[0] not in LATENCY_COLUMNS) and (sweep or c[0] != "params")
    ]
    if not compact:
        return columns
    names = ", ".join(dict.fromkeys(k for r in result.runs for k in r.params)) or "sweep"
    headers = {**COMPACT_HEADERS, "params": names}
    status = live or any(r.status != "ok" for r in result.runs)
    return [
        (key, headers.get(key, header))
        for key, header in columns
        if key in COMPACT and (status or key != "status")
    ]


def compact_cells(cells: dict[str, str], run: RunResult) -> dict[str, str]:
    """The cells of the compact set: the speedup with its significance but not its interval
    (`1.82×`, `0.98× n.s.`, `0.98× ?` when too few repeats to test), cores without the unit
    its header names, a sweep's values without the names its header holds."""
    speedup = cells["speedup"]
    if speedup != "–" and cells["significance"] == "n.s.":
        speedup += " n.s."
    elif speedup != "–" and cells["significance"]:
        speedup += " ?"
    cores = run.summary.cpu_cores
    values = ", ".join(
        f"{v:g}" if isinstance(v, int | float) else str(v) for v in run.params.values()
    )
    return {
        **cells,
        "speedup": speedup,
        "cpu": f"{cores:.2f}" if cores is not None else "–",
        "params": values,
    }


def speedup_text(cells: dict[str, str]) -> str:
    """The speedup with its 95% interval, compactly: `1.82× (1.80–1.85)`, `n.s.` when not
    significantly different from the baseline, `(<4 repeats)` when no test could say."""
    text = cells["speedup"]
    if text == "–":
        return text
    if cells["speedup_ci"]:
        text += f" {cells['speedup_ci']}"
    if cells["significance"] == "n.s.":
        text += " n.s."
    elif cells["significance"]:
        text += " (<4 repeats)"
    return text


def sort_value(run: RunResult, column: str) -> Any:
    """A number (or string) to sort a column by; None sorts last."""
    s = run.summary
    values: dict[str, Any] = {
        "executor": run.executor,
        "workers": run.workers,
        "params": run_cells(run)["params"] if run.params else None,
        "time": s.wall_seconds.median,
        "throughput": s.throughput.value,
        "speedup": s.speedup,
        "efficiency": s.efficiency,
        "cpu": s.cpu_cores,
        "memory": run.peak_uss_bytes or run.peak_rss_bytes,
        "startup": run.startup_seconds,
        "latency": s.latency.p50 if s.latency else None,
        "errors": s.error_count if run.status == "ok" else None,
        "status": run.status,
    }
    return values.get(column)


def best_runs(result: ScenarioResult) -> dict[str, set[str]]:
    """Per column, the run_ids holding the best value among finished runs.

    Speed columns mark only a significant winner (never a tie). Elsewhere nothing is marked
    when fewer than two runs have a value or all values are equal. The
    baseline is left out of speedup and efficiency: it is 1.00x and 100% by definition. Runs
    of a sweep (`params`) did other work, so they never compete with the scenario's own runs.
    """
    marks: dict[str, set[str]] = {}
    ok = [r for r in result.runs if r.status == "ok" and result.at_base(r)]
    winner = significant_winner(result)
    for column, pick in BEST.items():
        relative = column in ("speedup", "efficiency")
        if column in SPEED_COLUMNS:
            # A speed mark is a claim: only for the tested winner (lab.report.cells), and
            # never the baseline's own 1.00x and 100%.
            if winner is not None and not (relative and winner == result.baseline):
                marks[column] = {winner}
            continue
        values = {
            r.run_id: sort_value(r, column)
            for r in ok
            if not (relative and r.run_id == result.baseline)
        }
        if column == "efficiency":  # above 100% is superlinear: a thing to doubt, not a best
            values = {k: v for k, v in values.items() if v is not None and v <= 1.0}
        present = {k: v for k, v in values.items() if v is not None}
        if len(present) < 2 or len(set(present.values())) < 2:
            continue
        best = pick(list(present.values()))
        marks[column] = {k for k, v in present.items() if v == best}
    return marks


@dataclass(frozen=True)
class CellValue:
    text: str
    sort: Any
    best: bool = False


def grid_cells(
    result: ScenarioResult, live_status: dict[str, str] | None = None, compact: bool = False
) -> dict[str, dict[str, CellValue]]:
    """run_id -> column -> cell. `live_status` overrides the status of runs still to come."""
    marks = best_runs(result)
    columns = [c for c, _ in columns_for(result, compact, live=bool(live_status))]
    rows: dict[str, dict[str, CellValue]] = {}
    for run in result.runs:
        cells = run_cells(run)
        cells = compact_cells(cells, run) if compact else {**cells, "speedup": speedup_text(cells)}
        if live_status and run.run_id in live_status:
            cells["status"] = live_status[run.run_id]
        elif run.error and run.status != "ok":
            cells["status"] = f"{run.status}: {run.error.message}"
        rows[run.run_id] = {
            c: CellValue(cells[c], sort_value(run, c), run.run_id in marks.get(c, set()))
            for c in columns
        }
    return rows


def preview(result: ScenarioResult, usable_cpus: int) -> ScenarioResult:
    """Speedups of a scenario still running, by the engine's own `finalise`, on a copy.

    The session's result is left untouched; the engine finalises it when the scenario ends.
    """
    shown = copy.copy(result)
    shown.runs = [copy.copy(r) for r in result.runs]
    finalise_scenario(shown, usable_cpus)
    return shown


def speedup_series(result: ScenarioResult) -> dict[str, list[tuple[int, float]]]:
    """Executor -> [(workers, speedup)] over the scenario's own finished runs (no sweep runs)."""
    series: dict[str, list[tuple[int, float]]] = {}
    for run in result.runs:
        speedup = run.summary.speedup
        if run.status == "ok" and speedup and result.at_base(run):
            series.setdefault(run.executor, []).append((run.workers, speedup))
    for points in series.values():
        points.sort()
    return series


@dataclass(frozen=True)
class ChartLine:
    """One executor on the speedup chart: measured points and, where fitted, the law's curve."""

    executor: str
    measured: list[tuple[float, float]]  # (workers, speedup)
    curve: list[tuple[float, float]]  # the fitted law, from 1 worker to the largest count
    law: str  # "USL", "Amdahl" or "" (too few worker counts to fit)


def chart_lines(analysis: ScenarioAnalysis) -> list[ChartLine]:
    """Each pool executor's measured speedups and fitted curve (lab.analysis.scaling), in report order.

    Speedups are throughputs over the serial baseline, as in the HTML report's chart; an
    executor without a serial baseline has no speedup and is left out.
    """
    fits = analysis.scaling
    top = max((n for f in fits.values() for n, _ in f.points), default=1.0)
    lines = []
    for name, fit in fits.items():
        if not fit.points or not fit.baseline:
            continue
        measured = [(n, x / fit.baseline) for n, x in fit.points]
        law = "usl" if fit.usl else "amdahl" if fit.amdahl else ""
        curve = [(n, y) for n, y in fit.curve(law, upto=max(top, 2))] if law else []
        lines.append(
            ChartLine(name, measured, curve, {"usl": "USL", "amdahl": "Amdahl"}.get(law, ""))
        )
    return lines
