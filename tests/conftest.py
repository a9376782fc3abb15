from __future__ import annotations

import compileall
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from hypothesis import settings

from lab.scenario.loader import LoadedScenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # A suite started as a background job of a non-interactive shell (`cmd &`) inherits SIGINT
    # ignored, and so would every lab it starts: Python leaves an ignored SIGINT ignored, and the
    # Ctrl+C tests would see a lab that never hears them. A handler (unlike SIG_IGN) is reset to
    # the default at exec, so children start as under a terminal.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if "PYTEST_XDIST_WORKER" not in os.environ:
        # The suite starts hundreds of Python processes (labs, runners) that import lab/.
        # Where PYTHONDONTWRITEBYTECODE is set (the CI machine sets it) none of them writes
        # its bytecode, so each would compile every lab module from source: compiled once here
        # (compileall writes whatever that variable says), a runner imports in 0.19 s, not 0.22,
        # and the app in 0.5 s, not 0.8.
        compileall.compile_dir(ROOT / "lab", quiet=1)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per usable CPU. Most tests wait on the processes they start (a
    runner, a lab, a browser, a Dask cluster): at one worker per CPU the whole suite kept 1.1 of
    2 cores busy. PYTEST_XDIST_AUTO_NUM_WORKERS still overrides it, as in pytest-xdist."""
    forced = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if forced:
        return int(forced)
    return 2 * len(os.sched_getaffinity(0))


# No per-example deadline: tests never assert speed, and on a loaded 2-core machine running the
# suite in parallel one example of a property test can take longer than hypothesis's 200 ms.
settings.register_profile("lab", deadline=None)
settings.load_profile("lab")


def scenario_file(folder: Path, text: str, name: str = "s.yaml") -> str:
    """A scenario file with this YAML text in `folder`; its path, as the command line takes it."""
    path = folder / name
    path.write_text(text)
    return str(path)


# --- Tests that must run alone under pytest-xdist --------------------------------------------
#
# A test marked `alone` times how fast the lab reacts to a signal: with other workers' tests
# beside it on 2 cores, its clock would measure them. Every test holds a shared lock on the run's
# "room" from before its fixtures are set up until after they are torn down (module fixtures
# that start sessions in the background included); an `alone` test holds it exclusively. The
# turnstile makes that writer-preferring: once an `alone` test waits, no new test enters, so it
# is not starved by the other workers' stream of short tests. POSIX record locks (lockf), not
# flock: a child forked during a test does not inherit them, so a pool worker that outlives its
# test cannot keep the room locked.
#
# Each wait for the room idles every other worker until their current tests end, and the room is
# then theirs to idle in: so the `alone` tests are collected first (xdist hands the first slice of
# the collection to one worker, which runs them at the start, while the others are on their first
# short test), and one `alone` test followed by another keeps the room: one wait for them all.

_room: list[int] = []  # this worker's open lock files while one of its tests is in the room


def runs_alone(item: pytest.Item | None) -> bool:
    return item is not None and item.get_closest_marker("alone") is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    items[:] = xdist_order(items, workers)


def xdist_order(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The collection laid out for pytest-xdist's worksteal, which hands worker i the i-th of
    `workers` consecutive slices and, at the end, steals from the tails of the longest queues.

    The first slice starts with the `alone` tests. Each other slice starts with one quick test
    (the one that may enter the room before the first `alone` test shuts it, and so the wait),
    then its share of the `slow` tests, a module at a time (a module's fixtures are set up once),
    then quick tests: what is left to steal at the end is quick, and no 20 s test starts last.
    The order only changes the wall time; every worker collects the same list."""
    alone = [item for item in items if runs_alone(item)]
    if workers < 2:
        return alone + [item for item in items if not runs_alone(item)]
    slow_by_module: dict[str, list[pytest.Item]] = {}
    quick: list[pytest.Item] = []
    for item in items:
        if runs_alone(item):
            continue
        if item.get_closest_marker("slow") is not None:
            slow_by_module.setdefault(item.nodeid.split("::")[0], []).append(item)
        else:
            quick.append(item)
    # worksteal's split: slice i holds what is left // (workers - i).
    sizes, left = [], len(items)
    for i in range(workers):
        sizes.append(left // (workers - i))
        left -= sizes[-1]
    slices: list[list[pytest.Item]] = [list(alone)] + [[] for _ in range(workers - 1)]
    for i in range(1, workers):
        if quick:
            slices[i].append(quick.pop(0))
    for module in sorted(slow_by_module.values(), key=len, reverse=True):
        least = min(range(1, workers), key=lambda i: len(slices[i]))
        slices[least].extend(module)
    for i in range(workers):
        room = max(0, sizes[i] - len(slices[i]))
        slices[i].extend(quick[:room])
        del quick[:room]
    ordered = [item for part in slices for item in part] + quick
    assert len(ordered) == len(items)
    return ordered


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    basetemp = item.config.option.basetemp
    if "PYTEST_XDIST_WORKER" in os.environ and basetemp and not _room:
        # Each worker's temp root is a folder of the run's own, shared by its workers.
        shared = Path(basetemp).parent
        alone = runs_alone(item)
        turnstile = os.open(shared / "alone.turnstile", os.O_RDWR | os.O_CREAT, 0o600)
        room = os.open(shared / "alone.room", os.O_RDWR | os.O_CREAT, 0o600)
        _room.extend([room, turnstile])
        fcntl.lockf(turnstile, fcntl.LOCK_EX)
        fcntl.lockf(room, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if not alone:
            fcntl.lockf(turnstile, fcntl.LOCK_UN)  # in the room: let the next one through
    yield


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if runs_alone(item) and runs_alone(nextitem):
        return  # the next test runs alone too: it keeps the room this one holds
    while _room:
        os.close(_room.pop())  # closing a file releases this process's locks on it


@pytest.fixture
def make_scenario() -> Callable[..., LoadedScenario]:
    """Build a LoadedScenario from YAML text (dedented)."""

    def build(text: str, name: str = "test") -> LoadedScenario:
        return parse_scenario(textwrap.dedent(text), f"{name}.yaml", name)

    return build


@pytest.fixture
def lab_cmd() -> list[str]:
    return [sys.executable, "-m", "lab"]


# --- Fault tests: a private temp folder and a way to find every process the lab started ---

LAB_MARK = "LAB_TEST_MARK"


def command_line(proc: psutil.Process) -> str:
    """Its command line, or "" once it has exited: processes come and go while a test looks."""
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


class LabSandbox:
    """A private TMPDIR and an environment marker inherited by every process the lab starts,
    so a test can prove afterwards that nothing is left: no file, no process (orphans too)."""

    def __init__(self, tmp: Path, mark: str) -> None:
        self.tmp = tmp
        self.mark = mark

    def env(self, **extra: str) -> dict[str, str]:
        from lab.runner.system.child_env import child_env

        env = child_env()
        env.update(TMPDIR=str(self.tmp), **{LAB_MARK: self.mark}, **extra)
        return env

    def processes(self) -> list[psutil.Process]:
        """Live (not zombie) processes carrying this sandbox's marker, wherever they are now."""
        found = []
        for proc in psutil.process_iter():
            if proc.pid == os.getpid():
                continue
            try:
                if proc.environ().get(LAB_MARK) == self.mark and proc.status() != "zombie":
                    found.append(proc)
            except psutil.Error:
                continue
        return found

    def wait_until_gone(self, timeout: float = 5.0) -> list[psutil.Process]:
        deadline = time.monotonic() + timeout
        while (alive := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return alive

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.tmp)) for p in self.tmp.rglob("*"))


