"""Drives plans scenario by scenario, each measured in interleaved rounds (lab.engine.rounds).

Both the Textual app and the headless reporter iterate `LabSession.events()`; the session's
`report` always holds every completed result, even after a fault or a cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from lab.analysis import noise
from lab.analysis.summarise import finalise_scenario
from lab.core.cpus import usable_cpus
from lab.engine.events import Event, ScenarioFinished, ScenarioStarted, SessionFinished
from lab.engine.interpreters.prepare import Interpreters
from lab.engine.plan import ScenarioPlan
from lab.engine.rounds import INTERRUPTED, Rounds
from lab.engine.schedule import Schedule, new_seed
from lab.engine.system import probes, sweep
from lab.engine.system.machine import machine_facts
from lab.results.model import Report, RunError, RunResult, ScenarioResult, ScenarioSettings
from lab.runner.workloads import provisioner, workload_unit
from lab.runner.workloads.base import ScenarioContext, WorkloadSetupError
from lab.scenario.models import traits

__all__ = ["INTERRUPTED", "LabSession", "scenario_result"]


def scenario_result(plan: ScenarioPlan) -> ScenarioResult:
    """A result with every planned run 'not_run', filled in as runs complete."""
    scenario = plan.scenario
    unit = workload_unit(scenario.workload)
    tasks = _task_count(scenario.workload)
    settings: ScenarioSettings = {
        "repeats": scenario.repeats,
        "warmups": scenario.warmups,
        "timeout": scenario.timeout,
        "min_time": scenario.min_time,
        "processes": scenario.processes,
        "workers": sorted({r.workers for r in plan.runs}),
        "start_method": scenario.resolved_start_method(),
        "quick": plan.quick,
    }
    if scenario.cluster:
        settings["cluster"] = scenario.cluster
    return ScenarioResult(
        name=plan.name,
        source=plan.source,
        title=scenario.title,
        description=scenario.description.strip(),
        workload=scenario.workload.model_dump(mode="json"),
        settings=settings,
        runs=[
            RunResult(
                run_id=r.run_id,
                executor=r.executor,
                workers=r.workers,
                unit=unit,
                tasks=tasks,
                start_method=scenario.resolved_start_method()
                if traits(r.executor).start_method
                else None,
                params=r.overrides,
                interpreter=r.interpreter,
            )
            for r in plan.runs
        ],
        skipped=dict(plan.skipped),
    )


def _task_count(workload: Any) -> int:
    for field in ("tasks", "requests", "files"):
        if hasattr(workload, field) and getattr(workload, "folder", None) is None:
            return int(getattr(workload, field))
    return 0


class LabSession:
    def __init__(
        self, plans: list[ScenarioPlan], command: list[str] | None = None, seed: int | None = None
    ) -> None:
        self.plans = plans
        self.usable = usable_cpus()
        self.seed = new_seed() if seed is None else seed  # the rounds' orders (--seed)
        self.report = Report(machine=machine_facts(), command=command or [])
        self.report.scenarios = [scenario_result(p) for p in plans]
        self._rounds: Rounds | None = None
        self.interpreters = Interpreters(self.report)  # environments, once per session
        self.finished = False

    def cancel_run(self) -> None:
        """Stop the run in progress; the session goes on with the other runs."""
        if self._rounds is not None:
            self._rounds.cancel_active()

    async def events(self) -> AsyncGenerator[Event, None]:
        """Execute every plan in order. Closing the iterator stops the run in progress.

        Whatever happens (a fault, a cancellation, closing the iterator), the runner in flight
        and its whole process group are killed, the scenario's temp folder is removed, and
        `report` keeps every completed run with the rest marked `not_run`.
        """
        try:
            # Noise on the machine before the first run (lab.analysis.noise): governor, load, swap...
            facts = await asyncio.to_thread(probes.read_environment)
            # Folders of labs that were killed outright: removed once their owner is gone.
            await asyncio.to_thread(sweep.sweep_stale)
            self.report.warnings = noise.environment_warnings(facts)
            for plan, result in zip(self.plans, self.report.scenarios, strict=True):
                async with contextlib.aclosing(self._scenario(plan, result)) as stream:
                    async for event in stream:
                        yield event
            self.finished = True
            yield SessionFinished(self.report)
        finally:
            if not self.finished:
                self.report.interrupted = True
                for result in self.report.scenarios:
                    finalise_scenario(result, self.usable)

    async def _scenario(
        self, plan: ScenarioPlan, result: ScenarioResult
    ) -> AsyncGenerator[Event, None]:
        yield ScenarioStarted(
            plan.name, plan.scenario.title, tuple(plan.runs), tuple(plan.skipped.items())
        )
        try:
            workdir = sweep.make_workdir()
        except OSError as exc:
            self._fail_scenario(
                result,
                f"cannot create the lab's temp folder in {tempfile.gettempdir()}: "
                f"{exc.strerror or exc}",
            )
            yield ScenarioFinished(plan.name, result)
            return
        try:
            async with contextlib.AsyncExitStack() as stack:
                context = await self._provision(plan, result, workdir, stack)
                if context is not None:
                    self._fix_task_count(plan, result, context)
                    async with contextlib.aclosing(
                        self.interpreters.prepare(plan, result)
                    ) as ready:
                        async for event in ready:
                            yield event
                    rounds = self._rounds_of(plan, result, context, workdir)
                    async with contextlib.aclosing(rounds.events()) as events:
                        async for event in events:
                            yield event
                    result.warnings.extend(
                        await asyncio.to_thread(probes.scenario_warnings, plan.scenario, context)
                    )
            finalise_scenario(result, self.usable)
            yield ScenarioFinished(plan.name, result)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _rounds_of(
        self, plan: ScenarioPlan, result: ScenarioResult, context: dict[str, Any], workdir: Path
    ) -> Rounds:
        prepared = self.interpreters.prepared
        plan, runs = (prepared.plan, prepared.runs) if prepared else (plan, result.runs)
        scenario = plan.scenario
        schedule = Schedule.make(
            [r.run_id for r in plan.runs], scenario.repeats, scenario.processes, self.seed
        )
        result.rounds = schedule.to_json()
        recovered = functools.partial(self._recovered, context, result)
        pythons = prepared.pythons if prepared else None
        self._rounds = Rounds(
            plan, runs, context, workdir, schedule, self.usable, recovered, self.report, pythons
        )
        return self._rounds

    async def _provision(
        self,
        plan: ScenarioPlan,
        result: ScenarioResult,
        workdir: Path,
        stack: contextlib.AsyncExitStack,
    ) -> dict[str, Any] | None:
        """The scenario's resources (a corpus, a server); None, with the scenario failed, when
        they cannot be had."""
        workload = plan.scenario.workload
        try:
            context: dict[str, Any] = await stack.enter_async_context(
                provisioner(workload.kind)(workload, workdir)
            )
            return context
        except WorkloadSetupError as exc:
            reason = str(exc)
        except Exception as exc:
            reason = f"could not prepare the {workload.kind} workload: {type(exc).__name__}: {exc}"
        self._fail_scenario(result, reason)
        return None

    async def _recovered(self, context: dict[str, Any], result: ScenarioResult) -> bool:
        """Before a run: are the scenario's resources still working, or could they be restarted?"""
        if not isinstance(context, ScenarioContext) or context.problem() is None:
            return True
        try:
            await context.recover()
            return True
        except Exception as exc:
            self._fail_scenario(result, str(exc) or type(exc).__name__)
            return False

    def _fail_scenario(self, result: ScenarioResult, reason: str) -> None:
        """The scenario cannot go on: every run that has not run yet fails with the reason."""
        result.error = reason
        for run in result.runs:
            if run.status == "not_run":
                run.status = "failed"
                run.error = RunError("setup", reason)
        finalise_scenario(result, self.usable)

    @staticmethod
    def _fix_task_count(
        plan: ScenarioPlan, result: ScenarioResult, context: dict[str, Any]
    ) -> None:
        # A user's folder decides the number of hashing tasks only once it has been listed.
        files = context.get("files")
        if files is not None:
            for run in result.runs:
                run.tasks = len(files)
