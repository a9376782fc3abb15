"""The baseline: every task in turn on the runner's main thread."""

from __future__ import annotations

import time
from collections.abc import Iterable
from itertools import islice
from typing import Any

from lab.runner.executors.base import Executor, ResultSink
from lab.runner.workloads.base import Workload
from lab.scenario.models import SERIAL


class SerialExecutor(Executor):
    name = SERIAL.name

    def start(self, workload: Workload) -> None:
        pass

    def run(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None:
        fn = workload.sync_function
        it = iter(tasks)
        # Batches keep the per-result cost of the sink out of near-empty tasks; they grow
        # only while a batch takes under 2 ms, so progress stays live for slow tasks.
        batch = 1
        while True:
            start = time.perf_counter()
            results = [fn(task) for task in islice(it, batch)]
            if not results:
                return
            sink.add_many(results)
            if time.perf_counter() - start < 0.002 and batch < 1024:
                batch *= 2

    def close(self) -> None:
        pass
