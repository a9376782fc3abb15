"""Open-loop verdicts: which model held the rate, with the lowest tail latency a caller sees.

An open-loop run (the http workload with a `rate`) records per repeat the target and achieved
rate and the corrected and service latencies (lab.results.openloop). Here:

- a run *held* its rate when its median achieved rate is at least 99% of the target;
- the verdict at a rate names the run with the lowest corrected p99 among those that held it,
  tested against every other such run on per-round pairs (Holm-adjusted, as lab.analysis.winner
  does for times); a run that could not hold the rate is named with the rate it reached;
- a rate sweep finds each run's saturation point: the highest rate it held with its corrected
  p99 under the scenario's `p99_limit_ms`;
- the claim that a thread pool saturates near workers / latency requests a second, while an event
  loop holds higher rates with the same memory, is decided from those figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from lab.analysis.claims import Claim, ClaimResult
from lab.analysis.facts import memory_of
from lab.analysis.thresholds import memory_noise_floor
from lab.analysis.winner import dropped_rounds, has_failures
from lab.core import paired
from lab.core.hdr import BadHistogram, LatencyHistogram, LatencyPercentiles
from lab.core.units import format_bytes, format_number, format_p, format_ratio, format_seconds
from lab.results.model import RunResult, ScenarioResult
from lab.scenario import models

SATURATION = Claim(
    "pool_saturation",
    "a thread pool saturates near workers ÷ latency requests per second; an event loop holds "
    "higher rates with the same memory",
)
# A run holds a rate when it sends at least this share of it.
HELD_SHARE = 0.99
# Measured within this factor of workers / latency, the prediction holds: the client's own
# time per request (a few hundred µs to ms on a busy machine) adds to the server's latency.
PREDICTION_BAND = (0.4, 1.15)
# An event loop holds a higher rate with "the same memory" when its peak grew by less than this
# share (or the noise floor) from the lowest rate to the highest it held.
SAME_MEMORY = 0.25


def per_second(value: float) -> str:
    return f"{format_number(value)}/s"


@dataclass
class OpenLoopRun:
    """One run's open-loop figures: medians over its repeats, and percentiles over all of its
    requests (the repeats' histograms merged)."""

    run_id: str
    executor: str
    workers: int
    rate: float  # the target
    achieved: float  # median over the repeats
    late_share: float  # median over the repeats
    corrected_p99: float | None  # median over the repeats (what the verdict tests)
    service_p99: float | None
    corrected: LatencyPercentiles | None  # over every request of every repeat
    service: LatencyPercentiles | None
    failed: bool  # failed requests: never held, never a winner
    memory: int | None = None
    by_round: dict[int, float] = field(default_factory=dict)  # corrected p99 per round

    @property
    def held(self) -> bool:
        return not self.failed and self.achieved >= HELD_SHARE * self.rate

    @property
    def label(self) -> str:
        return self.run_id.split("@", 1)[0]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _merged(run: RunResult) -> tuple[LatencyPercentiles | None, LatencyPercentiles | None]:
    corrected, service = LatencyHistogram(), LatencyHistogram()
    try:
        for r in run.repeats:
            if r.open_loop is not None:
                c, s = r.open_loop.histograms()
                corrected.merge(c)
                service.merge(s)
    except BadHistogram:
        return None, None  # a hand-edited report: the per-repeat medians still stand
    if not corrected.count:
        return None, None
    return corrected.percentiles(), service.percentiles()


def open_loop_run(run: RunResult, dropped: Collection[int] = ()) -> OpenLoopRun | None:
    records = [r for r in run.repeats if r.open_loop is not None]
    if run.status != "ok" or not records:
        return None
    loops = [r.open_loop for r in records if r.open_loop is not None]
    corrected, service = _merged(run)
    return OpenLoopRun(
        run_id=run.run_id,
        executor=run.executor,
        workers=run.workers,
        rate=loops[0].target_rate,
        achieved=statistics.median(o.achieved_rate for o in loops),
        late_share=statistics.median(o.late_share for o in loops),
        corrected_p99=_median([p for o in loops if (p := o.corrected["p99"]) is not None]),
        service_p99=_median([p for o in loops if (p := o.service["p99"]) is not None]),
        corrected=corrected,
        service=service,
        failed=has_failures(run),
        memory=memory_of(run),
        by_round={
            r.round: p
            for r in records
            if r.round is not None
            and r.round not in dropped
            and r.open_loop is not None
            and (p := r.open_loop.corrected["p99"]) is not None
        },
    )


def is_open_loop(result: ScenarioResult) -> bool:
    return any(r.open_loop is not None for run in result.runs for r in run.repeats)


@dataclass
class RateVerdict:
    """The verdict at one rate."""

    rate: float
    winner_run: str | None  # lowest corrected p99 among the runs that held, when significant
    best_run: str | None  # lowest corrected p99 among them, significant or not
    held: list[str]
    fell_behind: list[str]
    text: str


@dataclass
class Saturation:
    """A run's saturation point in a rate sweep."""

    label: str  # "threads-4": the run, less the swept value
    executor: str
    workers: int
    held_rate: float | None  # the highest rate held with p99 under the limit
    failed_rate: float | None  # the lowest rate above it that it did not hold
    reached: float | None  # what it achieved there
    why: str  # why that rate was not held: "reached 471/s", "corrected p99 55 ms"
    text: str


@dataclass
class OpenLoopAnalysis:
    rate: float  # the base point's rate (the verdict's)
    p99_limit: float  # seconds
    runs: list[OpenLoopRun]
    verdicts: list[RateVerdict]  # one per rate, ascending
    saturation: list[Saturation]  # empty without a rate sweep
    text: str  # the verdict: at the base rate, then the saturation points
    note: str  # the closing note: corrected against uncorrected for the runs that fell behind

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def verdict_at(self, rate: float) -> RateVerdict | None:
        return next((v for v in self.verdicts if v.rate == rate), None)


def _p99s(run: OpenLoopRun) -> str:
    return (
        f"corrected p99 {format_seconds(run.corrected_p99)} against "
        f"{format_seconds(run.service_p99)} uncorrected"
    )


def rate_verdict(rate: float, runs: list[OpenLoopRun]) -> RateVerdict:
    held = sorted(
        (r for r in runs if r.held and r.corrected_p99 is not None),
        key=lambda r: r.corrected_p99 or 0.0,
    )
    behind = [r for r in runs if not r.held]
    where = f"at {per_second(rate)}"
    parts: list[str] = []
    winner: str | None = None
    best = held[0] if held else None
    if best is None:
        parts.append(f"{where}: no run held the rate")
    elif len(held) == 1:
        parts.append(
            f"{where}: only {best.label} held the rate ({_p99s(best)})"
            if behind
            else f"{where}: only {best.label} ran ({_p99s(best)})"
        )
        winner = best.run_id if behind else None
    else:
        # Each other run's corrected p99 over the best's, paired by round.
        versus = paired.adjust_family(
            {o.run_id: paired.compare_paired(o.by_round, best.by_round) for o in held[1:]}
        )
        closest_id, closest = min(versus.items(), key=lambda kv: kv[1].ratio or float("inf"))
        closest_run = next(r for r in held if r.run_id == closest_id)
        p = closest.p_adjusted if closest.p_adjusted is not None else closest.p_value
        how = "no pairs" if p is None else format_p(p)
        if all(c.significant for c in versus.values()):
            winner = best.run_id
            parts.append(
                f"{where}: {best.label} has the lowest corrected p99 of the runs that held the "
                f"rate, {format_seconds(best.corrected_p99)} "
                f"(uncorrected {format_seconds(best.service_p99)}); {closest_run.label}'s is "
                f"{format_ratio(closest.ratio)} as high (significant, {how}; paired by round, "
                f"Holm-adjusted over {len(versus)})"
            )
        else:
            tied = [best.label] + [r.label for r in held[1:] if not versus[r.run_id].significant]
            names = ", ".join(tied[:-1]) + f" and {tied[-1]}"
            parts.append(
                f"{where}: tie between {names}, which held the rate; "
                f"{best.label} has the lowest corrected p99, "
                f"{format_seconds(best.corrected_p99)}; {closest_run.label}'s is "
                f"{format_ratio(closest.ratio)} as high (not significant, {how})"
            )
    for r in behind:
        why = "its requests failed" if r.failed else f"it reached {per_second(r.achieved)}"
        parts.append(f"{r.label} could not hold {per_second(rate)}: {why}, {_p99s(r)}")
    return RateVerdict(
        rate=rate,
        winner_run=winner,
        best_run=best.run_id if best else None,
        held=[r.run_id for r in held],
        fell_behind=[r.run_id for r in behind],
        text="; ".join(parts),
    )


def saturation_points(runs: list[OpenLoopRun], limit: float) -> list[Saturation]:
    found = []
    labels = sorted({r.label for r in runs}, key=lambda lb: [r.label for r in runs].index(lb))
    for label in labels:
        mine = sorted((r for r in runs if r.label == label), key=lambda r: r.rate)
        good = [
            r for r in mine if r.held and r.corrected_p99 is not None and r.corrected_p99 < limit
        ]
        held_rate = good[-1].rate if good else None
        failed = next(
            (r for r in mine if (held_rate is None or r.rate > held_rate) and r not in good), None
        )
        why = ""
        if failed is not None:
            why = (
                "its requests failed"
                if failed.failed
                else f"reached {per_second(failed.achieved)}"
                if not failed.held
                else f"corrected p99 {format_seconds(failed.corrected_p99)}"
            )
        if held_rate is None:
            text = f"{label} held none of the rates (lowest {per_second(mine[0].rate)}: {why})"
        elif failed is None:
            text = f"{label} held every rate up to {per_second(held_rate)}, the highest measured"
        else:
            text = f"{label} saturates between {per_second(held_rate)} and " + (
                f"{per_second(failed.rate)} ({why} there)"
            )
        found.append(
            Saturation(
                label=label,
                executor=mine[0].executor,
                workers=mine[0].workers,
                held_rate=held_rate,
                failed_rate=failed.rate if failed else None,
                reached=failed.achieved if failed else None,
                why=why,
                text=text,
            )
        )
    return found


def _base_rate(result: ScenarioResult) -> float | None:
    rate = result.workload.get("rate")
    return float(rate) if isinstance(rate, int | float) else None


def analyse_open_loop(result: ScenarioResult) -> OpenLoopAnalysis | None:
    if not is_open_loop(result):
        return None
    dropped = dropped_rounds(result)
    runs = [r for run in result.runs if (r := open_loop_run(run, dropped)) is not None]
    base = _base_rate(result)
    if not runs or base is None:
        return None
    limit = float(result.workload.get("p99_limit_ms") or 100.0) / 1000
    rates = sorted({r.rate for r in runs})
    verdicts = [rate_verdict(rate, [r for r in runs if r.rate == rate]) for rate in rates]
    saturation = saturation_points(runs, limit) if len(rates) > 1 else []
    at_base = next((v for v in verdicts if v.rate == base), verdicts[-1])
    text = at_base.text
    if saturation:
        text += (
            f". Saturation (the highest rate held with corrected p99 under "
            f"{format_seconds(limit)}): " + "; ".join(s.text for s in saturation)
        )
    behind = [r for r in runs if r.rate == at_base.rate and not r.held and not r.failed]
    note = "; ".join(
        f"{r.label} fell behind at {per_second(r.rate)} (reached {per_second(r.achieved)}): its "
        f"callers waited {format_seconds(r.corrected_p99)} at p99, while the server answered in "
        f"{format_seconds(r.service_p99)} (uncorrected p99): a closed loop would have reported "
        "only the latter"
        for r in behind
    )
    return OpenLoopAnalysis(base, limit, runs, verdicts, saturation, text, note)


def saturation_claim(result: ScenarioResult, analysis: OpenLoopAnalysis) -> list[ClaimResult]:
    """Decided where a rate sweep has a thread pool that saturated and an event loop beside it."""
    latency_ms = result.workload.get("latency_ms")
    if not analysis.saturation or not isinstance(latency_ms, int | float) or latency_ms <= 0:
        return []
    latency = latency_ms / 1000
    # The claim's two sides: OS threads, each blocked for a whole wait, and one event loop.
    pools = [s for s in analysis.saturation if models.traits(s.executor).gil_bound_threads]
    loops = [s for s in analysis.saturation if models.traits(s.executor).event_loop]
    if not pools or not loops:
        return []
    pool = pools[0]
    predicted = pool.workers / latency
    if pool.failed_rate is None or pool.reached is None:
        figures = (
            f"W = {pool.workers}, latency {format_seconds(latency)}: predicted "
            f"{per_second(predicted)}; {pool.label} held every rate measured, up to "
            f"{per_second(pool.held_rate or 0)}: sweep past the prediction to decide"
        )
        return [_claim(result, "inconclusive", figures)]
    measured = pool.reached
    at = pool.failed_rate
    # The event loop that held the rate the pool could not, with its peak memory there against
    # its peak at the lowest rate: the libraries each model imports (aiohttp, http.client)
    # cancel out, and what is left is what holding the higher rate cost it.
    growth: dict[str, tuple[OpenLoopRun, OpenLoopRun]] = {}
    for candidate in loops:
        mine = sorted(
            (r for r in analysis.runs if r.label == candidate.label), key=lambda r: r.rate
        )
        there = next((r for r in mine if r.rate == at and r.held), None)
        if there is not None:
            growth[candidate.label] = (mine[0], there)

    def grew(label: str) -> float:
        low_run, there = growth[label]
        return float((there.memory or 0) - (low_run.memory or 0))

    holding = [s for s in loops if s.label in growth]
    loop = min(holding, key=lambda s: grew(s.label)) if holding else loops[0]
    figures = (
        f"W = {pool.workers}, server latency {format_seconds(latency)}: predicted saturation "
        f"{per_second(predicted)}, measured {per_second(measured)} ({pool.label} at "
        f"{per_second(at)}, {format_ratio(measured / predicted)} the prediction); "
        f"{loop.label} held up to {per_second(loop.held_rate or 0)}"
    )
    higher = bool(holding) and (loop.held_rate or 0.0) > measured
    same_memory = True
    if loop.label in growth:
        low_run, there = growth[loop.label]
        if low_run is not there and low_run.memory and there.memory:
            floor = max(
                memory_noise_floor(low_run.memory, there.memory),
                int(SAME_MEMORY * low_run.memory),
            )
            same_memory = there.memory - low_run.memory <= floor
            figures += (
                f"; {loop.label}'s peak memory {format_bytes(there.memory)} at "
                f"{per_second(at)} against {format_bytes(low_run.memory)} at "
                f"{per_second(low_run.rate)}"
            )
    low, high = PREDICTION_BAND
    near = low * predicted <= measured <= high * predicted
    higher = (loop.held_rate or 0.0) > measured
    if near and higher and same_memory:
        return [_claim(result, "confirmed", figures)]
    if not higher or not same_memory:
        why = (
            f": {loop.label} did not hold a higher rate"
            if not higher
            else f": {loop.label} needed more memory to hold {per_second(at)}"
        )
        return [_claim(result, "refuted", figures + why)]
    return [
        _claim(
            result,
            "inconclusive",
            figures + f": measured {format_ratio(measured / predicted)} of the prediction, "
            f"outside {low:g}-{high:g}× (the client's own time per request adds to the latency)",
        )
    ]


def _claim(result: ScenarioResult, status: Any, figures: str) -> ClaimResult:
    return ClaimResult(SATURATION.id, SATURATION.text, status, figures, [result.name])
