"""Render a Report as JSON, Markdown, CSV or HTML, and write it atomically."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.noise import group_notices
from lab.report.explain import markdown_claims, markdown_scenario
from lab.report.model import Report, RunResult, ScenarioResult
from lab.stats import TEST_DESCRIPTION, TEST_NAME
from lab.units import format_bytes, format_seconds
from lab.verdicts import analyse_report

FORMATS = ("json", "md", "csv", "html")


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, allow_nan=False) + "\n"


def _fmt_number(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _spread(run: RunResult) -> str:
    wall = run.summary.get("wall_seconds") or {}
    median, mad = wall.get("median"), wall.get("mad")
    if not median or mad is None or wall.get("n", 0) < 2:
        return ""
    return f" ±{100 * mad / median:.0f}%"


def fastest(result: ScenarioResult) -> RunResult | None:
    ok = [
        r
        for r in result.runs
        if r.status == "ok" and not r.params and r.summary.get("wall_seconds", {}).get("median")
    ]
    return min(ok, key=lambda r: r.summary["wall_seconds"]["median"], default=None)


def run_cells(run: RunResult) -> dict[str, str]:
    """The report's columns for one run, formatted for people (Markdown and the app)."""
    s = run.summary
    wall = (s.get("wall_seconds") or {}).get("median")
    tp = (s.get("throughput") or {}).get("value")
    lat = s.get("latency") or {}
    mem = run.peak_uss_bytes or run.peak_rss_bytes
    return {
        "executor": run.executor,
        "workers": str(run.workers),
        "status": run.status if run.status != "ok" else "ok",
        "time": (format_seconds(wall) + _spread(run)) if wall else "–",
        "throughput": f"{_fmt_number(tp)} {run.unit}/s" if tp else "–",
        "speedup": f"{s['speedup']:.2f}×" if s.get("speedup") else "–",
        "efficiency": f"{100 * s['efficiency']:.0f}%" if s.get("efficiency") else "–",
        "cpu": f"{s['cpu_cores']:.2f} cores" if s.get("cpu_cores") is not None else "–",
        "memory": format_bytes(mem) if mem else "–",
        "startup": format_seconds(run.startup_seconds) if run.startup_seconds is not None else "–",
        "latency": (
            f"{format_seconds(lat.get('p50'))} / {format_seconds(lat.get('p95'))} / {format_seconds(lat.get('p99'))}"
            if lat
            else "–"
        ),
        "errors": str(s.get("error_count", 0)) if s.get("error_count") else "0",
        "params": params_label(run),
        **significance_cells(run),
    }


def params_label(run: RunResult) -> str:
    """A sweep run's workload overrides, e.g. 'task_us=100'; '' for the scenario's own runs."""
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, float | int) else f"{k}={v}" for k, v in run.params.items()
    )


def significance_cells(run: RunResult) -> dict[str, str]:
    """The speedup's 95% interval and whether it differs significantly from the baseline."""
    test = run.summary.get("versus_baseline") or {}
    low, high = test.get("ratio_low"), test.get("ratio_high")
    if not test or low is None or high is None:
        return {"speedup_ci": "", "significance": ""}
    if not test.get("can_be_significant", True):
        # Below 4 repeats a side the "interval" is every pairwise ratio at 67% or less.
        return {"speedup_ci": "", "significance": "(too few repeats to test)"}
    return {
        "speedup_ci": f"({low:.2f}–{high:.2f})",
        "significance": "" if test.get("significant") else "n.s.",
    }


def speedup_with_uncertainty(run: RunResult) -> str:
    """`3.91× (3.80–4.02)`, with `n.s.` when not significantly different from the baseline."""
    cells = run_cells(run)
    text = " ".join(c for c in (cells["speedup"], cells["speedup_ci"], cells["significance"]) if c)
    return text


