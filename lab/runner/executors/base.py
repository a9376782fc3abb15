"""The shared scheduler layer: one interface, one module per concurrency model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, NamedTuple, Protocol

from lab.runner.workloads.base import Workload


class WorkerLost(RuntimeError):
    """A worker of a pool or cluster died or left mid-run; the message says which and how."""


class RemoteUsage(NamedTuple):
    """What workers outside the runner's process tree (an existing cluster's) have used: CPU
    seconds so far, and RSS and USS bytes now (USS None where the OS cannot say)."""

    user: float = 0.0
    system: float = 0.0
    rss: int = 0
    uss: int | None = None


class ClusterProblem(RuntimeError):
    """An existing cluster cannot run the run as asked (too few workers, another lab version,
    unreachable); the message is one sentence for the user."""


class ResultSink(Protocol):
    """Where results go: a Tally, or the runner's ProgressSink wrapping one."""

    def add(self, result: Any) -> None: ...

    def add_many(self, results: Iterable[Any]) -> Any: ...


class Executor(ABC):
    """Runs a workload's tasks with `workers` as the pool size or concurrency bound.

    Lifecycle inside a runner process: `start` once (timed as start-up), `run` once per
    warmup and repeat (timed), `close` once. `run` hands every task result to `sink.add` (or a
    batch to `sink.add_many`) in the calling thread, in any order, so tallies need no locks.
    """

    name: ClassVar[str]  # its descriptor's (lab.scenario.models), which describes it

    # Tasks shipped to a worker at once, for executors that chunk (recorded in the report).
    chunk: int | None = None

    def __init__(self, workers: int, start_method: str, cluster: str | None = None) -> None:
        self.workers = workers
        self.start_method = start_method
        self.cluster_address = cluster  # an existing cluster's scheduler (dask only)

    @abstractmethod
    def start(self, workload: Workload) -> None: ...

    @abstractmethod
    def run(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def remote_usage(self) -> RemoteUsage:
        """CPU and memory of workers outside this runner's process tree (an existing
        cluster's), so a run counts them where its tasks ran. Nothing for every model whose
        workers are the runner's descendants: its own sampling counts those already."""
        return RemoteUsage()

    def window(self) -> int:
        """Tasks in flight at once: enough to keep every worker busy, few enough to bound memory."""
        return max(16 * self.workers, 256)
