"""The interpreter axis in reports: what each interpreter is, and each model across them.

Rows as plain strings (`interpreter_rows`, `across_rows`), shared by the Markdown and HTML
reports; the per-interpreter parts of each scenario are ordinary scenario sections.
"""

from __future__ import annotations

from lab.analysis.across import across_interpreters
from lab.core.textsafe import html_text
from lab.report.cells import md_escape
from lab.results.model import Report

HEADERS = ["interpreter", "Python", "build", "GIL in its runs", "executable", "notes"]
ACROSS_HEADERS = ["scenario", "run", "interpreters", "speed ratio", "95% CI", "test"]


def _gil(facts: dict[str, object]) -> str:
    if facts.get("problem"):
        return "–"
    on = facts.get("gil_enabled")
    if on is None:
        return "?"
    if not on:
        return "off"
    by = facts.get("gil_enabled_by")
    return f"on (turned on by {', '.join(map(str, by))})" if isinstance(by, list) and by else "on"


def interpreter_rows(report: Report) -> list[list[str]]:
    rows = []
    for label, facts in report.interpreters.items():
        build = "free-threaded" if facts.get("free_threading_build") else "with GIL"
        if facts.get("debug"):
            build += ", debug"
        python = f"{facts.get('implementation') or ''} {facts.get('version') or ''}".strip()
        rows.append(
            [
                label,
                python or "?",
                build if not facts.get("problem") else "–",
                _gil(facts),
                str(facts.get("executable") or facts.get("name") or ""),
                str(facts.get("problem") or ""),
            ]
        )
    return rows


def across_rows(report: Report) -> list[list[str]]:
    rows = []
    for row in across_interpreters(report):
        c = row.comparison
        ci = (
            f"{c.ratio_low:.2f}–{c.ratio_high:.2f}"
            if c.ratio_low is not None and c.ratio_high is not None
            else "–"
        )
        ratio = f"{c.ratio:.2f}×" if c.ratio is not None else "–"
        pair = f"{row.interpreter} vs {row.reference}"
        rows.append([row.scenario, row.run, pair, ratio, ci, row.significance])
    return rows


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def interpreters_markdown(report: Report) -> str:
    if not report.interpreters:
        return ""
    out = "\n## Interpreters\n\nEvery scenario ran under each of these; its sections below are "
    out += "one per interpreter, each compared with its own serial run.\n\n"
    out += _md_table(HEADERS, interpreter_rows(report))
    rows = across_rows(report)
    if rows:
        out += (
            "\n### Each model across interpreters\n\nSpeed of each run under an interpreter over "
            "the same run under the first (above 1: faster), paired by round, Holm-adjusted "
            "over the runs of a scenario; n.s.: not significantly different.\n\n"
        )
        out += _md_table(ACROSS_HEADERS, rows)
    return out


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html_text(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def interpreters_html(report: Report) -> str:
    if not report.interpreters:
        return ""
    parts = ['<section id="interpreters"><h2>Interpreters</h2>']
    parts.append(_html_table(HEADERS, interpreter_rows(report)))
    rows = across_rows(report)
    if rows:
        parts.append("<h3>Each model across interpreters</h3>")
        parts.append(
            '<p class="note">Speed of each run under an interpreter over the same run under '
            "the first (above 1: faster), paired by round, Holm-adjusted.</p>"
        )
        parts.append(_html_table(ACROSS_HEADERS, rows))
    parts.append("</section>")
    return "\n".join(parts)
