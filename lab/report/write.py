"""Writing a report to a path without ever replacing what is not a regular file.

The rules (docs/safety.md, "What the lab writes"):
- a regular file, or a path that does not exist yet, is written atomically: a temp file
  beside it, then a rename, with the mode a plain open() would give;
- a symlink is resolved and its target is written atomically (the link stays a link),
  only when it, every folder on its way and the target's folder are the user's or root's
  (`refuse_shared_links`);
- `/dev/stdout`, `/dev/stderr` and `/dev/fd/N` are written through the descriptor the lab
  already holds (so `>> log` appends);
- a character device or a FIFO (`/dev/null`, a named pipe) is written
  through, never replaced; a FIFO nobody reads is refused after a short wait instead of
  hanging the lab;
- anything else (a folder, a block device, a socket, a symlink loop) is refused.
Every refusal is a `ReportPathError`, an OSError whose message is one sentence.

Whatever the target, the text goes out by `os.write` until every byte is written
(`write_whole`), never through a buffered file object: when a signal handler runs while a
write to a pipe is blocked (a report piped to a slow reader, then a Ctrl+C, which the lab notes
and then finishes the report: lab.headless), CPython's buffered writer drops the rest of the
text after the partial transfer and still reports all of it written (3.11 and 3.13).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import TextIO

# How long a FIFO may go without a reader before the report is refused rather than hang.
FIFO_WAIT_SECONDS = 2.0
MAX_LINKS = 40  # as the kernel: more is a loop, which the checks after the walk report


class ReportPathError(OSError):
    """A report path that cannot be written; str() is the whole sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.strerror = message
        self.sentence = message

    def __str__(self) -> str:
        return self.sentence


def expand(output: str | Path) -> Path:
    """`~` and `~user` expanded; an unknown user is a ReportPathError, not a RuntimeError."""
    try:
        return Path(output).expanduser()
    except RuntimeError:
        raise ReportPathError(
            f"cannot write the report to {output}: no such user for '~' in the path"
        ) from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISBLK(mode):
        return "a block device (a disk: writing the report there could destroy data)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def target_problem(output: str) -> str | None:
    """Why a report cannot go to output, checked before anything runs; None if it can try."""
    if output == "-":
        return None
    try:
        path = expand(output)
    except ReportPathError as exc:
        return str(exc)
    inherited = _inherited_fd(path)
    if inherited is not None:
        try:
            os.fstat(inherited)
        except OSError:
            return f"cannot write the report to {output}: it is not open"
        return None
    if not path.is_absolute():
        try:
            os.getcwd()
        except OSError:
            # The folder is gone (another shell removed it): nothing can be created in it.
            return (
                f"cannot write the report to {output}: it is relative to the current folder, "
                "which no longer exists; give an absolute path"
            )
    try:
        refuse_shared_links(path, output)
        st = path.stat()
    except FileNotFoundError:
        st = None
    except ReportPathError as exc:
        return str(exc)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"cannot write the report to {output}: it is a symlink loop"
        return f"cannot write the report to {output}: {exc.strerror or exc}"
    if st is not None:
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            return None  # written through; a FIFO's reader may come later
        if not stat.S_ISREG(st.st_mode):
            return f"cannot write the report to {output}: it is {_kind(st.st_mode)}"
    folder = _real(path).parent
    if not folder.is_dir():
        return f"cannot write the report to {output}: folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write the report to {output}: folder {folder} is not writable"
    return None


_RULE = (
    "the lab follows a symlink only when you or root own it and every folder on its way "
    "(remove it, or give another path)"
)


def _trusted(uid: int) -> bool:
    return uid in (os.geteuid(), 0)


def _untrusted_folder(folder: Path) -> tuple[Path, int] | None:
    """The first folder from `folder` up to / that someone other than you or root owns."""
    for each in (folder, *folder.parents):
        try:
            owner = os.stat(each).st_uid
        except OSError:
            continue  # missing (a link's target yet to be made): nothing to change there
        if not _trusted(owner):
            return each, owner
    return None


