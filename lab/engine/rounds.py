"""Measuring one scenario in interleaved rounds, with warm runner processes.

Per block of rounds (lab.engine.schedule), every run gets a fresh runner: it starts its pool and
does its warmups (calibration) one run at a time, before any measured repeat, and is then kept
warm. Each round commands one measured repeat of every run, one at a time, in the round's
shuffled order. After the block every runner is closed (its memory and CPU are read), and the
next block starts new ones. A run's timeout is a budget of its own active time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

from lab.analysis.summarise import summarise_run
from lab.engine.agreement import mark_disagreement
from lab.engine.events import (
    CpuSample,
    Event,
    RepeatFinished,
    RunFinished,
    RunProgress,
    RunStarted,
)
from lab.engine.interpreters.prepare import record_facts
from lab.engine.plan import RunPlan, ScenarioPlan
from lab.engine.runnerproc import EXIT_GRACE, Eof, Problem, RunnerProcess, spawn_runner
from lab.engine.schedule import Schedule
from lab.engine.system import probes
from lab.results.model import Report, RunError, RunResult
from lab.runner.peaks import Peak
from lab.runner.protocol import (
    UNREACHABLE,
    Done,
    Facts,
    MeasureCommand,
    Progress,
    Ready,
    RepeatDone,
    RunnerError,
    RunSpec,
    Startup,
)
from lab.runner.system.groups import kill_group
from lab.runner.workloads.base import ScenarioContext

INTERRUPTED = "interrupted before this run finished"
# How long a run whose target went unreachable waits to see the embedded server's exit reaped.
SERVER_EXIT_SETTLE = 1.0
OUTPUT_KEPT = 32 * 1024  # characters of a run's captured output kept in the report


def keep_output(kept: str, more: str) -> str:
    """A run's captured output with one more runner process's appended, at most OUTPUT_KEPT."""
    if not more:
        return kept
    joined = f"{kept}\n{more}" if kept else more
    if len(joined) <= OUTPUT_KEPT:
        return joined
    return joined[:OUTPUT_KEPT] + f"\n[... {len(joined) - OUTPUT_KEPT} more characters left out]"


@dataclass
class Slot:
    """A run across the rounds: its result, its current runner and its spent time budget."""

    plan: RunPlan
    run: RunResult
    runner: RunnerProcess | None = None
    process: int = 0
    used: float = 0.0  # seconds of its timeout spent working
    phases_done: int = 0
    last: Progress | None = None
    startups: list[float] = field(default_factory=list)
    background: list[tuple[float, float]] = field(default_factory=list)  # (other CPU s, wall s)
    started: bool = False  # RunStarted was sent
    finished: bool = False
    closed: bool = False  # the runner of this block said `done`
    tree: Peak = field(default_factory=Peak)  # its runners' process trees
    workers: Peak = field(default_factory=Peak)  # an existing cluster's, outside every tree


class Rounds:
    def __init__(
        self,
        plan: ScenarioPlan,
        runs: list[RunResult],
        context: dict[str, Any],
        workdir: Path,
        schedule: Schedule,
        usable: int,
        recovered: Callable[[], Awaitable[bool]],
        report: Report,
        pythons: dict[str, Path] | None = None,
    ) -> None:
        self.plan = plan
        self.pythons = pythons or {}  # interpreter label -> its runner environment's python
        self.scenario = plan.scenario
        self.slots = [Slot(p, r) for p, r in zip(plan.runs, runs, strict=True)]
        self.context = context
        self.workdir = workdir
        self.schedule = schedule
        self.usable = usable
        self.recovered = recovered  # checks (and restarts) the scenario's resources
        self.report = report  # other runs' answers, for the agreement check
        self.active: Slot | None = None
        self.cancelled: Slot | None = None
        self.stale = False  # the resources were restarted: runners hold an old context

    @property
    def phases_total(self) -> int:
        return self.scenario.warmups * self.schedule.processes + len(self.schedule.orders)

    def cancel_active(self) -> None:
        """Stop the run in progress (its runner); the session goes on with the others."""
        slot = self.active
        if slot is not None and slot.runner is not None:
            self.cancelled = slot
            kill_group(slot.runner.pid)

    async def events(self) -> AsyncGenerator[Event, None]:
        by_id = {s.run.run_id: s for s in self.slots}
        try:
            for process, block in enumerate(self.schedule.blocks):
                for slot in self._live():
                    if not await self._resources_ok():
                        return
                    async for event in self._warm(slot, process, len(block)):
                        yield event
                for index in block:
                    for run_id in self.schedule.orders[index]:
                        slot = by_id[run_id]
                        if slot.finished:
                            continue
                        if not await self._resources_ok():
                            return
                        if slot.runner is None:  # restarted resources: a fresh runner
                            async for event in self._warm(slot, process, len(block) - 1):
                                yield event
                            if slot.finished:
                                continue
                        async for event in self._measure(slot, index):
                            yield event
                for slot in self._live():
                    async for event in self._close(slot):
                        yield event
            for slot in self._live():
                slot.run.status = "ok"
                async for event in self._finish(slot):
                    yield event
        except (asyncio.CancelledError, GeneratorExit):
            # Interrupted: runs that started keep their measured rounds, marked cancelled.
            for slot in self.slots:
                if not slot.finished and slot.run.status == "not_run" and slot.started:
                    slot.run.status = "cancelled"
                    slot.run.error = RunError("interrupted", INTERRUPTED)
            raise
        finally:
            for slot in self.slots:
                if slot.runner is not None:
                    await slot.runner.stop(0.0)
                    self._take_memory(slot)
                    slot.runner = None
                self._record_memory(slot)

    def _live(self) -> list[Slot]:
        return [s for s in self.slots if not s.finished]

    async def _resources_ok(self) -> bool:
        ok = await self.recovered()
        if ok and self.stale:
            # The server came back on a new port; warm runners still hold the old address.
            self.stale = False
            for slot in self._live():
                if slot.runner is not None:
                    await slot.runner.stop(0.0)
                    self._take_memory(slot)
                    slot.runner = None
        return ok

    def _spec(self, slot: Slot, commanded: int) -> RunSpec:
        scenario = self.scenario
        return RunSpec(
            run_id=slot.run.run_id,
            workload={**scenario.workload.model_dump(mode="json"), **slot.plan.overrides},
            context=dict(self.context),
            executor=slot.plan.executor,
            workers=slot.plan.workers,
            start_method=scenario.resolved_start_method(),
            warmups=scenario.warmups,
            repeats=0,
            min_time=scenario.min_time,
            timeout=scenario.timeout,
            commanded=commanded,
            cluster=scenario.cluster,
        )

    async def _warm(self, slot: Slot, process: int, commanded: int) -> AsyncGenerator[Event, None]:
        """Start the slot's runner for this block: start-up and warmups, before any round."""
        run = slot.run
        if not slot.started:
            slot.started = True
            yield RunStarted(
                self.plan.name, run.run_id, run.executor, run.workers, run.tasks,
                self.scenario.warmups * self.schedule.processes, len(self.schedule.orders),
            )  # fmt: skip
        slot.process = process
        slot.closed = False
        try:
            python = self.pythons.get(slot.plan.interpreter or "")
            slot.runner = RunnerProcess(await spawn_runner(self.workdir, python), run.run_id)
        except OSError as exc:
            run.status = "failed"
            message = f"could not start a runner process: {exc.strerror or exc}"
            run.error = RunError("runner_crashed", message)
            async for event in self._finish(slot):
                yield event
            return
        self.active = slot  # cancel_run() reaches it from its start-up on
        await slot.runner.send(self._spec(slot, commanded))
        yield RunProgress(
            self.plan.name, run.run_id, "startup", 0, 0, run.tasks, self._fraction(slot), None, None
        )
        warmups = self.scenario.warmups
        seen = {"startup": False, "warmups": 0}

        def warm(item: object) -> bool:
            if isinstance(item, Startup):
                seen["startup"] = True
            elif isinstance(item, RepeatDone) and item.record.phase == "warmup":
                seen["warmups"] += 1
            return bool(seen["startup"]) and seen["warmups"] >= warmups

        async for event in self._step(slot, warm):
            yield event

    async def _measure(self, slot: Slot, index: int) -> AsyncGenerator[Event, None]:
        assert slot.runner is not None
        await slot.runner.send(MeasureCommand(len(slot.run.repeats), index))

        def measured(item: object) -> bool:
            return isinstance(item, RepeatDone) and item.record.phase == "repeat"

        async for event in self._step(slot, measured):
            yield event

    async def _close(self, slot: Slot) -> AsyncGenerator[Event, None]:
        assert slot.runner is not None
        await slot.runner.close_input()
        # Closing uses no resources: a server that died since is the next block's business.
        done = self._step(slot, lambda item: isinstance(item, Done), resources=False)
        async for event in done:
            yield event
        if slot.runner is not None:
            await slot.runner.stop(EXIT_GRACE)
            self._take_memory(slot)
            slot.runner = None

    async def _step(
        self, slot: Slot, complete: Callable[[object], bool], resources: bool = True
    ) -> AsyncGenerator[Event, None]:
        """Read the slot's runner until `complete` says so, or the run fails."""
        runner, run = slot.runner, slot.run
        assert runner is not None
        self.active = slot
        runner.watch(self.context if resources else {})
        meter = probes.BackgroundMeter()
        meter.runner_cpu = 0.0  # the runner is alive: the lab's own CPU already holds it
        measured = None  # the repeat this step measured, which the meter's reading belongs to
        began = time.monotonic()
        try:
            while True:
                remaining = self.scenario.timeout - slot.used - (time.monotonic() - began)
                if remaining <= 0:
                    run.status = "timeout"
                    run.error = RunError("timeout", self._timeout_message(slot))
                    break
                item = await runner.next_item(remaining)
                if self.cancelled is slot:
                    run.status = "cancelled"
                    run.error = RunError("cancelled", "cancelled by the user")
                    break
                if item is None:
                    continue
                match item:
                    case CpuSample():
                        yield item
                        continue
                    case Problem():
                        self._resource_died(run, item.message)
                        break
                    case Eof():
                        await runner.wait_exit(1.0)
                        run.status = "failed"
                        run.error = RunError("runner_crashed", *runner.crash_message())
                        break
                    case Ready():
                        run.memory.idle_rss_bytes = run.memory.idle_rss_bytes or item.rss
                    case Startup():
                        slot.startups.append(item.seconds)
                        run.startup_seconds = sum(slot.startups) / len(slot.startups)
                        run.chunk_size = item.chunk_size or run.chunk_size
                    case Facts():
                        record_facts(self.report, self.plan.name, run, item.facts)
                    case Progress():
                        slot.last = item
                        yield self._progress(slot, item, began)
                    case RepeatDone():
                        record = item.record
                        record.process = slot.process
                        (run.warmups if record.phase == "warmup" else run.repeats).append(record)
                        measured = record if record.phase == "repeat" else measured
                        slot.phases_done += 1
                        yield RepeatFinished(self.plan.name, run.run_id, record)
                    case RunnerError():
                        run.status = "failed"
                        run.error = RunError(item.kind, item.message, runner.detail(item.detail))
                        if died := await self._server_death(item.kind):
                            self._resource_died(run, died)
                        break  # the reason is in: stop the runner rather than wait for its cleanup
                    case Done():
                        slot.tree.take(item.max_rss, item.uss)
                        slot.workers.take(item.remote_rss, item.remote_uss)
                        slot.closed = True
                    case _:
                        assert_never(item)
                if complete(item):
                    break
        finally:
            seconds = time.monotonic() - began
            slot.used += seconds
            self.active = None
            await runner.unwatch()
            other = meter.stop()
            if other is not None:
                slot.background.append((other * seconds, seconds))
                if measured is not None:
                    measured.background_cores = other
        if run.status != "not_run" or (resources and self._check_resources(slot)):
            async for event in self._finish(slot):
                yield event

    async def _server_death(self, kind: str) -> str | None:
        """Why the scenario's embedded server died, when that is why the run's target became
        unreachable. A killed server's exit is seen when the session reaps it, which can come
        after the runner has already said that no request got through."""
        context = self.context
        if kind != UNREACHABLE or not isinstance(context, ScenarioContext):
            return None
        if not context.get("embedded"):
            return None
        deadline = time.monotonic() + SERVER_EXIT_SETTLE
        while (problem := context.problem()) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return problem

    def _check_resources(self, slot: Slot) -> bool:
        """A run that saw connection errors while the scenario's server died is not valid."""
        run = slot.run
        if not isinstance(self.context, ScenarioContext) or run.status not in ("ok", "not_run"):
            return False
        problem = self.context.problem()
        if problem and any(r.errors for r in [*run.warmups, *run.repeats]):
            self._resource_died(run, problem)
            return True
        return False

    def _resource_died(self, run: RunResult, problem: str) -> None:
        """The run failed because the scenario's resource died; the next run gets a new one."""
        run.status = "failed"
        run.error = RunError("resource_died", problem)
        self.stale = True

    async def _finish(self, slot: Slot) -> AsyncGenerator[Event, None]:
        if slot.runner is not None:
            await slot.runner.stop(0.0)
            self._take_memory(slot)
            slot.runner = None
        slot.finished = True
        self._record_memory(slot)
        # Said on the run's own line, not later: answers that disagree with finished runs'.
        mark_disagreement(slot.run, self.report, self.plan.name)
        summarise_run(slot.run, self.usable)
        yield RunFinished(self.plan.name, slot.run.run_id, slot.run)

    def _take_memory(self, slot: Slot) -> None:
        """What a stopped runner leaves: its tree's peak memory, what it and its workers wrote
        on fds 1 and 2 (kept with the run, bounded), and the processes it could not kill."""
        runner = slot.runner
        assert runner is not None
        slot.tree.take(runner.peak_rss, runner.peak_uss)
        slot.run.output = keep_output(slot.run.output, runner.output.text())
        for result in self.report.scenarios if runner.strays else []:
            if result.name == self.plan.name:
                result.warnings.append(runner.strays_notice(slot.run.run_id))

    @staticmethod
    def _record_memory(slot: Slot) -> None:
        run = slot.run
        peak = slot.tree.plus(slot.workers)
        run.memory.peak_rss_bytes, run.memory.peak_uss_bytes = peak.rss or None, peak.uss
        other = sum(o for o, _ in slot.background)
        seconds = sum(s for _, s in slot.background)
        run.background_cpu_cores = max(0.0, other / seconds) if seconds > 0 else None

    def _fraction(self, slot: Slot, done: int = 0, total: int = 1) -> float:
        return min(1.0, (slot.phases_done + done / max(1, total)) / max(1, self.phases_total))

    def _progress(self, slot: Slot, item: Progress, began: float) -> RunProgress:
        fraction = self._fraction(slot, item.done, item.total)
        spent = slot.used + time.monotonic() - began
        eta = spent * (1 - fraction) / fraction if fraction > 0.01 else None
        rate = item.done / item.elapsed if item.elapsed > 0 else None
        return RunProgress(
            self.plan.name, slot.run.run_id, item.phase, item.repeat, item.done,
            max(1, item.total), fraction, eta, rate,
        )  # fmt: skip

    def _timeout_message(self, slot: Slot) -> str:
        """'... timeout (stuck in repeat 2 after 17 of 40 tasks)': where the run was."""
        run, last = slot.run, slot.last
        warmups_here = sum(1 for r in run.warmups if r.process == slot.process)
        if len(slot.startups) <= slot.process:
            where = "while starting its workers"
        elif warmups_here < self.scenario.warmups:
            where = f"in warmup {warmups_here + 1}"
            if last is not None and (last.phase, last.repeat) == ("warmup", warmups_here):
                where += f" after {last.done} of {last.total} tasks"
        else:
            number = len(run.repeats)
            where = f"in repeat {number + 1}"
            if last is not None and (last.phase, last.repeat) == ("repeat", number):
                where += f" after {last.done} of {last.total} tasks"
        return (
            f"the run did not finish within its {self.scenario.timeout:g} s timeout "
            f"(stuck {where}); it was stopped"
        )
