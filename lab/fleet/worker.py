"""What a fleet run executes inside the Dask workers: importable by reference on every host,
so the lab installed there (its own interpreter and version) runs the session, never code
shipped from the client.

A host's session is a child process of its launcher worker, in a session of its own. It is
registered under a token so that `stop_sessions` (sent with `Client.run` to the same worker
process) can interrupt it as Ctrl+C would on that host: the lab then writes its partial report
and stops its runners. Standard library and the lab only: workers import this module.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any

import lab
from lab.runner.system.child_env import child_env

# The lab's own command line, run by this worker's interpreter. `-P`: nothing from the
# worker's current folder goes ahead of the standard library. The session dies with the
# worker (LAB_PARENT_PID, set by child_env), and its runners die with it in turn, so a worker
# killed mid-run leaves nothing running on its host.
_ENTRY = (
    "import sys; from lab.runner.system.parent_death import arm_from_env; arm_from_env(); "
    "from lab.cli import main; sys.exit(main(sys.argv[1:]))"
)
STDERR_TAIL_LINES = 20

_lock = threading.Lock()
_sessions: dict[str, subprocess.Popen[bytes]] = {}
_stopped: set[str] = set()  # tokens stopped before their session started: it never starts


def worker_facts() -> dict[str, Any]:
    """What the client checks before a fleet run: the lab's version on this worker."""
    return {
        "version": lab.__version__,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "hostname": socket.gethostname(),
    }


def run_host_session(token: str, topic: str, argv: list[str]) -> dict[str, Any]:
    """Run `concurrency-lab ARGV` with this worker's interpreter; its output and exit code.

    Its progress lines (stderr) go to the client as they come, as events on `topic`."""
    started = time.monotonic()
    with _lock:
        if _is_stopped(token):
            return {"exit_code": None, "stdout": "", "stderr": "", "seconds": 0.0,
                    "stopped": True, "forwarded": 0}  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-P", "-c", _ENTRY, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
            cwd="/",  # scenario paths arrive absolute; the session writes its report to stdout
            start_new_session=True,
        )
        _sessions[token] = process
    progress = _Progress(process, topic)
    try:
        out = process.stdout.read() if process.stdout else b""
        process.wait()
        progress.join()
    finally:
        with _lock:
            _sessions.pop(token, None)
    return {
        "exit_code": process.returncode,
        "stdout": out.decode("utf-8", "replace"),
        "stderr": "\n".join(progress.tail),
        "seconds": time.monotonic() - started,
        "stopped": _is_stopped(token),
        "forwarded": progress.forwarded,
    }


class _Progress:
    """Reads a session's stderr on a thread: keeps its last lines (the reason a session
    failed) and sends each line to the client as a Dask event, so every host's progress shows
    live on the fleet's terminal."""

    def __init__(self, process: subprocess.Popen[bytes], topic: str) -> None:
        self.tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.forwarded = 0
        self.topic = topic
        self.worker = _current_worker()  # found from the task's own thread only
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        if process.stderr is None:
            return
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.tail.append(line)
            if self.worker is not None and line.strip():
                with contextlib.suppress(Exception):  # progress is a courtesy, never a failure
                    self.worker.log_event(self.topic, line)
                    self.forwarded += 1

    def join(self) -> None:
        self.thread.join(timeout=10)


def _current_worker() -> Any:
    """The Dask worker running this task, or None when called outside one."""
    try:
        return importlib.import_module("distributed").get_worker()
    except (ImportError, ValueError):
        return None


def _is_stopped(token: str) -> bool:
    return any(token.startswith(prefix) for prefix in _stopped)


def stop_sessions(prefix: str, signum: int = signal.SIGINT) -> int:
    """Interrupt this worker's sessions whose token starts with prefix (SIGINT: as Ctrl+C on
    the host; SIGKILL: at once); sessions not started yet never start. How many were running."""
    with _lock:
        found = [(t, p) for t, p in _sessions.items() if t.startswith(prefix)]
        _stopped.add(prefix)
        for _, process in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signum)
    return len(found)
