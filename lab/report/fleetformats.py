"""The fleet report in every format: the hosts side by side, the winner of each model, then
each host's own report (whole in JSON; its Markdown or HTML body in those formats)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from lab.analysis.axis import split_report
from lab.analysis.fleet import compare_hosts
from lab.core.textsafe import html_text
from lab.report.cells import md_escape
from lab.report.csvfile import write_csv
from lab.report.fleetcells import (
    FLEET_TEST,
    fleet_summary,
    host_rows,
    machine_cells,
    model_rows,
    winners_sentence,
)
from lab.report.html import CSS, READING, report_sections
from lab.report.jsonfile import to_json as report_json
from lab.report.markdown import aligned_table, to_markdown
from lab.results.fleet import FleetReport


def to_fleet_json(fleet: FleetReport) -> str:
    """Each host's report exactly as the host wrote it (analysis included), then the hosts'
    comparison (derived: recomputed whenever the report is loaded)."""
    hosts: list[dict[str, Any] | None] = [
        h.report_json
        if h.report_json is not None
        else (json.loads(report_json(h.report)) if h.report is not None else None)
        for h in fleet.hosts
    ]
    data = fleet.to_json(hosts)
    data["comparison"] = [s.to_json() for s in compare_hosts(fleet)]
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def _demote(markdown: str, levels: int) -> str:
    """A host's own report nested under its heading: every heading `levels` deeper."""
    return re.sub(
        r"(?m)^(#{1,6}) ", lambda m: "#" * min(6, len(m.group(1)) + levels) + " ", markdown
    )


def to_fleet_markdown(fleet: FleetReport) -> str:
    out = io.StringIO()
    out.write("# concurrency-lab fleet report\n\n")
    out.write(md_escape(fleet_summary(fleet)) + "\n")
    if fleet.interrupted:
        out.write("\n**Interrupted:** hosts marked `cancelled` did not finish.\n")
    out.write("\n## Hosts\n\n")
    out.write(aligned_table([[md_escape(c) for c in row] for row in host_rows(fleet)]))
    for scenario in compare_hosts(fleet):
        out.write(f"\n## {md_escape(scenario.title)} (`{scenario.scenario}`)\n\n")
        out.write("Each host's best configuration per model (median time per pass):\n\n")
        out.write(aligned_table([[md_escape(c) for c in row] for row in model_rows(scenario)]))
        sentence = winners_sentence(scenario)
        if sentence:
            out.write(f"\n{md_escape(sentence)}\n")
    for host in fleet.hosts:
        if host.report is None:
            continue
        out.write(f"\n## Host {md_escape(host.name)}\n\n")
        # Its own title is the heading above.
        body = to_markdown(host.report).split("\n", 1)[1].lstrip("\n")
        out.write(_demote(body, 1))
    out.write(
        "\n## How to read these numbers\n\nEach host ran one complete lab session on its own; "
        "a host's best configuration of a model is its lowest-median clean run of the "
        "scenario's own workload. Hosts are compared model by model against the fastest host: "
        f"{FLEET_TEST}. A host wins a model only when it is significantly faster than every "
        "other host; otherwise the model is a tie.\n"
    )
    return out.getvalue()


FLEET_CSV_COLUMNS = [
    "scenario", "executor", "host", "host_status", "cpu_model", "cpus_usable", "python", "gil",
    "run_id", "workers", "median_seconds", "throughput", "unit", "slower_than_fastest",
    "p_value", "p_adjusted", "significant", "fastest_host", "winner", "message",
]  # fmt: skip


