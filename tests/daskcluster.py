"""Real Dask schedulers and workers for tests, on loopback addresses.

Each process is started in its own session so teardown can kill the whole group (a worker's
nanny and the worker it spawns), and teardown checks with psutil that nothing is left. Workers
bound to 127.0.0.2 and 127.0.0.3 stand for two hosts: every 127.0.0.0/8 address is loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

START_TIMEOUT = 60.0


def dask_command(*args: str) -> list[str]:
    """The `dask` command of the interpreter running the tests (`python -m dask` is its CLI)."""
    return [sys.executable, "-m", "dask", *args]


@dataclass
class DaskProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tree(self) -> list[psutil.Process]:
        """This process and its children (a nanny's worker), while they live."""
        try:
            parent = psutil.Process(self.pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class DaskCluster:
    """A scheduler and workers started by a test; `address` is what a client connects to."""

    directory: Path
    scheduler_host: str = "127.0.0.1"
    address: str = ""
    scheduler: DaskProcess | None = None
    workers: list[DaskProcess] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # extra variables for every process

    def start_scheduler(self) -> str:
        scheduler_file = self.directory / "scheduler.json"
        self.scheduler = self._spawn(
            "scheduler",
            dask_command(
                "scheduler",
                "--host",
                self.scheduler_host,
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ),
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.scheduler.process.poll() is not None:
                raise RuntimeError(f"dask scheduler exited:\n{self.scheduler.log_text()}")
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                self.address = str(json.loads(scheduler_file.read_text())["address"])
                return self.address
            time.sleep(0.05)
        raise RuntimeError(f"dask scheduler did not start:\n{self.scheduler.log_text()}")

    def start_worker(self, host: str = "127.0.0.1", *, nanny: bool = False) -> DaskProcess:
        """One single-threaded worker bound to `host`; without a nanny, killing it kills it."""
        if not self.address:
            raise RuntimeError("start the scheduler first")
        worker = self._spawn(
            f"worker-{len(self.workers)}",
            dask_command(
                "worker",
                self.address,
                "--host",
                host,
                "--nthreads",
                "1",
                "--no-dashboard",
                "--nanny" if nanny else "--no-nanny",
                "--memory-limit",
                "0",
                "--local-directory",
                str(self.directory / f"worker-{len(self.workers)}"),
                "--death-timeout",
                "30",
            ),
        )
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> list[str]:
        """Block until the scheduler knows `count` workers; their addresses."""
        from distributed import Client

        with Client(self.address, timeout=START_TIMEOUT) as client:
            client.wait_for_workers(count, timeout=START_TIMEOUT)
            return sorted(client.scheduler_info(n_workers=-1)["workers"])

    def _spawn(self, name: str, command: Sequence[str]) -> DaskProcess:
        log = self.directory / f"{name}.log"
        env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False", **self.env}
        with log.open("wb") as out:
            process = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=env,
                start_new_session=True,
            )
        return DaskProcess(name, process, log)

    def stop(self) -> None:
        """Stop workers, then the scheduler; SIGKILL what outlives SIGTERM. Fails on leftovers."""
        everything = [p for p in (*self.workers, self.scheduler) if p is not None]
        tree = [proc for p in everything for proc in p.tree()]
        # Workers first: a worker told to stop while its scheduler goes too waits out its
        # comm timeouts (10 s) before it exits; with the scheduler still there it takes < 1 s.
        alive: list[psutil.Process] = []
        for group in (self.workers, [self.scheduler] if self.scheduler else []):
            members = [proc for p in group for proc in p.tree()]
            for p in group:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
            alive += psutil.wait_procs(members, timeout=10)[1]
        for p in everything:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        _, still = psutil.wait_procs(tree, timeout=10)
        for p in everything:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.process.wait(timeout=5)
        if still:
            raise AssertionError(f"dask processes left behind: {[s.pid for s in still]}")


@contextlib.contextmanager
def dask_cluster(
    directory: Path,
    worker_hosts: Sequence[str] = ("127.0.0.1",),
    *,
    nanny: bool = False,
    env: dict[str, str] | None = None,
) -> Iterator[DaskCluster]:
    """A scheduler on 127.0.0.1 and one worker per entry of `worker_hosts`, ready to use;
    `env`: extra environment variables for all of them (PYTHONPATH, Dask's own settings)."""
    pytest_skip_if_no_distributed()
    directory.mkdir(parents=True, exist_ok=True)
    cluster = DaskCluster(directory, env=dict(env or {}))
    try:
        cluster.start_scheduler()
        for host in worker_hosts:
            cluster.start_worker(host, nanny=nanny)
        cluster.wait_for_workers(len(worker_hosts))
        yield cluster
    finally:
        cluster.stop()


def pytest_skip_if_no_distributed() -> None:
    """The test extra includes the cluster extra, so CI always has it: fail there, skip loudly
    elsewhere."""
    import importlib.util

    import pytest

    if importlib.util.find_spec("distributed") is None:
        message = (
            "needs Dask distributed: pip install -e '.[test]' (it includes the 'cluster' extra)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
