"""Hash a corpus of files: hashlib releases the GIL for large buffers, so threads can scale."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import random
import shutil
import stat
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiofiles

from lab.core.units import format_bytes
from lab.runner.workloads.base import (
    RepeatOutcome,
    Tally,
    Workload,
    WorkloadSetupError,
    WrongAnswer,
)

if TYPE_CHECKING:  # pool workers import this module: keep pydantic out of their start-up
    from lab.scenario.spec import HashingWorkload

# Disk left free after the corpus, so the lab never fills a disk to the last byte.
DISK_MARGIN = 64 * 1024 * 1024
_WRITE_BLOCK = 1024 * 1024


class FileChanged(WrongAnswer):
    """A file was written to while it was hashed: its digest belongs to no version of it."""


def _check_unchanged(path: str, before: os.stat_result, after: os.stat_result, read: int) -> None:
    if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns) and (
        read == after.st_size
    ):
        return
    raise FileChanged(
        f"{path} changed while it was hashed ({format_bytes(before.st_size)} when opened, "
        f"{format_bytes(read)} read, {format_bytes(after.st_size)} at the end"
        f"{', modified meanwhile' if before.st_mtime_ns != after.st_mtime_ns else ''}): "
        "hash a folder that nothing writes to while the lab runs"
    )


# Every model reads into one buffer per file with readinto, as hashlib.file_digest does. A
# fresh `bytes` per read (f.read) of 1 MiB made the runner's main thread pay a page fault per
# 4 KiB on every read (glibc serves such blocks from mmap or trims them back from the main
# heap), while a pool thread's arena kept its pages: serial hashed 1.6x slower than one thread
# on the same bytes, an artifact of the allocator, not of concurrency (issue 26).


def hash_file(task: tuple[int, str, str, int]) -> tuple[int, str, int]:
    index, path, algorithm, chunk_size = task
    digest = hashlib.new(algorithm)
    size = 0
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        before = os.fstat(f.fileno())
        while read := f.readinto(buffer):
            digest.update(view[:read])
            size += read
        _check_unchanged(path, before, os.fstat(f.fileno()), size)
    return index, digest.hexdigest(), size


async def hash_file_async(task: tuple[int, str, str, int]) -> tuple[int, str, int]:
    index, path, algorithm, chunk_size = task
    digest = hashlib.new(algorithm)
    size = 0
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    async with aiofiles.open(path, "rb", buffering=0) as f:
        before = os.fstat(f.fileno())
        while read := await f.readinto(buffer):
            digest.update(view[:read])
            size += read
        _check_unchanged(path, before, os.fstat(f.fileno()), size)
    return index, digest.hexdigest(), size


class _Stopped(Exception):
    """The corpus writer was asked to stop (the session is being interrupted)."""


def _write_corpus(
    spec: HashingWorkload, folder: Path, stop: threading.Event | None = None
) -> tuple[list[str], list[str]]:
    """Deterministic pseudo-random files (same bytes every time), with their reference digests.

    Checks `stop` between blocks, so an interrupted session is not held up by a big corpus.
    """
    need = spec.files * spec.file_size
    free = shutil.disk_usage(folder).free
    if free < need + DISK_MARGIN:
        raise WorkloadSetupError(
            f"the hashing corpus needs {format_bytes(need)} in {folder.parent} but only "
            f"{format_bytes(free)} is free (the lab keeps {format_bytes(DISK_MARGIN)} spare); "
            "lower files or file_size, or set TMPDIR to a larger disk"
        )
    rng = random.Random(20261126)
    paths, digests = [], []
    for i in range(spec.files):
        path = folder / f"file-{i:06d}.bin"
        reference = hashlib.new(spec.algorithm)
        try:
            with open(path, "wb") as f:
                left = spec.file_size
                while left:
                    if stop is not None and stop.is_set():
                        raise _Stopped
                    block = rng.randbytes(min(left, _WRITE_BLOCK))
                    f.write(block)
                    reference.update(block)
                    left -= len(block)
                f.flush()
                # Dirty pages cannot be evicted, so 'cache: cold' needs them on disk first.
                os.fsync(f.fileno())
        except OSError as exc:
            raise WorkloadSetupError(_write_failure(exc, folder, i, spec)) from None
        paths.append(str(path))
        digests.append(reference.hexdigest())
    return paths, digests


def _write_failure(exc: OSError, folder: Path, index: int, spec: HashingWorkload) -> str:
    done = format_bytes(index * spec.file_size)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"the disk filled up while writing the hashing corpus in {folder.parent} "
            f"({exc.strerror} after {done} of {format_bytes(spec.files * spec.file_size)}); "
            "lower files or file_size, or set TMPDIR to a larger disk"
        )
    return f"cannot write the hashing corpus in {folder.parent}: {exc.strerror or exc}"


def _folder_files(folder: str) -> tuple[list[str], list[str]]:
    """The regular files under folder, and what was left out (one phrase each): subfolders
    that cannot be listed, symlinks (never followed: no loops, nothing outside the folder),
    FIFOs, devices and sockets (reading them could block or never end)."""
    root = Path(folder).expanduser()
    files: list[str] = []
    skipped: list[str] = []

    def unlistable(exc: OSError) -> None:
        skipped.append(f"{exc.filename} (cannot list it: {exc.strerror or exc})")

    for top, dirs, names in os.walk(root, onerror=unlistable, followlinks=False):
        for name in dirs:
            if os.path.islink(os.path.join(top, name)):
                skipped.append(f"{os.path.join(top, name)} (a symlink, not followed)")
        for name in names:
            path = os.path.join(top, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError as exc:
                skipped.append(f"{path} ({exc.strerror or exc})")
                continue
            if stat.S_ISREG(mode):
                files.append(path)
            elif stat.S_ISLNK(mode):
                skipped.append(f"{path} (a symlink, not followed)")
            else:
                skipped.append(f"{path} (not a regular file)")
    if not files:
        raise WorkloadSetupError(f"folder {folder} holds no regular files to hash")
    return sorted(files), sorted(skipped)


@asynccontextmanager
async def provision(spec: HashingWorkload, workdir: Path) -> AsyncIterator[dict[str, Any]]:
    """Runs once per scenario in the orchestrator: the corpus every run will hash."""
    if spec.folder is not None:
        files, skipped = await asyncio.to_thread(_folder_files, spec.folder)
        yield {"files": files, "digests": None, "skipped": skipped}
        return
    corpus = workdir / "corpus"
    corpus.mkdir(exist_ok=True)
    stop = threading.Event()
    writer = asyncio.ensure_future(asyncio.to_thread(_write_corpus, spec, corpus, stop))
    try:
        try:
            paths, digests = await asyncio.shield(writer)
        except asyncio.CancelledError:
            # The thread cannot be cancelled: stop it, and wait, so that no file is written
            # after the corpus folder has been removed.
            stop.set()
            with contextlib.suppress(_Stopped, WorkloadSetupError, OSError):
                await writer
            raise
        yield {"files": paths, "digests": digests}
    finally:
        shutil.rmtree(corpus, ignore_errors=True)


def evict_from_page_cache(paths: list[str]) -> None:
    if not hasattr(os, "posix_fadvise"):
        return
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


class HashTally(Tally):
    def __init__(self, references: list[str] | None, count: int) -> None:
        self.references = references
        self.digests: list[str | None] = [None] * count
        self.bytes = 0

    def add(self, result: tuple[int, str, int]) -> None:
        index, digest, size = result
        if self.references is not None and digest != self.references[index]:
            raise WrongAnswer(f"file {index}: digest {digest[:16]}… does not match the reference")
        self.digests[index] = digest
        self.bytes += size

    def finish(self) -> RepeatOutcome:
        missing = self.digests.count(None)
        if missing:
            raise WrongAnswer(f"{missing} files were not hashed")
        combined = hashlib.sha256("".join(d or "" for d in self.digests).encode()).hexdigest()
        return RepeatOutcome(amount=self.bytes / 1e6, tasks=len(self.digests), digest=combined[:32])


class Hashing(Workload):
    kind = "hashing"
    unit = "MB"
    spec: HashingWorkload

    def __init__(self, spec: HashingWorkload, context: dict[str, Any]) -> None:
        super().__init__(spec, context)
        self.files: list[str] = context["files"]
        self.references: list[str] | None = context.get("digests")

    def task_count(self) -> int:
        return len(self.files)

    def tasks(self) -> Iterator[tuple[int, str, str, int]]:
        for i, path in enumerate(self.files):
            yield (i, path, self.spec.algorithm, self.spec.chunk_size)

    @property
    def sync_function(self) -> Callable[[Any], Any]:
        return hash_file

    async def run_async(self, task: Any) -> Any:
        return await hash_file_async(task)

    def new_tally(self) -> Tally:
        return HashTally(self.references, len(self.files))

    def before_repeat(self) -> None:
        if self.spec.cache == "cold":
            evict_from_page_cache(self.files)
