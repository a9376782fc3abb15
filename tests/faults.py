"""Test-only fault injection, so tests can provoke real faults inside runner processes.

`fault_env("<run_id>:<mode>[@<task>]")` is the environment that arms it: LAB_FAULT says what,
and LAB_TEST_HOOK makes the runner (lab.runner.main) import this module and pass each
workload through `wrap`. When the run with that id (``*`` for every run) reaches task number
``task`` (default 0) of any warmup or repeat, the task

- ``raise``: raises an exception;
- ``hang``:  sleeps for an hour (past any sensible run timeout), having first left a file
  named ``hanging-<pid>`` in its temp folder (the scenario's, which the lab removes), so a
  test can wait for the hang itself instead of guessing how long it takes to come (`hanging`);
- ``exit``:  ends its process with ``os._exit(3)`` (a pool worker, or the runner itself
  for serial/threads/asyncio);
- ``kill``:  sends SIGKILL to its own process;
- ``wrong``: computes its task as usual, but the repeat's answer (its digest) comes out
  different, as if the executor had computed something else.
- ``slow``: every task computes as usual, then spins on the CPU until it has taken ``task``
  times as long (``serial-1:slow@4``): a baseline slowed for a reason other than the work,
  which the lab's negative controls and physical limits must catch (lab.analysis.controls).

It lives under tests/ because no user-facing feature needs it: it is not a workload kind, not
in the scenario schema, and the installed package holds none of it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from lab.runner.workloads.base import RepeatOutcome, Tally, Workload

ENV = "LAB_FAULT"
HOOK_ENV = "LAB_TEST_HOOK"  # read by lab.runner.main
# The folder that holds the tests package: runners and pool workers must import this module.
_ROOT = str(Path(__file__).resolve().parent.parent)
MODES = ("raise", "hang", "exit", "kill", "wrong", "slow")
HANG_SECONDS = 3600.0


class InjectedFault(RuntimeError):
    """Raised by a task when LAB_FAULT asks for it."""


@dataclass(frozen=True)
class Fault:
    run_id: str
    mode: str
    task: int = 0


def parse(value: str) -> Fault:
    run_id, _, rest = value.rpartition(":")
    mode, _, task = rest.partition("@")
    if not run_id or mode not in MODES:
        raise ValueError(f"{ENV}={value!r}: expected <run_id>:<{'|'.join(MODES)}>[@<task>]")
    return Fault(run_id, mode, int(task or 0))


def for_run(run_id: str | None, environ: dict[str, str] | None = None) -> Fault | None:
    value = (os.environ if environ is None else environ).get(ENV)
    if not value:
        return None
    fault = parse(value)
    return fault if fault.run_id in ("*", run_id) else None


def _mark_hanging() -> None:
    Path(tempfile.gettempdir(), f"hanging-{os.getpid()}").touch()


def hanging(tmp: Path) -> list[Path]:
    """The marks of the hangs in progress under `tmp` (a sandbox's TMPDIR: the lab's folders)."""
    return list(tmp.glob("concurrency-lab-*/hanging-*"))


def _trigger(mode: str, index: int) -> None:
    if mode == "raise":
        raise InjectedFault(f"injected fault: task {index} raised")
    if mode == "hang":
        _mark_hanging()
        time.sleep(HANG_SECONDS)
    elif mode == "exit":
        os._exit(3)
    elif mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)


def _spin_until(started: float, factor: int) -> None:
    """Busy CPU (not a sleep), so the slowed run still looks CPU-bound, as an artifact would."""
    end = started + factor * (time.perf_counter() - started)
    while time.perf_counter() < end:
        pass


def faulty_call(fn: Callable[[Any], Any], mode: str, at: int, numbered: tuple[int, Any]) -> Any:
    """Module level, so a process pool can pickle it (with functools.partial)."""
    index, task = numbered
    if mode == "slow":
        started = time.perf_counter()
        result = fn(task)
        _spin_until(started, at)
        return result
    if index == at:
        _trigger(mode, index)
    return fn(task)


class FaultyWorkload(Workload):
    """Wraps a workload: numbers its tasks and makes task `fault.task` misbehave."""

    def __init__(self, inner: Workload, fault: Fault) -> None:
        super().__init__(inner.spec, inner.context)
        self.inner = inner
        self.fault = fault
        self.kind = inner.kind  # type: ignore[misc]
        self.unit = inner.unit  # type: ignore[misc]

    def task_count(self) -> int:
        return self.inner.task_count()

    def tasks(self) -> Iterator[tuple[int, Any]]:
        return enumerate(self.inner.tasks())

    @property
    def sync_function(self) -> Callable[[Any], Any]:
        return partial(faulty_call, self.inner.sync_function, self.fault.mode, self.fault.task)

    async def run_async(self, task: Any) -> Any:
        index, inner_task = task
        if self.fault.mode == "slow":
            started = time.perf_counter()
            result = await self.inner.run_async(inner_task)
            _spin_until(started, self.fault.task)
            return result
        if index == self.fault.task:
            if self.fault.mode == "hang":
                _mark_hanging()
                await asyncio.sleep(HANG_SECONDS)
            _trigger(self.fault.mode, index)
        return await self.inner.run_async(inner_task)

    def new_tally(self) -> Tally:
        tally = self.inner.new_tally()
        return WrongTally(tally) if self.fault.mode == "wrong" else tally

    @asynccontextmanager
    async def async_session(self, concurrency: int) -> AsyncIterator[None]:
        async with self.inner.async_session(concurrency):
            yield

    def before_repeat(self) -> None:
        self.inner.before_repeat()


class WrongTally(Tally):
    """The `wrong` fault: the inner tally's answer digest, altered."""

    def __init__(self, inner: Tally) -> None:
        self.inner = inner

    def add(self, result: Any) -> None:
        self.inner.add(result)

    def finish(self) -> RepeatOutcome:
        outcome = self.inner.finish()
        outcome.digest = f"wrong-{outcome.digest}"
        return outcome


def wrap(workload: Workload, run_id: str | None) -> Workload:
    """The runner's hook: the workload, made faulty when LAB_FAULT names this run."""
    fault = for_run(run_id)
    return workload if fault is None else FaultyWorkload(workload, fault)


def fault_env(value: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables that arm fault `value` in every runner started with them."""
    path = (os.environ if environ is None else environ).get("PYTHONPATH")
    return {
        ENV: value,
        HOOK_ENV: __name__,
        "PYTHONPATH": _ROOT + (os.pathsep + path if path else ""),
    }


__all__ = [
    "ENV",
    "HOOK_ENV",
    "Fault",
    "FaultyWorkload",
    "InjectedFault",
    "WrongTally",
    "fault_env",
    "for_run",
    "parse",
    "wrap",
]
