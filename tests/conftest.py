from __future__ import annotations

import compileall
import contextlib
import os
import re
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
pytest_plugins = ["tests.scheduling"]
# What pytest loads through its assertion rewriting: the test modules, this conftest and its
# plugin. The other helpers are imported plainly.
REWRITTEN_BY_PYTEST = re.compile(r"/(test_[^/]*|conftest|scheduling)\.py$")


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
        # Each xdist worker imports every test module: with no bytecode written, each parsed,
        # rewrote and compiled them all again (4 s of a worker's collection, not 1.7). The
        # helpers get plain bytecode; the modules pytest rewrites get its rewritten one only.
        compileall.compile_dir(ROOT / "tests", quiet=1, maxlevels=0, rx=REWRITTEN_BY_PYTEST)
        write_rewritten_test_modules(config)


def write_rewritten_test_modules(config: pytest.Config) -> None:
    """The pyc files of the test modules as pytest's assertion rewriting caches them, which it
    reads whatever PYTHONDONTWRITEBYTECODE says but writes only where it is unset. Through
    pytest's own (private) functions; a pytest without them just rewrites in every worker."""
    try:
        from _pytest.assertion import rewrite

        state = config.stash[rewrite.assertstate_key]
        for source in sorted((ROOT / "tests").glob("*.py")):
            if not REWRITTEN_BY_PYTEST.search(str(source)):
                continue
            pyc = rewrite.get_cache_dir(source) / (source.stem + rewrite.PYC_TAIL)
            if rewrite._read_pyc(source, pyc) is None:
                pyc.parent.mkdir(exist_ok=True)
                stat, code = rewrite._rewrite_test(source, config)
                rewrite._write_pyc(state, code, stat, pyc)
    except (ImportError, AttributeError, KeyError, TypeError):
        return  # --assert=plain, or another pytest's internals


# No per-example deadline: tests never assert speed, and on a loaded 2-core machine running the
# suite in parallel one example of a property test can take longer than hypothesis's 200 ms.
settings.register_profile("lab", deadline=None)
settings.load_profile("lab")


def scenario_file(folder: Path, text: str, name: str = "s.yaml") -> str:
    """A scenario file with this YAML text in `folder`; its path, as the command line takes it."""
    path = folder / name
    path.write_text(text)
    return str(path)


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
        # No process started before the sandbox can carry its mark. Reading that marker means
        # reading a process's whole environment; its start time is one short line, so older
        # processes (the other workers, their labs) are passed over cheaply: tests poll this.
        # (psutil adds start ticks to a boot time rounded to the second: two seconds of slack.)
        self.since = time.time() - 2.0

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
                if proc.create_time() < self.since:
                    continue
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


PF_EXITING = 0x4  # include/linux/sched.h: the task is in do_exit


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

    def ending(self) -> bool:
        """Whether the lab has ended or is ending: reaped, a zombie, or already in its exit
        call, where the kernel tears it down for some milliseconds and delivers no signal
        (PF_EXITING in /proc/PID/stat). A signal sent then finds a lab that finished first."""
        if self.proc.poll() is not None:
            return True
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return True
        state, *_, flags = stat.rsplit(")", 1)[1].split()[:7]
        return state in "ZX" or bool(int(flags) & PF_EXITING)

    def finish(self, timeout: float = 120) -> int:
        """Read stdout to the end (kept in `stdout`), wait for the exit code."""
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout.read()
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


# Sessions whose runners run in-process, on the real protocol (tests/fakerunner.py).
from tests.fakerunner import fake_runners  # noqa: E402, F401
