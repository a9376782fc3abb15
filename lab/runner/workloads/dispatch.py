"""Near-empty tasks: the cost of handing work to a coroutine, a thread or a process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from lab.runner.workloads.base import RepeatOutcome, Tally, Workload, WrongAnswer

if TYPE_CHECKING:  # pool workers import this module: keep pydantic out of their start-up
    from lab.scenario.spec import DispatchWorkload


def dispatch_task(task: tuple[int, float]) -> int:
    index, busy_us = task
    if busy_us > 0:
        # Busy-wait rather than sleep: the task must occupy its worker like real work would.
        end = time.perf_counter() + busy_us / 1e6
        while time.perf_counter() < end:
            pass
    return index


class DispatchTally(Tally):
    def __init__(self, expected_tasks: int) -> None:
        self.expected = expected_tasks
        self.count = 0
        self.index_sum = 0

    def add(self, result: int) -> None:
        self.count += 1
        self.index_sum += result

    def add_many(self, results: Iterable[int]) -> int:
        batch = results if isinstance(results, list) else list(results)
        self.count += len(batch)
        self.index_sum += sum(batch)
        return len(batch)

    def finish(self) -> RepeatOutcome:
        n = self.expected
        if self.count != n or self.index_sum != n * (n - 1) // 2:
            raise WrongAnswer(f"{self.count} of {n} tasks came back, index sum {self.index_sum}")
        return RepeatOutcome(amount=self.count, tasks=self.count, digest=str(self.index_sum))


class Dispatch(Workload):
    kind = "dispatch"
    unit = "tasks"
    spec: DispatchWorkload

    def task_count(self) -> int:
        return self.spec.tasks

    def tasks(self) -> Iterator[tuple[int, float]]:
        busy = self.spec.task_us
        for i in range(self.spec.tasks):
            yield (i, busy)

    @property
    def sync_function(self) -> Callable[[Any], Any]:
        return dispatch_task

    async def run_async(self, task: Any) -> Any:
        return dispatch_task(task)

    def new_tally(self) -> Tally:
        return DispatchTally(self.spec.tasks)
