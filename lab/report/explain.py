"""The lab's conclusions as report text: verdicts, claims, scaling fits, the break-even.

Shared by the Markdown and HTML renderers; `analysis_json` adds them to the JSON report.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from lab.analysis.analyse import ReportAnalysis, ScenarioAnalysis
from lab.analysis.breakeven import BreakEven
from lab.analysis.scaling import ScalingFit
from lab.core.units import format_number, format_rate, format_seconds
from lab.report.cells import md_escape
from lab.scenario.models import BASELINE

STATUS_MARK = {
    "confirmed": "✅ confirmed",
    "refuted": "❌ refuted",
    "partly": "◐ partly (see each part)",
    "inconclusive": "❔ inconclusive",
    "not measured": "– not measured",
}


def scaling_rows(fits: dict[str, ScalingFit]) -> list[dict[str, str]]:
    """One row per executor, formatted for people (Markdown, HTML and the app)."""
    rows = []
    for name, fit in fits.items():
        a, u = fit.amdahl, fit.usl
        unit = fit.unit
        peak = "–"
        if u and u.peak_workers is not None:
            peak = f"{u.peak_workers:.1f} workers, {format_rate(u.peak_throughput or 0, unit)}"
        elif u and u.peak_throughput is not None:
            peak = f"none (ceiling {format_rate(u.peak_throughput, unit)})"
        elif u:
            peak = "none (no ceiling measured)"
        rows.append(
            {
                "executor": name,
                "points": str(len(fit.points)),
                "serial_fraction": format_number(a.sigma) if a else "–",
                "sigma": format_number(u.sigma) if u else "–",
                "kappa": format_number(u.kappa) if u else "–",
                "peak": peak,
                "error": f"{100 * u.rmse:.1f}%" if u else f"{100 * a.rmse:.1f}%" if a else "–",
            }
        )
    return rows


SCALING_HEADERS = {
    "executor": "executor",
    "points": "worker counts",
    "serial_fraction": "Amdahl serial fraction",
    "sigma": "USL σ (contention)",
    "kappa": "USL κ (coherency)",
    "peak": "USL peak",
    "error": "fit error (RMS)",
}


def grouped_warnings(fits: dict[str, ScalingFit]) -> list[str]:
    """Each distinct warning once, with the executors it applies to."""
    seen: dict[str, list[str]] = {}
    for name, fit in fits.items():
        for w in fit.warnings:
            seen.setdefault(w, []).append(name)
    return [f"{', '.join(names)}: {w}" for w, names in seen.items()]


def breakeven_rows(analysis: ScenarioAnalysis) -> list[dict[str, str]]:
    be = analysis.breakeven
    if be is None:
        return []
    rows = []
    for p in be.points:
        rows.append(
            {
                "task": be.label(p.value),
                "baseline": format_seconds(p.serial_wall),
                "light": format_seconds(p.light_wall)
                + (f" ({p.light_run})" if p.light_run else ""),
                "light_start": format_seconds(p.light_startup),
                "heavy": format_seconds(p.heavy_wall)
                + (f" ({p.heavy_run})" if p.heavy_run else ""),
                "heavy_start": format_seconds(p.heavy_startup),
            }
        )
    return rows


def breakeven_headers(be: BreakEven) -> dict[str, str]:
    """The break-even table's columns, named after the two models it compares."""
    return {
        "task": "swept value",
        "baseline": f"{BASELINE} batch",
        "light": f"{be.light} batch (best run)",
        "light_start": f"{be.light} start-up",
        "heavy": f"{be.heavy} batch (best run)",
        "heavy_start": f"{be.heavy} start-up",
    }


def _md_table(
    out: io.StringIO, headers: dict[str, str], rows: list[dict[str, str]], esc: Callable[[str], str]
) -> None:
    out.write("| " + " | ".join(headers.values()) + " |\n")
    out.write("|" + "|".join("---" for _ in headers) + "|\n")
    for row in rows:
        out.write("| " + " | ".join(esc(row[k]) for k in headers) + " |\n")


def markdown_claims(analysis: ReportAnalysis) -> str:
    out = io.StringIO()
    out.write("\n## Classic claims, on this machine\n\n")
    for note in analysis.notes:
        out.write(f"> **Note:** {md_escape(note)}\n\n")
    out.write("| claim | on this machine | deciding figures |\n|---|---|---|\n")
    for c in analysis.claims:
        figures = c.figures + (f" ({c.note})" if c.note else "")
        out.write(f"| {md_escape(c.claim)} | {STATUS_MARK[c.status]} | {md_escape(figures)} |\n")
    return out.getvalue()


def markdown_scenario(analysis: ScenarioAnalysis) -> str:
    out = io.StringIO()
    v = analysis.verdict
    out.write(f"\n**Verdict:** {md_escape(v.text)}.\n\n")
    if analysis.sweep is not None:
        out.write("**At each swept value:**\n\n")
        for value in analysis.sweep.values:
            out.write(f"- {md_escape(value.text)}\n")
        out.write("\n")
    for e in v.explanations:
        mark = "" if e.decided else " *(undecided)*"
        out.write(f"- {md_escape(e.text)}{mark}\n")
    if analysis.scaling:
        out.write("\n**Scaling** (Amdahl and USL fitted to throughput against workers)\n\n")
        _md_table(out, SCALING_HEADERS, scaling_rows(analysis.scaling), md_escape)
        warnings = grouped_warnings(analysis.scaling)
        if warnings:
            out.write("\n")
            for w in warnings:
                out.write(f"- ⚠ {md_escape(w)}\n")
    be = analysis.breakeven
    if be is not None:
        what = "task-size sweep" if be.param == "task_us" else f"sweep of {md_escape(be.param)}"
        out.write(f"\n**Break-even** ({what}): {md_escape(be.text)}.\n\n")
        _md_table(out, breakeven_headers(be), breakeven_rows(analysis), md_escape)
        for w in be.warnings:
            out.write(f"\n- ⚠ {md_escape(w)}\n")
    decided = [c for c in analysis.claims if c.status != "not measured"]
    if decided:
        out.write(
            "\n**Claims this scenario decides**\n\n| claim | here | figures |\n|---|---|---|\n"
        )
        for c in decided:
            out.write(
                f"| {md_escape(c.claim)} | {STATUS_MARK[c.status]} | {md_escape(c.figures)} |\n"
            )
    return out.getvalue()
