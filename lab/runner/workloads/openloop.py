"""The open loop of the http workload: a schedule of send times, and what it is measured by.

Coordinated omission: a client that waits for an answer before sending the next request sends
later when the target is slow, and the slow periods never enter its statistics. Here every
request has a scheduled send time; a request sent late is measured from that time (corrected:
what a caller arriving on schedule sees) and from its actual send (service time).
"""

from __future__ import annotations

import heapq
import random
import statistics
from typing import TYPE_CHECKING, Any

from lab.core.hdr import LATE_AFTER, LatencyHistogram
from lab.runner.workloads.base import RepeatOutcome

if TYPE_CHECKING:
    from lab.results.openloop import OpenLoopRecord
    from lab.scenario.workload_specs import Arrival

# The schedule starts this long after it is made: time for a pool to receive its share.
LEAD_SECONDS = 0.02
# The share of the schedule, at its end, whose lateness says how far behind sending ended.
TAIL_SHARE = 0.05
# Every model gets the same Poisson schedule: a fixed seed, not the clock.
POISSON_SEED = 24


def schedule_offsets(rate: float, duration: float, arrival: Arrival) -> list[float]:
    """Send times in seconds from the schedule's start: round(rate x duration) of them, the
    first at 0, spaced 1/rate apart (constant) or by exponential gaps of mean 1/rate (poisson)."""
    count = max(1, round(rate * duration))
    if arrival == "constant":
        return [i / rate for i in range(count)]
    rng = random.Random(POISSON_SEED)
    offsets = [0.0]
    for _ in range(count - 1):
        offsets.append(offsets[-1] + rng.expovariate(rate))
    return offsets


class OpenLoopMeter:
    """Per-request figures of one open-loop repeat: corrected and service latency, lateness,
    and the span of the sends (for the achieved rate)."""

    def __init__(self, rate: float, duration: float, arrival: Arrival) -> None:
        self.rate = rate
        self.duration = duration
        self.arrival = arrival
        self.corrected = LatencyHistogram()
        self.service = LatencyHistogram()
        self.sent = 0
        self.late = 0
        self.first_due: float | None = None
        self.last_due: float | None = None
        # (due, lateness) of the latest-scheduled requests: how far behind sending ended.
        self.tail_size = max(1, round(TAIL_SHARE * rate * duration))
        self.tail: list[tuple[float, float]] = []

    def add(self, due: float, sent: float, service: float) -> None:
        lateness = max(0.0, sent - due)
        self.corrected.add(lateness + service)
        self.service.add(service)
        self.sent += 1
        if lateness > LATE_AFTER:
            self.late += 1
        self.first_due = due if self.first_due is None else min(self.first_due, due)
        self.last_due = due if self.last_due is None else max(self.last_due, due)
        if len(self.tail) < self.tail_size:
            heapq.heappush(self.tail, (due, lateness))
        elif due > self.tail[0][0]:
            heapq.heapreplace(self.tail, (due, lateness))

    def achieved_rate(self) -> float:
        """The target rate, scaled down by how much longer sending took than the schedule:
        the target itself when the requests went out on time.

        How far behind sending ended is the median lateness of the last 5% of the schedule: a
        client that cannot keep up is late on all of them, by as much as it fell behind; one
        hiccup on the very last request is not a rate it could not hold.
        """
        if not self.sent or self.first_due is None or self.last_due is None:
            return 0.0
        planned = max(self.duration, self.last_due - self.first_due + 1 / self.rate)
        behind = statistics.median(lateness for _, lateness in self.tail)
        return self.rate * planned / (planned + behind)

    def record(self) -> OpenLoopRecord:
        # Here, not at import: pool workers import this module, and pydantic would add to
        # every worker's start-up (tests/test_workloads_executors.py).
        from lab.results.openloop import OpenLoopRecord

        return OpenLoopRecord(
            target_rate=self.rate,
            achieved_rate=self.achieved_rate(),
            scheduled=self.sent,
            late_share=self.late / self.sent if self.sent else 0.0,
            arrival=self.arrival,
            corrected=self.corrected.percentiles(),
            service=self.service.percentiles(),
            corrected_hdr=self.corrected.encode(),
            service_hdr=self.service.encode(),
        )


def with_open_loop(outcome: RepeatOutcome, meter: OpenLoopMeter) -> RepeatOutcome:
    outcome.open_loop = meter.record()
    return outcome


def open_loop_result(result: Any) -> tuple[tuple[int, str, float, int], float, float]:
    """(index, outcome, service seconds, bytes) and the due and sent times of one result."""
    index, outcome, seconds, size, due, sent = result
    return (index, outcome, seconds, size), due, sent
