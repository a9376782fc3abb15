"""Drives plans: one fresh runner process per run, read as an async stream of events.

Both the Textual app and the headless reporter iterate `LabSession.events()`; the session's
`report` always holds every completed result, even after a fault or a cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import psutil

from lab import noise
from lab.cpus import usable_cpus
from lab.events import (
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
from lab.machine import machine_facts
from lab.plan import RunPlan, ScenarioPlan
from lab.processes import kill_group, tree_memory
from lab.report.model import RepeatRecord, Report, RunError, RunResult, ScenarioResult
from lab.runner_env import child_env
from lab.workloads import provisioner, workload_class
from lab.workloads.base import WorkloadSetupError

SAMPLE_INTERVAL = 0.1  # memory of the runner's process tree
CPU_SAMPLE_INTERVAL = 0.25  # per-core CPU meters
STDERR_TAIL = 4000

_EOF = object()


def scenario_result(plan: ScenarioPlan) -> ScenarioResult:
    """A result with every planned run 'not_run', filled in as runs complete."""
    scenario = plan.scenario
    unit = workload_class(scenario.workload.kind).unit
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
        """Execute every plan in order. Closing the iterator stops the run in progress."""
        try:
            # Noise on the machine before the first run (lab.noise): governor, load, swap...
            facts = await asyncio.to_thread(noise.read_environment)
            self.report.warnings = noise.environment_warnings(facts)
            for plan, result in zip(self.plans, self.report.scenarios, strict=True):
                async for event in self._scenario(plan, result):
                    yield event
            self.finished = True
            yield SessionFinished(self.report)
        finally:
            if not self.finished:
                self.report.interrupted = True
                for result in self.report.scenarios:
                    result.finalise(self.usable)

    async def _scenario(self, plan: ScenarioPlan, result: ScenarioResult) -> AsyncIterator[Event]:
        yield ScenarioStarted(plan.name, plan.scenario.title, tuple(plan.runs))
        workdir = Path(tempfile.mkdtemp(prefix="concurrency-lab-"))
        try:
            try:
                async with provisioner(plan.scenario.workload.kind)(
                    plan.scenario.workload, workdir
                ) as context:
                    self._fix_task_count(plan, result, context)
                    for run_plan, run in zip(plan.runs, result.runs, strict=True):
                        async for event in self._run(plan, run_plan, run, context):
                            yield event
                    result.warnings.extend(
                        await asyncio.to_thread(noise.scenario_warnings, plan.scenario, context)
                    )
            except WorkloadSetupError as exc:
                result.error = str(exc)
                for run in result.runs:
                    if run.status == "not_run":
                        run.status = "failed"
                        run.error = RunError("setup", str(exc))
            result.finalise(self.usable)
            yield ScenarioFinished(plan.name, result)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

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
        self, plan: ScenarioPlan, run_plan: RunPlan, run: RunResult, context: dict[str, Any]
    ) -> AsyncIterator[Event]:
        scenario = plan.scenario
        spec = {
            "workload": scenario.workload.model_dump(mode="json"),
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
        background = noise.BackgroundMeter()  # other programs' CPU use during this run
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lab.runner",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(),
            start_new_session=True,
            limit=2**24,
        )  # fmt: skip
        self._current = proc
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stderr = bytearray()
        peak = {"rss": 0, "uss": None}
        tasks = [
            asyncio.create_task(self._read_events(proc, queue)),
            asyncio.create_task(self._read_stderr(proc, stderr)),
            asyncio.create_task(self._sample(proc.pid, queue, run.run_id, peak)),
        ]
        started = time.monotonic()
        deadline = started + scenario.timeout
        phase_index = 0
        finished_cleanly = False
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
                        "timeout",
                        f"the run did not finish within its {scenario.timeout:g} s timeout",
                    )
                    break
                try:
                    item = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    continue
                if item is _EOF:
                    break
                if isinstance(item, CpuSample):
                    yield item
                    continue
                kind = item.get("event")
                if kind == "ready":
                    run.idle_rss_bytes = item["rss"]
                elif kind == "startup":
                    run.startup_seconds = item["seconds"]
                elif kind == "progress":
                    yield self._progress(plan.name, run, item, phase_index, phases_total, started)
                elif kind == "repeat":
                    record = RepeatRecord.from_json(item)
                    (run.warmups if record.phase == "warmup" else run.repeats).append(record)
                    phase_index += 1
                    yield RepeatFinished(plan.name, run.run_id, record)
                elif kind == "error":
                    run.status = "failed"
                    run.error = RunError(item["kind"], item["message"], item.get("detail", ""))
                elif kind == "done":
                    finished_cleanly = True
                    peak["rss"] = max(int(peak["rss"] or 0), int(item.get("max_rss") or 0))
                    background.runner_cpu = item.get("cpu_seconds")
        finally:
            if proc.returncode is None:
                kill_group(proc.pid)
            await proc.wait()
            kill_group(proc.pid)  # anything the runner left in its group
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._current = None
            run.peak_rss_bytes = int(peak["rss"] or 0) or None
            run.peak_uss_bytes = peak["uss"]
            run.background_cpu_cores = background.stop()
            if run.status == "not_run":
                run.status, run.error = self._final_status(
                    proc.returncode, finished_cleanly, stderr
                )
        run.summarise(self.usable)
        yield RunFinished(plan.name, run.run_id, run)

    def _final_status(
        self, returncode: int | None, finished_cleanly: bool, stderr: bytearray
    ) -> tuple[Any, RunError | None]:
        if self._cancel_run:
            return "cancelled", RunError("cancelled", "cancelled by the user")
        if finished_cleanly and returncode == 0:
            return "ok", None
        tail = stderr[-STDERR_TAIL:].decode(errors="replace")
        if returncode is not None and returncode < 0:
            message = f"the runner process was killed by signal {-returncode}"
        else:
            message = f"the runner process exited with code {returncode} before finishing"
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
    async def _sample(
        pid: int, queue: asyncio.Queue[Any], run_id: str, peak: dict[str, Any]
    ) -> None:
        psutil.cpu_percent(percpu=True)
        next_cpu = time.monotonic() + CPU_SAMPLE_INTERVAL
        while True:
            rss, uss = tree_memory(pid, with_uss=True)
            peak["rss"] = max(int(peak["rss"] or 0), rss)
            if uss is not None:
                peak["uss"] = max(int(peak["uss"] or 0), uss)
            if time.monotonic() >= next_cpu:
                next_cpu += CPU_SAMPLE_INTERVAL
                queue.put_nowait(CpuSample(tuple(psutil.cpu_percent(percpu=True)), run_id))
            await asyncio.sleep(SAMPLE_INTERVAL)
