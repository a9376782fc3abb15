"""The classic claims about Python concurrency, each confirmed or refuted by this run's figures.

A scenario decides the claims its measurements bear on and marks the others "not measured"
with the reason; `merge_claims` combines scenarios into one table for the report. A claim is
a general statement, so one scenario that refutes it refutes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lab.analysis.facts import ModelFacts, RunFacts, ScenarioFacts, parallel_gain
from lab.analysis.facts import machine_notes as machine_notes  # where callers find it
from lab.analysis.thresholds import (
    CLEAR_GAIN,
    FLAT,
    FREE_FOR_PARALLEL,
    GAIN,
    MANY_CORES,
    MANY_WAITS,
    ONE_CORE,
    memory_noise_floor,
)
from lab.core.units import format_bytes, format_rate, format_ratio, format_seconds, plural
from lab.scenario.kinds import traits as kind_traits
from lab.scenario.models import ASYNCIO, PROCESSES, THREADS

# "partly": a claim made of parts (start-up, feeding, memory) that some parts confirm and
# others refute; each part is shown with its own mark in the figures.
Status = Literal["confirmed", "refuted", "partly", "inconclusive", "not measured"]
MULTI_PART = {"processes_cost", "cluster_cost", "interpreters_cost"}


@dataclass(frozen=True)
class Claim:
    id: str
    text: str


CLAIMS = (
    Claim("threads_cpu", "threads do not speed up CPU-bound pure-Python code"),
    Claim("io_waits", "threads and asyncio speed up I/O waits"),
    Claim("processes_cores", "processes use several cores for CPU-bound code"),
    Claim("processes_cost", "processes cost more than threads to start, to feed and in memory"),
    Claim("asyncio_memory", "asyncio handles many concurrent waits with less memory than threads"),
)
# Only scenarios with dask runs decide it (lab.analysis.cluster_claim); without any, no row.
CLUSTER_COST = Claim(
    "cluster_cost", "a Dask cluster costs more than a process pool to start and to feed"
)


@dataclass
class ClaimResult:
    id: str
    claim: str
    status: Status
    figures: str  # the figures that decide it, or why it could not be decided
    scenarios: list[str] = field(default_factory=list)  # where the deciding figures come from
    note: str = ""  # how this machine or build changes the expectation

    @property
    def decided(self) -> bool:
        return self.status in ("confirmed", "refuted", "partly")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _result(
    claim: Claim, status: Status, figures: str, facts: ScenarioFacts, note: str = ""
) -> ClaimResult:
    where = [facts.name] if status != "not measured" else []
    return ClaimResult(claim.id, claim.text, status, figures, where, note)


def _not_cpu_bound(facts: ScenarioFacts) -> str:
    serial = facts.serial
    if serial is None:
        return "no serial run to tell CPU-bound work from waiting"
    if serial.cores is None:
        return f"repeats too short ({format_seconds(serial.wall)}) to measure CPU use"
    return f"the serial run kept {serial.cores:.2f} cores busy: not CPU-bound"


def _run_text(executor: str, r: RunFacts, usable: int | None = None) -> str:
    cores = f", {r.cores:.2f}{f' of {usable}' if usable else ''} cores busy" if r.cores else ""
    return f"{executor} {format_ratio(r.speedup)} at {plural(r.workers, 'worker')}{cores}"


def threads_cpu(facts: ScenarioFacts) -> ClaimResult:
    claim = CLAIMS[0]
    m = facts.machine
    build = m.interpreter or "this Python build"
    note = (
        "" if m.gil else f"{build} has no GIL: threads are expected to scale, i.e. to refute this"
    )
    if not kind_traits(facts.kind).pure_python:
        return _result(claim, "not measured", "needs a pure-Python CPU workload", facts, note)
    if facts.character != "cpu":
        return _result(claim, "not measured", _not_cpu_bound(facts), facts, note)
    if m.usable_cpus < 2:
        return _result(
            claim,
            "not measured",
            "1 usable CPU: nothing can run in parallel, so the GIL cannot be told apart "
            "from the lack of cores",
            facts,
            note,
        )
    threads = facts.model(THREADS.name)
    runs = [r for r in (threads.runs if threads else []) if r.workers >= 2 and r.speedup]
    if threads is None or not runs:
        return _result(claim, "not measured", f"no {THREADS.name} run with 2+ workers", facts, note)
    usable = m.usable_cpus
    # Gains are over the faster of serial and one thread (a slowed serial run is no reference).
    gains = {r.run_id: parallel_gain(threads, facts, r) for r in runs}
    scaled = [
        r for r in runs
        if (gains[r.run_id][0] or 0) >= FLAT and r.cores is not None and r.cores > ONE_CORE
    ]  # fmt: skip
    fair = [r for r in runs if r.free_cores(usable) >= FREE_FOR_PARALLEL]
    r = scaled[0] if scaled else max(fair or runs, key=lambda x: gains[x.run_id][0] or 0)
    cores = f", {r.cores:.2f} of {usable} cores busy" if r.cores is not None else ""
    text = f"{THREADS.name} {gains[r.run_id][1]} at {plural(r.workers, 'worker')}{cores}"
    procs = facts.model(PROCESSES.name)
    if procs and procs.multi and procs.multi.speedup:
        text += f" (for comparison {_run_text(PROCESSES.name, procs.multi)})"
    if scaled:
        if not m.gil:  # the reason, stated: no GIL to hold the threads back
            build = f"{m.interpreter} is" if m.interpreter else "this Python is"
            text += f": {build} a free-threaded build with the GIL off, so threads run bytecode in parallel"
        return _result(claim, "refuted", text, facts, note)
    if fair and all((gains[x.run_id][0] or 0) < FLAT for x in fair):
        return _result(claim, "confirmed", text, facts, note)
    if not fair:
        busy = r.busy_note(usable)
        return _result(
            claim, "inconclusive", f"{text}: {busy}, so no run had 2 free cores", facts, note
        )
    return _result(claim, "inconclusive", text + ": a gain, but not from more cores", facts, note)


def io_waits(facts: ScenarioFacts) -> ClaimResult:
    claim = CLAIMS[1]
    if facts.character != "waits":
        # A character other than "unknown" was read from the serial run's cores.
        cores = facts.serial.cores if facts.serial else None
        why = (
            _not_cpu_bound(facts)
            if facts.character == "unknown" or cores is None
            else f"needs a workload that mostly waits (the serial run kept {cores:.2f} cores busy)"
        )
        return _result(claim, "not measured", why, facts)
    serial = facts.serial
    assert serial is not None and serial.cores is not None
    parts, verdicts = [f"serial kept {serial.cores:.2f} cores busy"], []  # 1: yes 0: ? -1: no
    for name in (THREADS.name, ASYNCIO.name):
        model = facts.model_or_stand_in(name)
        b = model.best if model else None
        if model is None or b is None or b.speedup is None:
            parts.append(f"{name} not run")
            continue
        parts.append(f"{model.executor} {format_ratio(b.speedup)} at {b.workers} workers")
        verdicts.append(1 if b.speedup >= CLEAR_GAIN else -1 if b.speedup < FLAT else 0)
    text = ", ".join(parts)
    if not verdicts:
        return _result(
            claim, "not measured", f"neither {THREADS.name} nor {ASYNCIO.name} ran", facts
        )
    if -1 in verdicts:
        return _result(claim, "refuted", text, facts)
    if 0 in verdicts:
        return _result(claim, "inconclusive", text, facts)
    return _result(claim, "confirmed", text, facts)


def processes_cores(facts: ScenarioFacts) -> ClaimResult:
    claim = CLAIMS[2]
    m = facts.machine
    if not kind_traits(facts.kind).cpu_work:
        return _result(claim, "not measured", "needs tasks with real CPU work", facts)
    if facts.character != "cpu":
        return _result(claim, "not measured", _not_cpu_bound(facts), facts)
    if m.usable_cpus < 2:
        return _result(
            claim, "not measured", "1 usable CPU: there are not several cores to use", facts
        )
    procs = facts.model(PROCESSES.name)
    runs = [r for r in (procs.runs if procs else []) if r.workers >= 2 and r.cores is not None]
    if not runs:
        return _result(claim, "not measured", f"no {PROCESSES.name} run with 2+ workers", facts)
    usable = m.usable_cpus
    serial = facts.serial
    tail = f" (serial {serial.cores:.2f} cores)" if serial and serial.cores is not None else ""
    used = [
        r
        for r in runs
        if r.cores is not None and r.cores >= MANY_CORES and (r.speedup or 0) >= GAIN
    ]
    if used:
        r = max(used, key=lambda x: x.cores or 0)
        return _result(claim, "confirmed", _run_text(PROCESSES.name, r, usable) + tail, facts)
    fair = [r for r in runs if r.free_cores(usable) >= FREE_FOR_PARALLEL]
    r = max(fair or runs, key=lambda x: x.cores or 0)
    text = _run_text(PROCESSES.name, r, usable) + tail
    if fair and all((x.cores or 0) < ONE_CORE for x in fair):
        return _result(claim, "refuted", text, facts)
    if not fair:
        text += f": {r.busy_note(usable)}, so no run had 2 free cores"
    return _result(claim, "inconclusive", text, facts)


def _common_workers(a: ModelFacts, b: ModelFacts) -> list[int]:
    return sorted({r.workers for r in a.runs} & {r.workers for r in b.runs})


def processes_cost(facts: ScenarioFacts) -> ClaimResult:
    claim = CLAIMS[3]
    threads, procs = facts.model(THREADS.name), facts.model(PROCESSES.name)
    if threads is None or procs is None:
        return _result(
            claim, "not measured", f"needs both {THREADS.name} and {PROCESSES.name} runs", facts
        )
    common = _common_workers(threads, procs)
    if not common:
        return _result(
            claim,
            "not measured",
            f"{THREADS.name} and {PROCESSES.name} share no worker count",
            facts,
        )
    parts: list[str] = []
    outcomes: list[bool] = []

    # Start-up at every shared worker count (the figures quoted: the largest).
    pairs = [
        (w, p_s, t_s)
        for w in common
        if (p := procs.at(w)) and (t := threads.at(w))
        and (p_s := p.startup) is not None and (t_s := t.startup) is not None
    ]  # fmt: skip
    if pairs:
        w, p_start, t_start = pairs[-1]
        more = all(p > t for _, p, t in pairs)
        outcomes.append(more)
        parts.append(
            f"start {'✓' if more else '✗'} {format_seconds(p_start)} vs {format_seconds(t_start)} at {w} workers"
            + ("" if more else " (processes not slower at every worker count measured)")
        )

    if facts.near_empty_tasks(10):
        w = common[0]
        p, t = procs.at(w), threads.at(w)
        if p and t and p.per_task and t.per_task:
            more = p.per_task > t.per_task
            outcomes.append(more)
            how = (
                ""
                if more
                else "; the pool ships tasks in chunks, so pickling and IPC are paid per chunk"
            )
            parts.append(
                f"feed {'✓' if more else '✗'} {format_seconds(p.per_task)} vs {format_seconds(t.per_task)} "
                f"per near-empty task at {w} worker{'s' if w != 1 else ''}{how}"
            )

    w = common[-1]
    p, t = procs.at(w), threads.at(w)
    if p and t and p.memory and t.memory:
        more = p.memory > t.memory
        outcomes.append(more)
        parts.append(
            f"memory {'✓' if more else '✗'} {format_bytes(p.memory)} vs "
            f"{format_bytes(t.memory)} at {w} workers"
        )
    if not outcomes:
        return _result(claim, "not measured", "no start-up or memory figures", facts)
    if kind_traits(facts.kind).near_empty_field is None:
        parts.append("feed not measured here (needs near-empty tasks)")
    text = f"{PROCESSES.name} vs {THREADS.name}: " + "; ".join(parts)
    status: Status = "confirmed" if all(outcomes) else "refuted" if not any(outcomes) else "partly"
    return _result(claim, status, text, facts)


def asyncio_memory(facts: ScenarioFacts) -> ClaimResult:
    claim = CLAIMS[4]
    if facts.character != "waits":
        return _result(claim, "not measured", "needs a workload that mostly waits", facts)
    aio = facts.model_or_stand_in(ASYNCIO.name)
    threads = facts.model(THREADS.name)
    if aio is None or threads is None:
        return _result(
            claim, "not measured", f"needs both {ASYNCIO.name} and {THREADS.name} runs", facts
        )
    common = [w for w in _common_workers(aio, threads) if w >= MANY_WAITS]
    if not common:
        return _result(
            claim,
            "not measured",
            f"asyncio and threads share no worker count of {MANY_WAITS} or more",
            facts,
        )
    w = common[-1]
    a, t = aio.at(w), threads.at(w)
    a0, t0 = aio.fewest, threads.fewest
    assert a and t and a0 and t0
    if not (a.memory and t.memory and a0.memory and t0.memory) or a0.workers >= w:
        return _result(claim, "not measured", "memory was not measured", facts)
    # Extra memory over each model's own smallest run: the cost of the concurrent waits,
    # without the libraries each model imports (aiohttp vs http.client).
    da, dt = a.memory - a0.memory, t.memory - t0.memory
    text = (
        f"{w} concurrent waits: {aio.executor} {_signed(da)} over {a0.workers} "
        f"(peak {format_bytes(a.memory)}), threads {_signed(dt)} over {t0.workers} "
        f"(peak {format_bytes(t.memory)}); {aio.executor} {format_rate(a.throughput, aio.unit)} "
        f"vs threads {format_rate(t.throughput, threads.unit)}"
    )
    # "Handles" the waits: they overlapped, at least a quarter of the ideal gain from workers.
    gain = a.throughput / a0.throughput
    handles = gain >= max(CLEAR_GAIN, (w / a0.workers) / 4)
    text += f"; {aio.executor} {format_ratio(gain)} faster at {w} than at {a0.workers}"
    if not handles:
        return _result(claim, "refuted", text + ": its waits did not overlap", facts)
    # The claim is about the increment (the waits' own cost). A difference must clear a stated
    # noise floor, and the peaks must not say the opposite beyond that floor.
    floor = memory_noise_floor(a.memory, t.memory)
    text += (
        f"; judged on the increment over the smallest run, noise floor {format_bytes(floor)} "
        f"(peaks: {aio.executor} {_signed(a.memory - t.memory)} vs threads)"
    )
    if abs(da - dt) <= floor:
        return _result(claim, "inconclusive", text + ": difference within the noise floor", facts)
    peak_says_less = a.memory - t.memory < -floor
    peak_says_more = a.memory - t.memory > floor
    if da < dt and peak_says_more:
        note = ": the increment is smaller but the peak is higher"
        return _result(claim, "inconclusive", text + note, facts)
    if da > dt and peak_says_less:
        note = ": the increment is larger but the peak is lower"
        return _result(claim, "inconclusive", text + note, facts)
    return _result(claim, "confirmed" if da < dt else "refuted", text, facts)


def _signed(count: int) -> str:
    return ("+" if count >= 0 else "−") + format_bytes(abs(count))


EVALUATORS: tuple[Callable[[ScenarioFacts], ClaimResult], ...] = (
    threads_cpu,
    io_waits,
    processes_cores,
    processes_cost,
    asyncio_memory,
)


def scenario_claims(facts: ScenarioFacts) -> list[ClaimResult]:
    return [evaluate(facts) for evaluate in EVALUATORS]


def merge_claims(per_scenario: Sequence[tuple[str, Sequence[ClaimResult]]]) -> list[ClaimResult]:
    """One row per claim: refuted if any scenario refutes it, confirmed if some confirm.

    A claim of several parts (MULTI_PART) that some scenarios confirm and others refute is
    "partly": one refuted part must not headline a claim the other parts confirm.
    """
    merged = []
    # The classic claims always get a row; a model's own (CLUSTER_COST, those of
    # lab.analysis.interpreters_claims) only where a scenario decided it.
    found = {r.id: Claim(r.id, r.claim) for _, results in per_scenario for r in results}
    for claim in {**{c.id: c for c in CLAIMS}, **found}.values():
        rows = [(name, r) for name, results in per_scenario for r in results if r.id == claim.id]
        note = next((r.note for _, r in rows if r.note), "")
        order: list[Status] = ["refuted", "partly", "confirmed", "inconclusive"]
        status: Status = next(
            (s for s in order if any(r.status == s for _, r in rows)), "not measured"
        )
        seen = {r.status for _, r in rows}
        if claim.id in MULTI_PART and "confirmed" in seen and seen & {"refuted", "partly"}:
            status = "partly"
        if status == "not measured":
            reasons = sorted({f"{name}: {r.figures}" for name, r in rows})
            figures = "no scenario measured it (" + "; ".join(reasons) + ")" if reasons else ""
            merged.append(ClaimResult(claim.id, claim.text, status, figures, [], note))
            continue
        deciding = [
            (name, r)
            for name, r in rows
            if r.status == status
            or (status == "partly" and r.status in ("confirmed", "refuted", "partly"))
        ]
        if status == "partly":  # each scenario with its own mark: the parts stay visible
            figures = "; ".join(f"{name} ({r.status}): {r.figures}" for name, r in deciding)
        else:
            figures = "; ".join(f"{name}: {r.figures}" for name, r in deciding)
        others = [(name, r.status) for name, r in rows if r.status in order and r.status != status]
        if others and status != "partly":
            figures += "; but " + ", ".join(f"{s} in {name}" for name, s in others)
        merged.append(
            ClaimResult(claim.id, claim.text, status, figures, [n for n, _ in deciding], note)
        )
    return merged
