"""Verdicts: which model won a scenario, by how much, and why, decided by rules over facts.

Every sentence is assembled from measured figures (lab.analysis.facts); a rule that cannot decide says
so instead of guessing. The app and the report renderers call `analyse_scenario()` and
`analyse_report()` and get plain dataclasses (with `to_json()`) back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lab.analysis.facts import ScenarioFacts
from lab.analysis.rules import Explanation, explain, workers_text
from lab.core import stats
from lab.core.units import (
    format_p,
    format_rate,
    format_ratio,
)
from lab.results.summary import Fastest
from lab.scenario.models import is_baseline

# -- significance -----------------------------------------------------------------------------
# Only for a verdict without the tested decision of lab.analysis.winner (which pairs by round, or
# falls back to Mann-Whitney U for reports made before rounds): when no run qualified for one.
# Mann-Whitney U (lab.core.stats), rank-based, so it reads per-repeat throughputs and times alike.


@dataclass
class Significance:
    p_value: float | None
    significant: bool
    method: str
    note: str = ""


def compare_samples(a: Sequence[float], b: Sequence[float]) -> Significance:
    c = stats.compare_samples(a, b)
    method = c.method or stats.TEST_NAME
    if c.p_value is None:
        return Significance(None, False, method, "fewer than 2 repeats: cannot tell")
    if not c.can_be_significant:
        return Significance(
            c.p_value, False, method, "too few repeats to test (at least 4 a side are needed)"
        )
    return Significance(c.p_value, c.significant, method)


# -- verdicts ----------------------------------------------------------------------------------


@dataclass
class Verdict:
    winner: str | None
    winner_run: str | None
    workers: int | None
    throughput: float | None
    unit: str
    runner_up: str | None
    runner_up_run: str | None
    margin: float | None  # winner's throughput over the runner-up's
    over_serial: float | None
    significance: Significance | None
    text: str
    explanations: list[Explanation] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def decide_winner(facts: ScenarioFacts) -> Verdict:
    bests = [(m, best) for m in facts.models.values() if (best := m.best) is not None]
    ranked = sorted(bests, key=lambda mb: mb[1].throughput, reverse=True)
    if not ranked:
        return Verdict(None, None, None, None, "", None, None, None, None, None, "no run succeeded")
    (wm, w), rest = ranked[0], ranked[1:]
    assert w is not None
    serial = facts.serial
    over_serial = w.throughput / serial.throughput if serial else None
    verdict = Verdict(
        wm.executor, w.run_id, w.workers, w.throughput, wm.unit,
        None, None, None, over_serial, None, "",
    )  # fmt: skip
    if facts.decision is not None:
        return _decided(facts, facts.decision, verdict, ranked)
    text = f"{wm.executor} wins: {format_rate(w.throughput, wm.unit)} at {workers_text(w.workers)}"
    if rest:
        rm, r = rest[0]
        assert r is not None
        verdict.runner_up, verdict.runner_up_run = rm.executor, r.run_id
        verdict.margin = w.throughput / r.throughput
        verdict.significance = sig = compare_samples(w.samples, r.samples)
        if sig.p_value is None:
            how = sig.note
        else:
            how = f"{'significant' if sig.significant else 'not significant'}, {format_p(sig.p_value)}"
        text += f", {format_ratio(verdict.margin)} over {rm.executor} ({r.run_id}; {how})"
    if serial and not is_baseline(wm.executor) and not is_baseline(verdict.runner_up):
        text += f", {format_ratio(over_serial)} over serial"
    if verdict.significance is not None and not verdict.significance.significant:
        verdict.winner = verdict.winner_run = None
        text = (
            f"no winner: {wm.executor} is ahead, but not significantly{text[text.find(':') + 1 :]}"
        )
    verdict.text = text
    return verdict


def _p(c: stats.Comparison) -> str:
    p = getattr(c, "p_adjusted", None)
    p = c.p_value if p is None else p
    return format_p(p) if p is not None else "p n/a"


def _decided(
    facts: ScenarioFacts, decision: Fastest, verdict: Verdict, ranked: list[Any]
) -> Verdict:
    """The verdict from the tested decision: "wins" only when it is significant against the
    best run of every other model (Holm-adjusted), "tie between ..." with figures otherwise."""
    by_run = {b.run_id: (m, b) for m, b in ranked}
    if decision.run_id not in by_run:
        verdict.winner = verdict.winner_run = None
        verdict.text = "no winner: the fastest run is not among the runs compared"
        return verdict
    wm, w = by_run[decision.run_id]
    versus = decision.versus
    serial = facts.serial
    over_serial = w.throughput / serial.throughput if serial else None
    verdict.winner, verdict.winner_run, verdict.workers = wm.executor, w.run_id, w.workers
    verdict.throughput, verdict.over_serial = w.throughput, over_serial
    closest = min(versus.items(), key=lambda kv: kv[1].ratio or float("inf"), default=None)
    if closest is not None and closest[0] in by_run:
        rm, r = by_run[closest[0]]
        c = closest[1]
        p = getattr(c, "p_adjusted", None)
        verdict.runner_up, verdict.runner_up_run = rm.executor, r.run_id
        verdict.margin = c.ratio
        verdict.significance = Significance(
            c.p_value if p is None else p, c.significant, decision.test
        )
    test = f"{decision.test}, {len(versus)} comparisons"
    figures = "; ".join(
        f"{format_ratio(c.ratio)} over {rid} ({_p(c)})" for rid, c in versus.items()
    )
    rate = f"{format_rate(w.throughput, wm.unit)} at {workers_text(w.workers)}"
    if decision.significant_against_all:
        text = f"{wm.executor} wins: {rate}"
        if verdict.runner_up_run is not None and closest is not None:
            text += (
                f", {format_ratio(verdict.margin)} over {verdict.runner_up} "
                f"({verdict.runner_up_run}; significant, {_p(closest[1])})"
            )
        if serial and not is_baseline(wm.executor) and not is_baseline(verdict.runner_up):
            text += f", {format_ratio(over_serial)} over serial"
        verdict.text = (
            f"{text}; significantly faster than the best run of every other model ({test})"
        )
        return verdict
    tied = [rid for rid, c in versus.items() if not c.significant]
    verdict.winner = verdict.winner_run = None
    verdict.text = (
        f"tie between {w.run_id} and {', '.join(tied)}: {w.run_id} has the lowest median "
        f"({rate}) but is not significantly faster than every other model's best run "
        f"({figures}; {test})"
    )
    return verdict


# -- explanation rules -------------------------------------------------------------------------
# A rule reads the facts and returns a sentence, or None to pass. The first rule that
# decides wins; the last one always answers and says that nothing decided.


def verdict_for(facts: ScenarioFacts) -> Verdict:
    verdict = decide_winner(facts)
    verdict.explanations = [explain(m, facts) for m in facts.models.values()]
    return verdict
