"""Measured facts per concurrency model, the evidence that verdicts and claims are decided on.

Everything is derived from a `ScenarioResult` (live, or loaded from a JSON report) and the
report's machine facts; nothing here knows which scenario it is looking at.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from lab.analysis.thresholds import (
    CPU_BOUND_CORES,
    MIN_WALL_FOR_CPU,
    OTHER_LOAD_NOTE,
    WAITING_CORES,
)
from lab.core.units import format_ratio
from lab.results.machine import MachineFacts
from lab.results.model import RunResult, ScenarioResult
from lab.results.summary import Fastest, Latency
from lab.scenario.kinds import traits as kind_traits
from lab.scenario.models import BASELINE, MODELS, is_baseline, traits

Character = Literal["cpu", "waits", "mixed", "unknown"]


@dataclass
class Machine:
    usable_cpus: int
    gil: bool
    interpreter: str = ""  # the label of an interpreter axis's part ("" : the lab's own Python)
    free_threaded: bool = False  # a build without the GIL (Py_GIL_DISABLED), GIL on or not

    @classmethod
    def from_report(cls, machine: MachineFacts) -> Machine:
        python = machine.get("python", {})
        return cls(
            usable_cpus=int(machine.get("cpus_usable") or 1),
            gil=bool(python.get("gil_enabled", True)),
            free_threaded=bool(python.get("free_threading_build", False)),
        )

    def running(self, result: ScenarioResult, interpreters: dict[str, dict[str, Any]]) -> Machine:
        """This machine under the interpreter that ran `result` (one part of an axis): the GIL
        as its threads runs found it once their imports were done, else as its facts say."""
        if result.interpreter is None:
            return self
        facts = interpreters.get(result.interpreter, {})
        free = bool(facts.get("free_threading_build", False))
        seen = [r.gil_enabled for r in result.runs if traits(r.executor).gil_bound_threads]
        known = [g for g in seen if g is not None]
        gil = any(known) if known else bool(facts.get("gil_enabled", not free))
        return replace(self, gil=gil, interpreter=result.interpreter, free_threaded=free)


@dataclass
class RunFacts:
    """One run's figures, as the rules read them."""

    run_id: str
    workers: int
    throughput: float
    speedup: float | None
    wall: float
    cores: float | None  # None when the repeat was too short to measure CPU
    startup: float | None
    memory: int | None  # peak USS where the OS gives it, else peak RSS
    per_task: float | None  # seconds of wall per task
    samples: list[float]  # per-repeat throughputs
    latency: Latency | None
    errors: dict[str, int]
    other_cores: float | None = None  # cores other processes kept busy during the run

    def free_cores(self, usable: int) -> float:
        """The cores this run could have had: usable CPUs less the other load measured."""
        return usable - (self.other_cores or 0.0)

    def busy_note(self, usable: int) -> str:
        if self.other_cores is None or self.other_cores < OTHER_LOAD_NOTE:
            return ""
        return f"other processes kept {self.other_cores:.1f} of {usable} cores busy"


