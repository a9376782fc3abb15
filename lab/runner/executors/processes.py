"""A ProcessPoolExecutor of `workers` processes, fed in chunks to amortise pickling and IPC."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from lab.runner.executors.base import Executor, ResultSink
from lab.runner.executors.chunked import chunk_size, feed_in_chunks, run_chunk
from lab.runner.system.parent_death import PARENT_ENV, arm
from lab.runner.workloads.base import Workload
from lab.scenario.models import PROCESSES

STARTUP_TIMEOUT = 60.0


def _worker_ready(
    ready: Any, module: str, runner: int, init: Callable[[], object] | None = None
) -> None:
    # A worker dies with its parent (the runner, or the runner's forkserver), even a SIGKILLed one.
    arm(runner)
    # Importing the workload here puts its import cost into start-up, not the first repeat.
    importlib.import_module(module)
    if init is not None:  # a workload's own start-up (a scenario's function and its setup)
        init()
    ready.put(multiprocessing.current_process().pid)


def _noop() -> None:
    return None


class WorkerDied(BrokenProcessPool):
    """A pool worker process ended while the pool was working; says which and how."""


class ProcessExecutor(Executor):
    name = PROCESSES.name

    def start(self, workload: Workload) -> None:
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            os.environ[PARENT_ENV] = str(os.getpid())  # whom the forkserver follows
            context.set_forkserver_preload(["__main__", "lab.runner.system.follow_parent"])
        ready = context.Queue()
        self.pool = ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=_worker_ready,
            initargs=(
                ready,
                workload.sync_function.__module__,
                os.getpid(),
                workload.worker_init(),
            ),
        )
        # Pools spawn workers on demand; keep asking until every worker has reported in.
        seen: set[int] = set()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while len(seen) < self.workers:
            for _ in range(self.workers - len(seen)):
                self.pool.submit(_noop)
            try:
                while len(seen) < self.workers:
                    seen.add(ready.get(timeout=0.5))
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"only {len(seen)} of {self.workers} worker processes started"
                    ) from None
        ready.close()
        self.chunk = chunk_size(workload.task_count(), self.workers)
        # Kept to say which worker died and how if the pool breaks (the pool hides it).
        self.processes: list[Any] = list((getattr(self.pool, "_processes", None) or {}).values())

    def death_report(self) -> str:
        """'a pool worker process (pid 12) was killed by SIGKILL (signal 9)', or a guess."""
        # The pool's manager thread joins every worker once one has died. Reading an exit code
        # while it does is a race: under forkserver both threads read the code from one pipe,
        # and the loser records 255 ("exited with code 255") over the real one. Once that
        # thread is done, every code is known and read from the cache.
        manager = getattr(self.pool, "_executor_manager_thread", None)
        if manager is not None:
            manager.join(timeout=2.0)
        deadline = time.monotonic() + 0.5
        while True:
            dead = [(p.pid, p.exitcode) for p in self.processes if p.exitcode is not None]
            # The pool SIGTERMs the other workers once one has died, and one of those can be
            # reaped first: wait for a death that is not that SIGTERM before settling for one.
            culprits = [d for d in dead if d[1] != -15]
            if culprits:
                break
            if time.monotonic() > deadline:
                culprits = dead
                break
            time.sleep(0.02)
        if not culprits:
            return "a pool worker process died abruptly (killed, or it exited)"
        from lab.runner.system.groups import describe_exit  # not at import: pool workers import us

        pid, code = culprits[0]
        own = " on its own" if code is not None and code >= 0 else ""
        return f"a pool worker process (pid {pid}) {describe_exit(code)}{own}"

    def run(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None:
        try:
            self._run(workload, tasks, sink)
        except WorkerDied:
            raise
        except BrokenProcessPool as exc:  # from a result, or from submitting to a broken pool
            raise WorkerDied(self.death_report()) from exc

    def _run(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None:
        fn = workload.sync_function

        def submit(chunk: list[Any]) -> Future[list[Any]]:
            return self.pool.submit(run_chunk, fn, chunk)

        feed_in_chunks(tasks, self.chunk or 1, self.workers, submit, Future.result, sink)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
