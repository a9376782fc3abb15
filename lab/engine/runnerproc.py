"""One runner process seen from the session: start it, command it, read its typed events.

A runner is kept warm across the rounds of its block: it reads one MeasureCommand per measured
repeat on its stdin, so its pool, loop and caches stay as they were between two repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Any

import psutil

from lab.engine.cancelsafe import get_within, within
from lab.engine.events import CpuSample
from lab.engine.protocol import (
    CloseCommand,
    Command,
    ProtocolError,
    RunnerEvent,
    RunSpec,
    command_line,
    from_line,
)
from lab.engine.system.child_env import child_env, python_command
from lab.engine.system.groups import describe_exit, finish_group, kill_group, tree, tree_memory
from lab.engine.workloads.base import ScenarioContext

SAMPLE_INTERVAL = 0.1  # memory of the runner's process tree
USS_EVERY = 5  # memory samples per USS sample
CPU_SAMPLE_INTERVAL = 0.25  # per-core CPU meters
STDERR_TAIL = 4000
WATCH_INTERVAL = 0.1  # provisioned resources (the embedded server)
RUNNER = "lab.engine.runner"
EXIT_GRACE = 5.0  # seconds a runner that sent `done` may take to exit before it is killed


class Eof:
    """The runner closed its stdout: it exited, or is about to."""


class Problem:
    """The scenario's resources died (the embedded server) while this runner worked."""

    def __init__(self, message: str) -> None:
        self.message = message


Item = RunnerEvent | CpuSample | Problem | Eof


async def spawn_runner(workdir: Path, python: Path | None = None) -> asyncio.subprocess.Process:
    """`python -m lab.engine.runner` in its own process group, its temp files in `workdir`;
    `python`: another interpreter's runner environment (lab.engine.interpreters), else the lab's.

    Whatever the runner and its pool create in the temp folder (forkserver sockets, say) lands
    in the scenario's folder, which is removed even after a SIGKILL.
    """
    env = child_env()
    env["TMPDIR"] = str(workdir)
    # -P there too: the environment holds its own copy of the lab, after the standard library.
    command = [str(python), "-P", "-m", RUNNER] if python else python_command(RUNNER)
    return await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
        limit=2**24,
    )  # fmt: skip


class RunnerProcess:
    def __init__(self, proc: asyncio.subprocess.Process, run_id: str) -> None:
        self.proc = proc
        self.run_id = run_id
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.stderr = bytearray()
        self.peak_rss = 0
        self.peak_uss: int | None = None
        self.closed_cleanly = False
        self._readers = [
            asyncio.create_task(self._read_events()),
            asyncio.create_task(self._read_stderr()),
        ]
        self._watchers: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def send(self, message: RunSpec | Command) -> None:
        line = message.to_line() if isinstance(message, RunSpec) else command_line(message)
        assert self.proc.stdin is not None
        with contextlib.suppress(ConnectionError, RuntimeError):
            self.proc.stdin.write(line.encode() + b"\n")
            await self.proc.stdin.drain()

    async def close_input(self) -> None:
        await self.send(CloseCommand())
        assert self.proc.stdin is not None
        with contextlib.suppress(ConnectionError, RuntimeError, OSError):
            self.proc.stdin.close()

    def watch(self, context: dict[str, Any]) -> None:
        """While this runner works: sample its memory and the CPUs, watch the resources."""
        self._watchers = [
            asyncio.create_task(self._sample()),
            asyncio.create_task(self._watch(context)),
        ]

    async def unwatch(self) -> None:
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        self._watchers = []

    async def next_item(self, timeout: float) -> Item | None:
        """The next event, sample or problem; None when `timeout` seconds passed without one."""
        try:
            return await get_within(self.queue, max(0.0, timeout))  # never asyncio.wait_for
        except TimeoutError:
            return None

    async def stop(self, grace: float) -> None:
        """Let a runner that has finished exit by itself for `grace` seconds, then kill its whole
        process group (pool workers, forkserver, orphans of a dead runner) and reap it."""
        proc = self.proc
        if grace and proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await within(proc.wait(), grace)
        if proc.returncode is None:
            kill_group(proc.pid)
        # A process stuck in the kernel (D state) cannot be waited for; go on without it.
        with contextlib.suppress(TimeoutError):
            await within(proc.wait(), 5)
        # Anything the runner left in its group, once its resource tracker has unlinked the
        # semaphores of a killed pool.
        await asyncio.to_thread(finish_group, proc.pid)
        await self.unwatch()
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    async def wait_exit(self, seconds: float) -> None:
        """A runner whose stdout closed is exiting: give it a moment to say how."""
        with contextlib.suppress(TimeoutError):
            await within(self.proc.wait(), seconds)

    def crash_message(self) -> tuple[str, str]:
        """Why a runner that did not finish is gone, and the tail of its stderr."""
        returncode = self.proc.returncode
        tail = self.stderr[-STDERR_TAIL:].decode(errors="replace")
        message = f"the runner process {describe_exit(returncode)}"
        if returncode == -signal.SIGKILL:
            message += ": by another process, or by the kernel when memory ran out"
        elif returncode is not None and returncode >= 0:
            message += " before finishing"
        last_words = [line for line in tail.splitlines() if line.strip()]
        if last_words:
            message += f"; its last output: {last_words[-1].strip()[:120]}"
        return message, tail

    async def _read_events(self) -> None:
        assert self.proc.stdout is not None
        try:
            async for line in self.proc.stdout:
                try:
                    self.queue.put_nowait(from_line(line))
                except ProtocolError:
                    continue  # not ours: the runner's stdout is the protocol's alone
        finally:
            self.queue.put_nowait(Eof())

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self.stderr.extend(chunk)
            del self.stderr[:-STDERR_TAIL]

    async def _watch(self, context: dict[str, Any]) -> None:
        """Tell the session as soon as the scenario's resources die (the embedded server)."""
        if not isinstance(context, ScenarioContext):
            return
        while (problem := context.problem()) is None:
            await asyncio.sleep(WATCH_INTERVAL)
        self.queue.put_nowait(Problem(problem))

    async def _sample(self) -> None:
        psutil.cpu_percent(percpu=True)
        next_cpu = time.monotonic() + CPU_SAMPLE_INTERVAL
        sample = 0
        members: list[psutil.Process] = []
        while True:
            # USS reads every mapping of every process in the tree, and finding the tree reads
            # /proc/*/stat of every process on the machine: both a few times a second is
            # plenty for a peak, and keeps the sampler's own CPU out of what is measured.
            with_uss = sample % USS_EVERY == 0
            if with_uss:
                members = tree(self.pid)
            rss, uss = tree_memory(self.pid, with_uss=with_uss, members=members)
            sample += 1
            self.peak_rss = max(self.peak_rss, rss)
            if uss is not None:
                self.peak_uss = max(self.peak_uss or 0, uss)
            if time.monotonic() >= next_cpu:
                next_cpu += CPU_SAMPLE_INTERVAL
                self.queue.put_nowait(
                    CpuSample(tuple(psutil.cpu_percent(percpu=True)), self.run_id)
                )
            await asyncio.sleep(SAMPLE_INTERVAL)