@dataclass
class ModelFacts:
    """What one executor did across its runs of the scenario's own matrix."""

    executor: str
    unit: str
    runs: list[RunFacts]  # ok runs, by workers
    failures: list[str] = field(default_factory=list)  # "processes-32: timeout"
    planned: int = 0

    @property
    def best(self) -> RunFacts | None:
        return max(self.runs, key=lambda r: r.throughput, default=None)

    @property
    def multi(self) -> RunFacts | None:
        """The best run with two or more workers (the one that can show parallelism)."""
        return max(
            (r for r in self.runs if r.workers >= 2), key=lambda r: r.throughput, default=None
        )

    @property
    def fewest(self) -> RunFacts | None:
        return min(self.runs, key=lambda r: r.workers, default=None)

    def at(self, workers: int) -> RunFacts | None:
        return next((r for r in self.runs if r.workers == workers), None)

    @property
    def scaling(self) -> float | None:
        """Best throughput over the throughput at the fewest workers: the gain from workers."""
        best, fewest = self.best, self.fewest
        if not best or not fewest or best.workers == fewest.workers or not fewest.throughput:
            return None
        return best.throughput / fewest.throughput

    @property
    def startup(self) -> float | None:
        values = [r.startup for r in self.runs if r.startup is not None]
        return statistics.median(values) if values else None

    @property
    def memory_per_worker(self) -> float | None:
        """Least-squares slope of peak memory against workers (bytes per extra worker)."""
        pts = [(r.workers, memory) for r in self.runs if (memory := r.memory)]
        if len({w for w, _ in pts}) < 2:
            return None
        mw = statistics.fmean(w for w, _ in pts)
        mm = statistics.fmean(m for _, m in pts)
        sxx = sum((w - mw) ** 2 for w, _ in pts)
        sxy = sum((w - mw) * (m - mm) for w, m in pts)
        return sxy / sxx

    @property
    def errors(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.runs:
            for k, v in r.errors.items():
                out[k] = out.get(k, 0) + v
        return out


@dataclass
class ScenarioFacts:
    name: str
    kind: str
    workload: dict[str, Any]
    machine: Machine
    models: dict[str, ModelFacts]  # by executor, in report order
    # lab.analysis.winner.decide: the winner against every other model's best run, tested
    decision: Fastest | None = None

    @property
    def serial(self) -> RunFacts | None:
        facts = self.models.get(BASELINE)
        return facts.best if facts else None

    @property
    def serial_share(self) -> float | None:
        """How much of the core it could have had the serial run kept busy.

        Normally its cores busy; when other load left less than one core free, the share
        of what was free, so a CPU-bound run starved by other processes is not mistaken
        for one that waited.
        """
        serial = self.serial
        if serial is None:
            return None
        return share_of_free_core(serial.cores, serial.other_cores, self.machine.usable_cpus)

    @property
    def character(self) -> Character:
        """CPU-bound or waiting, from how busy the serial run kept its one core."""
        share = self.serial_share
        if share is None:
            return "unknown"
        if share >= CPU_BOUND_CORES:
            return "cpu"
        if share <= WAITING_CORES:
            return "waits"
        return "mixed"

    def model(self, executor: str) -> ModelFacts | None:
        facts = self.models.get(executor)
        return facts if facts and facts.runs else None

    def model_or_stand_in(self, executor: str) -> ModelFacts | None:
        """The model's facts, or where it did not run those of a model standing in for it
        (uvloop for asyncio: the same coroutines on another loop)."""
        found = self.model(executor)
        for other in MODELS:
            if found is None and other.stands_in_for == executor:
                found = self.model(other.name)
        return found

    def near_empty_tasks(self, most_us: float) -> bool:
        """Tasks of at most `most_us` microseconds of work: their time is the handover's."""
        field = kind_traits(self.kind).near_empty_field
        return field is not None and self.workload.get(field, 0) <= most_us


def memory_of(run: RunResult) -> int | None:
    return run.peak_uss_bytes or run.peak_rss_bytes


def busy_cores(run: RunResult) -> float | None:
    """The cores a run kept busy over all its repeats; None when they were too short to tell.

    CPU clocks tick every few ms, so one short repeat cannot say how many cores it used, but the
    sum over repeats can. Records hold per-pass averages; CPU was read around all `loops`
    passes, so the time it was measured over is wall x loops.
    """
    total_wall = sum(r.wall_seconds * r.loops for r in run.repeats)
    total_cpu = sum(r.cpu_seconds * r.loops for r in run.repeats)
    return total_cpu / total_wall if total_wall >= MIN_WALL_FOR_CPU else None


def share_of_free_core(cores: float | None, other_cores: float | None, usable: int) -> float | None:
    """How much of the one core it could have had a run kept busy: its cores busy, or when
    other load left less than one core free, the share of what was free (so a CPU-bound run
    starved by other processes is not mistaken for one that waited)."""
    if cores is None:
        return None
    free = min(1.0, max(0.05, usable - (other_cores or 0.0)))
    return cores / free


def run_facts(run: RunResult) -> RunFacts | None:
    s = run.summary
    tp = s.throughput.value
    wall = s.wall_seconds.median
    if run.status != "ok" or not tp or not wall:
        return None
    cores = busy_cores(run)
    return RunFacts(
        run_id=run.run_id,
        workers=run.workers,
        throughput=tp,
        speedup=s.speedup,
        wall=wall,
        cores=cores,
        startup=run.startup_seconds,
        memory=memory_of(run),
        per_task=wall / run.tasks if run.tasks else None,
        samples=[r.throughput for r in run.repeats],
        latency=s.latency,
        errors=dict(s.errors),
        other_cores=run.background_cpu_cores,
    )


def model_facts(executor: str, runs: Sequence[RunResult]) -> ModelFacts:
    mine = [r for r in runs if r.executor == executor]
    facts = ModelFacts(executor, mine[0].unit if mine else "", [], planned=len(mine))
    for run in mine:
        f = run_facts(run)
        if f is not None:
            facts.runs.append(f)
        elif run.status != "ok":
            why = f" ({run.error.message})" if run.error else ""  # not "not_run (not_run)"
            facts.failures.append(f"{run.run_id}: {run.status}{why}")
    facts.runs.sort(key=lambda r: r.workers)
    return facts


def scenario_facts(
    result: ScenarioResult,
    machine: MachineFacts | Machine,
    runs: Sequence[RunResult] | None = None,
) -> ScenarioFacts:
    """Facts about `runs` (default: the scenario's own matrix, sweep runs left out)."""
    chosen = list(runs) if runs is not None else [r for r in result.runs if result.at_base(r)]
    m = machine if isinstance(machine, Machine) else Machine.from_report(machine)
    executors = dict.fromkeys(r.executor for r in chosen)
    return ScenarioFacts(
        name=result.name,
        kind=str(result.workload.get("kind", "")),
        workload=result.workload,
        machine=m,
        models={e: model_facts(e, chosen) for e in executors},
        decision=result.fastest if runs is None else None,
    )


def single_worker_reference(m: ModelFacts, f: ScenarioFacts) -> tuple[float, str] | None:
    """The faster of the serial run and the model's own 1-worker run, with its name.

    Gains from workers are measured against it: a serial baseline slowed by other load
    (or a model faster than serial for reasons other than parallelism) must not pass for
    parallel speedup.
    """
    candidates = []
    if f.serial is not None:
        candidates.append((f.serial.throughput, BASELINE))
    one = m.at(1)
    if one is not None and not is_baseline(m.executor):
        candidates.append((one.throughput, "one worker"))
    return max(candidates) if candidates else None


def parallel_gain(m: ModelFacts, f: ScenarioFacts, r: RunFacts) -> tuple[float | None, str]:
    """(gain, text) of run r over the single-worker reference, naming what it is over."""
    ref = single_worker_reference(m, f)
    if ref is None:
        return r.speedup, format_ratio(r.speedup)
    gain = r.throughput / ref[0]
    if ref[1] == BASELINE:
        return gain, format_ratio(gain)
    return gain, f"{format_ratio(gain)} over one worker ({format_ratio(r.speedup)} over serial)"


def machine_notes(machine: Machine) -> list[str]:
    notes = []
    if machine.usable_cpus < 2:
        notes.append(
            "this machine lets the lab use 1 CPU: claims about CPU work in parallel "
            "cannot be measured here"
        )
    if not machine.gil:
        notes.append(
            "this Python build has no GIL (free-threaded): threads can run Python bytecode "
            "in parallel, so the GIL claim is expected to be refuted"
        )
    return notes


def interpreter_notes(machine: Machine) -> list[str]:
    """How one interpreter of an axis changes what the claims expect."""
    label = machine.interpreter
    if machine.free_threaded and not machine.gil:
        return [
            f"{label} is a free-threaded build with the GIL off: threads can run Python "
            "bytecode in parallel, so the GIL claim is expected to be refuted there"
        ]
    if machine.free_threaded:
        return [
            f"{label} is a free-threaded build, but the GIL was on in its threads runs (an "
            "extension module turned it back on; see the warnings): they behave as with a GIL"
        ]
    return []
