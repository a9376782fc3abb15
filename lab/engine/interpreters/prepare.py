"""Getting a scenario's interpreters ready before its rounds: each one's runner environment
(built once per session, cached across sessions), its probe facts in the report, and the runs
that cannot happen: all of an interpreter that is missing, too old or whose environment failed
(`failed`, with the reason), and uvloop's where uvloop has no wheel (skipped, with the reason).
The other interpreters' runs go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from lab.engine.events import Event, Preparing, RunFinished, RunSkipped
from lab.engine.interpreters.envbuild import EnvError, ensure_env
from lab.engine.interpreters.envcache import CacheError, RunnerEnv
from lab.engine.interpreters.probe import Interpreter
from lab.engine.plan import RunPlan, ScenarioPlan
from lab.results.model import Report, RunError, RunResult, ScenarioResult
from lab.results.notices import notice
from lab.scenario.models import traits

POLL = 0.1


@dataclasses.dataclass
class Prepared:
    """What can run: the plan's runs left, their results, and each label's python."""

    plan: ScenarioPlan
    runs: list[RunResult]
    pythons: dict[str, Path]  # label -> the python of its environment (absent: the lab's own)


class Interpreters:
    """The session's interpreters: each environment looked for (or built) once per session."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.outcomes: dict[str, RunnerEnv | str | None] = {}  # env, problem, or the lab's own
        self.prepared: Prepared | None = None

    async def prepare(self, plan: ScenarioPlan, result: ScenarioResult) -> AsyncGenerator[Event]:
        """Yields progress while environments are built, and RunFinished for runs that cannot
        happen; `prepared` then says what can."""
        for interp in plan.interpreters:
            known = self.report.interpreters.setdefault(interp.label, {})
            known.update({k: v for k, v in interp.facts().items() if k not in known})
        todo = [i for i in plan.interpreters if i.label not in self.outcomes]
        async for message in self._outcomes(todo):
            yield Preparing(plan.name, message)
        for interp in plan.interpreters:
            outcome = self.outcomes[interp.label]
            if isinstance(outcome, str):
                self.report.interpreters[interp.label]["problem"] = outcome
        pythons: dict[str, Path] = {}
        kept: list[tuple[RunPlan, RunResult]] = []
        for run_plan, run in zip(plan.runs, list(result.runs), strict=True):
            outcome = self.outcomes.get(run.interpreter or "")
            why_not = _not_under_lab(run.executor) if outcome is None else None
            if why_not:  # the lab's own interpreter on the axis: the plan could not tell
                result.runs.remove(run)
                result.skipped[f"{run.executor}@{run.interpreter}"] = why_not
                yield RunSkipped(plan.name, run.run_id, why_not)
                continue
            if isinstance(outcome, str):
                run.status = "failed"
                run.error = RunError("interpreter", outcome)
                yield RunFinished(plan.name, run.run_id, run)
                continue
            if isinstance(outcome, RunnerEnv):
                why = _not_here(run.executor, outcome)
                if why:
                    result.runs.remove(run)
                    result.skipped[f"{run.executor}@{run.interpreter}"] = why
                    yield RunSkipped(plan.name, run.run_id, why)
                    continue
                pythons[str(run.interpreter)] = outcome.python
            kept.append((run_plan, run))
        self.prepared = Prepared(
            dataclasses.replace(plan, runs=[p for p, _ in kept]), [r for _, r in kept], pythons
        )

    async def _outcomes(self, interps: list[Interpreter]) -> AsyncGenerator[str]:
        """Every environment needed, built at the same time: a build mostly waits on the
        network (pip), so two interpreters take little longer than one."""
        messages: asyncio.Queue[str] = asyncio.Queue()
        builds: dict[str, tuple[Interpreter, asyncio.Task[RunnerEnv]]] = {}
        for interp in interps:
            if interp.problem is not None:
                self.outcomes[interp.label] = interp.problem
            elif interp.is_lab_python:
                self.outcomes[interp.label] = None
            else:
                task = asyncio.create_task(ensure_env(interp, messages.put_nowait))
                builds[interp.label] = (interp, task)
        tasks = [task for _, task in builds.values()]
        try:
            while not all(t.done() for t in tasks) or not messages.empty():
                with contextlib.suppress(TimeoutError):
                    yield await asyncio.wait_for(messages.get(), POLL)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for label, (interp, task) in builds.items():
            self.outcomes[label] = _outcome(interp, task)


def _not_under_lab(executor: str) -> str | None:
    """Why an executor cannot run under the lab's own Python (the plan left it to the axis)."""
    model = traits(executor)
    return model.unavailable() if model.needs_subinterpreters else None


def _not_here(executor: str, env: RunnerEnv) -> str | None:
    """Why an executor's runs cannot use this runner environment, if they cannot."""
    model = traits(executor)
    if model.needs_subinterpreters:
        return env.interpreters_problem
    if model.cluster:  # the optional cluster extra is the lab's own, never an env's
        return "Dask runs only under the lab's own Python: runner environments hold no Dask"
    if model.needs_module is not None:  # the one optional module envs install (from wheels)
        return env.uvloop_problem
    return None


def _outcome(interp: Interpreter, task: asyncio.Task[RunnerEnv]) -> RunnerEnv | str:
    try:
        return task.result()
    except (CacheError, EnvError) as exc:
        return f"{interp.name}: {exc}"
    except Exception as exc:
        return (
            f"{interp.name}: its runner environment could not be built: {type(exc).__name__}: {exc}"
        )


def record_facts(report: Report, scenario: str, run: RunResult, facts: dict[str, Any]) -> None:
    """What a runner said about its interpreter: the run's GIL state, the interpreter's facts,
    and a warning naming the module that turned a free-threaded build's GIL back on."""
    if run.interpreter is None:
        return  # the lab's own interpreter: the machine facts describe it
    run.gil_enabled = facts.get("gil_enabled")
    known = report.interpreters.setdefault(run.interpreter, {"name": run.interpreter})
    for key, value in facts.items():
        # The executable stays the one the user named, not its runner environment's python.
        if key not in ("gil_enabled", "gil_enabled_by", "executable"):
            known[key] = value
    # On in any run counts: which runs, and why, is in the runs and the warning.
    known["gil_enabled"] = bool(known.get("gil_enabled")) or bool(facts.get("gil_enabled"))
    culprits = facts.get("gil_enabled_by")
    if culprits is None:
        return
    known["gil_enabled_by"] = sorted({*known.get("gil_enabled_by", []), *culprits})
    which = ", ".join(culprits) if culprits else "an extension module the lab could not name"
    result = next((s for s in report.scenarios if s.name == scenario), None)
    if result is not None:
        result.warnings.append(
            notice(
                "gil_reenabled",
                f"{run.interpreter} is a free-threaded build, but importing {which} turned "
                f"the GIL back on in {run.run_id}: it has not declared that it can run "
                "without the GIL, so threads there run bytecode one at a time",
                run.run_id,
            )
        )
