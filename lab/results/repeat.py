"""What a runner measured in one repeat: the record a runner sends and a report keeps.

Its own module, below the report's models, because a runner (one per run) imports it and
should not pay for the report's classes and the statistics they pull in.
"""

from __future__ import annotations

from dataclasses import field
from typing import Annotated, Any, Literal

from pydantic import Field, computed_field
from pydantic.dataclasses import dataclass

from lab.results.codec import FINITE, Omitted, dump, load
from lab.results.openloop import OpenLoopRecord

Phase = Literal["warmup", "repeat"]

Count = Annotated[int, Field(ge=0)]
NonNegative = Annotated[float, Field(ge=0)]


@dataclass(config=FINITE)
class RepeatRecord:
    phase: Phase
    index: Count
    wall_seconds: NonNegative
    cpu_user: NonNegative
    cpu_system: NonNegative
    amount: NonNegative
    tasks: Count
    digest: str | None = None
    errors: dict[str, Count] = field(default_factory=dict)
    latency: dict[str, Any] | None = None  # Histogram.to_json()
    # passes over the tasks (calibration); times and amounts are per pass
    loops: Annotated[int, Field(ge=1)] = 1
    # "hash repr" per task (or group of tasks), kept by workloads that compare results by value
    # (kind: callable) in a run's first record, to say which task two executors disagree on.
    results: Annotated[list[str] | None, Omitted] = None
    # the session's round (interleaved measurement); None before rounds
    round: Count | None = None
    process: Count | None = None  # which of the run's runner processes measured it
    # Page faults of the runner and its workers, per pass (a fresh large buffer per read costs
    # one per page in some threads and none in others: the allocator, not concurrency).
    minor_faults: NonNegative | None = None
    major_faults: NonNegative | None = None
    # Cores other programs kept busy while this repeat was measured (its round's load is the
    # time-weighted mean over the round's repeats: lab.analysis.controls).
    background_cores: NonNegative | None = None
    # The http workload's open loop (a rate instead of a request count): lab.results.openloop.
    open_loop: Annotated[OpenLoopRecord | None, Omitted] = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cpu_seconds(self) -> float:
        return self.cpu_user + self.cpu_system

    @computed_field  # type: ignore[prop-decorator]
    @property
    def throughput(self) -> float:
        return self.amount / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return dump(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepeatRecord:
        return load(cls, data)