def fastest_sentence(result: ScenarioResult) -> str:
    """Says "A is faster than B" only where the test says so."""
    info = result.fastest
    if not info or not info.get("versus"):
        return ""
    best = info["run_id"]
    versus: dict[str, dict[str, Any]] = info["versus"]
    tied = [(rid, v) for rid, v in versus.items() if not v.get("significant")]
    loaded = sorted({w["run_id"] for w in result.all_warnings() if w["code"] == "background_load"})
    caveat = (
        f" Careful: {len(loaded)} of the runs ran while other programs kept the CPUs busy, so "
        "the order may reflect when each run happened rather than the models; the test only "
        "knows the spread within each run."
        if loaded
        else ""
    )
    if not tied:
        return (
            f"**{best}** is the fastest: significantly faster than every other run "
            f"({info.get('test', TEST_NAME)}).{caveat}"
        )
    names = ", ".join(
        f"{rid} ({v['ratio']:.2f}×, p = {v['p_value']:.2g})"
        if v.get("ratio") and v.get("p_value") is not None
        else rid
        for rid, v in tied[:6]
    )
    more = f" and {len(tied) - 6} more" if len(tied) > 6 else ""
    text = (
        f"**{best}** has the lowest median time, but it is not significantly faster than "
        f"{names}{more}: treat those as tied ({info.get('test', TEST_NAME)})."
    )
    if not any(v.get("can_be_significant", True) for _, v in tied):
        text += " With this few repeats no difference can be significant: use at least 4."
    return text + caveat


def warnings_markdown(warnings: list[dict[str, str]], heading: str) -> str:
    if not warnings:
        return ""
    lines = "".join(f"- ⚠ {_md_escape(w['message'])}\n" for w in warnings)
    return f"\n**{heading}**\n\n{lines}"


