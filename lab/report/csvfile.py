"""The CSV report: one row per run, every statistic in its own column."""

from __future__ import annotations

import csv
import io
from typing import Any

from lab.report.cells import params_label
from lab.results.model import Report

CSV_COLUMNS = [
    "scenario", "run_id", "executor", "workers", "status", "error", "unit", "tasks", "repeats",
    "wall_median_s", "wall_mean_s", "wall_stdev_s", "wall_min_s", "wall_max_s", "wall_mad_s",
    "throughput", "speedup", "efficiency", "cpu_seconds", "cpu_cores", "cpu_utilisation",
    "startup_s", "peak_rss_bytes", "peak_uss_bytes", "latency_p50_s", "latency_p95_s",
    "latency_p99_s", "error_count", "start_method", "params",
    "wall_ci_low_s", "wall_ci_high_s", "wall_ci_confidence", "outliers", "loops",
    "speedup_ci_low", "speedup_ci_high", "speedup_p", "speedup_significant", "warnings",
]  # fmt: skip


def csv_rows(report: Report) -> list[dict[str, Any]]:
    rows = []
    for result in report.scenarios:
        for run in result.runs:
            s = run.summary
            wall = s.get("wall_seconds") or {}
            lat = s.get("latency") or {}
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
                    "wall_median_s": wall.get("median"),
                    "wall_mean_s": wall.get("mean"),
                    "wall_stdev_s": wall.get("stdev"),
                    "wall_min_s": wall.get("min"),
                    "wall_max_s": wall.get("max"),
                    "wall_mad_s": wall.get("mad"),
                    "throughput": (s.get("throughput") or {}).get("value"),
                    "speedup": s.get("speedup"),
                    "efficiency": s.get("efficiency"),
                    "cpu_seconds": (s.get("cpu_seconds") or {}).get("median"),
                    "cpu_cores": s.get("cpu_cores"),
                    "cpu_utilisation": s.get("cpu_utilisation"),
                    "startup_s": run.startup_seconds,
                    "peak_rss_bytes": run.peak_rss_bytes,
                    "peak_uss_bytes": run.peak_uss_bytes,
                    "latency_p50_s": lat.get("p50"),
                    "latency_p95_s": lat.get("p95"),
                    "latency_p99_s": lat.get("p99"),
                    "error_count": s.get("error_count", 0),
                    "start_method": run.start_method or "",
                    "params": params_label(run),
                    **_statistics_columns(s),
                }
            )
    return rows


def _statistics_columns(s: dict[str, Any]) -> dict[str, Any]:
    wall = s.get("wall_seconds") or {}
    test = s.get("versus_baseline") or {}
    return {
        "wall_ci_low_s": wall.get("ci_low"),
        "wall_ci_high_s": wall.get("ci_high"),
        "wall_ci_confidence": wall.get("ci_confidence"),
        "outliers": " ".join(str(i) for i in s.get("outliers") or []),
        "loops": s.get("loops"),
        "speedup_ci_low": test.get("ratio_low"),
        "speedup_ci_high": test.get("ratio_high"),
        "speedup_p": test.get("p_value"),
        "speedup_significant": test.get("significant"),
        "warnings": " | ".join(w["message"] for w in s.get("warnings") or []),
    }


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(report):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
