"""`concurrency-lab compare A.json B.json [...]`: the same runs side by side, and a CI gate.

The first report is the baseline; every other report is compared with it run by run, matched
on (scenario, executor, workers). For each matched run: both medians, the time ratio B/A with
its 95% interval and a two-sided Mann-Whitney U test on the repeat times (lab.core.stats). Runs
that cannot be compared (only in one report, failed, or a workload with other settings) are
listed with the reason, never dropped. `--fail-if-slower PCT` exits 1 when any matched run is
significantly slower than the baseline by more than PCT percent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.analysis.summarise import finalise_scenario
from lab.core.stats import TEST_DESCRIPTION, TEST_NAME, Comparison, compare_samples
from lab.core.units import format_seconds
from lab.results.model import SCHEMA_ID, SCHEMA_VERSION, Report, RunResult, ScenarioResult

EXIT_OK, EXIT_SLOWER, EXIT_BAD_INPUT = 0, 1, 2
COMPARE_SCHEMA_ID = "concurrency-lab/compare"
# Run warnings that mean a difference may come from the machine rather than the code.
DISTURBING = {"background_load", "high_spread"}

EPILOG = """\
The first report is the baseline. Runs are matched by scenario, executor and worker count;
a difference is significant when a two-sided Mann-Whitney U test on the repeat times gives
p < 0.05 (at least 4 repeats per side are needed). Runs that cannot be matched are listed.

exit codes:
  0  no matched run is significantly slower by more than PCT (or no gate was asked for)
  1  --fail-if-slower: some matched run is significantly slower by more than PCT
  2  bad input: a file is missing, not JSON, or not a concurrency-lab report

examples:
  concurrency-lab compare before.json after.json
  concurrency-lab compare main.json branch.json --fail-if-slower 5
  concurrency-lab compare py311.json py312.json py313.json --format json