def machine_markdown(m: dict[str, Any]) -> str:
    """The machine facts most likely to explain a difference between two reports."""
    py = m.get("python") or {}
    libs = m.get("libraries") or {}
    freq = m.get("cpu_frequency_mhz") or {}
    caches = m.get("cpu_caches") or {}
    loop = m.get("event_loop") or {}
    flags = [k for k in ("pgo", "lto", "debug") if py.get(k)]
    rows = [
        ("CPU", f"{m.get('cpu_model', '?')} ({m.get('architecture', '?')})"),
        ("frequency", ", ".join(f"{k} {v:.0f} MHz" for k, v in freq.items()) or "–"),
        ("governor", m.get("cpu_governor") or "–"),
        ("caches", " ".join(f"{k} {v}" for k, v in caches.items()) or "–"),
        (
            "CPUs",
            f"{m.get('cpus_logical', '?')} logical, {m.get('cpus_physical', '?')} physical, "
            f"{m.get('cpus_usable', '?')} usable (affinity {m.get('cpus_affinity', '?')}, "
            f"quota {m.get('cpu_quota') or 'none'})",
        ),
        (
            "memory",
            f"{format_bytes(m.get('memory_total_bytes') or 0)}, swap used "
            f"{format_bytes(m.get('swap_used_bytes') or 0)}, cgroup limit "
            f"{format_bytes(m['cgroup_memory_limit_bytes']) if m.get('cgroup_memory_limit_bytes') else 'none'}",
        ),
        ("system", f"{m.get('os', '?')}; container: {m.get('container') or 'none'}"),
        (
            "Python",
            f"{py.get('implementation', '')} {py.get('version', '')}, "
            f"GIL {'on' if py.get('gil_enabled', True) else 'off'}"
            f"{', ' + '/'.join(flags) if flags else ''}, {py.get('compiler', '')}",
        ),
        (
            "concurrency",
            f"start method {m.get('multiprocessing_start_method', '?')}, "
            f"event loop {loop.get('asyncio_default', '?')}",
        ),
        (
            "libraries",
            ", ".join(f"{k} {v}" for k, v in libs.items() if k in ("aiohttp", "uvloop", "textual"))
            or "–",
        ),
    ]
    body = "".join(f"| {k} | {_md_escape(str(v))} |\n" for k, v in rows)
    return f"\n## Machine\n\n| fact | value |\n|---|---|\n{body}"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    m = report.machine
    py = m.get("python", {})
    out = io.StringIO()
    out.write("# concurrency-lab report\n\n")
    out.write(
        f"{m.get('cpu_model', '?')} · {m.get('cpus_usable', '?')} usable of "
        f"{m.get('cpus_logical', '?')} logical CPUs · {format_bytes(m.get('memory_total_bytes') or 0)} · "
        f"{py.get('implementation', '')} {py.get('version', '')}"
        f"{'' if py.get('gil_enabled', True) else ' (free-threaded, no GIL)'} · {report.created}\n"
    )
    if report.interrupted:
        out.write("\n**Interrupted:** runs marked `not_run` did not run.\n")
    out.write(warnings_markdown(report.warnings, "Warnings about the machine"))
    analysis = analyse_report(report)
    out.write(markdown_claims(analysis))
    for result, explained in zip(report.scenarios, analysis.scenarios, strict=True):
        out.write(f"\n## {_md_escape(result.title)} (`{result.name}`)\n\n")
        if result.description:
            out.write(f"{_md_escape(result.description)}\n\n")
        if result.error:
            out.write(f"**Scenario failed:** {_md_escape(result.error)}\n\n")
        best = fastest(result)
        latency = any(r.summary.get("latency") for r in result.runs)
        cols = [
            "executor",
            "workers",
            "time",
            "throughput",
            "speedup",
            "efficiency",
            "cpu",
            "memory",
            "startup",
        ]
        if any(r.params for r in result.runs):
            cols.insert(2, "params")
        if latency:
            cols += ["latency", "errors"]
        cols.append("status")
        headers = {
            "latency": "latency p50/p95/p99",
            "time": "time (median ±MAD)",
            "speedup": "speedup (95% CI)",
        }
        out.write("| " + " | ".join(headers.get(c, c) for c in cols) + " |\n")
        out.write("|" + "|".join("---" for _ in cols) + "|\n")
        for run in result.runs:
            cells = run_cells(run)
            cells["speedup"] = speedup_with_uncertainty(run)
            if best is run:
                sure = bool(result.fastest and result.fastest.get("significant_against_all"))
                mark = "(fastest)" if sure else "(lowest median)"
                cells["executor"] = f"**{cells['executor']}** {mark}"
            if run.error:
                cells["status"] = f"{run.status}: {run.error.message}"
            out.write("| " + " | ".join(_md_escape(cells[c]) for c in cols) + " |\n")
        for name, reason in result.skipped.items():
            out.write(f"\n- `{name}` skipped: {reason}\n")
        sentence = fastest_sentence(result)
        if sentence:
            out.write(f"\n{sentence}\n")
        out.write(warnings_markdown(group_notices(result.all_warnings()), "Warnings"))
        out.write(markdown_scenario(explained))
    out.write(machine_markdown(m))
    out.write(
        "\n## How to read these numbers\n\n"
        "Times are medians of the measured repeats, ± the median absolute deviation in percent. "
        "Speedups are against the serial run, with a 95% confidence interval; `n.s.` means not "
        f"significantly different from serial. {TEST_DESCRIPTION}\n"
    )
    return out.getvalue()


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


def to_html(report: Report) -> str:
    from lab.report.html import to_html as render_html  # pygal is loaded only for HTML

    return render_html(report)


RENDERERS: dict[str, Callable[[Report], str]] = {
    "json": to_json,
    "md": to_markdown,
    "csv": to_csv,
    "html": to_html,
}


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)


def format_for_path(path: str, default: str = "md") -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    aliases = {
        "markdown": "md",
        "json": "json",
        "csv": "csv",
        "md": "md",
        "html": "html",
        "htm": "html",
    }
    return aliases.get(suffix, default)


def _new_file_mode(path: Path) -> int:
    """The mode the report would get from a plain open(): the old file's, else 0o666 & ~umask.

    mkstemp creates 0600 files, which would make a shared report unreadable to others.
    """
    with contextlib.suppress(OSError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = 0o022
    with contextlib.suppress(OSError, ValueError):  # Linux tells it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
    return 0o666 & ~umask


def write_atomic(path: Path, text: str) -> None:
    """Write to a temp file beside the target, then rename: readers never see half a report,
    and a failure (disk full, Ctrl+C) leaves the old report as it was and no temp file."""
    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
