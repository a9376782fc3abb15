"""A ThreadPoolExecutor of `workers` threads."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import Any

from lab.runner.executors.base import Executor, ResultSink
from lab.runner.workloads.base import Workload
from lab.scenario.models import THREADS


class ThreadExecutor(Executor):
    name = THREADS.name

    def start(self, workload: Workload) -> None:
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="lab-worker")
        # The pool starts threads lazily; a barrier makes every thread exist before timing.
        barrier = threading.Barrier(self.workers)
        for f in [self.pool.submit(barrier.wait, 30) for _ in range(self.workers)]:
            f.result()

    def run(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None:
        fn = workload.sync_function
        submit = self.pool.submit
        it = iter(tasks)
        # A sliding window in task order, like Executor.map, but never all tasks at once.
        inflight: deque[Future[Any]] = deque(submit(fn, t) for t in islice(it, self.window()))
        try:
            while inflight:
                result = inflight.popleft().result()
                for t in islice(it, 1):
                    inflight.append(submit(fn, t))
                sink.add(result)
        finally:
            for f in inflight:
                f.cancel()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
