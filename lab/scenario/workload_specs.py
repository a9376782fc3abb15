"""The workload parameter models of a scenario file, one per `kind:`.

They live in the scenario layer (not in lab.runner.workloads) so that validating a file,
printing the JSON schema or building the app's form never imports a workload's runtime
dependencies. The scenario around them is lab.scenario.spec.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from lab.core.units import parse_size
from lab.scenario.callable_spec import CallableWorkload

HASH_ALGORITHMS = tuple(
    sorted(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake"))
)

ByteSize = Annotated[int, BeforeValidator(parse_size)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumericWorkload(StrictModel):
    """Pure-Python CPU work; every task's answer is checked against an independent reference."""

    kind: Literal["numeric"]
    kernel: Literal["primes", "integrate"] = Field(
        "primes",
        description="primes: count primes by trial division (integer); "
        "integrate: midpoint rule for the integral of 4/(1+x^2) (float)",
    )
    tasks: int = Field(64, ge=1, le=1_000_000, description="number of tasks")
    size: int = Field(
        2500,
        ge=1,
        le=100_000_000,
        description="work per task: numbers tested (primes) or integration steps (integrate)",
    )

    tasks_per_worker: int = Field(
        0,
        ge=0,
        le=10_000,
        description="at least this many tasks per worker of the largest pool planned: the task "
        "count grows with the machine, so a big pool is not starved by a short task list "
        "(0: exactly `tasks`)",
    )

    def quick(self) -> NumericWorkload:
        return self.model_copy(
            update={
                "tasks": min(self.tasks, 16),
                "size": min(self.size, 1500),
                "tasks_per_worker": 0,
            }
        )

    def sized_for(self, workers: int) -> NumericWorkload:
        """The same work per task, enough tasks for `workers` (every run does this work)."""
        tasks = max(self.tasks, self.tasks_per_worker * workers)
        return self.model_copy(update={"tasks": tasks}) if tasks != self.tasks else self


