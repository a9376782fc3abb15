"""What the lab concludes about a scenario, as text for the app: verdict, claims, fits, warnings.

Everything comes from `lab.analysis.verdicts.analyse_scenario` (and `lab.report.explain` for the fit and
break-even tables, `lab.analysis.noise.group_notices` for the warnings): the app says what the report
says, laid out for a terminal. Every state is in words or marks, never only in colour. No
Textual here.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lab.analysis.analyse import ScenarioAnalysis
from lab.analysis.claims import ClaimResult
from lab.analysis.noise import group_notices
from lab.core.units import format_seconds
from lab.report.cells import drift_sentence
from lab.report.explain import grouped_warnings, scaling_rows
from lab.results.model import ScenarioResult
from lab.results.notices import Notice
from lab.scenario.models import BASELINE, PROCESSES, THREADS

# Marks that read without colour (no emoji: their width varies across terminals).
STATUS = {
    "confirmed": ("✓ confirmed", "green"),
    "refuted": ("✗ refuted", "red"),
    "partly": ("◐ partly", "yellow"),
    "inconclusive": ("? inconclusive", "yellow"),
    "not measured": ("– not measured", "dim"),
}
WARNING_MARK = "⚠"

SCALING_COLUMNS = {
    "executor": "executor",
    "points": "counts",
    "serial_fraction": "Amdahl σ",
    "sigma": "USL σ",
    "kappa": "USL κ",
    "peak": "USL peak",
    "error": "fit error",
}
BREAKEVEN_COLUMNS = {  # lab.report.explain.breakeven_rows's, without the run ids
    "task": "per task",
    "baseline": BASELINE,
    "light": "{light}",
    "light_start": "start-up",
    "heavy": "{heavy}",
    "heavy_start": "start-up",
}


def scenario_notices(result: ScenarioResult | None, machine: Sequence[Notice]) -> list[Notice]:
    """The machine's warnings, then the scenario's and its runs', runs of a kind folded."""
    found = list(machine)
    if result is not None:
        found += group_notices(result.all_warnings())
    return found


def verdict_line(analysis: ScenarioAnalysis | None, running: bool = False) -> Table:
    """The verdict under the grid and the chart, wrapped under itself."""
    if analysis is None:
        body = Text("none: the analysis failed (d shows why)", style="bold")
    else:
        body = Text(analysis.verdict.text)
    return _rows([(Text("Verdict" + (" so far" if running else ""), style="bold"), body)])


def warnings_hint(count: int | None) -> Text:
    if count is None:  # nothing shown yet
        return Text()
    if not count:
        return Text("no warnings")
    word = "warning" if count == 1 else "warnings"
    return Text(f"{WARNING_MARK} {count} {word}: w", style="bold")


def _heading(title: str) -> Text:
    return Text(title, style="bold underline")


def _plain(cell: Text | str) -> Text:
    """A cell as plain text: a Rich table reads a str cell as markup, and names, run ids and
    figures come from reports (`[/]` in a run id would stop the app)."""
    return cell if isinstance(cell, Text) else Text(cell)


