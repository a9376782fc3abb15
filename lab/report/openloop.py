"""The open loop in reports: each run's rates and latencies, the verdict per rate, the
saturation points of a rate sweep and the closing note (Markdown and HTML share the rows)."""

from __future__ import annotations

import io
from collections.abc import Callable

from lab.analysis.openloop import OpenLoopAnalysis, per_second
from lab.core.units import format_seconds

OPEN_LOOP_HEADERS = {
    "run": "run",
    "rate": "target rate",
    "achieved": "achieved (median)",
    "held": "held",
    "late": "sent >1 ms late",
    "corrected": "corrected p50 / p90 / p99 / p99.9 / max",
    "service": "uncorrected (service) p50 / p99 / max",
}
SATURATION_HEADERS = {"run": "run", "held": "highest rate held", "failed": "next rate: not held"}


def _figures(percentiles: object, keys: tuple[str, ...]) -> str:
    if not isinstance(percentiles, dict):
        return "–"
    return " / ".join(format_seconds(percentiles.get(k)) for k in keys)


def open_loop_rows(analysis: OpenLoopAnalysis) -> list[dict[str, str]]:
    rows = []
    for run in sorted(analysis.runs, key=lambda r: (r.rate, r.label)):
        rows.append(
            {
                "run": run.label,
                "rate": per_second(run.rate),
                "achieved": per_second(run.achieved),
                "held": "yes" if run.held else "failed requests" if run.failed else "no",
                "late": f"{100 * run.late_share:.0f}%",
                "corrected": _figures(run.corrected, ("p50", "p90", "p99", "p999", "max")),
                "service": _figures(run.service, ("p50", "p99", "max")),
            }
        )
    return rows


def saturation_rows(analysis: OpenLoopAnalysis) -> list[dict[str, str]]:
    return [
        {
            "run": s.label,
            "held": per_second(s.held_rate) if s.held_rate is not None else "none",
            "failed": f"{per_second(s.failed_rate)} ({s.why})"
            if s.failed_rate is not None
            else "–",
        }
        for s in analysis.saturation
    ]


def open_loop_markdown(analysis: OpenLoopAnalysis, esc: Callable[[str], str]) -> str:
    out = io.StringIO()

    def table(headers: dict[str, str], rows: list[dict[str, str]]) -> None:
        out.write("| " + " | ".join(headers.values()) + " |\n")
        out.write("|" + "|".join("---" for _ in headers) + "|\n")
        for row in rows:
            out.write("| " + " | ".join(esc(row[k]) for k in headers) + " |\n")

    out.write(
        "\n**Open loop** (latency from each request's scheduled time, corrected, and from its "
        "actual send, uncorrected)\n\n"
    )
    table(OPEN_LOOP_HEADERS, open_loop_rows(analysis))
    out.write("\n**At each rate:**\n\n")
    for verdict in analysis.verdicts:
        out.write(f"- {esc(verdict.text)}\n")
    if analysis.saturation:
        out.write(
            f"\n**Break-even** (rate sweep): each run's saturation point, the highest rate it "
            f"held with corrected p99 under {esc(format_seconds(analysis.p99_limit))}\n\n"
        )
        table(SATURATION_HEADERS, saturation_rows(analysis))
    if analysis.note:
        out.write(f"\n**Closing note:** {esc(analysis.note)}.\n")
    return out.getvalue()


def open_loop_html(analysis: OpenLoopAnalysis, esc: Callable[[str], str]) -> str:
    """The open-loop section of a scenario: its charts, tables, per-rate verdicts and note."""
    from lab.report.charts import open_loop_charts

    def table(headers: dict[str, str], rows: list[dict[str, str]]) -> str:
        head = "".join(f"<th>{esc(h)}</th>" for h in headers.values())
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(row[k])}</td>" for k in headers) + "</tr>" for row in rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    out = ["<h3>Open loop: rates held and latency from the schedule</h3>"]
    charts = open_loop_charts(analysis)
    if charts:
        out.append(
            '<div class="charts">'
            + "".join(f'<div class="chart">{c}</div>' for c in charts)
            + "</div>"
        )
    out.append(
        "<p>Corrected latency runs from each request's scheduled time (what a caller on "
        "schedule waits); uncorrected, from its actual send (the service time).</p>"
    )
    out.append(table(OPEN_LOOP_HEADERS, open_loop_rows(analysis)))
    out.append(
        "<p><strong>At each rate:</strong></p><ul>"
        + "".join(f"<li>{esc(v.text)}</li>" for v in analysis.verdicts)
        + "</ul>"
    )
    if analysis.saturation:
        out.append(
            "<h3>Break-even: saturation points</h3><p>The highest rate each run held with "
            f"corrected p99 under {esc(format_seconds(analysis.p99_limit))}.</p>"
        )
        out.append(table(SATURATION_HEADERS, saturation_rows(analysis)))
    if analysis.note:
        out.append(f"<p><strong>Closing note:</strong> {esc(analysis.note)}.</p>")
    return "\n".join(out)
