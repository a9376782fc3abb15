"""A scenario's own function, run under every model: `kind: callable`.

The user's module is imported only here, inside a runner process or a process-pool worker, never
by the app or the loader (which only reads the file). Its folder (`path`) goes first on
sys.path, so neither the current directory nor an installed module of another name wins.
"""

from __future__ import annotations

import importlib
import inspect
import multiprocessing
import pickle
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.runner.workloads.base import (
    RepeatOutcome,
    Tally,
    UserCodeError,
    Workload,
    WorkloadSetupError,
    WrongAnswer,
)
from lab.runner.workloads.results import digest_results, short_repr, value_hash

if TYPE_CHECKING:  # pool workers import this module: keep pydantic out of their start-up
    from lab.scenario.callable_spec import CallableWorkload

# Per process: (path, "module:attr") -> the function, so each worker imports it once.
_FUNCTIONS: dict[tuple[str, str], Callable[..., Any]] = {}
_SETUP_DONE: set[tuple[str, str]] = set()
_PICKLE_CHECKED: set[type] = set()


def user_traceback(exc: BaseException) -> str:
    """The exception's traceback without the lab's frames: from the first frame of user code."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _import(path: str, module_name: str) -> Any:
    # First, ahead of the working directory (`python -m` puts it first) and site-packages.
    if sys.path[:1] != [path]:
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if missing == module_name or module_name.startswith(missing + "."):
            raise WorkloadSetupError(
                f"module {module_name!r} cannot be imported: no {missing.replace('.', '/')}.py "
                f"(or package) under {path}"
            ) from None
        raise UserCodeError(
            f"importing {module_name} failed: {type(exc).__name__}: {exc}",
            user_traceback(exc),
            "setup",
        ) from None
    except Exception as exc:
        raise UserCodeError(
            f"importing {module_name} raised {type(exc).__name__}: {exc}",
            user_traceback(exc),
            "setup",
        ) from None
    where = getattr(module, "__file__", None)
    root = Path(path).resolve()
    if where is None or root not in Path(where).resolve().parents:
        # Already imported under that name (the standard library's, the lab's, a dependency's).
        raise WorkloadSetupError(
            f"module {module_name!r} was imported from {where or 'a built-in module'}, not from "
            f"{path}: that name is taken by an installed module; rename your module"
        )
    return module


def load_function(path: str, ref: str) -> Callable[..., Any]:
    """`module:attr` from the folder `path`, imported once per process."""
    key = (path, ref)
    found = _FUNCTIONS.get(key)
    if found is not None:
        return found
    module_name, _, attr = ref.partition(":")
    value: Any = _import(path, module_name)
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise WorkloadSetupError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(value):
        raise WorkloadSetupError(f"{ref} is a {type(value).__name__}, not a function")
    function: Callable[..., Any] = value
    _FUNCTIONS[key] = function
    return function


def run_setup(path: str, ref: str | None) -> None:
    """The scenario's setup function, once per process, outside any timed region."""
    if ref is None or (path, ref) in _SETUP_DONE:
        return
    fn = load_function(path, ref)
    try:
        fn()
    except Exception as exc:
        raise UserCodeError(
            f"setup {ref} raised {type(exc).__name__}: {exc}", user_traceback(exc), "setup"
        ) from None
    _SETUP_DONE.add((path, ref))


def _task_error(exc: Exception, index: int, ref: str) -> UserCodeError:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return UserCodeError(f"task {index}: {ref} raised {text}", user_traceback(exc))


def _check_picklable(value: Any, index: int, ref: str) -> None:
    """In a pool worker, a result that cannot travel back gets a sentence, not pickle's error.

    Checked once per result type per worker: the same function returns the same kinds of data.
    """
    kind = type(value)
    if kind in _PICKLE_CHECKED:
        return
    try:
        pickle.dumps(value)
    except Exception as exc:
        raise UserCodeError(
            f"task {index}: {ref} returned {short_repr(value)} (a {kind.__name__}), which cannot "
            "be pickled, so a process pool cannot send it back; return plain data (numbers, "
            "strings, bytes, lists, dicts) under processes",
            f"{type(exc).__name__}: {exc}",
        ) from None
    _PICKLE_CHECKED.add(kind)


@dataclass(frozen=True)
class CallTask:
    """The task function every model calls: picklable (its class by name, its fields by value)."""

    path: str
    function: str
    setup: str | None

    def __call__(self, task: tuple[int, Any]) -> tuple[int, Any]:
        index, arg = task
        fn = _FUNCTIONS.get((self.path, self.function)) or self.prepare()
        try:
            value = fn(arg)
        except Exception as exc:
            raise _task_error(exc, index, self.function) from None
        if multiprocessing.parent_process() is not None:
            _check_picklable(value, index, self.function)
        return index, value

    def prepare(self) -> Callable[..., Any]:
        """Import the function and run the setup in this process (a pool worker at start-up)."""
        fn = load_function(self.path, self.function)
        run_setup(self.path, self.setup)
        return fn