class HashingWorkload(StrictModel):
    """Hash a corpus of files; the lab generates one in its temp dir unless `folder` is given."""

    kind: Literal["hashing"]
    algorithm: str = Field("sha256", description="a hashlib algorithm from algorithms_guaranteed")
    chunk_size: ByteSize = Field(
        1024 * 1024, ge=1, le=1024**3, description="bytes read and hashed per call"
    )
    files: int = Field(32, ge=1, le=1_000_000, description="files in the generated corpus")
    file_size: ByteSize = Field(
        4 * 1024 * 1024, ge=1, le=64 * 1024**3, description="bytes per file"
    )
    folder: str | None = Field(
        None, description="hash this folder's files instead of a generated corpus (read only)"
    )
    cache: Literal["warm", "cold"] = Field(
        "warm", description="cold evicts the corpus from the page cache before each repeat"
    )

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        if value not in HASH_ALGORITHMS:
            raise ValueError(
                f"unknown hash algorithm {value!r}; choose one of {', '.join(HASH_ALGORITHMS)}"
            )
        return value

    @field_validator("folder")
    @classmethod
    def _existing_folder(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            folder = Path(value).expanduser()
        except RuntimeError:  # "~nosuchuser/data": no such home directory
            folder = Path(value)
        if not folder.is_dir():
            raise ValueError(f"folder {value!r} does not exist or is not a directory")
        return value

    def quick(self) -> HashingWorkload:
        return self.model_copy(
            update={"files": min(self.files, 8), "file_size": min(self.file_size, 1024 * 1024)}
        )


def _check_url(url: str) -> str:
    try:
        parsed = urlparse(url)
    except ValueError as exc:  # e.g. "http://[::1": an unclosed IPv6 address
        raise ValueError(f"{url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    try:
        parsed.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError(f"{url!r} has a port outside 1-65535") from None
    return url


Url = Annotated[str, AfterValidator(_check_url)]

# An open-loop schedule is held whole by a process pool's workers (each takes its share): these
# bound it to a few megabytes.
MAX_OPEN_LOOP_RATE = 1_000_000
MAX_OPEN_LOOP_REQUESTS = 2_000_000


# --quick's closed loop: four waves of its largest pool (8), a serial pass of about 0.2 s at the
# built-in's 5 ms. Every 1-worker run waits out each request in turn: with 100, a quick
# http_fanout took 43 s on 2 cores, 28 s of it in the waits of its five 1-worker runs (now 20 s).
QUICK_REQUESTS = 32


# How an open loop spaces its requests (lab.runner.workloads.openloop).
Arrival = Literal["constant", "poisson"]


class HttpWorkload(StrictModel):
    """N GETs at bounded concurrency, by default against the lab's embedded loopback server."""

    kind: Literal["http"]
    requests: int = Field(400, ge=1, le=10_000_000, description="GET requests per repeat")
    latency_ms: float = Field(
        10.0, ge=0, le=60_000, description="embedded server: delay before each answer"
    )
    payload_size: ByteSize = Field(
        4096, ge=0, le=64 * 1024**2, description="embedded server: bytes per response body"
    )
    error_rate: float = Field(
        0.0, ge=0, le=1, description="embedded server: share of requests answered with HTTP 500"
    )
    urls: list[Url] | None = Field(
        None,
        min_length=1,
        description="fetch these URLs round-robin instead of the embedded server",
    )
    request_timeout: float = Field(
        10.0, gt=0, le=600, description="seconds per request, whole (connect, headers, body)"
    )
    max_body_size: ByteSize = Field(
        4 * 1024**2,
        ge=1,
        le=1024**3,
        description="a response body larger than this fails its request (body_too_large) "
        "unread; the embedded server's payload_size always fits",
    )
    max_error_share: float = Field(
        0.01,
        ge=0,
        le=1,
        description="fail a run when more than this share of its requests fail (the HTTP 500s "
        "that error_rate asks the embedded server for are not counted)",
    )

    rate: float | None = Field(
        None,
        gt=0,
        le=MAX_OPEN_LOOP_RATE,
        description="open loop: requests per second sent on a schedule, whatever the answers "
        "do (a list runs a sweep over the rates); unset: a closed loop of `requests` GETs",
    )
    duration: float = Field(
        2.0,
        gt=0,
        le=600,
        description="open loop: seconds of sending per repeat (rate x duration requests)",
    )
    arrival: Arrival = Field(
        "constant",
        description="open loop: constant spacing, or a Poisson process (exponential gaps, the "
        "same seeded schedule for every model)",
    )
    p99_limit_ms: float = Field(
        100.0,
        gt=0,
        le=600_000,
        description="open loop: a model holds a rate when it reaches 99% of it with its "
        "corrected p99 under this many milliseconds (the saturation point of a rate sweep)",
    )

    @model_validator(mode="after")
    def _bounded_schedule(self) -> HttpWorkload:
        if self.rate is not None and self.rate * self.duration > MAX_OPEN_LOOP_REQUESTS:
            raise ValueError(
                f"rate x duration is {self.rate * self.duration:,.0f} requests per repeat; "
                f"at most {MAX_OPEN_LOOP_REQUESTS:,}"
            )
        if self.rate is not None and self.rate * self.duration < 1:
            raise ValueError("rate x duration must schedule at least one request per repeat")
        return self

    @property
    def open_loop(self) -> bool:
        return self.rate is not None

    def scheduled_requests(self) -> int:
        """Requests per repeat: `requests`, or the schedule's rate x duration in open loop."""
        if self.rate is None:
            return self.requests
        return max(1, round(self.rate * self.duration))

    def quick(self) -> HttpWorkload:
        if self.rate is not None:
            return self.model_copy(update={"duration": min(self.duration, 1.0)})
        return self.model_copy(update={"requests": min(self.requests, QUICK_REQUESTS)})


class DispatchWorkload(StrictModel):
    """Near-empty tasks: what each model costs per task and to start its workers."""

    kind: Literal["dispatch"]
    tasks: int = Field(2000, ge=1, le=10_000_000, description="number of tasks")
    task_us: float = Field(
        0.0, ge=0, le=10_000_000, description="microseconds of busy work per task (0: empty)"
    )
    task_sizes_us: list[Annotated[float, Field(ge=0, le=10_000_000)]] = Field(
        default_factory=lambda: [],  # a builtin's signature costs ~5 ms to read: see interpreters
        max_length=20,
        description="also run serial, threads and processes at each of these task sizes "
        "(microseconds) to find where a process pool starts to beat a thread pool",
    )

    def quick(self) -> DispatchWorkload:
        return self.model_copy(update={"tasks": min(self.tasks, 500)})

    def sweep_points(self) -> list[dict[str, Any]]:
        """Workload overrides for the extra runs of the task-size sweep (task_us itself excluded)."""
        sizes = sorted({s for s in self.task_sizes_us if s != self.task_us})
        return [{"task_us": s} for s in sizes]


WorkloadSpec = Annotated[
    NumericWorkload | HashingWorkload | HttpWorkload | DispatchWorkload | CallableWorkload,
    Field(discriminator="kind"),
]
