"""One runner process seen from the session: start it, command it, read its typed events.

A runner is kept warm across the rounds of its block: it reads one MeasureCommand per measured
repeat on its stdin, so its pool, loop and caches stay as they were between two repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from lab.engine.eventguard import CORRUPTED, CORRUPTED_KIND, EventGuard, StreamCorrupted
from lab.engine.events import CpuSample
from lab.results.notices import Notice, notice
from lab.runner.cancelsafe import get_within
from lab.runner.protocol import (
    EVENT_FD_ENV,
    MAX_EVENT_LINE,
    CloseCommand,
    Command,
    ProtocolError,
    RunnerError,
    RunnerEvent,
    RunSpec,
    command_line,
    from_line,
)
from lab.runner.system import strays
from lab.runner.system.child_env import child_env, python_command
from lab.runner.system.groups import describe_exit, finish_group, kill_group, tree, tree_memory
from lab.runner.workloads.base import ScenarioContext

SAMPLE_INTERVAL = 0.1  # memory of the runner's process tree
USS_EVERY = 5  # memory samples per USS sample
CPU_SAMPLE_INTERVAL = 0.25  # per-core CPU meters
STDERR_TAIL = 4000  # of the output, for the last words of a crashed runner
OUTPUT_HEAD = 16384  # bytes of the runner's fds 1 and 2 kept from their start...
OUTPUT_TAIL = 16384  # ... and from their end
WATCH_INTERVAL = 0.1  # provisioned resources (the embedded server)
RUNNER = "lab.runner.main"
EXIT_GRACE = 5.0  # seconds a runner that sent `done` may take to exit before it is killed
EXIT_POLL = 0.005  # seconds between two looks at whether a runner has exited
OUTPUT_DRAIN = 0.5  # seconds for the last of a stopped runner's output to be read


class Eof:
    """The runner closed its stdout: it exited, or is about to."""


class OutputCapture:
    """The first and the last bytes a runner's fds 1 and 2 received, bounded in memory."""

    def __init__(self, head: int = OUTPUT_HEAD, tail: int = OUTPUT_TAIL) -> None:
        self.head_limit, self.tail_limit = head, tail
        self.head = bytearray()
        self.last = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head.extend(chunk[:room])
            chunk = chunk[room:]
        self.last.extend(chunk)
        del self.last[: -self.tail_limit]

    def tail(self, size: int) -> str:
        return bytes((self.head + self.last)[-size:]).decode(errors="replace")

    def text(self) -> str:
        left_out = self.total - len(self.head) - len(self.last)
        between = f"\n[... {left_out} bytes left out ...]\n" if left_out else ""
        return (bytes(self.head).decode(errors="replace") + between
                + bytes(self.last).decode(errors="replace"))  # fmt: skip


class Problem:
    """The scenario's resources died (the embedded server) while this runner worked."""

    def __init__(self, message: str) -> None:
        self.message = message


Item = RunnerEvent | CpuSample | Problem | Eof


@dataclass
class Spawned:
    """A started runner: the process, and the read end of its event pipe."""

    proc: asyncio.subprocess.Process
    events: asyncio.StreamReader
    transport: asyncio.BaseTransport
    mark: str  # in its environment, inherited by everything it starts (lab.runner.system.strays)


async def spawn_runner(workdir: Path, python: Path | None = None) -> Spawned:
    """`python -m lab.runner.main` in its own process group, its temp files in `workdir`;
    `python`: another interpreter's runner environment (lab.engine.interpreters), else the lab's.

    Whatever the runner and its pool create in the temp folder (forkserver sockets, say) lands
    in the scenario's folder, which is removed even after a SIGKILL. Its events come on a pipe
    of their own (pass_fds); its fds 1 and 2, which its pool workers and the measured code
    inherit, go to one capture pipe (RunnerProcess.output).
    """
    env = child_env()
    env["TMPDIR"] = str(workdir)
    mark = strays.new_mark()
    env[strays.MARK_ENV] = mark
    # -P there too: the environment holds its own copy of the lab, after the standard library.
    command = [str(python), "-P", "-m", RUNNER] if python else python_command(RUNNER)
    read_end, write_end = os.pipe()
    env[EVENT_FD_ENV] = str(write_end)
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            pass_fds=(write_end,),
            env=env,
            start_new_session=True,
        )  # fmt: skip
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)  # the runner's copy is the only writer: its exit is our end of file
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_EVENT_LINE)
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_end, "rb", 0)
        )
    except BaseException:
        kill_group(proc.pid)
        raise
    return Spawned(proc, reader, transport, mark)


async def exited(proc: asyncio.subprocess.Process, seconds: float) -> bool:
    """Wait up to `seconds` for the process itself to exit; whether it did.

    Not `proc.wait()`: that also waits for the process's stdout and stderr to close, and a
    runner's are inherited by everything it starts. Its resource tracker, which kill_group
    spares so that it unlinks a killed pool's semaphores, kept them open for as long as it
    lived, and a Ctrl+C took over 2 s to stop the lab. (`sh -c "sleep 2 & exit 0"` with pipes:
    wait() returns after 2 s on 3.11, 3.12 and 3.13.)"""
    deadline = time.monotonic() + seconds
    while proc.returncode is None and time.monotonic() < deadline:
        await asyncio.sleep(EXIT_POLL)
    return proc.returncode is not None