"""


class CompareError(Exception):
    """A report that cannot be read; the message says which file and why."""


@dataclass
class Matched:
    scenario: str
    executor: str
    workers: int
    a: RunResult
    b: RunResult
    comparison: Comparison  # b against a: ratio = median(b) / median(a), > 1 is slower

    @property
    def key(self) -> str:
        return f"{self.scenario} {self.executor}-{self.workers}"

    def change(self) -> float | None:
        """Relative change of the median time, +0.12 for 12% slower."""
        return self.comparison.ratio - 1 if self.comparison.ratio is not None else None

    def verdict(self) -> str:
        c = self.comparison
        change = self.change()
        if c.significant and change is not None:
            word = "slower" if change > 0 else "faster"
            return f"{abs(100 * change):.1f}% {word}"
        if not c.can_be_significant:
            return "cannot tell: too few repeats"
        return "no significant difference"

    def disturbed(self) -> list[str]:
        """Noise warnings either run carries: its verdict may reflect the machine, not the code."""
        codes = {
            w["code"]
            for run in (self.a, self.b)
            for w in run.summary.warnings
            if w["code"] in DISTURBING
        }
        return sorted(codes)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "executor": self.executor,
            "workers": self.workers,
            "a": _run_stats(self.a),
            "b": _run_stats(self.b),
            **self.comparison.to_json(),
            "change": self.change(),
            "verdict": self.verdict(),
            "disturbed_by": self.disturbed(),
        }


@dataclass
class Unmatched:
    scenario: str
    run: str  # executor-workers, or "*" for a whole scenario
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "run": self.run, "reason": self.reason}


@dataclass
class PairComparison:
    a_name: str
    b_name: str
    matched: list[Matched] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # machine and software, A -> B

    def slower(self, pct: float) -> list[Matched]:
        """Matched runs significantly slower than the baseline by more than pct percent."""
        return [
            m for m in self.matched if m.comparison.significant and (m.change() or 0) > pct / 100
        ]

    def to_json(self, pct: float | None) -> dict[str, Any]:
        return {
            "baseline": self.a_name,
            "report": self.b_name,
            "differences": self.differences,
            "matched": [m.to_json() for m in self.matched],
            "unmatched": [u.to_json() for u in self.unmatched],
            "significantly_slower": [m.key for m in self.slower(0)],
            "significantly_faster": [
                m.key for m in self.matched if m.comparison.significant and (m.change() or 0) < 0
            ],
            "regressions": [m.key for m in self.slower(pct)] if pct is not None else [],
        }


def _run_stats(run: RunResult) -> dict[str, Any]:
    wall = run.summary.wall_seconds
    return {
        "run_id": run.run_id,
        "n": len(run.repeats),
        "median": wall.median,
        "mad": wall.mad,
        "ci_low": wall.ci_low,
        "ci_high": wall.ci_high,
        "warnings": len(run.summary.warnings),
    }


def load_report(path: str) -> Report:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CompareError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CompareError(
            f"{path}: not JSON ({exc}); write reports with --report FILE.json or --format json"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        raise CompareError(f'{path}: not a concurrency-lab report (no "schema": "{SCHEMA_ID}")')
    if data.get("schema_version") != SCHEMA_VERSION:
        raise CompareError(
            f"{path}: report schema version {data.get('schema_version')!r}; this lab reads "
            f"version {SCHEMA_VERSION}"
        )
    try:
        report = Report.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise CompareError(f"{path}: a malformed report ({type(exc).__name__}: {exc})") from None
    # Summaries are derived data: recompute them so older reports get today's statistics.
    for result in report.scenarios:
        finalise_scenario(result, int(report.machine.get("cpus_usable") or 1))
    return report


def _workload_difference(a: ScenarioResult, b: ScenarioResult) -> str | None:
    keys = sorted(set(a.workload) | set(b.workload))
    diffs = [
        f"{k} {a.workload.get(k)!r} vs {b.workload.get(k)!r}"
        for k in keys
        if a.workload.get(k) != b.workload.get(k)
    ]
    return ", ".join(diffs) or None


def _differences(a: Report, b: Report) -> list[str]:
    """Machine and software facts that differ: what a difference in times may come from."""
    facts = [
        ("CPU", ("cpu_model",)),
        ("usable CPUs", ("cpus_usable",)),
        ("host", ("hostname",)),
        ("kernel", ("kernel",)),
        ("Python", ("python", "version")),
        ("Python implementation", ("python", "implementation")),
        ("GIL enabled", ("python", "gil_enabled")),
        ("start method", ("multiprocessing_start_method",)),
    ]

    def get(machine: Mapping[str, Any], path: tuple[str, ...]) -> Any:
        value: Any = machine
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    found = [
        f"{name} {get(a.machine, path)} → {get(b.machine, path)}"
        for name, path in facts
        if get(a.machine, path) != get(b.machine, path)
    ]
    libs_a, libs_b = a.machine.get("libraries") or {}, b.machine.get("libraries") or {}
    found += [
        f"{lib} {libs_a.get(lib)} → {libs_b.get(lib)}"
        for lib in sorted(set(libs_a) | set(libs_b))
        if libs_a.get(lib) != libs_b.get(lib)
    ]
    if a.lab_version != b.lab_version:
        found.append(f"concurrency-lab {a.lab_version} → {b.lab_version}")
    return found


def _ok(run: RunResult) -> str | None:
    if run.status != "ok":
        message = f": {run.error.message}" if run.error else ""
        return f"{run.status}{message}"
    if not run.repeats:
        return "no measured repeats"
    return None


def compare_reports(a: Report, b: Report, a_name: str = "A", b_name: str = "B") -> PairComparison:
    pair = PairComparison(a_name, b_name, differences=_differences(a, b))
    b_scenarios = {s.name: s for s in b.scenarios}
    a_names = {s.name for s in a.scenarios}
    for sa in a.scenarios:
        sb = b_scenarios.get(sa.name)
        if sb is None:
            pair.unmatched.append(Unmatched(sa.name, "*", f"scenario only in {a_name}"))
            continue
        differs = _workload_difference(sa, sb)
        runs_b = {(r.executor, r.workers): r for r in sb.runs}
        seen = set()
        for ra in sa.runs:
            key = (ra.executor, ra.workers)
            seen.add(key)
            label = f"{ra.executor}-{ra.workers}"
            rb = runs_b.get(key)
            if rb is None:
                pair.unmatched.append(Unmatched(sa.name, label, f"only in {a_name}"))
            elif differs:
                pair.unmatched.append(
                    Unmatched(sa.name, label, f"the workload differs ({differs})")
                )
            elif _ok(ra) or _ok(rb):
                side, run = (a_name, ra) if _ok(ra) else (b_name, rb)
                pair.unmatched.append(Unmatched(sa.name, label, f"{_ok(run)} in {side}"))
            else:
                walls_a = [r.wall_seconds for r in ra.repeats]
                walls_b = [r.wall_seconds for r in rb.repeats]
                pair.matched.append(
                    Matched(
                        sa.name, ra.executor, ra.workers, ra, rb, compare_samples(walls_b, walls_a)
                    )
                )
        for rb in sb.runs:
            if (rb.executor, rb.workers) not in seen:
                pair.unmatched.append(
                    Unmatched(sb.name, f"{rb.executor}-{rb.workers}", f"only in {b_name}")
                )
    for sb in b.scenarios:
        if sb.name not in a_names:
            pair.unmatched.append(Unmatched(sb.name, "*", f"scenario only in {b_name}"))
    return pair


# --- rendering ----------------------------------------------------------------------------------


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
    reports: list[tuple[str, Report]], pairs: list[PairComparison], pct: float | None
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
                f"| scenario | executor | workers | A | {label} | {label}/A time (95% CI) "
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
                    f"| {m.scenario} | {m.executor} | {m.workers} | {_time(m.a)} | "
                    f"{_time(m.b)} | {ratio} | {p} | {verdict} |\n"
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
                "programs kept the CPUs busy while they ran or their repeats varied by more than "
                "10% (see the reports' warnings). Their differences may come from the machine, "
                "not from what changed; rerun both on a quiet machine before trusting them.\n"
            )
        if pair.unmatched:
            out.append("\nNot compared:\n\n")
            for u in pair.unmatched:
                what = f"`{u.scenario}`" if u.run == "*" else f"`{u.scenario}` {u.run}"
                out.append(f"- {what}: {u.reason}\n")
    if pct is not None:
        failing = [(pair, m) for pair in pairs for m in pair.slower(pct)]
        if failing:
            out.append(f"\n**Gate failed** (`--fail-if-slower {pct:g}`):\n\n")
            for pair, m in failing:
                out.append(
                    f"- {m.key} in `{pair.b_name}` is {100 * (m.change() or 0):.1f}% slower "
                    f"(p = {m.comparison.p_value:.3g})\n"
                )
        else:
            out.append(
                f"\n**Gate passed** (`--fail-if-slower {pct:g}`): no matched run is significantly "
                f"slower by more than {pct:g}%.\n"
            )
    out.append(f"\n{TEST_DESCRIPTION}\n")
    return "".join(out)


def render_json(
    reports: list[tuple[str, Report]], pairs: list[PairComparison], pct: float | None
) -> str:
    data = {
        "schema": COMPARE_SCHEMA_ID,
        "schema_version": 1,
        "test": TEST_NAME,
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
        "comparisons": [p.to_json(pct) for p in pairs],
    }
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def gate_failed(pairs: list[PairComparison], pct: float | None) -> bool:
    return pct is not None and any(pair.slower(pct) for pair in pairs)


def _percentage(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage such as 5") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the percentage cannot be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="concurrency-lab compare",
        description="Compare reports run by run: two machines, two Python versions or two "
        "commits. The first report is the baseline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("reports", nargs="+", metavar="REPORT.json", help="JSON reports")
    parser.add_argument(
        "--fail-if-slower",
        type=_percentage,
        metavar="PCT",
        help="exit 1 when a matched run is significantly slower than the baseline by more than "
        "PCT percent",
    )
    parser.add_argument(
        "--format", choices=("md", "json"), default="md", help="output format (default: md)"
    )
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(args.reports) < 2:
        parser.print_usage(sys.stderr)
        print("concurrency-lab compare: give at least two reports", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        reports = [(path, load_report(path)) for path in args.reports]
    except CompareError as exc:
        print(f"concurrency-lab compare: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    (a_name, a), *others = reports
    pairs = [compare_reports(a, b, a_name, b_name) for b_name, b in others]
    render = render_json if args.format == "json" else render_markdown
    sys.stdout.write(render(reports, pairs, args.fail_if_slower))
    sys.stdout.flush()
    return EXIT_SLOWER if gate_failed(pairs, args.fail_if_slower) else EXIT_OK