@pytest.fixture
def lab_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabSandbox]:
    tmp_path_factory.getbasetemp()  # pytest's own temp root stays outside the sandbox
    # Short, under /tmp: forkserver puts an AF_UNIX socket in TMPDIR (108-byte path limit).
    tmp = Path(tempfile.mkdtemp(prefix="lab-t-", dir="/tmp"))
    box = LabSandbox(tmp, uuid.uuid4().hex)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv(LAB_MARK, box.mark)
    yield box
    alive = box.wait_until_gone()
    described = [f"{p.pid} {command_line(p)[:80]}" for p in alive if p.is_running()]
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    left = box.files()
    shutil.rmtree(tmp, ignore_errors=True)
    assert not described, f"processes of the lab still alive: {described}"
    assert not left, f"temp files left behind: {left}"


CONSOLE_SCRIPT = Path(sys.executable).parent / "concurrency-lab"


class LabProcess:
    """A headless lab in its own process group, its stderr collected as it comes.

    `script=True` starts it through the installed `concurrency-lab` console script instead
    of `python -m lab` (which puts the working directory first on sys.path).
    """

    def __init__(
        self, sandbox: LabSandbox, *args: str, cwd: Path, script: bool = False, **env: str
    ) -> None:
        command = [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "lab"]
        self.proc = subprocess.Popen(
            [*command, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, env=sandbox.env(**env), cwd=cwd, start_new_session=True,
        )  # fmt: skip
        self.sandbox = sandbox
        self.lines: list[str] = []
        self.stdout = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until a stderr line holds `text`; fails if the lab exits first."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.05)

    def children(self, needle: str) -> list[psutil.Process]:
        return [p for p in self.sandbox.processes() if needle in command_line(p)]

    def wait_until(self, needle: str, count: int = 1, timeout: float = 60) -> list[psutil.Process]:
        """Until `count` processes of the sandbox have `needle` in their command line."""
        deadline = time.monotonic() + timeout
        while len(found := self.children(needle)) < count:
            assert self.proc.poll() is None, self.stderr
            assert time.monotonic() < deadline, f"fewer than {count} {needle!r}: {self.stderr}"
            time.sleep(0.05)
        return found

    def wait_for_runner(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.children("lab.runner.main"):
            assert time.monotonic() < deadline, "no runner process started"
            time.sleep(0.05)

    def finish(self, timeout: float = 120) -> int:
        """Read stdout to the end (kept in `stdout`), wait for the exit code."""
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout.read()
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


# Sessions whose runners run in-process, on the real protocol (tests/fakerunner.py).
from tests.fakerunner import fake_runners  # noqa: E402, F401
