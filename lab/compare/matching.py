"""Matching two reports run by run, and the statistics of each matched pair."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lab.core.paired import holm
from lab.core.stats import ALPHA, Comparison, compare_samples
from lab.results.model import Report, RunResult, ScenarioResult

# Run warnings that mean a difference may come from other programs rather than the code. A
# wide spread alone is not one: the test sees the spread, and the interval shows what it hides.
DISTURBING = {"background_load"}


TIME = "time"
CORRECTED_P99 = "corrected p99"


def corrected_p99s(run: RunResult) -> list[float] | None:
    """An open-loop run's corrected p99 per repeat; None for a closed-loop run."""
    loops = [r.open_loop for r in run.repeats if r.open_loop is not None]
    if not loops:
        return None
    return [p for o in loops if (p := o.corrected.get("p99")) is not None]


@dataclass
class Matched:
    scenario: str
    executor: str
    workers: int
    a: RunResult
    b: RunResult
    comparison: Comparison  # b against a: ratio = median(b) / median(a), > 1 is slower
    # What was compared: the repeats' times, or an open loop's corrected p99 per repeat
    # (higher is slower there too: callers waited longer).
    metric: str = "time"

    @property
    def key(self) -> str:
        # The run id: a sweep's runs share executor and workers, and differ by value.
        suffix = "" if self.metric == TIME else f" ({self.metric})"
        return f"{self.scenario} {self.a.run_id}{suffix}"

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

    def blind_spot(self, pct: float) -> float | None:
        """The upper end of B/A's 95% interval when it reaches past 1 + pct%: a slowdown this
        big could hide in the noise. None when a pct% slowdown would have shown."""
        c = self.comparison
        if c.significant or not c.can_be_significant or c.ratio_high is None:
            return None
        return c.ratio_high if c.ratio_high > 1 + pct / 100 else None

    def inconclusive(self, pct: float | None = None, strict: bool = False) -> str | None:
        """Why the gate cannot judge this run, or None when it can. `strict` also refuses a run
        whose interval cannot rule out a pct% slowdown."""
        if self.comparison.significant:
            return None
        if not self.comparison.can_be_significant:
            return "too few repeats for any difference to be significant"
        if self.disturbed():
            return f"disturbed ({', '.join(self.disturbed())}) and no significant difference"
        if strict and pct is not None and (high := self.blind_spot(pct)) is not None:
            return (
                f"no significant difference, but its 95% interval of B/A reaches {high:.3f}, "
                f"so a {pct:g}% slowdown cannot be ruled out"
            )
        return None

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
            "metric": self.metric,
            **self.comparison.to_json(),
            "change": self.change(),
            "verdict": self.verdict(),
            "disturbed_by": self.disturbed(),
        }


@dataclass
class Unmatched:
    scenario: str
    run: str  # the run id, or "*" for a whole scenario
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

    def blind(self, pct: float) -> list[Matched]:
        """Runs not significantly slower whose interval still leaves room for a pct% slowdown,
        widest first."""
        return sorted(
            (m for m in self.matched if m.blind_spot(pct) is not None),
            key=lambda m: -(m.blind_spot(pct) or 0),
        )

    def to_json(self, pct: float | None, strict: bool = False) -> dict[str, Any]:
        return {
            "baseline": self.a_name,
            "report": self.b_name,
            "differences": self.differences,
            "matched": [m.to_json() for m in self.matched],
            "unmatched": [u.to_json() for u in self.unmatched],
            "significantly_slower": [m.key for m in self.slower(0)],
            "inconclusive": {
                m.key: reason
                for m in self.matched
                if (reason := m.inconclusive(pct, strict)) is not None
            },
            "cannot_rule_out": (
                {m.key: m.blind_spot(pct) for m in self.blind(pct)} if pct is not None else {}
            ),
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


def _match_key(run: RunResult) -> tuple[str, int, str, str]:
    """Runs match on executor, worker count, for a sweep the swept values, and the interpreter
    (its label: py3.13 matches py3.13 of the other report)."""
    return run.executor, run.workers, json.dumps(run.params, sort_keys=True), run.interpreter or ""


def executor_cell(m: Matched) -> str:
    """The executor, and a sweep run's values: 'threads @size=1000'; what was compared when
    it is not the time: 'asyncio @rate=800 (corrected p99)'."""
    cell = m.executor
    if m.a.params:
        cell += " @" + ",".join(f"{k}={v}" for k, v in m.a.params.items())
    return cell if m.metric == TIME else f"{cell} ({m.metric})"


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
        runs_b = {_match_key(r): r for r in sb.runs}
        seen = set()
        for ra in sa.runs:
            key = _match_key(ra)
            seen.add(key)
            label = ra.run_id
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
                _match_open_loop(pair, sa.name, ra, rb)
        for rb in sb.runs:
            if _match_key(rb) not in seen:
                pair.unmatched.append(Unmatched(sb.name, rb.run_id, f"only in {b_name}"))
    for sb in b.scenarios:
        if sb.name not in a_names:
            pair.unmatched.append(Unmatched(sb.name, "*", f"scenario only in {b_name}"))
    _holm(pair.matched)
    return pair


def _match_open_loop(pair: PairComparison, scenario: str, ra: RunResult, rb: RunResult) -> None:
    """An open-loop run is also gated on its corrected p99 (what callers waited), with the
    same rules: an unreadable side fails closed, as an unmatched run does."""
    p99_a, p99_b = corrected_p99s(ra), corrected_p99s(rb)
    if p99_a is None and p99_b is None:
        return
    if not p99_a or not p99_b:
        side = pair.a_name if not p99_a else pair.b_name
        pair.unmatched.append(
            Unmatched(scenario, f"{ra.run_id} ({CORRECTED_P99})", f"no corrected p99 in {side}")
        )
        return
    comparison = compare_samples(p99_b, p99_a)
    pair.matched.append(
        Matched(scenario, ra.executor, ra.workers, ra, rb, comparison, CORRECTED_P99)
    )


def _holm(matched: list[Matched]) -> None:
    """The matched runs of a pair are one family: a gate over 13 runs at α = 0.05 each would
    fail a rerun of the same code about half the time. p-values become Holm-adjusted.

    Two reports share no round (separate sessions), so runs stay unpaired here: dividing by
    each report's own baseline would hide what a gate must catch, a machine that got slower.
    """
    adjusted = holm([m.comparison.p_value for m in matched])
    for m, p in zip(matched, adjusted, strict=True):
        c = m.comparison
        m.comparison = dataclasses.replace(
            c,
            p_value=p,
            significant=p is not None and p < ALPHA,
            method=f"{c.method}, Holm over {len(matched)}" if c.method else c.method,
        )
