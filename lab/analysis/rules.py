"""The rules that explain each model's result, one function each; the first that fires speaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lab.analysis.facts import ModelFacts, RunFacts, ScenarioFacts, parallel_gain
from lab.analysis.thresholds import (
    CLEAR_GAIN,
    CPU_BOUND_CORES,
    FLAT,
    FREE_FOR_PARALLEL,
    GAIN,
    HASHLIB_GIL_MIN,
    ONE_CORE,
    PARALLEL_CORES,
    SLOWER,
)
from lab.core.units import (
    format_bytes,
    format_bytes_delta,
    format_rate,
    format_ratio,
    format_seconds,
    plural,
)
from lab.scenario.kinds import traits as kind_traits
from lab.scenario.models import is_baseline, traits


def workers_text(n: int) -> str:
    return plural(n, "worker")


def _cores(cores: float | None, usable: int | None = None) -> str:
    if cores is None:
        return "CPU use not measurable (repeats too short)"
    of = f" of {usable}" if usable else ""
    return f"{cores:.2f}{of} cores busy"


@dataclass
class Explanation:
    executor: str
    rule: str  # which rule decided: "gil", "waits_overlap", ..., or "undecided"
    text: str
    decided: bool = True


def _costs(m: ModelFacts) -> str:
    parts = []
    if m.startup is not None:
        parts.append(f"{format_seconds(m.startup)} to start the pool")
    per = m.memory_per_worker
    if per is not None:
        parts.append(f"{format_bytes_delta(per)} per worker")
    return ", ".join(parts)


def _with_costs(text: str, m: ModelFacts) -> str:
    costs = _costs(m)
    return f"{text}; {costs}" if costs else text


def _per_task_compare(run: RunFacts, serial: RunFacts | None) -> str:
    if run.per_task is None or serial is None or serial.per_task is None:
        return ""
    return f"{format_seconds(run.per_task)} per task vs {format_seconds(serial.per_task)} serially"


def handover_cost(run: RunFacts, f: ScenarioFacts) -> float | None:
    """Wall time per task beyond the task's own work spread over the cores it could use.

    With w workers on c usable cores a task's share of the wall is at best serial / min(w, c);
    whatever the run took per task beyond that is the cost of handing tasks over (and of
    waiting for them), per task.
    """
    serial = f.serial
    if run.per_task is None or serial is None or serial.per_task is None:
        return None
    lanes = max(1, min(run.workers, f.machine.usable_cpus))
    return max(0.0, run.per_task - serial.per_task / lanes)


def rule_slowdown_tiny_files(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    """Hashing slower than serial: per-file overhead, not the GIL (which hashlib releases)."""
    b = m.best
    if not kind_traits(f.kind).reads_files or is_baseline(m.executor):
        return None
    if b is None or b.speedup is None:
        return None
    if b.speedup >= 1.0:
        return None
    per = f" ({format_seconds(b.per_task)} per file)" if b.per_task else ""
    size = f.workload.get("file_size")
    files = (
        f"files of {format_bytes(size)}"
        if isinstance(size, int) and not f.workload.get("folder")
        else "these files"
    )
    text = (
        f"{m.executor}: {format_ratio(b.speedup)} at {workers_text(b.workers)}, slower than "
        f"serial{per}: with {files} each task is a few tiny reads, so opening each file and "
        "handing it over cost more than the hashing that could run in parallel"
    )
    return Explanation(m.executor, "per_file_overhead", text)


def rule_no_run(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    if m.runs:
        return None
    why = "; ".join(m.failures) or "it did not run"
    return Explanation(m.executor, "no_run", f"{m.executor}: no run succeeded ({why})", False)


def rule_serial(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    if not is_baseline(m.executor) or not m.best:
        return None
    b = m.best
    what = {
        "cpu": "CPU-bound",
        "waits": "mostly waiting, not computing",
        "mixed": "partly waiting",
        "unknown": "too short to tell CPU use from waiting",
    }[f.character]
    cores = (
        f"{b.cores:.2f} cores busy"
        if b.cores is not None
        else f"a repeat took {format_seconds(b.wall)}"
    )
    per = f", {format_seconds(b.per_task)} per task" if b.per_task else ""
    return Explanation(
        m.executor,
        f"serial_{f.character}",
        f"{m.executor}: the baseline, {format_rate(b.throughput, m.unit)}{per} ({cores}: {what})",
    )


def rule_slower(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    b = m.best
    if b is None or b.speedup is None or b.speedup >= SLOWER:
        return None
    compare = _per_task_compare(b, f.serial)
    text = (
        f"{m.executor}: {format_ratio(b.speedup)} at {workers_text(b.workers)}, slower than serial"
    )
    handover = handover_cost(b, f)
    if compare and handover is not None and f.serial is not None and f.serial.per_task:
        task = f.serial.per_task
        text += f" ({compare}): handing each task over costs about {format_seconds(handover)}"
        if handover >= task:
            text += ", more than the task itself"
        else:
            text += f" on top of the task's {format_seconds(task)}"
    elif compare:
        text += f" ({compare}): the model's overhead outweighs what it parallelises"
    else:
        text += ": the model's overhead outweighs what it parallelises"
    if traits(m.executor).shows_pool_costs:
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
    if b.latency and b.latency.p50 is not None:
        lat = f", latency p50 {format_seconds(b.latency.p50)} / p99 {format_seconds(b.latency.p99)}"
    if b.speedup >= CLEAR_GAIN:
        cores = f" using {b.cores:.2f} cores" if b.cores is not None else ""
        text = (
            f"{m.executor}: {format_ratio(b.speedup)} at {workers_text(b.workers)}{cores}{lat}: "
            f"the waits overlap ({busy})"
        )
        if traits(m.executor).shows_pool_costs:
            text = _with_costs(text, m)
        return Explanation(m.executor, "waits_overlap", text)
    if b.speedup < FLAT:
        return Explanation(
            m.executor,
            "waits_serialised",
            f"{m.executor}: {format_ratio(b.speedup)} at {workers_text(b.workers)}{lat}: the waits did not "
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
        f"{m.executor}: {format_ratio(b.speedup)} at {workers_text(b.workers)}: this machine lets the lab "
        "use 1 CPU, so CPU-bound work has nothing to run in parallel on"
    )
    if traits(m.executor).shows_pool_costs:
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
        more = f", {format_ratio(ratio)} from {fewest.workers} to {more_run.workers} workers"
    text = (
        f"{m.executor}: {format_ratio(b.speedup)} over serial at {workers_text(b.workers)} but no gain "
        f"from more workers ({_cores(b.cores)}{more}): the advantage over serial is not "
        f"parallel work{why}"
    )
    if traits(m.executor).shows_pool_costs:
        text = _with_costs(text, m)
    return Explanation(m.executor, "gain_not_parallel", text)


def rule_releases_gil(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    if not traits(m.executor).gil_bound_threads:
        return None
    r = m.multi
    if r is None or r.cores is None or r.cores < PARALLEL_CORES:
        return None
    if (r.speedup or 0) < GAIN and (m.scaling or 0) < GAIN:
        return None
    if r.speedup is not None and r.speedup < 1.0:
        return None  # a slowdown is not explained by a released GIL
    text = (
        f"{m.executor}: {format_ratio(r.speedup)} at {workers_text(r.workers)} using "
        f"{r.cores:.2f} cores"
    )
    if not f.machine.gil:
        text += ": this Python build has no GIL, so threads run bytecode in parallel"
    elif kind_traits(f.kind).releases_gil:
        chunk = f.workload.get("chunk_size")
        size = f" (chunks here: {format_bytes(chunk)})" if isinstance(chunk, int) else ""
        text += f": hashlib releases the GIL for buffers of {HASHLIB_GIL_MIN} bytes or more{size}"
    else:
        text += ": the work releases the GIL (C code or I/O), so threads run in parallel"
    return Explanation(m.executor, "releases_gil", text)


def rule_gil(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    r, model = m.multi, traits(m.executor)
    pool_under_one_gil = model.shares_one_gil and not model.baseline
    if not pool_under_one_gil or f.character != "cpu" or r is None:
        return None
    gain, gain_text = parallel_gain(m, f, r)
    if f.machine.usable_cpus < 2 or (gain or 0) >= FLAT:
        return None
    if r.cores is None or r.cores > ONE_CORE:
        return None
    head = (
        f"{m.executor}: {gain_text} at {workers_text(r.workers)} while using "
        f"{r.cores:.2f} of {f.machine.usable_cpus} cores"
    )
    if model.event_loop:
        return Explanation(
            m.executor,
            "event_loop_one_core",
            f"{head}: one event loop runs CPU-bound code on one thread; coroutines only "
            "overlap waits",
        )
    if not f.machine.gil:
        return Explanation(
            m.executor,
            "undecided",
            f"{head}: this build has no GIL, yet the threads stayed on one core; "
            "no rule explains why",
            False,
        )
    what = "pure-Python bytecode" if kind_traits(f.kind).pure_python else "the work"
    return Explanation(m.executor, "gil", f"{head}: {what} holds the GIL")


def rule_busy_machine(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    """A model that could use several cores did not, and other load left it no free core."""
    model = traits(m.executor)
    could = model.own_gil is not None or (
        model.gil_bound_threads and (not f.machine.gil or kind_traits(f.kind).releases_gil)
    )
    r = m.multi
    if not could or f.character != "cpu" or r is None or r.cores is None:
        return None
    usable = f.machine.usable_cpus
    if r.cores >= PARALLEL_CORES or r.free_cores(usable) >= FREE_FOR_PARALLEL:
        return None
    text = (
        f"{m.executor}: {format_ratio(r.speedup)} at {workers_text(r.workers)} using {r.cores:.2f} cores: "
        f"{r.busy_note(usable)} during the run, leaving {r.free_cores(usable):.1f} free, "
        "so this run cannot show parallel CPU work"
    )
    if traits(m.executor).shows_pool_costs:
        text = _with_costs(text, m)
    return Explanation(m.executor, "busy_machine", text)


def rule_processes_parallel(m: ModelFacts, f: ScenarioFacts) -> Explanation | None:
    """A model whose workers each hold a GIL of their own ran bytecode on several cores."""
    r, why = m.multi, traits(m.executor).own_gil
    if why is None or r is None or r.cores is None or r.cores < PARALLEL_CORES:
        return None
    if (r.speedup or 0) < GAIN and (m.scaling or 0) < GAIN:
        return None
    text = (
        f"{m.executor}: {format_ratio(r.speedup)} at {workers_text(r.workers)} using "
        f"{r.cores:.2f} of {f.machine.usable_cpus} cores: {why}"
    )
    return Explanation(m.executor, f"{m.executor}_parallel", _with_costs(text, m))


def rule_undecided(m: ModelFacts, f: ScenarioFacts) -> Explanation:
    b = m.best
    if b is None:
        return Explanation(m.executor, "undecided", f"{m.executor}: nothing measured", False)
    text = (
        f"{m.executor}: {format_ratio(b.speedup)} at {workers_text(b.workers)}, {_cores(b.cores)}"
        f"{', scaling ' + format_ratio(m.scaling) + ' with workers' if m.scaling else ''}: "
        "no rule decides why (neither clearly parallel nor clearly held back)"
    )
    if traits(m.executor).shows_pool_costs:
        text = _with_costs(text, m)
    return Explanation(m.executor, "undecided", text, False)


def _suffix(m: ModelFacts, f: ScenarioFacts, rule: str) -> str:
    extra = []
    multi_rules = (
        "gil", "event_loop_one_core", "releases_gil", "processes_parallel",
        "interpreters_parallel",
    )  # fmt: skip
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


Rule = Callable[[ModelFacts, ScenarioFacts], Explanation | None]


RULES: list[Rule] = [
    rule_no_run,
    rule_serial,
    rule_slowdown_tiny_files,
    rule_slower,
    rule_waits,
    rule_single_cpu,
    rule_gil,
    rule_gain_not_parallel,
    rule_releases_gil,
    rule_busy_machine,
    rule_processes_parallel,
]


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
