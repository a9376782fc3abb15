"""The CSV report: one row per run, every statistic in its own column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lab.analysis.axis import split_report
from lab.analysis.openloop import open_loop_run
from lab.core.textsafe import csv_cell
from lab.report.cells import params_label, significant_winner
from lab.results.model import Report, RunResult, ScenarioResult
from lab.results.summary import RunSummary

CSV_COLUMNS = [
    "scenario", "run_id", "executor", "workers", "status", "error", "unit", "tasks", "repeats",
    "wall_median_s", "wall_mean_s", "wall_stdev_s", "wall_min_s", "wall_max_s", "wall_mad_s",
    "throughput", "speedup", "efficiency", "cpu_seconds", "cpu_cores", "cpu_utilisation",
    "startup_s", "peak_rss_bytes", "peak_uss_bytes", "latency_p50_s", "latency_p95_s",
    "latency_p99_s", "error_count", "start_method", "params",
    "wall_ci_low_s", "wall_ci_high_s", "wall_ci_confidence", "outliers", "loops",
    "speedup_ci_low", "speedup_ci_high", "speedup_p", "speedup_significant", "warnings",
    "speedup_p_adjusted", "paired_rounds", "rounds", "seed", "drift", "winner",
    "doubts", "speedup_vs_controls", "minor_faults_per_pass", "major_faults_per_pass",
    "target_rate", "achieved_rate", "rate_held", "late_share", "corrected_p50_s",
    "corrected_p99_s", "corrected_p999_s", "corrected_max_s", "service_p50_s", "service_p99_s",
    "service_p999_s", "service_max_s",
]  # fmt: skip


def csv_rows(report: Report) -> list[dict[str, Any]]:
    report = split_report(report)  # an interpreter axis: each run against its own serial run
    rows = []
    for result in report.scenarios:
        for run in result.runs:
            s = run.summary
            wall = s.wall_seconds
            lat = s.latency
            rows.append(
                {
                    "scenario": result.name,
                    "run_id": run.run_id,
                    "executor": run.executor,
                    "workers": run.workers,
                    "status": run.status,
                    "error": run.error.message if run.error else "",
                    "unit": run.unit,
                    "tasks": run.tasks,
                    "repeats": len(run.repeats),
                    "wall_median_s": wall.median,
                    "wall_mean_s": wall.mean,
                    "wall_stdev_s": wall.stdev,
                    "wall_min_s": wall.min,
                    "wall_max_s": wall.max,
                    "wall_mad_s": wall.mad,
                    "throughput": s.throughput.value,
                    "speedup": s.speedup,
                    "efficiency": s.efficiency,
                    "cpu_seconds": s.cpu_seconds.median,
                    "cpu_cores": s.cpu_cores,
                    "cpu_utilisation": s.cpu_utilisation,
                    "startup_s": run.startup_seconds,
                    "peak_rss_bytes": run.peak_rss_bytes,
                    "peak_uss_bytes": run.peak_uss_bytes,
                    "latency_p50_s": lat.p50 if lat else None,
                    "latency_p95_s": lat.p95 if lat else None,
                    "latency_p99_s": lat.p99 if lat else None,
                    "error_count": s.error_count,
                    "start_method": run.start_method or "",
                    "params": params_label(run),
                    **_statistics_columns(s),
                    **_rounds_columns(result, run),
                    **_open_loop_columns(run),
                }
            )
    return rows


def _open_loop_columns(run: RunResult) -> dict[str, Any]:
    """An open loop's rates and latencies over all of the run's requests (empty otherwise):
    corrected from each request's scheduled time, service from its actual send."""
    figures = open_loop_run(run)
    if figures is None:
        return {}
    columns: dict[str, Any] = {
        "target_rate": figures.rate,
        "achieved_rate": figures.achieved,
        "rate_held": figures.held,
        "late_share": figures.late_share,
    }
    for name, percentiles in (("corrected", figures.corrected), ("service", figures.service)):
        for key in ("p50", "p99", "p999", "max"):
            columns[f"{name}_{key}_s"] = percentiles[key] if percentiles else None
    return columns


def _rounds_columns(result: ScenarioResult, run: RunResult) -> dict[str, Any]:
    """Paired figures, and per scenario (repeated on each row): rounds, seed, drift, winner."""
    test = run.summary.versus_baseline
    rounds = result.rounds or {}
    winner = significant_winner(result)
    paired = bool(getattr(test, "paired", False))
    return {
        "speedup_p_adjusted": getattr(test, "p_adjusted", None),
        "paired_rounds": test.n_a if test is not None and paired else None,
        "rounds": rounds.get("count"),
        "seed": rounds.get("seed"),
        "drift": rounds.get("drift"),
        "winner": ("yes" if winner == run.run_id else "") if winner else "tie",
    }


def _statistics_columns(s: RunSummary) -> dict[str, Any]:
    wall, test = s.wall_seconds, s.versus_baseline
    return {
        "wall_ci_low_s": wall.ci_low,
        "wall_ci_high_s": wall.ci_high,
        "wall_ci_confidence": wall.ci_confidence,
        "outliers": " ".join(str(i) for i in s.outliers),
        "loops": s.loops,
        "speedup_ci_low": test.ratio_low if test else None,
        "speedup_ci_high": test.ratio_high if test else None,
        "speedup_p": test.p_value if test else None,
        "speedup_significant": test.significant if test else None,
        "warnings": " | ".join(w["message"] for w in s.warnings),
        "doubts": " | ".join(s.doubts),
        "speedup_vs_controls": s.versus_controls.ratio if s.versus_controls else None,
        "minor_faults_per_pass": s.minor_faults,
        "major_faults_per_pass": s.major_faults,
    }


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows under a header of these columns; None as an empty cell, every text through
    the CSV sanitiser (one line, formulas neutralised: lab.core.textsafe.csv_cell)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else csv_cell(v) for k, v in row.items()})
    return out.getvalue()


def to_csv(report: Report) -> str:
    return write_csv(CSV_COLUMNS, csv_rows(report))
