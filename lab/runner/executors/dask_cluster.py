"""Dask distributed: `workers` single-threaded Dask worker processes, fed in chunks.

By default a LocalCluster started in the runner (loopback only, no dashboard); with a scenario's
`cluster:` or `--cluster ADDRESS`, the first `workers` workers (by address) of an existing
scheduler. Only imported by a runner that runs `dask` and by the headless pre-flight check of a
given cluster: `--help`, `--list` and every run without dask never import distributed.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.metadata
import logging
import os
import queue
import resource
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from distributed import Client, Future, LocalCluster
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from lab import __version__
from lab.runner.executors import daskprobe
from lab.runner.executors.base import (
    ClusterProblem,
    Executor,
    RemoteUsage,
    ResultSink,
    WorkerLost,
)
from lab.runner.executors.chunked import chunk_size, run_chunk
from lab.runner.workloads.base import Workload
from lab.scenario.models import DASK

STARTUP_TIMEOUT = 60.0
LOST_POLL = 0.2  # seconds between looks for a lost worker while a finished chunk is recomputed
DISTRIBUTION = "concurrency-lab"  # the name the lab is installed under, on every machine


def _worker_ready(module: str, init: Callable[[], object] | None) -> int:
    """On a worker, before any timed repeat: import the workload (and run its own start-up)."""
    importlib.import_module(module)
    if init is not None:
        init()
    return os.getpid()


def _worker_usage() -> tuple[float, float, int, int | None]:
    """On a worker: its process's user and system CPU so far (tasks run in its thread), and
    its RSS and USS now (USS None where the OS cannot say)."""
    import psutil

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    me = psutil.Process()
    try:
        info = me.memory_full_info()
        rss, uss = int(info.rss), int(getattr(info, "uss", 0)) or None
    except psutil.Error:
        rss, uss = int(me.memory_info().rss), None
    return cpu.ru_utime, cpu.ru_stime, rss, uss


def chosen_workers(client: Client, workers: int, address: str) -> list[str]:
    """The first `workers` workers of the cluster by address, or why it cannot give them."""
    known = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if len(known) < workers:
        raise ClusterProblem(
            f"the Dask cluster at {address} has {len(known)} worker(s), fewer than the "
            f"{workers} asked for; start more workers or ask for fewer"
        )
    chosen = known[:workers]
    versions = client.run(
        importlib.metadata.version, DISTRIBUTION, workers=chosen, on_error="return"
    )
    for worker in chosen:
        found = versions.get(worker)
        if isinstance(found, importlib.metadata.PackageNotFoundError):
            raise ClusterProblem(
                f"Dask worker {worker} at {address} does not have the lab installed; "
                f"install {DISTRIBUTION} {__version__} there"
            )
        if isinstance(found, BaseException):
            raise ClusterProblem(
                f"Dask worker {worker} at {address} could not say its lab version: "
                f"{type(found).__name__}: {found}"
            )
        if found != __version__:
            raise ClusterProblem(
                f"Dask worker {worker} at {address} runs concurrency-lab {found}, this lab is "
                f"{__version__}; install the same version on every worker"
            )
    return chosen


def connect(address: str) -> Client:
    """A client of the scheduler at `address`. It waits for a scheduler that is not there yet
    as long as Dask's own `distributed.comm.timeouts.connect` says (30 s unless configured,
    e.g. DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s)."""
    from dask.config import get as config
    from dask.utils import parse_timedelta

    timeout = parse_timedelta(config("distributed.comm.timeouts.connect"), default="seconds")
    try:
        # Dask's own handshake has no timeout: a port that accepts and never answers, or
        # answers garbage, is told apart first, within the connect timeout.
        daskprobe.probe(address, float(timeout or 30))
    except daskprobe.NoScheduler as exc:
        raise ClusterProblem(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        return Client(address, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterProblem(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def cluster_problem(address: str, workers: int) -> str | None:
    """Headless pre-flight: why the cluster at `address` cannot run `workers` workers, or None."""
    try:
        client = connect(address)
    except ClusterProblem as exc:
        return str(exc)
    try:
        chosen_workers(client, workers, address)
    except ClusterProblem as exc:
        return str(exc)
    finally:
        client.close()
    return None


class _Lost:
    """A queue item: a chosen worker left the cluster (the scheduler's remove-worker event)."""

    def __init__(self, worker: str) -> None:
        self.worker = worker


class DaskExecutor(Executor):
    name = DASK.name

    def __init__(self, workers: int, start_method: str, cluster: str | None = None) -> None:
        super().__init__(workers, start_method, cluster)
        self.cluster: LocalCluster | None = None
        self.client: Client | None = None
        self.chosen: list[str] = []
        self.pids: dict[str, int] = {}
        self.lost: str | None = None
        self.results: queue.SimpleQueue[Future[list[Any]] | _Lost] = queue.SimpleQueue()
        self.inflight: set[Future[list[Any]]] = set()

    def start(self, workload: Workload) -> None:
        if self.cluster_address is None:
            self.cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                scheduler_port=0,
                # The scheduler serves HTTP even without a dashboard, on 8787 unless told: a
                # free loopback port instead, beside a user's own cluster and other labs'.
                dashboard_address="127.0.0.1:0",
                scheduler_kwargs={"dashboard": False},
                worker_dashboard_address=None,
                # The nanny's memory monitor would restart a worker mid-run: no limit.
                memory_limit=0,
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster, set_as_default=False)
            self.client.wait_for_workers(self.workers, timeout=STARTUP_TIMEOUT)
            self.chosen = sorted(self.client.scheduler_info(n_workers=-1)["workers"])
        else:
            self.client = connect(self.cluster_address)
            self.chosen = chosen_workers(self.client, self.workers, self.cluster_address)
        # A worker that leaves during a run would have its tasks re-run on the others: the run
        # would go on with fewer workers than it reports. Its removal event fails the run.
        for worker in self.chosen:
            self.client.subscribe_topic(worker, functools.partial(self._event, worker))
        # Start-up ends when every worker has imported the workload and answered.
        init = workload.worker_init()
        answers = self.client.run(
            _worker_ready, workload.sync_function.__module__, init, workers=self.chosen
        )
        self.pids = {w: int(pid) for w, pid in answers.items()}
        self.chunk = chunk_size(workload.task_count(), self.workers)

    def remote_usage(self) -> RemoteUsage:
        """An existing cluster's workers are not the runner's children: ask them, in one call
        each. (A LocalCluster's are, and the runner counts them itself.)"""
        if self.cluster_address is None or self.client is None or not self.chosen:
            return RemoteUsage()
        answers = list(self.client.run(_worker_usage, workers=self.chosen).values())
        uss = [a[3] for a in answers]
        return RemoteUsage(
            sum(float(a[0]) for a in answers),
            sum(float(a[1]) for a in answers),
            sum(int(a[2]) for a in answers),
            None if any(u is None for u in uss) else sum(int(u or 0) for u in uss),
        )

    def _event(self, worker: str, event: tuple[float, dict[str, Any]]) -> None:
        """On the client's thread: the scheduler's events about one chosen worker."""
        _, message = event
        if isinstance(message, dict) and message.get("action") == "remove-worker":
            self.lost = self.lost or worker
            self.results.put(_Lost(worker))

    def _lost_message(self, worker: str) -> str:
        pid = self.pids.get(worker)
        # A LocalCluster's nanny restarts a dead worker at once and keeps no trace of how the
        # old process ended, so the words stay general.
        return (
            f"a Dask worker ({worker}{f', pid {pid}' if pid else ''}) left the cluster during "
            "the run (killed, crashed or disconnected); Dask would re-run its tasks on the "
            "others, so the run stopped"
        )

    def run(self, workload: Workload, tasks: Iterable[Any], sink: ResultSink) -> None:
        assert self.client is not None
        if self.lost is not None:
            raise WorkerLost(self._lost_message(self.lost))
        client, fn, chosen, size = self.client, workload.sync_function, self.chosen, self.chunk
        it = iter(tasks)
        results = self.results

        def submit() -> bool:
            chunk = list(islice(it, size))
            if not chunk:
                return False
            # pure=False: identical chunks (every repeat submits the same ones) would otherwise
            # be computed once and served from memory, a fake speed-up from the second repeat on.
            future = client.submit(
                run_chunk, fn, chunk, pure=False, workers=chosen, allow_other_workers=False
            )
            self.inflight.add(future)
            future.add_done_callback(results.put)
            return True

        for _ in range(2 * self.workers):
            if not submit():
                break
        try:
            while self.inflight:
                item = results.get()
                if self.lost is not None:
                    raise WorkerLost(self._lost_message(self.lost))
                if isinstance(item, _Lost) or item not in self.inflight:
                    continue  # a chunk of a failed earlier pass, cancelled since
                self.inflight.discard(item)
                sink.add_many(self._result(item))
                submit()
        finally:
            if self.inflight:
                with contextlib.suppress(Exception):
                    client.cancel(list(self.inflight))
                self.inflight.clear()

    def _result(self, future: Future[list[Any]]) -> list[Any]:
        """A finished chunk's results. A chunk whose worker died after it finished is pending
        again (Dask recomputes lost results), so this waits, but never past a lost worker."""
        while True:
            if self.lost is not None:
                raise WorkerLost(self._lost_message(self.lost))
            try:
                return list(future.result(timeout=LOST_POLL))
            except TimeoutError:
                continue
            except (FutureCancelledError, KilledWorker) as exc:
                if self.lost is not None:
                    raise WorkerLost(self._lost_message(self.lost)) from None
                raise WorkerLost(f"a Dask task was lost: {exc}") from None

    def close(self) -> None:
        try:
            if self.client is not None:
                with contextlib.suppress(Exception):
                    self.client.close(timeout=5)
        finally:
            if self.cluster is not None:
                with contextlib.suppress(Exception):
                    self.cluster.close(timeout=10)
