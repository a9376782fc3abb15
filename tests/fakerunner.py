"""An in-process runner for tests whose subject is the app, the rounds or the analysis, not the
runner process: the real `lab.runner.main.execute` on a thread, speaking the real protocol.

The session's side is unchanged: `lab.engine.runnerproc.RunnerProcess` sends the RunSpec and
the MeasureCommand/CloseCommand lines on a pipe and reads typed events from another, through
its EventGuard, exactly as with a runner process. Only the process is missing: no interpreter
start-up, no imports, no process group. Its pid is one the kernel never gives
(above PID_MAX_LIMIT), so the engine's process-group calls find nothing; `kill_group` on that
pid "kills" the runner as SIGKILL would: its event pipe closes at once (the session reads end
of file) and its exit status is -9, while the thread finishes the task in hand unseen.

What only a real runner process shows (start-up in a fresh interpreter, process groups and
signals, fds 1 and 2, parent death, memory of its tree) stays tested with real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import threading
from collections.abc import Iterator
from multiprocessing import forkserver, resource_tracker
from pathlib import Path

import pytest

from lab.engine import rounds as rounds_module
from lab.engine import runnerproc
from lab.runner import main as runner_main
from lab.runner.protocol import MAX_EVENT_LINE, RunSpec
from lab.runner.system import groups, strays

PID_MAX_LIMIT = 4194304  # Linux never gives a pid above this (include/linux/threads.h)
_pids = itertools.count(PID_MAX_LIMIT + 1)


class _Stdin:
    """The session's end of the runner's stdin (what asyncio's StreamWriter offers it)."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def write(self, data: bytes) -> None:
        if self.fd is None:
            raise BrokenPipeError("stdin closed")
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class FakeRunner:
    """A runner on a thread: `proc` for RunnerProcess, `kill()` for the engine's kill_group."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.pid = next(_pids)
        self.returncode: int | None = None
        self.loop = loop
        self._exited = asyncio.Event()
        spec_read, spec_write = os.pipe()
        events_read, events_write = os.pipe()
        self.events_read = events_read
        self.stdin = _Stdin(spec_write)
        self.stdout = asyncio.StreamReader()  # fds 1 and 2: the test process's own
        self.stdout.feed_eof()
        self._events = os.fdopen(events_write, "w", encoding="utf-8")
        self.transport: asyncio.BaseTransport | None = None  # the session's end of the events
        self._commands = os.fdopen(spec_read, "r", encoding="utf-8")
        self.thread = threading.Thread(target=self._main, name=f"fake-runner-{self.pid}")
        self.thread.daemon = True
        self.thread.start()

    def _main(self) -> None:
        """lab.runner.main.main() without what belongs to a process (fd lookup, parent death,
        subreaper, strays): a RunSpec line, then execute() with the command stream."""
        out = runner_main.EventWriter(self._events)
        code = 1
        try:
            spec = RunSpec.from_line(self._commands.readline())
            code = runner_main.execute(spec, out, runner_main.commands(self._commands))
        except BaseException as exc:
            runner_main.emit_error(out, exc, "setup")
        finally:
            self._commands.close()
            with contextlib.suppress(OSError):  # killed: the session's end is closed
                self._events.close()
            with contextlib.suppress(RuntimeError):  # the test's loop may be closed by now
                self.loop.call_soon_threadsafe(self._exit, code)

    def _exit(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
        self._exited.set()

    def kill(self) -> None:
        """As SIGKILL: the session sees end of file on the events and an exit by signal 9;
        the thread's next event fails on the closed pipe (EPIPE), which ends it. Callable from
        any thread, as kill_group is (a session's cancel_run from a test's thread)."""
        if self.returncode is None:
            self.returncode = -signal.SIGKILL
        try:
            here = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            here = False
        if here:
            self._close_pipes()
        else:
            with contextlib.suppress(RuntimeError):  # a closed loop has nothing left to close
                self.loop.call_soon_threadsafe(self._close_pipes)

    def _close_pipes(self) -> None:
        if self.transport is not None:
            self.transport.close()  # its protocol feeds the session's reader end of file
        self.stdin.close()
        self._exited.set()

    async def wait(self) -> int:
        await self._exited.wait()
        assert self.returncode is not None
        return self.returncode


class FakeRunners:
    """Every fake runner a test started: `spawned` lists them, by start order."""

    def __init__(self) -> None:
        self.spawned: list[FakeRunner] = []
        self.specs: list[RunSpec] = []

    def by_pid(self, pid: int) -> FakeRunner | None:
        return next((r for r in self.spawned if r.pid == pid), None)

    async def spawn(self, workdir: Path, python: Path | None = None) -> runnerproc.Spawned:
        if python is not None:
            raise AssertionError("the fake runner runs this interpreter only: use a real one")
        loop = asyncio.get_running_loop()
        runner = FakeRunner(loop)
        self.spawned.append(runner)
        reader = asyncio.StreamReader(limit=MAX_EVENT_LINE)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(runner.events_read, "rb", 0)
        )
        runner.transport = transport
        return runnerproc.Spawned(runner, reader, transport, strays.new_mark())  # type: ignore[arg-type]

    def kill_group(self, pid: int) -> None:
        runner = self.by_pid(pid)
        if runner is not None:
            runner.kill()
        else:
            groups.kill_group(pid)

    def join(self, timeout: float = 30.0) -> list[str]:
        """Wait for every runner thread to end; the names of those still running."""
        for runner in self.spawned:
            runner.stdin.close()  # a runner waiting for commands ends
            runner.thread.join(timeout)
        return [r.thread.name for r in self.spawned if r.thread.is_alive()]


@contextlib.contextmanager
def _pool_helpers() -> Iterator[None]:
    """multiprocessing's resource tracker and forkserver, which a process pool started in this
    process leaves running in it, stopped again after the test (tests count this process's
    children). The tracker starts here, before the test: started under Textual's run_test it
    would be handed the app's stand-in stderr (fileno -1) and refuse to start."""
    tracker = resource_tracker._resource_tracker
    forkserver_ = forkserver._forkserver
    tracker_was_running = tracker._fd is not None
    forkserver_was_running = forkserver_._forkserver_pid is not None
    tracker.ensure_running()
    try:
        yield
    finally:
        # The stdlib's own way for tests to stop them (ForkServer._stop, ResourceTracker._stop).
        if not forkserver_was_running:
            forkserver_._stop()
        if not tracker_was_running:
            tracker._stop()


@pytest.fixture
def fake_runners(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunners]:
    """Sessions in this test run their runners in-process (see the module's docstring)."""
    fakes = FakeRunners()
    monkeypatch.setattr(rounds_module, "spawn_runner", fakes.spawn)
    monkeypatch.setattr(rounds_module, "kill_group", fakes.kill_group)
    monkeypatch.setattr(runnerproc, "kill_group", fakes.kill_group)
    with _pool_helpers():
        yield fakes
        left = fakes.join()
    assert not left, f"fake runners still running after the test: {left}"
