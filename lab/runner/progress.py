"""The result sink of a repeat: checks each result (via the tally) and throttles progress."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Protocol

from lab.results.repeat import Phase
from lab.runner.protocol import Progress, RunnerEvent
from lab.runner.workloads.base import Tally

PROGRESS_HZ = 15.0


class EventOut(Protocol):
    def send(self, message: RunnerEvent) -> None: ...


class ProgressSink:
    """What executors hand results to, in the thread that called `Executor.run`.

    Reading the clock for every result would cost more than a near-empty task, so the clock is
    read every `stride` results, with `stride` adapted to keep about a hundred reads a second.
    """

    def __init__(self, out: EventOut, tally: Tally, phase: Phase, index: int, total: int) -> None:
        self.out = out
        self.tally = tally
        self.phase = phase
        self.index = index
        self.total = total
        self.done = 0
        self.start = time.perf_counter()
        self._interval = 1.0 / PROGRESS_HZ
        self._next_emit = self.start + self._interval
        self._last_check = self.start
        self._stride = 1
        self._countdown = 1

    def add(self, result: Any) -> None:
        self.tally.add(result)
        self.done += 1
        self._countdown -= 1
        if self._countdown <= 0:
            self._check_clock()

    def add_many(self, results: Iterable[Any]) -> None:
        n = self.tally.add_many(results)
        self.done += n
        self._countdown -= n
        if self._countdown <= 0:
            self._check_clock()

    def _check_clock(self) -> None:
        now = time.perf_counter()
        since = now - self._last_check
        self._last_check = now
        if since < 0.005 and self._stride < 4096:
            self._stride *= 2
        elif since > 0.02 and self._stride > 1:
            self._stride //= 2
        self._countdown = self._stride
        if now >= self._next_emit:
            self._next_emit = now + self._interval
            self.emit(now - self.start)

    def emit(self, elapsed: float) -> None:
        self.out.send(Progress(self.phase, self.index, self.done, self.total, elapsed))
