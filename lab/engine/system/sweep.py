"""The lab's temp folders, and the sweeping of those that a killed lab left behind.

Each scenario works in `$TMPDIR/concurrency-lab-*` (its corpus, the runners' TMPDIR), removed
when the scenario ends. A lab killed outright (SIGKILL, a power cut of its terminal) cannot
remove it, so every folder names its owner: pid, start time and pid namespace. The next lab
removes a folder only when it is ours (same user) and its owner is provably gone: no process
with that pid, or one started at another time (the pid was reused). A folder whose owner
lives in another pid namespace (another container sharing /tmp) is never judged.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import psutil

PREFIX = "concurrency-lab-"
OWNER = ".owner"
START_TOLERANCE = 1.0  # seconds: start times are read back from /proc with tick resolution


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _started(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def make_workdir() -> Path:
    """A new private temp folder for one scenario, with its owner recorded."""
    workdir = Path(tempfile.mkdtemp(prefix=PREFIX))
    owner = {"pid": os.getpid(), "started": _started(os.getpid()), "pidns": _pid_namespace()}
    fd = os.open(workdir / OWNER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(owner, f)
    return workdir


def _owner_gone(folder: Path) -> bool:
    """Whether the lab that made `folder` has certainly ended; False whenever in doubt."""
    path = folder / OWNER
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_size > 4096:
            return False
        owner = json.loads(path.read_text(encoding="utf-8"))
        pid, started, pidns = int(owner["pid"]), owner.get("started"), str(owner.get("pidns"))
    except (OSError, ValueError, TypeError, KeyError):
        return False
    if pidns != _pid_namespace() or pid == os.getpid():
        return False
    now = _started(pid)
    if now is None:
        return True
    return started is not None and abs(now - float(started)) > START_TOLERANCE


def sweep_stale(root: str | None = None) -> list[Path]:
    """Remove the temp folders of labs that are gone; returns the folders removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root or tempfile.gettempdir()))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            continue
        folder = Path(entry.path)
        if _owner_gone(folder):
            # rmtree never follows symlinks out of the folder (it works on file descriptors).
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
