"""A child of the lab dies with its parent, even when the parent was SIGKILLed.

On Linux the kernel does it: prctl(PR_SET_PDEATHSIG, SIGKILL) at start-up. Elsewhere a daemon
thread polls getppid(). Either way the parent may already have died before the child armed
it (during the interpreter's start-up, say), so the child compares its parent with the one
it expects right after arming, and follows at once if it has changed.

Imported by pool workers: standard library only.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
POLL_SECONDS = 0.2
PARENT_ENV = "LAB_PARENT_PID"  # set by lab.runner.system.child_env: the pid to follow


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _prctl_pdeathsig() -> bool:
    """Ask the kernel to SIGKILL us when the thread that started us ends; False if it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        # The symbols already loaded (libc's among them): find_library would run ldconfig.
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Adopt our descendants' orphans instead of init (Linux); False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _parent_of(pid: int) -> int | None:
    """The parent of another process, from /proc (None where unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # The command name, in parentheses, may hold spaces: the fields follow its end.
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _poll(parent: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            _die()


def arm(*expected: int) -> None:
    """Die with the parent. `expected`: pids our parent may be (or whose child it may be, for a
    pool worker forked by a forkserver); when empty, the parent at the time of the call."""
    parent = os.getppid()
    armed = _prctl_pdeathsig()
    now = os.getppid()
    if now != parent or (expected and now not in expected and _parent_of(now) not in expected):
        _die()  # the parent died before we could follow it
    if not armed:
        threading.Thread(target=_poll, args=(now,), name="parent-watch", daemon=True).start()


def arm_from_env() -> None:
    """For a child the lab started: follow the pid in LAB_PARENT_PID, which is then removed so
    that our own children do not take it for theirs."""
    value = os.environ.pop(PARENT_ENV, "")
    arm(*([int(value)] if value.isdigit() else []))
