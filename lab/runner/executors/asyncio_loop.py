"""asyncio on the stdlib event loop: `workers` coroutines pull tasks from a shared iterator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from typing import Any

from lab.runner.executors.base import Executor, ResultSink
from lab.runner.workloads.base import Workload
from lab.scenario.models import ASYNCIO


class AsyncioExecutor(Executor):
    name = ASYNCIO.name

    def loop_factory(self) -> Callable[[], asyncio.AbstractEventLoop] | None:
        return None

    def start(self, workload: Workload) -> None:
        self.runner = asyncio.Runner(loop_factory=self.loop_factory())
        self.stack = AsyncExitStack()
        self.runner.run(self.stack.enter_async_context(workload.async_session(self.workers)))

    def run(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None:
        self.runner.run(self._drive(workload, tasks, sink))

    async def _drive(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None:
        it = iter(tasks)
        call = workload.run_async
        add = sink.add

        # A fixed set of workers bounds concurrency and memory: tasks are never all created.
        async def worker() -> None:
            for task in it:
                add(await call(task))

        async with asyncio.TaskGroup() as group:
            for _ in range(self.workers):
                group.create_task(worker())

    def close(self) -> None:
        try:
            self.runner.run(self.stack.aclose())
        finally:
            self.runner.close()
