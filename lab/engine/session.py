"""Drives plans: one fresh runner process per run, read as an async stream of events.

Both the Textual app and the headless reporter iterate `LabSession.events()`; the session's
`report` always holds every completed result, even after a fault or a cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from lab.analysis import noise
from lab.analysis.summarise import finalise_scenario, summarise_run
from lab.core.cpus import usable_cpus
from lab.engine.agreement import mark_disagreement
from lab.engine.cancelsafe import get_within, within
from lab.engine.events import (
    CpuSample,
    Event,
    RepeatFinished,
    RunFinished,
    RunProgress,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
    SessionFinished,
)
from lab.engine.plan import RunPlan, ScenarioPlan
from lab.engine.system import probes, sweep
from lab.engine.system.child_env import child_env, python_command
from lab.engine.system.groups import describe_exit, finish_group, kill_group, tree, tree_memory
from lab.engine.system.machine import machine_facts
from lab.engine.workloads import provisioner, workload_unit
from lab.engine.workloads.base import ScenarioContext, WorkloadSetupError
from lab.results.model import RepeatRecord, Report, RunError, RunResult, ScenarioResult

SAMPLE_INTERVAL = 0.1  # memory of the runner's process tree
USS_EVERY = 5  # memory samples per USS sample
CPU_SAMPLE_INTERVAL = 0.25  # per-core CPU meters
STDERR_TAIL = 4000

INTERRUPTED = "interrupted before this run finished"
WATCH_INTERVAL = 0.1  # provisioned resources (the embedded server)
EXIT_GRACE = 5.0  # seconds a runner that sent `done` may take to exit before it is killed

_EOF = object()


@dataclass(frozen=True)
class _Problem:
    message: str


def scenario_result(plan: ScenarioPlan) -> ScenarioResult:
    """A result with every planned run 'not_run', filled in as runs complete."""
    scenario = plan.scenario
    unit = workload_unit(scenario.workload)
    tasks = _task_count(scenario.workload)
    return ScenarioResult(
        name=plan.name,
        source=plan.source,
        title=scenario.title,
        description=scenario.description.strip(),
        workload=scenario.workload.model_dump(mode="json"),
        settings={
            "repeats": scenario.repeats,
            "warmups": scenario.warmups,
            "timeout": scenario.timeout,
            "min_time": scenario.min_time,
            "workers": sorted({r.workers for r in plan.runs}),
            "start_method": scenario.resolved_start_method(),
            "quick": plan.quick,
        },
        runs=[
            RunResult(
                run_id=r.run_id,
                executor=r.executor,
                workers=r.workers,
                unit=unit,
                tasks=tasks,
                start_method=scenario.resolved_start_method()
                if r.executor == "processes"
                else None,
                params=r.overrides,
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
    def __init__(self, plans: list[ScenarioPlan], command: list[str] | None = None) -> None:
        self.plans = plans
        self.usable = usable_cpus()
        self.report = Report(machine=machine_facts(), command=command or [])
        self.report.scenarios = [scenario_result(p) for p in plans]
        self._current: asyncio.subprocess.Process | None = None
        self._cancel_run = False
        self.finished = False

    def cancel_run(self) -> None:
        """Stop the run in progress; the session goes on with the next run."""
        self._cancel_run = True
        if self._current is not None and self._current.returncode is None:
            kill_group(self._current.pid)

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
        yield ScenarioStarted(plan.name, plan.scenario.title, tuple(plan.runs))
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
                    for run_plan, run in zip(plan.runs, result.runs, strict=True):
                        if not await self._recovered(context, result):
                            break
                        stream = self._run(plan, run_plan, run, context, workdir)
                        async with contextlib.aclosing(stream) as events:
                            async for event in events:
                                yield event
                    result.warnings.extend(
                        await asyncio.to_thread(probes.scenario_warnings, plan.scenario, context)
                    )
            finalise_scenario(result, self.usable)
            yield ScenarioFinished(plan.name, result)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

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

    async def _run(
        self,
        plan: ScenarioPlan,
        run_plan: RunPlan,
        run: RunResult,
        context: dict[str, Any],
        workdir: Path,
    ) -> AsyncGenerator[Event, None]:
        scenario = plan.scenario
        spec = {
            "run_id": run.run_id,
            "workload": {**scenario.workload.model_dump(mode="json"), **run_plan.overrides},
            "context": context,
            "executor": run_plan.executor,
            "workers": run_plan.workers,
            "start_method": scenario.resolved_start_method(),
            "warmups": scenario.warmups,
            "repeats": scenario.repeats,
            "min_time": scenario.min_time,  # the runner calibrates passes per repeat
            "timeout": scenario.timeout,
        }
        phases_total = scenario.warmups + scenario.repeats
        yield RunStarted(
            plan.name, run.run_id, run.executor, run.workers, run.tasks,
            scenario.warmups, scenario.repeats,
        )  # fmt: skip
        self._cancel_run = False
        background = probes.BackgroundMeter()  # other programs' CPU use during this run
        # Whatever the runner and its pool create in the temp folder (forkserver sockets,
        # say) lands in the scenario's folder, which is removed even after a SIGKILL.
        env = child_env()
        env["TMPDIR"] = str(workdir)
        try:
            proc = await asyncio.create_subprocess_exec(
                *python_command("lab.engine.runner"),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,
                limit=2**24,
            )  # fmt: skip
        except OSError as exc:
            run.status = "failed"
            run.error = RunError(
                "runner_crashed", f"could not start a runner process: {exc.strerror or exc}"
            )
            summarise_run(run, self.usable)
            yield RunFinished(plan.name, run.run_id, run)
            return
        except (asyncio.CancelledError, GeneratorExit):
            # asyncio kills a process whose start was cancelled; the run is still marked.
            run.status = "cancelled"
            run.error = RunError("interrupted", INTERRUPTED)
            raise
        self._current = proc
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stderr = bytearray()
        peak = {"rss": 0, "uss": None}
        tasks = [
            asyncio.create_task(self._read_events(proc, queue)),
            asyncio.create_task(self._read_stderr(proc, stderr)),
            asyncio.create_task(self._sample(proc.pid, queue, run.run_id, peak)),
            asyncio.create_task(self._watch(context, queue)),
        ]
        started = time.monotonic()
        deadline = started + scenario.timeout
        phase_index = 0
        finished_cleanly = False
        interrupted = False
        last: dict[str, Any] = {}
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(spec).encode())
            with contextlib.suppress(ConnectionError):
                await proc.stdin.drain()
            proc.stdin.close()
            yield RunProgress(plan.name, run.run_id, "startup", 0, 0, run.tasks, 0.0, None, None)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    run.status = "timeout"
                    run.error = RunError(
                        "timeout", self._timeout_message(scenario, run, phase_index, last)
                    )
                    break
                try:
                    item = await get_within(queue, remaining)  # never asyncio.wait_for
                except TimeoutError:
                    continue
                if item is _EOF:
                    break
                if isinstance(item, CpuSample):
                    yield item
                    continue
                if isinstance(item, _Problem):
                    run.status = "failed"
                    run.error = RunError("resource_died", item.message)
                    break
                kind = item.get("event")
                if kind == "ready":
                    run.idle_rss_bytes = item["rss"]
                elif kind == "startup":
                    run.startup_seconds = item["seconds"]
                elif kind == "progress":
                    last = item
                    yield self._progress(plan.name, run, item, phase_index, phases_total, started)
                elif kind == "repeat":
                    record = RepeatRecord.from_json(item)
                    (run.warmups if record.phase == "warmup" else run.repeats).append(record)
                    phase_index += 1
                    yield RepeatFinished(plan.name, run.run_id, record)
                elif kind == "error":
                    run.status = "failed"
                    run.error = RunError(item["kind"], item["message"], item.get("detail", ""))
                    break  # the reason is in: stop the runner rather than wait for its cleanup
                elif kind == "done":
                    finished_cleanly = True
                    peak["rss"] = max(int(peak["rss"] or 0), int(item.get("max_rss") or 0))
                    if item.get("uss") is not None:
                        peak["uss"] = max(int(peak["uss"] or 0), int(item["uss"]))
                    background.runner_cpu = item.get("cpu_seconds")
        except (asyncio.CancelledError, GeneratorExit):
            interrupted = True
            raise
        finally:
            await self._stop(proc, EXIT_GRACE if finished_cleanly and not interrupted else 0.0)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._current = None
            run.peak_rss_bytes = int(peak["rss"] or 0) or None
            run.peak_uss_bytes = peak["uss"]
            run.background_cpu_cores = background.stop()
            if run.status == "not_run":
                if interrupted and not finished_cleanly:
                    run.status = "cancelled"
                    run.error = RunError("interrupted", INTERRUPTED)
                else:
                    run.status, run.error = self._final_status(
                        proc.returncode, finished_cleanly, stderr
                    )
            self._check_resources(run, context)
        mark_disagreement(run, self.report, plan.name)  # said on the run's own line, not later
        summarise_run(run, self.usable)
        yield RunFinished(plan.name, run.run_id, run)

    @staticmethod
    async def _stop(proc: asyncio.subprocess.Process, grace: float) -> None:
        """Let a runner that has finished exit by itself for `grace` seconds, then kill its whole
        process group (pool workers, forkserver, orphans of a dead runner) and reap it."""
        if grace and proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await within(proc.wait(), grace)
        if proc.returncode is None:
            kill_group(proc.pid)
        # A process stuck in the kernel (D state) cannot be waited for; go on without it.
        with contextlib.suppress(TimeoutError):
            await within(proc.wait(), 5)
        # Anything the runner left in its group, once its resource tracker has unlinked the
        # semaphores of a killed pool.
        await asyncio.to_thread(finish_group, proc.pid)

    @staticmethod
    def _check_resources(run: RunResult, context: dict[str, Any]) -> None:
        """A run that saw connection errors while the scenario's server died is not valid."""
        if run.status != "ok" or not isinstance(context, ScenarioContext):
            return
        problem = context.problem()
        if problem and any(r.errors for r in [*run.warmups, *run.repeats]):
            run.status = "failed"
            run.error = RunError("resource_died", problem)

    @staticmethod
    def _timeout_message(
        scenario: Any, run: RunResult, phase_index: int, last: dict[str, Any]
    ) -> str:
        """'... timeout (stuck in repeat 2 after 17 of 40 tasks)': where the run was."""
        if run.startup_seconds is None:
            where = "while starting its workers"
        else:
            warmups = scenario.warmups
            phase, number = (
                ("warmup", phase_index + 1)
                if phase_index < warmups
                else ("repeat", phase_index - warmups + 1)
            )
            where = f"in {phase} {number}"
            if last.get("phase") == phase and int(last.get("repeat", -1)) == number - 1:
                where += f" after {last.get('done')} of {last.get('total')} tasks"
        return (
            f"the run did not finish within its {scenario.timeout:g} s timeout (stuck {where}); "
            "it was stopped"
        )

    def _final_status(
        self, returncode: int | None, finished_cleanly: bool, stderr: bytearray
    ) -> tuple[Any, RunError | None]:
        if self._cancel_run:
            return "cancelled", RunError("cancelled", "cancelled by the user")
        if finished_cleanly:  # every result is in, whatever happened to the process after
            return "ok", None
        tail = stderr[-STDERR_TAIL:].decode(errors="replace")
        message = f"the runner process {describe_exit(returncode)}"
        if returncode == -signal.SIGKILL:
            message += ": by another process, or by the kernel when memory ran out"
        elif returncode is not None and returncode >= 0:
            message += " before finishing"
        last_words = [line for line in tail.splitlines() if line.strip()]
        if last_words:
            message += f"; its last output: {last_words[-1].strip()[:120]}"
        return "failed", RunError("runner_crashed", message, tail)

    @staticmethod
    def _progress(
        scenario: str, run: RunResult, item: dict[str, Any], phase_index: int,
        phases_total: int, started: float,
    ) -> RunProgress:  # fmt: skip
        total = max(1, int(item["total"]))
        done = int(item["done"])
        fraction = min(1.0, (phase_index + done / total) / max(1, phases_total))
        elapsed_run = time.monotonic() - started
        eta = elapsed_run * (1 - fraction) / fraction if fraction > 0.01 else None
        elapsed = float(item.get("elapsed") or 0.0)
        rate = done / elapsed if elapsed > 0 else None
        return RunProgress(
            scenario,
            run.run_id,
            item["phase"],
            int(item["repeat"]),
            done,
            total,
            fraction,
            eta,
            rate,
        )

    @staticmethod
    async def _read_events(proc: asyncio.subprocess.Process, queue: asyncio.Queue[Any]) -> None:
        assert proc.stdout is not None
        try:
            async for line in proc.stdout:
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if isinstance(item, dict):
                    queue.put_nowait(item)
        finally:
            queue.put_nowait(_EOF)

    @staticmethod
    async def _read_stderr(proc: asyncio.subprocess.Process, buffer: bytearray) -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(65536):
            buffer.extend(chunk)
            del buffer[:-STDERR_TAIL]

    @staticmethod
    async def _watch(context: dict[str, Any], queue: asyncio.Queue[Any]) -> None:
        """Tell the run loop as soon as the scenario's resources die (the embedded server)."""
        if not isinstance(context, ScenarioContext):
            return
        while (problem := context.problem()) is None:
            await asyncio.sleep(WATCH_INTERVAL)
        queue.put_nowait(_Problem(problem))

    @staticmethod
    async def _sample(
        pid: int, queue: asyncio.Queue[Any], run_id: str, peak: dict[str, Any]
    ) -> None:
        psutil.cpu_percent(percpu=True)
        next_cpu = time.monotonic() + CPU_SAMPLE_INTERVAL
        sample = 0
        members: list[psutil.Process] = []
        while True:
            # USS reads every mapping of every process in the tree, and finding the tree reads
            # /proc/*/stat of every process on the machine: both a few times a second is
            # plenty for a peak, and keeps the sampler's own CPU out of what is measured.
            with_uss = sample % USS_EVERY == 0
            if with_uss:
                members = tree(pid)
            rss, uss = tree_memory(pid, with_uss=with_uss, members=members)
            sample += 1
            peak["rss"] = max(int(peak["rss"] or 0), rss)
            if uss is not None:
                peak["uss"] = max(int(peak["uss"] or 0), uss)
            if time.monotonic() >= next_cpu:
                next_cpu += CPU_SAMPLE_INTERVAL
                queue.put_nowait(CpuSample(tuple(psutil.cpu_percent(percpu=True)), run_id))
            await asyncio.sleep(SAMPLE_INTERVAL)
