"""The Markdown report."""

from __future__ import annotations

import io

from lab.analysis.analyse import analyse_report
from lab.analysis.axis import split_report
from lab.analysis.noise import group_notices
from lab.core.paired import PAIRED_TEST_DESCRIPTION
from lab.core.stats import TEST_DESCRIPTION
from lab.core.units import format_bytes
from lab.report.cells import (
    DOUBT_LEGEND,
    best_mark,
    drift_sentence,
    fastest_sentence,
    machine_rows,
    md_escape,
    run_cells,
    speedup_with_uncertainty,
)
from lab.report.explain import markdown_claims, markdown_scenario
from lab.report.interpreters import interpreters_markdown
from lab.results.machine import MachineFacts
from lab.results.model import Report
from lab.results.notices import Notice


def warnings_markdown(warnings: list[Notice], heading: str) -> str:
    if not warnings:
        return ""
    lines = "".join(f"- ⚠ {md_escape(w['message'])}\n" for w in warnings)
    return f"\n**{heading}**\n\n{lines}"


def aligned_table(rows: list[list[str]]) -> str:
    """A Markdown table padded so its columns line up in plain text too (sweep ids run long)."""
    widths = [max(3, *(len(row[i]) for row in rows)) for i in range(len(rows[0]))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |\n"

    return line(rows[0]) + line(["-" * w for w in widths]) + "".join(line(r) for r in rows[1:])


def machine_markdown(m: MachineFacts) -> str:
    """The machine facts most likely to explain a difference between two reports."""
    body = "".join(f"| {k} | {md_escape(str(v))} |\n" for k, v in machine_rows(m))
    return f"\n## Machine\n\n| fact | value |\n|---|---|\n{body}"


def to_markdown(report: Report) -> str:
    report = split_report(report)  # an interpreter axis: one section per interpreter
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
    out.write(interpreters_markdown(report))
    for result, explained in zip(report.scenarios, analysis.scenarios, strict=True):
        out.write(f"\n## {md_escape(result.title)} (`{result.name}`)\n\n")
        if result.description:
            out.write(f"{md_escape(result.description)}\n\n")
        if result.error:
            out.write(f"**Scenario failed:** {md_escape(result.error)}\n\n")
        latency = any(r.summary.latency for r in result.runs)
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
        rows = [[headers.get(c, c) for c in cols]]
        for run in result.runs:
            cells = run_cells(run)
            cells["speedup"] = speedup_with_uncertainty(run)
            mark = best_mark(result, run)
            if mark:
                cells["executor"] = f"**{cells['executor']}** {mark}"
            if run.error:
                cells["status"] = f"{run.status}: {run.error.message}"
            rows.append([md_escape(cells[c]) for c in cols])
        for name, reason in result.skipped.items():
            out.write(f"- `{name}` cannot run here, so it was not measured: {reason}\n\n")
        out.write(aligned_table(rows))
        for sentence in (fastest_sentence(result), drift_sentence(result)):
            if sentence:
                out.write(f"\n{sentence}\n")
        out.write(warnings_markdown(group_notices(result.all_warnings()), "Warnings"))
        out.write(markdown_scenario(explained))
    out.write(machine_markdown(m))
    out.write(
        "\n## How to read these numbers\n\n"
        "Times are medians of the measured repeats, ± the median absolute deviation in percent. "
        "Speedups are against the serial run, with a 95% confidence interval; `n.s.` means not "
        f"significantly different from serial. {DOUBT_LEGEND} {PAIRED_TEST_DESCRIPTION} "
        f"Reports made before rounds fall back to: {TEST_DESCRIPTION}\n"
    )
    return out.getvalue()
