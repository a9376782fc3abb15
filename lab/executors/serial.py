"""The baseline: every task in turn on the runner's main thread."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lab.executors.base import Executor, ResultSink
from lab.workloads.base import Workload


class SerialExecutor(Executor):
    name = "serial"
    description = "one task after another in the main thread: the baseline"

    def start(self, workload: Workload) -> None:
        pass

    def run(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None:
        fn = workload.sync_function
        for task in tasks:
            sink(fn(task))

    def close(self) -> None:
        pass
