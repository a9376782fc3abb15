"""What every workload provides. Workloads know nothing of executors, runners or the UI."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lab.core.histogram import Histogram

if TYPE_CHECKING:
    from lab.results.openloop import OpenLoopRecord


class WrongAnswer(Exception):
    """A task returned a result that does not match the reference: the run is invalid."""


class WorkloadSetupError(Exception):
    """The workload cannot be prepared (no disk space, a folder without files, ...)."""


class TargetUnreachable(Exception):
    """Every task failed to reach its target (refused, timed out): nothing was measured."""


class UserCodeError(Exception):
    """Code the lab does not own (a scenario's own function) failed.

    `detail` is that code's traceback, trimmed to its own frames; `kind` is the run's error kind
    ("exception" for a task, "setup" for an import or a setup function). Picklable: it crosses
    from process-pool workers as it is.
    """

    def __init__(self, message: str, detail: str = "", kind: str = "exception") -> None:
        super().__init__(message, detail, kind)

    @property
    def message(self) -> str:
        return str(self.args[0])

    @property
    def detail(self) -> str:
        return str(self.args[1])

    @property
    def kind(self) -> str:
        return str(self.args[2])

    def __str__(self) -> str:
        return self.message


class ScenarioContext(dict[str, Any]):
    """What a `provision()` may yield instead of a plain dict: the same JSON-able context for
    the runners, plus a watch on what it provisioned (an embedded server, say)."""

    def problem(self) -> str | None:
        """Why the provisioned resources stopped working, in plain words; None while they work."""
        return None

    async def recover(self) -> None:
        """Bring the resources back (restart a server) before the next run, or raise
        WorkloadSetupError."""


@dataclass
class RepeatOutcome:
    """What one repeat produced, apart from timings."""

    amount: float  # in the workload's unit, for throughput
    tasks: int
    digest: str | None = None  # identical across executors when they computed the same thing
    errors: dict[str, int] = field(default_factory=dict)
    latency: Histogram | None = None
    # Per task (or per group of tasks past a cap): "hash repr", for saying which task differs
    # when two executors disagree. Only workloads whose answers cannot be checked otherwise.
    results: list[str] | None = None
    open_loop: OpenLoopRecord | None = None  # an open loop's rates and corrected latencies


class Tally(ABC):
    """Collects task results of one repeat, checking each one as it arrives."""

    @abstractmethod
    def add(self, result: Any) -> None: ...

    def add_many(self, results: Iterable[Any]) -> int:
        """Add a batch (a process pool's chunk, say); returns how many were added."""
        n = 0
        for result in results:
            self.add(result)
            n += 1
        return n

    @abstractmethod
    def finish(self) -> RepeatOutcome: ...


class Workload(ABC):
    """A workload as run inside a runner process.

    `sync_function` must be a module-level function (processes pickle it by name); `run_async`
    is the coroutine form used by the asyncio executors.
    """

    kind: ClassVar[str]
    unit: ClassVar[str]  # what throughput counts: "tasks", "MB", "requests"

    def __init__(self, spec: Any, context: dict[str, Any]) -> None:
        self.spec = spec
        self.context = context

    @abstractmethod
    def task_count(self) -> int: ...

    # An open loop sends each task at its scheduled time (`scheduled_at`), whatever the answers
    # do: each executor follows the schedule as well as its model can, and its repeats last the
    # schedule's duration, so they are never calibrated into several passes.
    @property
    def open_loop(self) -> bool:
        return False

    def scheduled_at(self, task: Any) -> float:
        """An open-loop task's send time, on the time.perf_counter() clock."""
        raise NotImplementedError(f"{type(self).__name__} has no open loop")

    @abstractmethod
    def tasks(self) -> Iterator[Any]:
        """Picklable task specs, produced lazily so huge task counts stay in bounded memory."""

    @property
    @abstractmethod
    def sync_function(self) -> Callable[[Any], Any]: ...

    @abstractmethod
    async def run_async(self, task: Any) -> Any: ...

    @abstractmethod
    def new_tally(self) -> Tally: ...

    @asynccontextmanager
    async def async_session(self, concurrency: int) -> AsyncIterator[None]:
        """Resources shared by all coroutines of a run (an HTTP session, say)."""
        yield

    def before_repeat(self) -> None:  # noqa: B027 - optional hook, most workloads need nothing
        """Called outside the timed region before each repeat (cache eviction, say)."""

    def pool_function(self) -> Callable[..., Any]:
        """The function a program of the user's own would hand a pool: the task function, or a
        scenario's own function (`sync_function` wraps it so that workers import it by name)."""
        return self.sync_function

    def worker_init(self) -> Callable[[], object] | None:
        """A picklable callable each process-pool worker runs once at start-up, or None."""
        return None


@asynccontextmanager
async def no_resources(spec: Any, workdir: Path) -> AsyncIterator[dict[str, Any]]:
    yield {}
