"""The comparison as Markdown (for people) or JSON (for CI)."""

from __future__ import annotations

import json
import statistics

from lab.compare.matching import TIME, Matched, PairComparison, corrected_p99s, executor_cell
from lab.core.stats import TEST_DESCRIPTION, TEST_NAME
from lab.core.units import format_seconds
from lab.results.model import Report, RunResult

COMPARE_SCHEMA_ID = "concurrency-lab/compare"


def _figure(m: Matched, run: RunResult) -> str:
    """The median compared: the run's time, or its open loop's corrected p99."""
    if m.metric == TIME:
        return _time(run)
    p99s = corrected_p99s(run) or []
    return format_seconds(statistics.median(p99s)) if p99s else "–"


def _time(run: RunResult) -> str:
    wall = run.summary.wall_seconds
    median, mad = wall.median, wall.mad
    spread = f" ±{100 * mad / median:.0f}%" if median and mad is not None else ""
    return format_seconds(median) + spread


def _describe_report(label: str, name: str, report: Report) -> str:
    m = report.machine
    py = m.get("python") or {}
    machine = f"{m.get('cpu_model', '?')}, {m.get('cpus_usable', '?')} usable CPUs"
    python = f"{py.get('implementation', '')} {py.get('version', '')}".strip() or "?"
    warnings = len(report.all_warnings())
    return (
        f"| {label} | `{name}` | {report.created or '?'} | {machine} | {python} | "
        f"{report.lab_version or '?'} | {warnings} |\n"
    )


def render_markdown(
    reports: list[tuple[str, Report]],
    pairs: list[PairComparison],
    pct: float | None,
    strict: bool = False,
) -> str:
    out = ["# concurrency-lab compare\n\n"]
    out.append("| | report | created | machine | Python | lab | warnings |\n")
    out.append("|---|---|---|---|---|---|---|\n")
    for i, (name, report) in enumerate(reports):
        label = "A (baseline)" if i == 0 else chr(ord("A") + i)
        out.append(_describe_report(label, name, report))
    for i, pair in enumerate(pairs, start=1):
        label = chr(ord("A") + i)
        out.append(f"\n## {label} (`{pair.b_name}`) against A (`{pair.a_name}`)\n\n")
        if pair.differences:
            out.append("What differs: " + "; ".join(pair.differences) + ".\n\n")
        else:
            out.append("Same machine and software, as far as the reports record them.\n\n")
        if pair.matched:
            out.append(
                f"| scenario | executor | workers | A | {label} | {label}/A (95% CI) "
                "| p | verdict |\n|---|---|---|---|---|---|---|---|\n"
            )
            for m in pair.matched:
                c = m.comparison
                ratio = f"{c.ratio:.3f}" if c.ratio is not None else "–"
                if c.ratio_low is not None and c.ratio_high is not None and c.can_be_significant:
                    ratio += f" ({c.ratio_low:.3f}–{c.ratio_high:.3f})"
                p = f"{c.p_value:.3g}" if c.p_value is not None else "–"
                verdict = m.verdict()
                if c.significant:
                    verdict = f"**{verdict}**"
                if m.disturbed():
                    verdict += " ⚠"
                out.append(
                    f"| {m.scenario} | {executor_cell(m)} | {m.workers} | {_figure(m, m.a)} | "
                    f"{_figure(m, m.b)} | {ratio} | {p} | {verdict} |\n"
                )
        slower = pair.slower(0)
        faster = [m for m in pair.matched if m.comparison.significant and (m.change() or 0) < 0]
        same = len(pair.matched) - len(slower) - len(faster)
        out.append(
            f"\n{len(pair.matched)} matched runs: {len(slower)} significantly slower, "
            f"{len(faster)} significantly faster, {same} without a significant difference.\n"
        )
        disturbed = [m for m in pair.matched if m.disturbed()]
        if disturbed:
            out.append(
                f"\n⚠ {len(disturbed)} of the {len(pair.matched)} matched runs "
                f"{'was' if len(disturbed) == 1 else 'were'} disturbed: in one report or both, other "
                "programs kept the CPUs busy while they ran (see the reports' warnings). Their "
                "differences may come from the machine, not from what changed; rerun both on a "
                "quiet machine before trusting them.\n"
            )
        if pair.unmatched:
            out.append("\nNot compared:\n\n")
            for u in pair.unmatched:
                what = f"`{u.scenario}`" if u.run == "*" else f"`{u.scenario}` {u.run}"
                out.append(f"- {what}: {u.reason}\n")
    if pct is not None:
        failing = [(pair, m) for pair in pairs for m in pair.slower(pct)]
        unsure = [
            (pair, m, reason)
            for pair in pairs
            for m in pair.matched
            if (reason := m.inconclusive(pct, strict)) is not None
        ]
        if not any(pair.matched for pair in pairs):
            out.append(f"\n**Gate failed** (`--fail-if-slower {pct:g}`): {NOTHING_MATCHED}\n")
        elif failing:
            out.append(f"\n**Gate failed** (`--fail-if-slower {pct:g}`):\n\n")
            for pair, m in failing:
                out.append(
                    f"- {m.key} in `{pair.b_name}` is {100 * (m.change() or 0):.1f}% slower "
                    f"(p = {m.comparison.p_value:.3g})\n"
                )
        elif unsure:
            out.append(
                f"\n**Gate inconclusive** (`--fail-if-slower {pct:g}`): {len(unsure)} matched "
                "runs cannot be judged, so the gate cannot say the code did not get slower:\n\n"
            )
            for pair, m, reason in unsure:
                out.append(f"- {m.key} in `{pair.b_name}`: {reason}\n")
        else:
            out.append(
                f"\n**Gate passed** (`--fail-if-slower {pct:g}`): no matched run is significantly "
                f"slower by more than {pct:g}%.\n"
            )
        if not failing and not strict:
            out.append(_blind_spots(pairs, pct))
    out.append(
        f"\n{TEST_DESCRIPTION} p-values are Holm-Bonferroni adjusted over the matched runs of "
        "each report, so a gate over many runs keeps its 5% false-alarm rate.\n"
    )
    return "".join(out)


