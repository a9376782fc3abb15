"""`--report --format html`: one self-contained HTML file that works offline.

Verdicts, the claims table, scaling fits, the break-even, the results tables and charts. The
charts are SVG drawn by pygal (pure Python, no JavaScript: `js=[]`) and inlined, so the file
needs nothing from the network.
"""

from __future__ import annotations

import html
import re
from typing import Any

from lab.analysis.analyse import ScenarioAnalysis, analyse_report
from lab.core.histogram import Histogram
from lab.core.units import format_bytes
from lab.report.cells import fastest, params_label, run_cells
from lab.report.explain import (
    BREAKEVEN_HEADERS,
    SCALING_HEADERS,
    STATUS_MARK,
    breakeven_rows,
    grouped_warnings,
    scaling_rows,
)
from lab.results.model import Report, RunResult, ScenarioResult

COLORS = {
    "serial": "#6b7280",
    "asyncio": "#2563eb",
    "uvloop": "#7c3aed",
    "threads": "#ea580c",
    "processes": "#16a34a",
}
OTHER_COLORS = ("#0891b2", "#be185d", "#a16207", "#4d7c0f")

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
.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{flex:1 1 480px;max-width:640px}
.chart svg{width:100%;height:auto}footer{margin-top:3rem;color:#6b7280;font-size:.85rem}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _color(executor: str, index: int) -> str:
    return COLORS.get(executor, OTHER_COLORS[index % len(OTHER_COLORS)])


def _svg(chart: Any) -> str:
    svg = str(chart.render(is_unicode=True))
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)  # pygal's credit comments carry URLs
    # pygal writes its config for its tooltip script; with no script loaded it is dead weight.
    return re.sub(r"<script\b.*?</script>", "", svg, flags=re.S)


def _chart(kind: str, title: str, colors: list[str], **config: Any) -> Any:
    import pygal
    from pygal.style import Style

    style = Style(
        background="transparent",
        plot_background="#ffffff",
        colors=tuple(colors) or ("#111827",),
        font_family="system-ui, sans-serif",
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=12,
        title_font_size=15,
    )
    cls = getattr(pygal, kind)
    return cls(
        title=title,
        style=style,
        js=[],  # no tooltips script: nothing is fetched, the file works offline
        disable_xml_declaration=True,
        width=640,
        height=380,
        legend_at_bottom=True,
        truncate_legend=-1,
        **config,
    )


def speedup_chart(result: ScenarioResult, analysis: ScenarioAnalysis) -> str | None:
    """Measured speedup against workers per model, with the fitted USL (or Amdahl) curve."""
    fits = analysis.scaling
    if not fits or not any(f.points and f.baseline for f in fits.values()):
        return None
    top = max(n for f in fits.values() for n, _ in f.points) if fits else 1
    colors: list[str] = ["#9ca3af"]
    chart = _chart(
        "XY",
        f"Speedup against workers ({result.name})",
        colors,
        logarithmic=True,
        x_title="workers (log)",
        y_title="speedup over serial (log)",
        dots_size=4,
        show_x_guides=True,
    )
    chart.add(
        "ideal (linear)",
        [(1, 1), (top, top)],
        show_dots=False,
        stroke_style={"width": 1, "dasharray": "2,4"},
    )
    for i, (name, fit) in enumerate(fits.items()):
        if not fit.points or not fit.baseline:
            continue
        color = _color(name, i)
        colors += [color, color]
        chart.add(f"{name} measured", [(n, x / fit.baseline) for n, x in fit.points], stroke=False)
        law = "usl" if fit.usl else "amdahl"
        curve = fit.curve(law, upto=max(top, 2))
        chart.add(
            f"{name} {law.upper() if law == 'usl' else 'Amdahl'} fit",
            [(n, y) for n, y in curve if y > 0],
            show_dots=False,
            stroke_style={"width": 2, "dasharray": "6,3"},
        )
    chart.config.style.colors = tuple(colors)
    return _svg(chart)


def _latency_runs(result: ScenarioResult, analysis: ScenarioAnalysis) -> list[RunResult]:
    """Each model's best run (the one its verdict line speaks of) that has latency data."""
    chosen = []
    for e in analysis.verdict.explanations:
        runs = [
            r
            for r in result.runs
            if r.executor == e.executor and not r.params and r.status == "ok"
            and any(rep.latency for rep in r.repeats)
        ]  # fmt: skip
        if runs:
            chosen.append(
                max(runs, key=lambda r: (r.summary.get("throughput") or {}).get("value") or 0)
            )
    return chosen


def _merged_latency(run: RunResult) -> Histogram:
    h = Histogram()
    for rep in run.repeats:
        if rep.latency:
            h.merge(Histogram.from_json(rep.latency))
    return h


def _bucket_seconds(data: dict[str, Any], index: int) -> float:
    floor = float(data.get("floor") or 1e-6)
    growth = float(data.get("growth") or 1.02)
    return floor if index == 0 else floor * growth ** (index - 0.5)


