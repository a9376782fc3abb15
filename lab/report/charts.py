"""The HTML report's charts: SVG drawn by pygal (imported only here, only for HTML), inlined."""

from __future__ import annotations

import re
from typing import Any

from lab.analysis.analyse import ScenarioAnalysis
from lab.analysis.sweep import spans_decades, sweep_series
from lab.core.histogram import Histogram
from lab.core.units import format_number
from lab.results.model import RunResult, ScenarioResult
from lab.scenario.models import MODELS

COLORS = {model.name: model.html_colour for model in MODELS}


OTHER_COLORS = ("#0891b2", "#be185d", "#a16207", "#4d7c0f")


def _color(executor: str, index: int) -> str:
    return COLORS.get(executor, OTHER_COLORS[index % len(OTHER_COLORS)])


def _svg(chart: Any) -> str:
    svg = str(chart.render(is_unicode=True))
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)  # pygal's credit comments carry URLs
    # pygal writes its config for its tooltip script; with no script loaded it is dead weight.
    svg = re.sub(r"<script\b.*?</script>", "", svg, flags=re.S)
    # Its legend ids, for that script too, repeat in every chart: a page must not repeat an id.
    return re.sub(r' id="activate-serie-\d+"', "", svg)


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
        width=760,
        height=420,
        show_minor_x_labels=False,  # log axes otherwise print 3.4 3.6 3.8 on top of each other
        show_minor_y_labels=False,
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
        chart.add(
            f"{name}: measured (dots)",
            [(n, x / fit.baseline) for n, x in fit.points],
            stroke=False,
            dots_size=5,
        )
        law = "usl" if fit.usl else "amdahl"
        curve = fit.curve(law, upto=max(top, 2))
        chart.add(
            f"{name}: {law.upper() if law == 'usl' else 'Amdahl'} fit (dashed line)",
            [(n, y) for n, y in curve if y > 0],
            show_dots=False,
            stroke_style={"width": 2, "dasharray": "6,3"},
        )
    chart.config.style.colors = tuple(colors)
    return _svg(chart)


def sweep_chart(result: ScenarioResult, analysis: ScenarioAnalysis) -> str | None:
    """A sweep's chart: speedup over serial against the swept value, one line per model at
    its best worker count, serial at 1, and the crossing as a vertical line."""
    sweep = analysis.sweep
    if sweep is None:
        return None
    series, several = sweep_series(result, sweep.param)
    if not series:
        return None
    values = [v.value for v in sweep.values]
    log_x = spans_decades(values)
    colors: list[str] = ["#6b7280"]
    best = " (each model at its best worker count)" if several else ""
    chart = _chart(
        "XY",
        f"Speedup against {sweep.param}{best} ({result.name})",
        colors,
        logarithmic=log_x,
        x_title=f"{sweep.param}{' (log)' if log_x else ''}",
        y_title="speedup over serial" + (" (log)" if log_x else ""),
        dots_size=4,
        show_x_guides=True,
    )
    chart.add(
        "serial (= 1)",
        [(values[0], 1.0), (values[-1], 1.0)],
        show_dots=False,
        stroke_style={"width": 1, "dasharray": "2,4"},
    )
    for i, line in enumerate(series):
        colors.append(_color(line.executor, i))
        chart.add(f"{line.executor}-{line.workers}", line.points, dots_size=5)
    if sweep.crossing is not None:
        ys = [y for line in series for _, y in line.points] + [1.0]
        colors.append("#dc2626")
        chart.add(
            f"crossing: {sweep.param} ≈ {format_number(sweep.crossing)}",
            [(sweep.crossing, min(ys)), (sweep.crossing, max(ys))],
            show_dots=False,
            stroke_style={"width": 2, "dasharray": "4,2"},
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
            if r.executor == e.executor and result.at_base(r) and r.status == "ok"
            and any(rep.latency for rep in r.repeats)
        ]  # fmt: skip
        if runs:
            chosen.append(max(runs, key=lambda r: r.summary.throughput.value or 0))
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
    light, heavy = _color(be.light, 0), _color(be.heavy, 1)
    colors = [light, heavy, light, heavy]
    chart = _chart(
        "XY",
        f"{be.light.capitalize()} vs {be.heavy} by "
        f"{'work per task' if be.param == 'task_us' else be.param} "
        f"({be.tasks} tasks)",
        colors,
        x_title="work per task (µs)" if be.param == "task_us" else be.param,
        y_title="seconds for the batch",
        dots_size=3,
        show_x_guides=True,
    )
    for role, with_startup in (
        ("light", False), ("heavy", False), ("light", True), ("heavy", True),
    ):  # fmt: skip
        pts = [(p.value, t) for p in be.points if (t := p.total(role, with_startup)) is not None]
        executor = be.light if role == "light" else be.heavy
        label = f"{executor} {'incl. start-up' if with_startup else 'running pool'}"
        style = {"width": 2, "dasharray": "6,3"} if with_startup else {"width": 2}
        chart.add(label, pts, stroke_style=style)
    return _svg(chart)
