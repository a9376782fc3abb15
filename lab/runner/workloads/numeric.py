"""Pure-Python CPU kernels. Answers are checked against references computed another way."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from lab.runner.workloads.base import RepeatOutcome, Tally, Workload, WrongAnswer

if TYPE_CHECKING:  # pool workers import this module: keep pydantic out of their start-up
    from lab.scenario.spec import NumericWorkload

# Counting from a million keeps every task's numbers about the same size, so tasks cost alike.
PRIMES_START = 1_000_000


def count_primes(start: int, stop: int) -> int:
    """Trial division: deliberately plain bytecode that holds the GIL."""
    count = 0
    for n in range(max(start, 2), stop):
        if n < 4:
            count += 1
            continue
        if n % 2 == 0:
            continue
        d = 3
        prime = True
        while d * d <= n:
            if n % d == 0:
                prime = False
                break
            d += 2
        if prime:
            count += 1
    return count


def integrate_arctan(a: float, b: float, steps: int) -> float:
    """Midpoint rule for 4/(1+x^2) over [a, b]: float bytecode with a closed-form answer."""
    h = (b - a) / steps
    total = 0.0
    x = a + h / 2
    for _ in range(steps):
        total += 4.0 / (1.0 + x * x)
        x += h
    return total * h


def numeric_task(task: tuple[str, int, int]) -> tuple[int, float]:
    kernel, index, size = task
    if kernel == "primes":
        start = PRIMES_START + index * size
        return index, count_primes(start, start + size)
    return index, integrate_arctan(index / 1.0, (index + 1) / 1.0, size)


# Bytes of one sieve segment: the reference's memory, whatever the tasks' total range.
SIEVE_SEGMENT = 1 << 20


def _base_primes(limit: int) -> list[int]:
    """Primes up to limit (inclusive), by a plain sieve: sqrt of the range, a few KiB."""
    is_prime = bytearray([1]) * (limit + 1)
    is_prime[0 : min(2, limit + 1)] = bytes(min(2, limit + 1))
    for p in range(2, math.isqrt(limit) + 1):
        if is_prime[p]:
            is_prime[p * p :: p] = bytes(len(range(p * p, limit + 1, p)))
    return [p for p in range(2, limit + 1) if is_prime[p]]


def _count_in(lo: int, hi: int, primes: list[int]) -> int:
    """Primes in [lo, hi), hi - lo <= SIEVE_SEGMENT, given every prime up to sqrt(hi - 1)."""
    segment = bytearray([1]) * (hi - lo)
    for n in range(lo, min(hi, 2)):  # 0 and 1 are not prime
        segment[n - lo] = 0
    for p in primes:
        first = max(p * p, -(-lo // p) * p)
        if first >= hi:
            if p * p >= hi:
                break
            continue
        segment[first - lo :: p] = bytes(len(range(first, hi, p)))
    return segment.count(1)


def sieve_counts(start: int, size: int, tasks: int) -> list[int]:
    """Primes per task range by a segmented sieve of Eratosthenes: an independent reference
    in bounded memory (SIEVE_SEGMENT bytes at a time, never tasks x size)."""
    stop = start + size * tasks
    primes = _base_primes(math.isqrt(max(stop - 1, 0)))
    counts = []
    for i in range(tasks):
        lo, hi = start + i * size, start + (i + 1) * size
        counts.append(
            sum(
                _count_in(a, min(a + SIEVE_SEGMENT, hi), primes)
                for a in range(lo, hi, SIEVE_SEGMENT)
            )
        )
    return counts


class NumericTally(Tally):
    def __init__(self, spec: NumericWorkload, reference: list[int] | None) -> None:
        self.spec = spec
        self.reference = reference
        self.seen = 0
        self.total = 0.0

    def add(self, result: tuple[int, float]) -> None:
        index, value = result
        if self.reference is not None:
            expected: float = self.reference[index]
            ok = value == expected
        else:
            expected = 4.0 * (math.atan(index + 1.0) - math.atan(float(index)))
            ok = math.isclose(value, expected, rel_tol=1e-7, abs_tol=1e-9)
        if not ok:
            raise WrongAnswer(f"task {index}: got {value!r}, expected {expected!r}")
        self.seen += 1
        self.total += value

    def finish(self) -> RepeatOutcome:
        digest = str(int(self.total)) if self.reference is not None else f"{self.total:.6f}"
        return RepeatOutcome(amount=self.seen, tasks=self.seen, digest=digest)


class Numeric(Workload):
    kind = "numeric"
    unit = "tasks"
    spec: NumericWorkload

    def __init__(self, spec: NumericWorkload, context: dict[str, Any]) -> None:
        super().__init__(spec, context)
        self.reference = (
            sieve_counts(PRIMES_START, spec.size, spec.tasks) if spec.kernel == "primes" else None
        )

    def task_count(self) -> int:
        return self.spec.tasks

    def tasks(self) -> Iterator[tuple[str, int, int]]:
        for i in range(self.spec.tasks):
            yield (self.spec.kernel, i, self.spec.size)

    @property
    def sync_function(self) -> Callable[[Any], Any]:
        return numeric_task

    async def run_async(self, task: Any) -> Any:
        # CPU work runs on the loop itself: that is what asyncio does with CPU-bound code.
        return numeric_task(task)

    def new_tally(self) -> Tally:
        return NumericTally(self.spec, self.reference)
