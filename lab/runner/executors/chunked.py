"""Feeding a pool in chunks, for the pools whose every hand-over pickles (processes,
sub-interpreters, Dask): the chunk size, and the window of chunks kept in flight."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from itertools import islice
from typing import Any, TypeVar

from lab.runner.executors.base import ResultSink

# Past this, a bigger chunk saves no measurable IPC but holds more tasks and results in memory:
# with at most 2 x workers + 1 chunks in flight, 100,000 tasks never sit in memory at once.
MAX_CHUNK = 1024

Handed = TypeVar("Handed")


def chunk_size(tasks: int, workers: int) -> int:
    """About four chunks per worker: balanced, yet IPC is paid per chunk rather than per task."""
    return max(1, min(MAX_CHUNK, math.ceil(tasks / (workers * 4))))


def run_chunk(fn: Callable[[Any], Any], chunk: list[Any]) -> list[Any]:
    """What a worker runs for one chunk (by reference: pool workers import this module)."""
    return [fn(task) for task in chunk]


def feed_in_chunks(
    tasks: Iterable[Any],
    size: int,
    workers: int,
    submit: Callable[[list[Any]], Future[Handed]],
    results_of: Callable[[Future[Handed]], list[Any]],
    sink: ResultSink,
) -> None:
    """Hand `tasks` over in chunks of `size`, two chunks per worker in flight, taking results in
    submission order; whatever is still in flight when a chunk fails is cancelled."""
    it = iter(tasks)

    def next_chunk() -> Future[Handed] | None:
        chunk = list(islice(it, size))
        return submit(chunk) if chunk else None

    inflight: deque[Future[Handed]] = deque()
    for _ in range(2 * workers):
        f = next_chunk()
        if f is None:
            break
        inflight.append(f)
    try:
        while inflight:
            results = results_of(inflight.popleft())
            f = next_chunk()
            if f is not None:
                inflight.append(f)
            sink.add_many(results)
    finally:
        for f in inflight:
            f.cancel()
