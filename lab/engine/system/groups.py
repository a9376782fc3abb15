"""Stopping a runner and everything it started, including orphans of a dead runner."""

from __future__ import annotations

import contextlib
import os
import signal

import psutil


def kill_group(pid: int) -> None:
    """SIGKILL a runner's whole process group.

    Runners start in their own session, so their pool workers and forkserver share its process
    group even after the runner itself has died and they were re-parented.
    """
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        return
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


def tree_memory(pid: int, with_uss: bool) -> tuple[int, int | None]:
    """RSS summed over a process tree, and USS where the OS gives it."""
    rss = 0
    uss: int | None = 0 if with_uss else None
    for proc in tree(pid):
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
