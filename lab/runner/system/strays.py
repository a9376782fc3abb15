"""Processes a run left behind outside its runner's process group.

Killing a runner's process group misses what the measured code started in a session of its own
(`subprocess.Popen(..., start_new_session=True)`, a daemon): it outlives the run. Every runner
gets a mark in its environment, which everything it starts inherits; once the group is gone,
the processes that still carry the mark are found in /proc and killed. A process that cleared
its environment cannot be found this way; the runner is a child subreaper
(lab.runner.main), so while it lives such orphans are its children, and `tree` finds them.
Whatever survives SIGKILL (another user's, a process stuck in the kernel) is named by pid.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time

from lab.runner.system.groups import running

MARK_ENV = "LAB_RUN_MARK"
GONE_WAIT = 1.0  # seconds killed processes may take to disappear


def new_mark() -> str:
    return secrets.token_hex(8)


def _carries(pid: int, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = b"\0" + f.read() + b"\0"
    except OSError:
        return False
    return needle in environ


def marked(mark: str) -> list[int]:
    """Live processes whose environment holds this runner's mark (not this process)."""
    if not os.path.isdir("/proc"):
        return []
    needle = f"\0{MARK_ENV}={mark}\0".encode()
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            pid = int(entry)
            if _carries(pid, needle):
                found.append(pid)
    return [pid for pid in found if running(pid)]


def kill_pids(pids: list[int]) -> list[int]:
    """SIGKILL each; the pids still running after a moment (they could not be killed)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + GONE_WAIT
    left = [pid for pid in pids if running(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [pid for pid in left if running(pid)]
    return left


def kill_marked(mark: str, also: list[int] | None = None) -> list[int]:
    """Kill the processes marked `mark` and the pids in `also`; the pids that survived."""
    pids = sorted(set(marked(mark)) | set(also or []))
    return kill_pids([pid for pid in pids if running(pid)]) if pids else []


def kill_escaped_descendants() -> list[int]:
    """For the runner, once its pool is closed: kill its descendants that left its process
    group (a task's start_new_session child, with or without the mark); the survivors' pids."""
    import psutil

    group = os.getpgrp()
    escaped = []
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(OSError):
                if os.getpgid(child.pid) != group:
                    escaped.append(child.pid)
    return kill_pids(escaped) if escaped else []