class CallableTally(Tally):
    """Hashes each task's result by index; with `unit` other than tasks, counts the amounts."""

    def __init__(self, workload: UserFunction) -> None:
        self.workload = workload
        self.count = workload.task_count()
        self.hashes: list[bytes | None] = [None] * self.count
        self.values: dict[int, str] = {}
        self.amount = 0.0
        self.pairs = workload.spec.unit != "tasks"
        self.keep = workload.first is None  # the run's first pass keeps reprs to name a difference

    def add(self, result: tuple[int, Any]) -> None:
        index, value = result
        if self.pairs:
            value = self._unpack(index, value)
        else:
            self.amount += 1
        if self.workload.spec.check == "equal":
            self.hashes[index] = value_hash(value)
            if self.keep:
                self.values[index] = short_repr(value)

    def _unpack(self, index: int, value: Any) -> Any:
        ref, unit = self.workload.spec.function, self.workload.spec.unit
        ok = isinstance(value, tuple) and len(value) == 2
        amount = value[1] if ok else None
        if not ok or isinstance(amount, bool) or not isinstance(amount, int | float):
            raise UserCodeError(
                f"task {index}: with unit {unit!r}, {ref} must return (result, amount in "
                f"{unit}); it returned {short_repr(value)}"
            )
        self.amount += amount
        return value[0]

    def finish(self) -> RepeatOutcome:
        if self.workload.spec.check != "equal":
            return RepeatOutcome(amount=self.amount, tasks=self.count)
        missing = [i for i, h in enumerate(self.hashes) if h is None]
        if missing:
            raise WrongAnswer(
                f"{len(missing)} of {self.count} tasks never returned (task {missing[0]} first)"
            )
        hashes = [h for h in self.hashes if h is not None]
        digest, groups = digest_results(hashes, self.values)
        first = self.workload.first
        if first is None:
            self.workload.first = (hashes, self.values)
        else:
            for i, (h, reference) in enumerate(zip(hashes, first[0], strict=True)):
                if h != reference:
                    raise WrongAnswer(
                        f"task {i}: returned {first[1].get(i, '?')} in an earlier pass of this "
                        "run and something else now: the function's results vary from run to run"
                    )
        return RepeatOutcome(amount=self.amount, tasks=self.count, digest=digest, results=groups)


class UserFunction(Workload):
    kind = "callable"
    unit = "tasks"
    spec: CallableWorkload

    def __init__(self, spec: CallableWorkload, context: dict[str, Any]) -> None:
        super().__init__(spec, context)
        self.call = CallTask(spec.path, spec.function, spec.setup)
        # In the runner, before anything is timed: import errors and the setup fail the run here.
        self.function = self.call.prepare()
        self.async_function = (
            load_function(spec.path, spec.async_function) if spec.async_function else None
        )
        if self.async_function is not None and not inspect.iscoroutinefunction(self.async_function):
            raise WorkloadSetupError(
                f"async_function {spec.async_function} is not a coroutine function (async def)"
            )
        # The run's first pass: per-task hashes and reprs, against which later passes compare.
        self.first: tuple[list[bytes], dict[int, str]] | None = None

    def task_count(self) -> int:
        return len(self.spec.args) if self.spec.args is not None else int(self.spec.tasks or 0)

    def tasks(self) -> Iterator[tuple[int, Any]]:
        if self.spec.args is not None:
            yield from enumerate(self.spec.args)
        else:
            for i in range(self.task_count()):
                yield (i, i)

    @property
    def sync_function(self) -> Callable[[Any], Any]:
        return self.call

    async def run_async(self, task: Any) -> Any:
        if self.async_function is None:
            # No coroutine form: the function runs on the loop, which is what asyncio does
            # with blocking or CPU-bound code.
            return self.call(task)
        index, arg = task
        try:
            value = await self.async_function(arg)
        except Exception as exc:
            raise _task_error(exc, index, str(self.spec.async_function)) from None
        return index, value

    def new_tally(self) -> Tally:
        return CallableTally(self)

    def pool_function(self) -> Callable[..., Any]:
        return self.function

    def worker_init(self) -> Callable[[], object] | None:
        # A bound method of a picklable object pickles too: each worker imports and sets up.
        return self.call.prepare
