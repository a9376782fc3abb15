"""A pool of sub-interpreters (PEP 734), each with its own GIL, in the runner's one process.

`concurrent.futures.InterpreterPoolExecutor` from the standard library on 3.14+, from the
interpreters-pep-734 backport on 3.13. Tasks go over in chunks like the process pool's (each
hand-over pickles its function and tasks), through lab.runner.executors.in_interpreter, whose
calls always come back (see there). Start-up lasts until every worker has run one task.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from lab.core import in_interpreter
from lab.core.optional import interpreters_problem
from lab.runner.executors.base import Executor, ResultSink
from lab.runner.executors.chunked import chunk_size, feed_in_chunks
from lab.runner.workloads.base import UserCodeError, Workload, WorkloadSetupError
from lab.scenario.models import INTERPRETERS

STARTUP_TIMEOUT = 60.0
# The lab's module the workers call; imported first, by a built-in, so that a worker that
# cannot import it fails its start instead of waiting forever (see in_interpreter).
IN_INTERPRETER = in_interpreter.__name__


def pool_class() -> Any:
    """InterpreterPoolExecutor: the standard library's, else the backport's."""
    problem = interpreters_problem()
    if problem is not None:  # a runner environment without the backport, an old Python
        raise WorkloadSetupError(problem)
    try:
        from concurrent.futures import InterpreterPoolExecutor  # type: ignore[attr-defined]
    except ImportError:
        from interpreters_backport.concurrent.futures import InterpreterPoolExecutor
    return InterpreterPoolExecutor


def _unshareable(function: Any, exc: Exception) -> UserCodeError:
    """A sentence for a function the pool cannot send to another interpreter."""
    module = getattr(function, "__module__", None) or "?"
    qualname = getattr(function, "__qualname__", None) or repr(function)
    name = qualname.rsplit(".", 1)[-1]
    if "<locals>" in qualname:
        outer = qualname.split(".<locals>")[0]
        what = f"{module}.{name} is a closure (defined inside {outer}())"
    elif name == "<lambda>":
        what = f"{module}.{qualname} is a lambda"
    else:
        what = f"{module}.{qualname} cannot be pickled by name"
    return UserCodeError(
        f"{what}: an InterpreterPoolExecutor sends a function to each interpreter by its "
        f"module and name, which it does not have; define it with def at module level in "
        f"{module}, or run it under threads or processes",
        f"{type(exc).__name__}: {exc}",
        "setup",
    )


def _refused(exc: BaseException) -> BaseException:
    """An extension module that refuses sub-interpreters: a sentence with the cause and fix."""
    module = in_interpreter.refusal(exc)
    if module is None:
        return exc
    said = exc.message if isinstance(exc, UserCodeError) else f"{type(exc).__name__}: {exc}"
    return UserCodeError(
        f"{said}: {module} is an extension module that refuses to load in a sub-interpreter, "
        "so this code cannot run under interpreters; compare it under threads and processes, "
        "or use a release of it that supports sub-interpreters (PEP 684)",
        exc.detail if isinstance(exc, UserCodeError) else f"{type(exc).__name__}: {exc}",
        exc.kind if isinstance(exc, UserCodeError) else "setup",
    )


class InterpreterExecutor(Executor):
    name = INTERPRETERS.name

    def start(self, workload: Workload) -> None:
        function = workload.pool_function()
        try:
            pickle.dumps(function)
        except Exception as exc:
            raise _unshareable(function, exc) from None
        cls = pool_class()
        self.pool = cls(
            self.workers,
            thread_name_prefix="lab-interpreter",
            initializer=exec,
            initargs=(f"import {IN_INTERPRETER}",),
        )
        self.function = workload.sync_function
        init = pickle.dumps(workload.worker_init())
        module = workload.sync_function.__module__
        # The pool starts a worker (and its interpreter) per submit while none is idle: keep
        # handing out start-up tasks until each worker has run one.
        seen: set[int] = set()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            while len(seen) < self.workers:
                batch = [
                    self.pool.submit(in_interpreter.ready, module, init)
                    for _ in range(self.workers - len(seen))
                ]
                seen.update(f.result(timeout=max(0.1, deadline - time.monotonic())) for f in batch)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {len(seen)} of {self.workers} interpreters started")
        except BaseException as exc:
            raise _refused(_cause(exc)) from None
        self.worker_threads = seen
        self.chunk = chunk_size(workload.task_count(), self.workers)

    def run(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None:
        function = self.function

        def submit(chunk: list[Any]) -> Future[bytes]:
            payload = pickle.dumps((function, chunk), protocol=pickle.HIGHEST_PROTOCOL)
            future: Future[bytes] = self.pool.submit(in_interpreter.run_chunk, payload)
            return future

        def results_of(future: Future[bytes]) -> list[Any]:
            try:
                results: list[Any] = pickle.loads(future.result())
            except BaseException as exc:
                raise _refused(_cause(exc)) from None
            return results

        feed_in_chunks(tasks, self.chunk or 1, self.workers, submit, results_of, sink)

    def close(self) -> None:
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _cause(exc: BaseException) -> BaseException:
    """The pool raises a worker's exception as is, or wraps an initializer's failure in
    BrokenInterpreterPool with it as the cause: the cause says why."""
    if type(exc).__name__ == "BrokenInterpreterPool" and exc.__cause__ is not None:
        return exc.__cause__
    return exc
