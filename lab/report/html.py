"""`--report --format html`: one self-contained HTML file that works offline.

Verdicts, the claims table, scaling fits, the break-even, the results tables and charts. The
charts are SVG drawn by pygal (pure Python, no JavaScript: `js=[]`) and inlined, so the file
needs nothing from the network.
"""

from __future__ import annotations

from typing import Any

from lab.analysis.analyse import ReportAnalysis, ScenarioAnalysis, analyse_report
from lab.analysis.axis import split_report
from lab.analysis.noise import group_notices
from lab.core.stats import TEST_DESCRIPTION
from lab.core.textsafe import html_text
from lab.core.units import format_bytes
from lab.report.cells import (
    DOUBT_LEGEND,
    best_mark,
    drift_sentence,
    fastest_sentence,
    machine_rows,
    params_label,
    run_cells,
)
from lab.report.charts import breakeven_chart, latency_chart, speedup_chart, sweep_chart
from lab.report.explain import (
    SCALING_HEADERS,
    breakeven_headers,
    breakeven_rows,
    grouped_warnings,
    scaling_rows,
)
from lab.report.interpreters import interpreters_html
from lab.report.openloop import open_loop_html
from lab.results.machine import MachineFacts
from lab.results.model import Report, ScenarioResult
from lab.results.notices import Notice

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1rem 1.5rem;color:#111827;line-height:1.45}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #e5e7eb;padding-bottom:.2rem;margin-top:2.5rem}
.machine{color:#4b5563}nav a{margin-right:1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{border:1px solid #e5e7eb;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{background:#f0fdf4;border-left:4px solid #16a34a;padding:.5rem 1rem;margin:1rem 0}
.verdict ul{margin:.3rem 0}.undecided{color:#92400e}
.warn{color:#92400e}.note{background:#fffbeb;border-left:4px solid #f59e0b;padding:.4rem .8rem}
.confirmed{color:#166534;font-weight:600}.refuted{color:#991b1b;font-weight:600}
.inconclusive{color:#92400e;font-weight:600}.not-measured{color:#6b7280}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{flex:1 1 520px;max-width:760px}
.chart svg{width:100%;height:auto}footer{margin-top:3rem;color:#6b7280;font-size:.85rem}
td.num,td.nowrap{white-space:nowrap}.mark{vertical-align:-.15em;margin-right:.25em}
details{margin:.4rem 0}summary{cursor:pointer;color:#4b5563}
.warnings li{margin:.2rem 0}
"""

# Claim marks drawn as inline SVG: a stock browser without an emoji font shows ✅ ❌ ❔ as
# empty boxes, and the words beside the marks carry the meaning without colour.
_MARK_PATHS = {
    "confirmed": ("#166534", "M3 8.5l3 3 7-7"),
    "refuted": ("#991b1b", "M4 4l8 8M12 4l-8 8"),
    "partly": ("#92400e", "M8 2a6 6 0 1 0 0 12zM8 2a6 6 0 0 1 0 12"),
    "inconclusive": ("#92400e", "M5.5 5.5a2.5 2.5 0 1 1 3.5 2.3c-.7.4-1 .9-1 1.7M8 12.5v.5"),
    "not measured": ("#6b7280", "M4 8h8"),
}


def status_mark(status: str) -> str:
    color, path = _MARK_PATHS.get(status, _MARK_PATHS["not measured"])
    return (
        f'<svg class="mark" width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">'
        f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2" '
        f'stroke-linecap="round"/></svg>{_e(status)}'
    )


def _e(text: object) -> str:
    return html_text(text)  # the HTML sanitiser (lab.core.textsafe)


def _table(headers: dict[str, str], rows: list[dict[str, str]], numeric: set[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers.values())
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if k in numeric else ''}>{_e(row.get(k, ''))}</td>" for k in headers
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


RESULT_HEADERS = {
    "executor": "executor",
    "workers": "workers",
    "params": "sweep",
    "time": "time (median ±MAD)",
    "throughput": "throughput",
    "speedup": "speedup",
    "efficiency": "efficiency",
    "cpu": "cpu",
    "memory": "memory",
    "startup": "start-up",
    "latency": "latency p50/p95/p99",
    "errors": "errors",
    "status": "status",
}
NUMERIC = {"workers", "time", "throughput", "speedup", "efficiency", "cpu", "memory", "startup"}


def results_table(result: ScenarioResult) -> str:
    headers = dict(RESULT_HEADERS)
    if not any(r.params for r in result.runs):
        headers.pop("params")
    if not any(r.summary.latency for r in result.runs):
        headers.pop("latency")
        headers.pop("errors")
    rows = []
    for run in result.runs:
        cells = run_cells(run)
        cells["params"] = params_label(run)
        mark = best_mark(result, run)
        if mark:
            cells["executor"] += f" {mark}"
        if run.error:
            cells["status"] = f"{run.status}: {run.error.message}"
        rows.append(cells)
    return _table(headers, rows, NUMERIC)


def _claims_table(claims: list[Any], show_note: bool = True) -> str:
    rows = []
    for c in claims:
        cls = c.status.replace(" ", "-")
        figures = _e(c.figures) + (f"<br><em>{_e(c.note)}</em>" if show_note and c.note else "")
        rows.append(
            f"<tr><td>{_e(c.claim)}</td><td class={cls}>{status_mark(c.status)}</td>"
            f"<td>{figures}</td></tr>"
        )
    return (
        "<table><thead><tr><th>claim</th><th>on this machine</th><th>deciding figures</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _bold(text: str) -> str:
    """The Markdown sentences' **bold** as <strong>, everything else escaped."""
    parts = _e(text).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def warnings_html(notices: list[Notice], heading: str) -> str:
    """Grouped warnings first (as the Markdown has them), then every single one, folded.

    Every warning of the JSON is in the page: the grouped list names the runs, the folded
    list keeps each run's own sentence.
    """
    if not notices:
        return ""
    grouped = group_notices(notices)
    items = "".join(
        f'<li class="warn">⚠ {_e(n["message"])}'
        + (
            f" <em>({_e(n['detail'])})</em>"
            if n.get("detail") and len(grouped) < len(notices)
            else ""
        )
        + "</li>"
        for n in grouped
    )
    out = f'<h3>{_e(heading)}</h3><ul class="warnings">{items}</ul>'
    if len(grouped) < len(notices):
        every = "".join(f"<li>{_e(n['message'])}</li>" for n in notices)
        out += f"<details><summary>each warning on its own ({len(notices)})</summary><ul>{every}</ul></details>"
    return out


def machine_html(m: MachineFacts) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in machine_rows(m))
    return f'<section id="machine"><h2>Machine</h2><table><tbody>{rows}</tbody></table></section>'


def _scenario_section(result: ScenarioResult, analysis: ScenarioAnalysis) -> str:
    out = [
        f'<section id="s-{_e(result.name)}"><h2>{_e(result.title)} <code>{_e(result.name)}</code></h2>'
    ]
    if result.description:
        out.append(f"<p>{_e(result.description)}</p>")
    if result.error:
        out.append(f'<p class="warn"><strong>Scenario failed:</strong> {_e(result.error)}</p>')
    out.extend(
        f'<p class="warn">{_e(name)} cannot run here, so it was not measured: {_e(why)}</p>'
        for name, why in result.skipped.items()
    )
    v = analysis.verdict
    items = "".join(
        f"<li{'' if e.decided else ' class=undecided'}>{_e(e.text)}"
        f"{'' if e.decided else ' (undecided)'}</li>"
        for e in v.explanations
    )
    per_value = ""
    if analysis.sweep is not None:
        per_value = (
            "<p><strong>At each swept value:</strong></p><ul>"
            + "".join(f"<li>{_e(value.text)}</li>" for value in analysis.sweep.values)
            + "</ul>"
        )
    out.append(
        f'<div class="verdict"><p><strong>Verdict:</strong> {_e(v.text)}.</p>{per_value}'
        f"<ul>{items}</ul></div>"
    )
    if analysis.open_loop is not None:
        out.append(open_loop_html(analysis.open_loop, _e))
    speedups = sweep_chart(result, analysis) or speedup_chart(result, analysis)
    charts = [c for c in (speedups, latency_chart(result, analysis)) if c]
    if charts:
        out.append(
            '<div class="charts">'
            + "".join(f'<div class="chart">{c}</div>' for c in charts)
            + "</div>"
        )
    if analysis.scaling:
        out.append(
            "<h3>Scaling fits</h3><p>Amdahl's law and the Universal Scalability Law, "
            "fitted by least squares to throughput against workers.</p>"
        )
        out.append(_table(SCALING_HEADERS, scaling_rows(analysis.scaling), {"points"}))
        warnings = grouped_warnings(analysis.scaling)
        if warnings:
            out.append(
                "<ul>" + "".join(f'<li class="warn">{_e(w)}</li>' for w in warnings) + "</ul>"
            )
    be = analysis.breakeven
    if be is not None:
        out.append(f"<h3>Break-even: {_e(be.light)} vs {_e(be.heavy)}</h3><p>{_e(be.text)}.</p>")
        chart = breakeven_chart(result, analysis)
        if chart:
            out.append(f'<div class="charts"><div class="chart">{chart}</div></div>')
        out.append(_table(breakeven_headers(be), breakeven_rows(analysis), set()))
        out.extend(f'<p class="warn">{_e(w)}</p>' for w in be.warnings)
    for sentence in (fastest_sentence(result), drift_sentence(result)):
        if sentence:
            out.append(f"<p>{_bold(sentence)}</p>")
    out.append(warnings_html(result.all_warnings(), "Warnings"))
    decided = [c for c in analysis.claims if c.status != "not measured"]
    if decided:
        out.append("<h3>Claims this scenario decides</h3>" + _claims_table(decided, False))
    out.append("<h3>Results</h3>" + results_table(result))
    out.append("</section>")
    return "\n".join(out)


# What every report's speedups and tests mean; the fleet report repeats it for its hosts.
READING = (
    "Times are medians of the measured repeats, ± the median absolute deviation in percent. "
    "Speedups are against the serial run, with a 95% confidence interval; n.s. means not "
    f"significantly different from serial. {DOUBT_LEGEND.replace('`', '')} {TEST_DESCRIPTION}"
)


def to_html(report: Report) -> str:
    report = split_report(report)  # an interpreter axis: one section per interpreter
    m = report.machine
    py = m.get("python", {})
    analysis = analyse_report(report)
    machine = (
        f"{m.get('cpu_model', '?')} · {m.get('cpus_usable', '?')} usable of "
        f"{m.get('cpus_logical', '?')} logical CPUs · {format_bytes(m.get('memory_total_bytes') or 0)} · "
        f"{py.get('implementation', '')} {py.get('version', '')}"
        f"{'' if py.get('gil_enabled', True) else ' (free-threaded, no GIL)'} · {report.created}"
    )
    nav = "".join(f'<a href="#s-{_e(s.name)}">{_e(s.name)}</a>' for s in report.scenarios)
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>concurrency-lab report · {_e(report.created)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>concurrency-lab report</h1>",
        f'<p class="machine">{_e(machine)}</p>',
        f'<nav><a href="#claims">claims</a>{nav}<a href="#machine">machine</a></nav></header>',
    ]
    parts = [*head, *report_sections(report, analysis)]
    parts.append(f"<section><h2>How to read these numbers</h2><p>{_e(READING)}</p></section>")
    command = " ".join(report.command)
    parts.append(
        f"<footer>concurrency-lab {_e(report.lab_version)}"
        f"{' · ' + _e(command) if command else ''}</footer></body></html>\n"
    )
    return "\n".join(parts)


def report_sections(report: Report, analysis: ReportAnalysis | None = None) -> list[str]:
    """The body of a report's page, from its warnings to its machine facts: `to_html`'s, and
    each host's in the fleet report. `report` is already split by interpreter."""
    analysis = analysis or analyse_report(report)
    parts = [warnings_html(report.warnings, "Warnings about the machine")]
    if report.interrupted:
        parts.append(
            '<p class="note"><strong>Interrupted:</strong> runs marked not_run did not run.</p>'
        )
    parts.append('<section id="claims"><h2>Classic claims, on this machine</h2>')
    parts.extend(f'<p class="note">{_e(n)}</p>' for n in analysis.notes)
    parts.append(_claims_table(analysis.claims) + "</section>")
    parts.append(interpreters_html(report))
    for result, explained in zip(report.scenarios, analysis.scenarios, strict=True):
        parts.append(_scenario_section(result, explained))
    parts.append(machine_html(report.machine))
    return parts
