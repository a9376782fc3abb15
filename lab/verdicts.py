"""Verdicts: which model won a scenario, by how much, and why, decided by rules over facts.

Every sentence is assembled from measured figures (lab.facts); a rule that cannot decide says
so instead of guessing. The app and the report renderers call `analyse_scenario()` and
`analyse_report()` and get plain dataclasses (with `to_json()`) back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lab import stats
from lab.facts import (
    CPU_BOUND_CORES,
    FREE_FOR_PARALLEL,
    Machine,
    ModelFacts,
    RunFacts,
    ScenarioFacts,
    scenario_facts,
)
from lab.report.model import Report, ScenarioResult
from lab.units import format_bytes

SIGNIFICANCE_LEVEL = 0.05
GAIN = 1.3  # a speedup at least this big is a gain worth explaining
FLAT = 1.2  # below this, "about the same as serial"
SLOWER = 0.8  # below this, clearly slower than serial
PARALLEL_CORES = 1.3  # more than one core busy
ONE_CORE = 1.2  # at most about one core busy

# What the lab knows about its workload kinds' code (not about their results):
PURE_PYTHON_KINDS = {"numeric"}  # CPU work in Python bytecode: holds the GIL
GIL_RELEASING_KINDS = {"hashing"}  # hashlib drops the GIL for buffers of 2048 bytes or more
HASHLIB_GIL_MIN = 2048


# -- significance -----------------------------------------------------------------------------
# The same test as everywhere else in the report (lab.stats): Mann-Whitney U, rank-based, so it
# reads per-repeat throughputs and per-repeat times alike.


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


# -- formatting --------------------------------------------------------------------------------


def fmt_x(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-5 else f"{seconds * 1e6:.0f} µs"


def fmt_rate(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return f"{text} {unit}/s"


def fmt_mem(count: float | None) -> str:
    if count is None:
        return "–"
    sign = "+" if count >= 0 else "−"
    return sign + format_bytes(abs(count))


def _workers(n: int) -> str:
    return f"{n} worker{'s' if n != 1 else ''}"


def _cores(cores: float | None, usable: int | None = None) -> str:
    if cores is None:
        return "CPU use not measurable (repeats too short)"
    of = f" of {usable}" if usable else ""
    return f"{cores:.2f}{of} cores busy"


# -- verdicts ----------------------------------------------------------------------------------


@dataclass
class Explanation:
    executor: str
    rule: str  # which rule decided: "gil", "waits_overlap", ..., or "undecided"
    text: str
    decided: bool = True


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
    bests = [(m, m.best) for m in facts.models.values() if m.best is not None]
    ranked = sorted(bests, key=lambda mb: mb[1].throughput, reverse=True)  # type: ignore[union-attr]
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
    text = f"{wm.executor} wins: {fmt_rate(w.throughput, wm.unit)} at {_workers(w.workers)}"
    if rest:
        rm, r = rest[0]
        assert r is not None
        verdict.runner_up, verdict.runner_up_run = rm.executor, r.run_id
        verdict.margin = w.throughput / r.throughput
        verdict.significance = sig = compare_samples(w.samples, r.samples)
        if sig.p_value is None:
            how = sig.note
        else:
            how = f"{'significant' if sig.significant else 'not significant'}, p={sig.p_value:.2g}"
        text += f", {fmt_x(verdict.margin)} over {rm.executor} ({r.run_id}; {how})"
    if serial and wm.executor != "serial" and verdict.runner_up != "serial":
        text += f", {fmt_x(over_serial)} over serial"
    verdict.text = text
    return verdict


# -- explanation rules -------------------------------------------------------------------------
# A rule reads the facts and returns a sentence, or None to pass. The first rule that
# decides wins; the last one always answers and says that nothing decided.

Rule = Callable[[ModelFacts, ScenarioFacts], Explanation | None]


def _costs(m: ModelFacts) -> str:
    parts = []
    if m.startup is not None:
        parts.append(f"{fmt_s(m.startup)} to start the pool")
    per = m.memory_per_worker
    if per is not None:
        parts.append(f"{fmt_mem(per)} per worker")
    return ", ".join(parts)


def _with_costs(text: str, m: ModelFacts) -> str:
    costs = _costs(m)
    return f"{text}; {costs}" if costs else text


def _per_task_compare(run: RunFacts, serial: RunFacts | None) -> str:
    if run.per_task is None or serial is None or serial.per_task is None:
        return ""
    return f"{fmt_s(run.per_task)} per task vs {fmt_s(serial.per_task)} serially"


def rule_no_run(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    if m.runs:
        return None
    why = "; ".join(m.failures) or "it did not run"
    return Explanation(m.executor, "no_run", f"{m.executor}: no run succeeded ({why})", False)


def rule_serial(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    if m.executor != "serial" or not m.best:
        return None
    b = m.best
    what = {
        "cpu": "CPU-bound",
        "waits": "mostly waiting, not computing",
        "mixed": "partly waiting",
        "unknown": "too short to tell CPU use from waiting",
    }[f.character]
    cores = f"{b.cores:.2f} cores busy" if b.cores is not None else f"a repeat took {fmt_s(b.wall)}"
    per = f", {fmt_s(b.per_task)} per task" if b.per_task else ""
    return Explanation(
        "serial",
        f"serial_{f.character}",
        f"serial: the baseline, {fmt_rate(b.throughput, m.unit)}{per} ({cores}: {what})",
    )


def rule_slower(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    b = m.best
    if b is None or b.speedup is None or b.speedup >= SLOWER:
        return None
    compare = _per_task_compare(b, f.serial)
    text = f"{m.executor}: {fmt_x(b.speedup)} at {_workers(b.workers)}, slower than serial"
    if compare:
        text += f" ({compare}): handing each task over costs more than the task itself"
    else:
        text += ": the model's overhead outweighs what it parallelises"
    if m.executor == "processes":
        text = _with_costs(text, m)
    return Explanation(m.executor, "slower_than_serial", text)


def rule_waits(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    b = m.best
    if f.character != "waits" or b is None or b.speedup is None:
        return None
    serial = f.serial
    busy = (
        f"serial kept {serial.cores:.2f} cores busy" if serial and serial.cores is not None else ""
    )
    lat = ""
    if b.latency and b.latency.get("p50") is not None:
        lat = f", latency p50 {fmt_s(b.latency['p50'])} / p99 {fmt_s(b.latency.get('p99'))}"
    if b.speedup >= 1.5:
        cores = f" using {b.cores:.2f} cores" if b.cores is not None else ""
        text = (
            f"{m.executor}: {fmt_x(b.speedup)} at {_workers(b.workers)}{cores}{lat}: "
            f"the waits overlap ({busy})"
        )
        if m.executor == "processes":
            text = _with_costs(text, m)
        return Explanation(m.executor, "waits_overlap", text)
    if b.speedup < FLAT:
        return Explanation(
            m.executor,
            "waits_serialised",
            f"{m.executor}: {fmt_x(b.speedup)} at {_workers(b.workers)}{lat}: the waits did not "
            f"overlap although the work is mostly waiting ({busy})",
        )
    return None


def rule_single_cpu(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    b = m.best
    if f.machine.usable_cpus != 1 or f.character != "cpu" or b is None or b.speedup is None:
        return None
    if b.speedup >= FLAT:
        return None
    text = (
        f"{m.executor}: {fmt_x(b.speedup)} at {_workers(b.workers)}: this machine lets the lab "
        "use 1 CPU, so CPU-bound work has nothing to run in parallel on"
    )
    if m.executor == "processes":
        text = _with_costs(text, m)
    return Explanation(m.executor, "single_cpu", text)


def rule_gain_not_parallel(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    b, scaling, fewest = m.best, m.scaling, m.fewest
    if b is None or b.speedup is None or b.speedup < GAIN or fewest is None:
        return None
    flat = scaling is None or scaling < 1.15
    if not flat or (b.cores is not None and b.cores > ONE_CORE):
        return None
    serial, why = f.serial, ""
    if serial is not None and serial.busy_note(f.machine.usable_cpus):
        why = f"; the serial baseline was slowed by other load ({serial.busy_note(f.machine.usable_cpus)})"
    elif serial is not None and serial.cores is not None and serial.cores < CPU_BOUND_CORES:
        why = f"; the serial run kept only {serial.cores:.2f} cores busy"
    more_run = m.multi if b.workers == fewest.workers else b
    more = ""
    if more_run is not None and more_run.workers != fewest.workers:
        ratio = more_run.throughput / fewest.throughput
        more = f", {fmt_x(ratio)} from {fewest.workers} to {more_run.workers} workers"
    text = (
        f"{m.executor}: {fmt_x(b.speedup)} over serial at {_workers(b.workers)} but no gain "
        f"from more workers ({_cores(b.cores)}{more}): the advantage over serial is not "
        f"parallel work{why}"
    )
    if m.executor == "processes":
        text = _with_costs(text, m)
    return Explanation(m.executor, "gain_not_parallel", text)


def rule_releases_gil(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    if m.executor != "threads":
        return None
    r = m.multi
    if r is None or r.cores is None or r.cores < PARALLEL_CORES:
        return None
    if (r.speedup or 0) < GAIN and (m.scaling or 0) < GAIN:
        return None
    text = f"threads: {fmt_x(r.speedup)} at {_workers(r.workers)} using {r.cores:.2f} cores"
    if not f.machine.gil:
        text += ": this Python build has no GIL, so threads run bytecode in parallel"
    elif f.kind in GIL_RELEASING_KINDS:
        chunk = f.workload.get("chunk_size")
        size = f" (chunks here: {format_bytes(chunk)})" if isinstance(chunk, int) else ""
        text += f": hashlib releases the GIL for buffers of {HASHLIB_GIL_MIN} bytes or more{size}"
    else:
        text += ": the work releases the GIL (C code or I/O), so threads run in parallel"
    return Explanation("threads", "releases_gil", text)


def single_worker_reference(m: ModelFacts, f: ScenarioFacts) -> tuple[float, str] | None:
    """The faster of the serial run and the model's own 1-worker run, with its name.

    Gains from workers are measured against it: a serial baseline slowed by other load
    (or a model faster than serial for reasons other than parallelism) must not pass for
    parallel speedup.
    """
    candidates = []
    if f.serial is not None:
        candidates.append((f.serial.throughput, "serial"))
    one = m.at(1)
    if one is not None and m.executor != "serial":
        candidates.append((one.throughput, "one worker"))
    return max(candidates) if candidates else None


def parallel_gain(m: ModelFacts, f: ScenarioFacts, r: RunFacts) -> tuple[float | None, str]:
    """(gain, text) of run r over the single-worker reference, naming what it is over."""
    ref = single_worker_reference(m, f)
    if ref is None:
        return r.speedup, fmt_x(r.speedup)
    gain = r.throughput / ref[0]
    if ref[1] == "serial":
        return gain, fmt_x(gain)
    return gain, f"{fmt_x(gain)} over one worker ({fmt_x(r.speedup)} over serial)"


def rule_gil(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    r = m.multi
    if m.executor not in ("threads", "asyncio", "uvloop") or f.character != "cpu" or r is None:
        return None
    gain, gain_text = parallel_gain(m, f, r)
    if f.machine.usable_cpus < 2 or (gain or 0) >= FLAT:
        return None
    if r.cores is None or r.cores > ONE_CORE:
        return None
    head = (
        f"{m.executor}: {gain_text} at {_workers(r.workers)} while using "
        f"{r.cores:.2f} of {f.machine.usable_cpus} cores"
    )
    if m.executor != "threads":
        return Explanation(
            m.executor,
            "event_loop_one_core",
            f"{head}: one event loop runs CPU-bound code on one thread; coroutines only "
            "overlap waits",
        )
    if not f.machine.gil:
        return Explanation(
            "threads",
            "undecided",
            f"{head}: this build has no GIL, yet the threads stayed on one core; "
            "no rule explains why",
            False,
        )
    what = "pure-Python bytecode" if f.kind in PURE_PYTHON_KINDS else "the work"
    return Explanation("threads", "gil", f"{head}: {what} holds the GIL")


def rule_busy_machine(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    """A model that could use several cores did not, and other load left it no free core."""
    could = m.executor == "processes" or (
        m.executor == "threads" and (not f.machine.gil or f.kind in GIL_RELEASING_KINDS)
    )
    r = m.multi
    if not could or f.character != "cpu" or r is None or r.cores is None:
        return None
    usable = f.machine.usable_cpus
    if r.cores >= PARALLEL_CORES or r.free_cores(usable) >= FREE_FOR_PARALLEL:
        return None
    text = (
        f"{m.executor}: {fmt_x(r.speedup)} at {_workers(r.workers)} using {r.cores:.2f} cores: "
        f"{r.busy_note(usable)} during the run, leaving {r.free_cores(usable):.1f} free, "
        "so this run cannot show parallel CPU work"
    )
    if m.executor == "processes":
        text = _with_costs(text, m)
    return Explanation(m.executor, "busy_machine", text)


def rule_processes_parallel(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    r = m.multi
    if m.executor != "processes" or r is None or r.cores is None or r.cores < PARALLEL_CORES:
        return None
    if (r.speedup or 0) < GAIN and (m.scaling or 0) < GAIN:
        return None
    text = (
        f"processes: {fmt_x(r.speedup)} at {_workers(r.workers)} using {r.cores:.2f} of "
        f"{f.machine.usable_cpus} cores: each worker process has its own interpreter and GIL"
    )
    return Explanation("processes", "processes_parallel", _with_costs(text, m))


def rule_undecided(m: ModelFacts, f: ScenarioFacts) -> Explanation:
    b = m.best
    if b is None:
        return Explanation(m.executor, "undecided", f"{m.executor}: nothing measured", False)
    text = (
        f"{m.executor}: {fmt_x(b.speedup)} at {_workers(b.workers)}, {_cores(b.cores)}"
        f"{', scaling ' + fmt_x(m.scaling) + ' with workers' if m.scaling else ''}: "
        "no rule decides why (neither clearly parallel nor clearly held back)"
    )
    if m.executor == "processes":
        text = _with_costs(text, m)
    return Explanation(m.executor, "undecided", text, False)


RULES: list[Rule] = [
    rule_no_run,
    rule_serial,
    rule_slower,
    rule_waits,
    rule_single_cpu,
    rule_gil,
    rule_gain_not_parallel,
    rule_releases_gil,
    rule_busy_machine,
    rule_processes_parallel,
]


def _suffix(m: ModelFacts, f: ScenarioFacts, rule: str) -> str:
    extra = []
    multi_rules = ("gil", "event_loop_one_core", "releases_gil", "processes_parallel")
    r = m.multi if rule in multi_rules else m.best
    if r is not None and rule != "busy_machine":
        note = r.busy_note(f.machine.usable_cpus)
        if note:
            extra.append(f"{note} during {r.run_id}")
    if m.failures:
        extra.append(f"{len(m.failures)} of {m.planned} runs failed ({'; '.join(m.failures)})")
    errors = m.errors
    if errors:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
        extra.append(f"{sum(errors.values())} errors across its runs ({kinds})")
    return "; " + "; ".join(extra) if extra else ""


def explain(m: ModelFacts, f: ScenarioFacts) -> Explanation:
    for rule in RULES:
        found = rule(m, f)
        if found is not None:
            break
    else:
        found = rule_undecided(m, f)
    if found.rule != "no_run":
        found.text += _suffix(m, f, found.rule)
    return found


def verdict_for(facts: ScenarioFacts) -> Verdict:
    verdict = decide_winner(facts)
    verdict.explanations = [explain(m, facts) for m in facts.models.values()]
    return verdict


# -- the whole analysis ------------------------------------------------------------------------


@dataclass
class ScenarioAnalysis:
    """Everything the lab concludes about one scenario, as plain data."""

    name: str
    verdict: Verdict
    claims: list[Any]  # lab.claims.ClaimResult
    scaling: dict[str, Any]  # executor -> lab.scaling.ScalingFit
    breakeven: Any | None  # lab.breakeven.BreakEven

    def to_json(self) -> dict[str, Any]:
        return {
            "verdicts": self.verdict.to_json(),
            "claims": [c.to_json() for c in self.claims],
            "scaling": {k: v.to_json() for k, v in self.scaling.items()},
            "breakeven": self.breakeven.to_json() if self.breakeven else None,
        }


@dataclass
class ReportAnalysis:
    machine: Machine
    scenarios: list[ScenarioAnalysis]
    claims: list[Any]  # lab.claims.ClaimResult, merged across scenarios
    notes: list[str]  # how this machine changes what can be shown


def analyse_scenario(result: ScenarioResult, machine: dict[str, Any] | Machine) -> ScenarioAnalysis:
    from lab.breakeven import breakeven
    from lab.claims import scenario_claims
    from lab.scaling import fit_scenario

    facts = scenario_facts(result, machine)
    return ScenarioAnalysis(
        name=result.name,
        verdict=verdict_for(facts),
        claims=scenario_claims(facts),
        scaling=fit_scenario(result),
        breakeven=breakeven(result),
    )


def analyse_report(report: Report) -> ReportAnalysis:
    from lab.claims import machine_notes, merge_claims

    machine = Machine.from_report(report.machine)
    scenarios = [analyse_scenario(s, machine) for s in report.scenarios]
    return ReportAnalysis(
        machine=machine,
        scenarios=scenarios,
        claims=merge_claims([(a.name, a.claims) for a in scenarios]),
        notes=machine_notes(machine),
    )