def refuse_shared_links(path: Path, output: str | Path) -> None:
    """Refuse a symlink on the way to `path` that someone else could have put or turned.

    The lab resolves links itself (to write the target atomically, which bypasses the kernel's
    protected_symlinks check, often off in containers anyway), so it applies a stricter rule:
    a symlink is followed only when it and every folder on its way are yours or root's.
    Otherwise root running `--report /tmp/d/r.json` would replace whatever file the owner of
    /tmp/d pointed r.json at. Once a link is followed, the temp file beside the report goes in
    the target's folder: that folder and those above it must be yours or root's too.
    """
    parts = list((path if path.is_absolute() else Path.cwd() / path).parts[1:])
    current, links = Path("/"), 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        try:
            link = os.lstat(candidate)
        except OSError:
            break  # missing from here on (or unreadable): nothing more will be followed
        if not stat.S_ISLNK(link.st_mode):
            current = candidate
            continue
        links += 1
        if links > MAX_LINKS:
            return  # a loop, which the checks after the walk report
        folder = os.stat(current)
        if not _trusted(link.st_uid):
            shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
            where = f"{current}, a folder anyone can write to" if shared else str(current)
            raise ReportPathError(
                f"cannot write the report to {output}: {candidate} is a symlink that uid "
                f"{link.st_uid} put in {where}; the lab does not follow it: {_RULE}"
            )
        untrusted = _untrusted_folder(current)
        if untrusted is not None:
            raise ReportPathError(
                f"cannot write the report to {output}: {candidate} is a symlink in "
                f"{untrusted[0]}, a folder of uid {untrusted[1]}, who can change where it "
                f"points; the lab does not follow it: {_RULE}"
            )
        target = Path(os.readlink(candidate))
        if target.is_absolute():
            current = Path("/")
        parts = [*target.parts[1 if target.is_absolute() else 0 :], *parts]
    if links:
        beside = Path(os.path.realpath(path)).parent
        untrusted = _untrusted_folder(beside)
        if untrusted is not None:
            raise ReportPathError(
                f"cannot write the report to {output}: it is a symlink to a file in {beside}, "
                f"and {untrusted[0]} is a folder of uid {untrusted[1]}; the lab does not put "
                f"its temp file there: {_RULE}"
            )


def _real(path: Path) -> Path:
    """The file a symlink chain ends at (which may not exist yet); path itself otherwise."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


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


def _open_through(path: Path) -> int:
    """Open a device or FIFO for writing without blocking forever on a FIFO with no reader."""
    deadline = time.monotonic() + FIFO_WAIT_SECONDS
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
            break
        except OSError as exc:
            # ENXIO: a FIFO with no reader yet. Wait a little for one, then give up.
            if exc.errno != errno.ENXIO or time.monotonic() >= deadline:
                if exc.errno == errno.ENXIO:
                    raise ReportPathError(
                        f"cannot write the report to {path}: it is a named pipe (FIFO) and "
                        f"nothing read from it within {FIFO_WAIT_SECONDS:g} s"
                    ) from None
                raise
            time.sleep(0.05)
    # Blocking writes from here on: a reader is there, and it sets the pace.
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    return fd


def write_whole(fd: int, text: str, encoding: str = "utf-8", errors: str = "strict") -> None:
    """All of text to fd, by os.write until every byte is out (see the module docstring)."""
    data = memoryview(text.encode(encoding, errors))
    while data:
        data = data[os.write(fd, data) :]


def write_stream(stream: TextIO, text: str) -> None:
    """All of text to stream (stdout): what it buffered first, then text through its file
    descriptor, in its encoding. A stream without one (a test's capture) is written as is."""
    stream.flush()
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        stream.write(text)
        stream.flush()
        return
    write_whole(fd, text, stream.encoding or "utf-8", stream.errors or "strict")


def _write_through(path: Path, text: str) -> None:
    fd = _open_through(path)
    try:
        write_whole(fd, text)
    finally:
        os.close(fd)


_STD_NAMES = {"/dev/stdout": 1, "/dev/stderr": 2}
_FD_PATH = re.compile(r"/(?:dev/fd|proc/self/fd)/(\d+)")


def _inherited_fd(path: Path) -> int | None:
    """The descriptor a /dev/stdout-like path names, or None.

    Such a path is written through the descriptor the lab already holds, never reopened or
    replaced: `--report /dev/stdout >> ci.log` appends to the log instead of overwriting it
    from its first byte, or renaming a new file over it.
    """
    text = os.path.normpath(str(path))
    if text in _STD_NAMES:
        return _STD_NAMES[text]
    match = _FD_PATH.fullmatch(text)
    return int(match.group(1)) if match else None


def write_atomic(path: Path, text: str) -> None:
    """Write the report to path by the rules in the module docstring.

    Atomic writes go to a temp file beside the target, then a rename: readers never see half
    a report, and a failure (disk full, Ctrl+C) leaves the old report as it was and no temp
    file. Raises OSError (ReportPathError for a refusal) when the report was not written.
    """
    path = expand(path)
    inherited = _inherited_fd(path)
    if inherited is not None:
        try:
            fd = os.dup(inherited)
        except OSError:
            raise ReportPathError(f"cannot write the report to {path}: it is not open") from None
        try:
            write_whole(fd, text)
        finally:
            os.close(fd)
        return
    refuse_shared_links(path, path)
    try:
        st: os.stat_result | None = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ReportPathError(
                f"cannot write the report to {path}: it is a symlink loop"
            ) from None
        raise
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            # Opened by its own name: /dev/stdout's target (pipe:[…]) has no path to resolve.
            _write_through(path, text)
            return
        raise ReportPathError(f"cannot write the report to {path}: it is {_kind(st.st_mode)}")
    target = _real(path)
    directory = target.parent if str(target.parent) else Path(".")
    mode = _new_file_mode(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        try:
            os.fchmod(fd, mode)
            write_whole(fd, text)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