def _csv_rows(fleet: FleetReport) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    status = {h.host: h for h in fleet.hosts}
    for scenario in compare_hosts(fleet):
        for model in scenario.models:
            for host in scenario.hosts:
                run = model.best.get(host)
                facts = machine_cells(scenario.machines[host])
                test = model.versus.get(host)
                rows.append({
                    "scenario": scenario.scenario, "executor": model.executor, "host": host,
                    "host_status": status[host].status, "cpu_model": facts[0],
                    "cpus_usable": facts[1], "python": facts[2], "gil": facts[3],
                    "run_id": run.run_id if run else None,
                    "workers": run.workers if run else None,
                    "median_seconds": run.summary.wall_seconds.median if run else None,
                    "throughput": run.summary.throughput.value if run else None,
                    "unit": run.unit if run else None,
                    "slower_than_fastest": test.ratio if test else None,
                    "p_value": test.p_value if test else None,
                    "p_adjusted": getattr(test, "p_adjusted", None),
                    "significant": test.significant if test else None,
                    "fastest_host": model.fastest, "winner": model.winner or "tie",
                    "message": scenario.note,
                })  # fmt: skip
    for run_of_host in fleet.hosts:
        if run_of_host.status != "ok":
            rows.append(
                {
                    "host": run_of_host.host,
                    "host_status": run_of_host.status,
                    "message": run_of_host.message,
                }
            )
    return rows


def to_fleet_csv(fleet: FleetReport) -> str:
    return write_csv(FLEET_CSV_COLUMNS, _csv_rows(fleet))


def _e(text: object) -> str:
    return html_text(text)  # the HTML sanitiser (lab.core.textsafe)


def _html_table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _nest_html(sections: list[str], number: int) -> str:
    """A host's own report nested under its heading: every heading one level deeper, and each
    section's id prefixed with the host's number, so that two hosts' sections stay apart.

    Only the report's own markup can hold `<section id="`: text from a report is escaped, which
    turns its angle brackets and quotes into entities. Charts keep their ids (pygal's are unique
    per chart, and its inline style refers to them).
    """
    body = "\n".join(sections)
    body = re.sub(r"<(/?)h([1-5])\b", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", body)
    return body.replace('<section id="', f'<section id="h{number}-')


def to_fleet_html(fleet: FleetReport) -> str:
    """One self-contained page: the hosts compared, then each host's full report."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>concurrency-lab fleet report · {_e(fleet.created)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>concurrency-lab fleet report</h1>",
        f'<p class="machine">{_e(fleet_summary(fleet))}</p></header>',
    ]
    if fleet.interrupted:
        parts.append('<p class="note"><strong>Interrupted:</strong> hosts marked cancelled did '
                     "not finish.</p>")  # fmt: skip
    hosts = [(i, h) for i, h in enumerate(fleet.hosts, 1) if h.report is not None]
    nav = "".join(f'<a href="#host-{i}">{_e(h.name)}</a>' for i, h in hosts)
    parts.append(f'<nav><a href="#hosts">hosts</a>{nav}</nav>')
    parts.append(f'<section id="hosts"><h2>Hosts</h2>{_html_table(host_rows(fleet))}</section>')
    for scenario in compare_hosts(fleet):
        parts.append(
            f'<section id="s-{_e(scenario.scenario)}"><h2>{_e(scenario.title)} '
            f"(<code>{_e(scenario.scenario)}</code>)</h2>"
            f"<p>Each host's best configuration per model (median time per pass).</p>"
            f"{_html_table(model_rows(scenario))}"
        )
        sentence = winners_sentence(scenario)
        if sentence:
            parts.append(f'<div class="verdict">{_e(sentence)}</div>')
        parts.append("</section>")
    for number, host in hosts:
        assert host.report is not None
        parts.append(f'<section id="host-{number}" class="host"><h2>Host {_e(host.name)}</h2>')
        parts.append(_nest_html(report_sections(split_report(host.report)), number))
        parts.append("</section>")
    parts.append(
        "<section><h2>How to read these numbers</h2><p>Each host ran one complete lab session "
        "on its own. Hosts are compared model by model against the fastest host: "
        f"{_e(FLEET_TEST)}. A host wins a model only when it is significantly faster than every "
        f"other host; otherwise the model is a tie. In each host's report: {_e(READING)}</p>"
        "</section>"
    )
    parts.append(f"<footer>concurrency-lab {_e(fleet.lab_version)} · "
                 f"{_e(' '.join(fleet.command))}</footer></body></html>\n")  # fmt: skip
    return "\n".join(parts)