class RunnerProcess:
    def __init__(self, spawned: Spawned, run_id: str) -> None:
        self.proc = spawned.proc
        self.events = spawned.events
        self.transport = spawned.transport
        self.mark = spawned.mark
        self.run_id = run_id
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.output = OutputCapture()  # fds 1 and 2 of the runner and its workers
        self.guard = EventGuard()
        self.strays: list[int] = []  # processes it left that could not be killed
        self.peak_rss = 0
        self.peak_uss: int | None = None
        self.closed_cleanly = False
        self._output_reader = asyncio.create_task(self._read_output())
        self._readers = [asyncio.create_task(self._read_events()), self._output_reader]
        self._watchers: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def send(self, message: RunSpec | Command) -> None:
        line = message.to_line() if isinstance(message, RunSpec) else command_line(message)
        assert self.proc.stdin is not None
        self.guard.sent(message)  # before the runner can answer it
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
        if grace:
            await exited(proc, grace)
        # Its descendants while it lives, those outside its group included (it is their
        # subreaper): what the environment mark cannot find.
        descendants = [p.pid for p in tree(proc.pid)[1:]] if proc.returncode is None else []
        if proc.returncode is None:
            kill_group(proc.pid)
        # A process stuck in the kernel (D state) cannot be waited for; go on without it.
        await exited(proc, 5)
        # Anything the runner left in its group, once its resource tracker has unlinked the
        # semaphores of a killed pool.
        await asyncio.to_thread(finish_group, proc.pid)
        # What left the group on purpose (a task's start_new_session child) still carries the
        # runner's mark in its environment.
        self.strays = await asyncio.to_thread(strays.kill_marked, self.mark, descendants)
        await self._output_read(OUTPUT_DRAIN)  # all its writers are gone: what they last wrote
        await self.unwatch()
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self.transport.close()

    async def wait_exit(self, seconds: float) -> None:
        """A runner whose event pipe closed is exiting: give it `seconds` to say how, by its exit
        status and its last words on fds 1 and 2 (read to their end, once all who hold them have
        gone)."""
        deadline = time.monotonic() + seconds
        await exited(self.proc, seconds)
        await self._output_read(deadline - time.monotonic())

    async def _output_read(self, seconds: float) -> None:
        """Until the runner's fds 1 and 2 are read to their end, for at most `seconds`."""
        if seconds > 0:
            await asyncio.wait([self._output_reader], timeout=seconds)

    def crash_message(self) -> tuple[str, str]:
        """Why a runner that did not finish is gone, and what it wrote on fds 1 and 2."""
        returncode = self.proc.returncode
        message = f"the runner process {describe_exit(returncode)}"
        if returncode == -signal.SIGKILL:
            message += ": by another process, or by the kernel when memory ran out"
        elif returncode is not None and returncode >= 0:
            message += " before finishing"
        tail = self.output.tail(STDERR_TAIL)
        last_words = [line for line in tail.splitlines() if line.strip()]
        if last_words:
            message += f"; its last output: {last_words[-1].strip()[:120]}"
        return message, self.output.text()

    def strays_notice(self, run_id: str) -> Notice:
        pids = ", ".join(str(pid) for pid in self.strays)
        message = (
            f"{run_id} left processes running that the lab could not kill (pids {pids}); "
            "stop them yourself"
        )
        return notice("stray_processes", message, run_id)

    def detail(self, detail: str = "") -> str:
        """A failure's detail, followed by what the runner and its workers wrote on fds 1, 2."""
        output = self.output.text()
        if not output:
            return detail
        heading = "output of the runner and its workers (fds 1 and 2):"
        return f"{detail.rstrip()}\n\n{heading}\n{output}" if detail else f"{heading}\n{output}"

    async def _read_events(self) -> None:
        try:
            while True:
                try:
                    line = await self.events.readuntil(b"\n")
                except asyncio.IncompleteReadError as exc:
                    if exc.partial.strip():
                        self._corrupted("it ended in the middle of an event")
                    return
                except asyncio.LimitOverrunError:
                    self._corrupted(f"an event longer than {MAX_EVENT_LINE // 2**20} MiB")
                    return
                try:
                    event = from_line(line)
                    self.guard.check(event)
                except (ProtocolError, StreamCorrupted) as exc:
                    self._corrupted(str(exc))
                    return
                self.queue.put_nowait(event)
        finally:
            self.queue.put_nowait(Eof())

    def _corrupted(self, what: str) -> None:
        """The run fails as if the runner had said why (rounds adds its output)."""
        self.queue.put_nowait(RunnerError(CORRUPTED_KIND, f"{CORRUPTED}: {what}"))

    async def _read_output(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(65536):
            self.output.add(chunk)

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
