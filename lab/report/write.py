"""Writing a report to a path: atomically, with the mode a plain open() would give."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def _new_file_mode(path: Path) -> int:
    """The mode the report would get from a plain open(): the old file's, else 0o666 & ~umask.

    mkstemp creates 0600 files, which would make a shared report unreadable to others.
    """
    with contextlib.suppress(OSError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = 0o022
    with contextlib.suppress(OSError, ValueError):  # Linux tells it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
    return 0o666 & ~umask


def write_atomic(path: Path, text: str) -> None:
    """Write to a temp file beside the target, then rename: readers never see half a report,
    and a failure (disk full, Ctrl+C) leaves the old report as it was and no temp file."""
    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