def _blind_spots(pairs: list[PairComparison], pct: float) -> str:
    """What a pass cannot promise: runs so noisy that a pct% slowdown would not have shown."""
    blind = [(pair, m) for pair in pairs for m in pair.blind(pct)]
    if not blind:
        return ""
    total = sum(len(pair.matched) for pair in pairs)
    widest = ", ".join(
        f"{m.key} up to {100 * ((m.blind_spot(pct) or 1) - 1):.0f}%" for _, m in blind[:3]
    )
    return (
        f"\nResolution: in {len(blind)} of {total} matched runs the 95% interval of the time "
        f"ratio reaches past +{pct:g}%, so a slowdown that size could hide in their spread "
        f"(widest: {widest}). Add rounds, run on a quieter machine, or pass `--strict` to count "
        "them as inconclusive.\n"
    )


def render_json(
    reports: list[tuple[str, Report]],
    pairs: list[PairComparison],
    pct: float | None,
    strict: bool = False,
) -> str:
    data = {
        "schema": COMPARE_SCHEMA_ID,
        "schema_version": 1,
        "test": f"{TEST_NAME}, Holm-Bonferroni over the matched runs",
        "reports": [
            {
                "path": name,
                "created": r.created,
                "lab_version": r.lab_version,
                "machine": r.machine,
                "warnings": r.all_warnings(),
            }
            for name, r in reports
        ],
        "fail_if_slower": pct,
        "failed": gate_failed(pairs, pct),
        "strict": strict,
        "inconclusive": gate_inconclusive(pairs, pct, strict),
        "comparisons": [p.to_json(pct, strict) for p in pairs],
    }
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


NOTHING_MATCHED = (
    "no run of the baseline matched a run of the other reports (same scenario, executor and "
    "worker count, finished in both, same workload), so there is nothing to compare"
)


def gate_failed(pairs: list[PairComparison], pct: float | None) -> bool:
    return pct is not None and any(pair.slower(pct) for pair in pairs)


def gate_inconclusive(pairs: list[PairComparison], pct: float | None, strict: bool = False) -> bool:
    return pct is not None and any(
        m.inconclusive(pct, strict) for pair in pairs for m in pair.matched
    )