def latency_chart(result: ScenarioResult, analysis: ScenarioAnalysis, bins: int = 14) -> str | None:
    """Latency distribution (share of requests per log-spaced latency bin) per model."""
    hists = [(run, _merged_latency(run)) for run in _latency_runs(result, analysis)]
    hists = [(run, h) for run, h in hists if h.count]
    if not hists:
        return None
    lo = min(h.percentile(1) or h.minimum for _, h in hists)
    hi = max(h.percentile(99.5) or h.maximum for _, h in hists)
    if not 0 < lo < hi:  # one latency for everything: a narrow window around it
        lo, hi = max(lo, 1e-6) * 0.9, max(lo, 1e-6) * 1.1
    edges = [lo * (hi / lo) ** (i / bins) for i in range(bins + 1)]
    labels = [f"{_ms(edges[i])}–{_ms(edges[i + 1])}" for i in range(bins)]
    labels[0] = f"≤{_ms(edges[1])}"
    labels[-1] = f">{_ms(edges[-2])}"
    colors = [_color(run.executor, i) for i, (run, _) in enumerate(hists)]
    chart = _chart(
        "Bar",
        f"Request latency distribution ({result.name})",
        colors,
        x_title="latency (ms)",
        y_title="% of requests",
        x_label_rotation=35,
    )
    chart.x_labels = labels
    for run, hist in hists:
        data = hist.to_json()
        shares = [0.0] * bins
        for bucket, count in hist.counts.items():
            seconds = _bucket_seconds(data, bucket)
            i = sum(1 for edge in edges[1:-1] if seconds > edge)
            shares[i] += 100 * count / hist.count
        label = f"{run.executor} ({run.workers} worker{'s' if run.workers != 1 else ''})"
        chart.add(label, [round(x, 2) for x in shares])
    return _svg(chart)


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 1 else f"{ms:.2f}"


def breakeven_chart(result: ScenarioResult, analysis: ScenarioAnalysis) -> str | None:
    be = analysis.breakeven
    if be is None:
        return None
    colors = [COLORS["threads"], COLORS["processes"], COLORS["threads"], COLORS["processes"]]
    chart = _chart(
        "XY",
        f"Threads vs processes by work per task ({be.tasks} tasks)",
        colors,
        x_title="work per task (µs)",
        y_title="seconds for the batch",
        dots_size=3,
        show_x_guides=True,
    )
    for executor, with_startup in (
        ("threads", False), ("processes", False), ("threads", True), ("processes", True),
    ):  # fmt: skip
        pts = [
            (p.task_us, t) for p in be.points if (t := p.total(executor, with_startup)) is not None
        ]
        label = f"{executor} {'incl. start-up' if with_startup else 'running pool'}"
        style = {"width": 2, "dasharray": "6,3"} if with_startup else {"width": 2}
        chart.add(label, pts, stroke_style=style)
    return _svg(chart)


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
    if not any(r.summary.get("latency") for r in result.runs):
        headers.pop("latency")
        headers.pop("errors")
    best = fastest(result)
    rows = []
    for run in result.runs:
        cells = run_cells(run)
        cells["params"] = params_label(run)
        if run is best:
            cells["executor"] += " (fastest)"
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
            f"<tr><td>{_e(c.claim)}</td><td class={cls}>{_e(STATUS_MARK[c.status])}</td>"
            f"<td>{figures}</td></tr>"
        )
    return (
        "<table><thead><tr><th>claim</th><th>on this machine</th><th>deciding figures</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _scenario_section(result: ScenarioResult, analysis: ScenarioAnalysis) -> str:
    out = [
        f'<section id="s-{_e(result.name)}"><h2>{_e(result.title)} <code>{_e(result.name)}</code></h2>'
    ]
    if result.description:
        out.append(f"<p>{_e(result.description)}</p>")
    if result.error:
        out.append(f'<p class="warn"><strong>Scenario failed:</strong> {_e(result.error)}</p>')
    v = analysis.verdict
    items = "".join(
        f"<li{'' if e.decided else ' class=undecided'}>{_e(e.text)}"
        f"{'' if e.decided else ' (undecided)'}</li>"
        for e in v.explanations
    )
    out.append(
        f'<div class="verdict"><p><strong>Verdict:</strong> {_e(v.text)}.</p><ul>{items}</ul></div>'
    )
    charts = [c for c in (speedup_chart(result, analysis), latency_chart(result, analysis)) if c]
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
        out.append(f"<h3>Break-even: threads vs processes</h3><p>{_e(be.text)}.</p>")
        chart = breakeven_chart(result, analysis)
        if chart:
            out.append(f'<div class="charts"><div class="chart">{chart}</div></div>')
        out.append(_table(BREAKEVEN_HEADERS, breakeven_rows(analysis), set()))
        out.extend(f'<p class="warn">{_e(w)}</p>' for w in be.warnings)
    decided = [c for c in analysis.claims if c.status != "not measured"]
    if decided:
        out.append("<h3>Claims this scenario decides</h3>" + _claims_table(decided, False))
    out.append("<h3>Results</h3>" + results_table(result))
    out.extend(f"<p>{_e(name)} skipped: {_e(why)}</p>" for name, why in result.skipped.items())
    out.append("</section>")
    return "\n".join(out)


def to_html(report: Report) -> str:
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
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>concurrency-lab report · {_e(report.created)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>concurrency-lab report</h1>",
        f'<p class="machine">{_e(machine)}</p>',
        f'<nav><a href="#claims">claims</a>{nav}</nav></header>',
    ]
    if report.interrupted:
        parts.append(
            '<p class="note"><strong>Interrupted:</strong> runs marked not_run did not run.</p>'
        )
    parts.append('<section id="claims"><h2>Classic claims, on this machine</h2>')
    parts.extend(f'<p class="note">{_e(n)}</p>' for n in analysis.notes)
    parts.append(_claims_table(analysis.claims) + "</section>")
    for result, explained in zip(report.scenarios, analysis.scenarios, strict=True):
        parts.append(_scenario_section(result, explained))
    command = " ".join(report.command)
    parts.append(
        f"<footer>concurrency-lab {_e(report.lab_version)}"
        f"{' · ' + _e(command) if command else ''}</footer></body></html>\n"
    )
    return "\n".join(parts)