def _rows(rows: list[tuple[Text | str, Text | str]]) -> Table:
    """Two columns: a mark that never wraps, and text that wraps under itself."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    for mark, body in rows:
        table.add_row(_plain(mark), _plain(body))
    return table


def _table(headers: dict[str, str], rows: list[dict[str, str]]) -> Table:
    table = Table(
        box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="bold", expand=False
    )
    for key, header in headers.items():
        table.add_column(header, no_wrap=key in ("executor", "points", "task"))
    for row in rows:
        table.add_row(*[_plain(row[k]) for k in headers])
    return table


def claim_rows(claims: Sequence[ClaimResult]) -> Table:
    rows: list[tuple[Text | str, Text | str]] = []
    for c in claims:
        label, style = STATUS[c.status]
        measured = c.status != "not measured"
        body = Text(c.claim, style="bold" if measured else "")
        if c.figures:
            body.append("\n" + c.figures, style="" if measured else "dim")
        if c.note:
            body.append(f"\nnote: {c.note}", style="italic")
        rows.append((Text(label, style=style), body))
    return _rows(rows)


def analysis_view(
    result: ScenarioResult,
    analysis: ScenarioAnalysis,
    *,
    notices: Sequence[Notice] = (),
    notes: Sequence[str] = (),
    merged: Sequence[ClaimResult] = (),
    merged_from: int = 0,
    running: bool = False,
) -> RenderableType:
    """Everything the lab concludes about one scenario, in the order a reader needs it."""
    parts: list[RenderableType] = []
    v = analysis.verdict

    parts.append(
        _heading("Verdict" + (" so far (the scenario is still running)" if running else ""))
    )
    parts.append(_rows([("", Text(v.text))]))
    if analysis.sweep is not None:
        parts.append(_rows([("•", Text(value.text)) for value in analysis.sweep.values]))
    rounds = drift_sentence(result)  # the rounds' seed and the drift meter
    if rounds:
        parts.append(_rows([("", Text(rounds))]))

    parts += [Text(), _heading("Why, per model")]
    rows: list[tuple[Text | str, Text | str]] = []
    for e in v.explanations:
        body = Text(e.text)
        if not e.decided:
            body.append(" (undecided)", style="italic")
        rows.append(("•" if e.decided else "?", body))
    parts.append(_rows(rows) if rows else Text("  no model finished a run", style="dim"))

    parts += [Text(), _heading("Classic claims, from this scenario")]
    for note in notes:
        parts.append(_rows([(Text("note", style="bold"), Text(note))]))
    parts.append(claim_rows(analysis.claims))

    if analysis.scaling:
        parts += [Text(), _heading("Scaling fits (throughput against workers)")]
        parts.append(_table(SCALING_COLUMNS, scaling_rows(analysis.scaling)))
        parts.append(
            Text(
                "Amdahl σ: serial fraction · USL σ: contention, κ: coherency · the chart (g) "
                "draws the fitted curves over the measured points",
                style="dim",
            )
        )
        caveats = grouped_warnings(analysis.scaling)
        if caveats:
            parts.append(_rows([(WARNING_MARK, Text(w)) for w in caveats]))

    be = analysis.breakeven
    if be is not None:
        noun = "size" if be.param == "task_us" else "value"
        parts += [
            Text(),
            _heading(
                ("Task-size sweep" if be.param == "task_us" else f"Sweep of {be.param}")
                + (
                    f": when a {PROCESSES.display_name} beats a {THREADS.display_name}"
                    if be.heavy == PROCESSES.name
                    else f": when {be.heavy} beats {be.light}"
                )
            ),
        ]
        parts.append(_rows([("", Text(be.text))]))
        sizes = [
            {
                "task": be.label(p.value),
                "baseline": format_seconds(p.serial_wall),
                "light": format_seconds(p.light_wall),
                "light_start": format_seconds(p.light_startup),
                "heavy": format_seconds(p.heavy_wall),
                "heavy_start": format_seconds(p.heavy_startup),
            }
            for p in be.points
        ]
        names = {"light": be.light, "heavy": be.heavy}
        columns = {k: v.format(**names) for k, v in BREAKEVEN_COLUMNS.items()}
        parts.append(_table(columns, sizes))
        parts.append(
            Text(
                f"One batch of {be.tasks} tasks per {noun}, each pool's best run; start-up is "
                f"the pool's median over the {noun}s. The grid's rows with a sweep value are "
                f"these runs, each compared with the serial run at the same {noun}.",
                style="dim",
            )
        )
        if be.warnings:
            parts.append(_rows([(WARNING_MARK, Text(w)) for w in be.warnings]))

    parts += [Text(), _heading(f"Warnings ({len(notices)})")]
    if notices:
        parts.append(_rows([(WARNING_MARK, Text(n["message"])) for n in notices]))
    else:
        parts.append(Text("  none: the machine looked quiet and the repeats steady", style="dim"))

    if merged and merged_from > 1:
        parts += [Text(), _heading(f"Classic claims across the {merged_from} scenarios run")]
        parts.append(claim_rows(merged))
    return Group(*parts)


def warnings_body(
    result: ScenarioResult | None, machine: Sequence[Notice], machine_known: bool
) -> str:
    """The warnings view: each warning in plain sentences, the machine's first."""
    lines: list[str] = ["About the machine (read when the session started):", ""]
    if machine:
        for n in machine:
            lines += [f"{WARNING_MARK} {n['message']}", ""]
    elif machine_known:
        lines += ["  none: governor, load, usable CPUs and swap looked fine.", ""]
    else:
        lines += ["  not read yet: a session reads them before its first run.", ""]
    if result is not None:
        lines += [f"About {result.name} and its runs:", ""]
        grouped = group_notices(result.all_warnings())
        if grouped:
            for n in grouped:
                lines += [f"{WARNING_MARK} {n['message']}", ""]
        else:
            lines += ["  none: the repeats were steady and long enough to time.", ""]
    return "\n".join(lines).rstrip() + "\n"
