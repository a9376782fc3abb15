"""Stopping a runner and everything it started, including orphans of a dead runner."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil

# multiprocessing's resource tracker unlinks the named semaphores (/dev/shm/sem.mp-*) of a
# pool whose processes were killed, once the last of them has gone: it must outlive them.
_TRACKER = b"multiprocessing.resource_tracker"
TRACKER_GRACE = 1.0  # seconds the tracker may take to clean up before it is killed too


def _members(pgid: int) -> list[int]:
    found = []
    for pid in psutil.pids():
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pgid:
                found.append(pid)
    return found


def _is_tracker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return _TRACKER in f.read()
    except OSError:
        return False


def kill_group(pid: int) -> None:
    """SIGKILL a runner's whole process group but its resource tracker (see finish_group).

    Runners start in their own session, so their pool workers and forkserver share its process
    group even after the runner itself has died and they were re-parented.
    """
    if not (hasattr(os, "killpg") and os.path.isdir("/proc")):
        _kill_tree(pid)
        return
    try:
        # Stopped, the group cannot fork while its members are listed and killed one by one.
        os.killpg(pid, signal.SIGSTOP)
    except (ProcessLookupError, PermissionError):
        return
    members = _members(pid)
    trackers = [p for p in members if _is_tracker(p)]
    for member in members:
        if member not in trackers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, signal.SIGKILL)
    for tracker in trackers:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(tracker, signal.SIGCONT)


def running(pid: int) -> bool:
    """Not a zombie: a zombie runs nothing, and whoever adopted it may be slow to reap it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def group_alive(pid: int) -> bool:
    """Whether any process that still runs is left in the process group `pid`."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not os.path.isdir("/proc"):
        return True
    return any(running(member) for member in _members(pid))


def finish_group(pid: int, grace: float = TRACKER_GRACE) -> None:
    """After kill_group: give the resource tracker `grace` seconds to unlink what the killed
    pool left, then SIGKILL whatever is left in the group."""
    if not hasattr(os, "killpg"):
        return
    deadline = time.monotonic() + grace
    while group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill_tree(pid: int) -> None:
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(pid)
        for child in parent.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        parent.kill()


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_memory(
    pid: int, with_uss: bool, members: list[psutil.Process] | None = None
) -> tuple[int, int | None]:
    """RSS summed over a process tree, and USS where the OS gives it.

    `members`: the tree as `tree(pid)` last found it, to skip the scan of every process.
    """
    rss = 0
    uss: int | None = 0 if with_uss else None
    for proc in tree(pid) if members is None else members:
        try:
            if with_uss:
                info = proc.memory_full_info()
                rss += info.rss
                uss = (uss or 0) + getattr(info, "uss", 0)
            else:
                rss += proc.memory_info().rss
        except psutil.AccessDenied:
            with_uss = False
            uss = None
        except psutil.Error:
            continue
    return rss, uss


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_exit(returncode: int | None) -> str:
    """How a process ended, in plain words: 'was killed by SIGKILL (signal 9)', 'exited with code 3'."""
    if returncode is None:
        return "is still running"
    if returncode < 0:
        return f"was killed by {signal_name(-returncode)} (signal {-returncode})"
    return f"exited with code {returncode}"
