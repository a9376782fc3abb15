"""The scenario model: one YAML document, validated into typed settings.

Workload parameter models live here (not in lab.engine.workloads) so that validating a file, printing
the JSON schema or building the TUI form never imports a workload's runtime dependencies."""

from __future__ import annotations

import hashlib
import sys
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

from lab.core.cpus import usable_cpus
from lab.core.optional import EXECUTORS
from lab.core.units import parse_size
from lab.scenario.callable_spec import CallableWorkload
from lab.scenario.cluster import ClusterAddress
from lab.scenario.interpreters import InterpreterAxis

# The concurrency models, in report order; lab.engine.executors registers one module for each.
EXECUTOR_NAMES = EXECUTORS
# What a scenario runs unless it lists executors: the models of one machine. Dask is asked for
# by name: it needs the optional `cluster` extra and starts a cluster per run.
DEFAULT_EXECUTORS = ("serial", "asyncio", "uvloop", "threads", "processes")
START_METHODS = ("fork", "forkserver", "spawn")
HASH_ALGORITHMS = tuple(
    sorted(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake"))
)

ByteSize = Annotated[int, BeforeValidator(parse_size)]

# Like pyperf's default: a repeat shorter than 0.1 s is mostly scheduler and timer noise.
DEFAULT_MIN_TIME = 0.1

# A hard ceiling keeps a typo (workers: 100000) from forking the machine to death.
MAX_WORKERS = 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumericWorkload(_Strict):
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


class HashingWorkload(_Strict):
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


class HttpWorkload(_Strict):
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
    request_timeout: float = Field(10.0, gt=0, le=600, description="seconds per request")
    max_error_share: float = Field(
        0.01,
        ge=0,
        le=1,
        description="fail a run when more than this share of its requests fail (the HTTP 500s "
        "that error_rate asks the embedded server for are not counted)",
    )

    def quick(self) -> HttpWorkload:
        return self.model_copy(update={"requests": min(self.requests, 100)})


class DispatchWorkload(_Strict):
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

# Parameters a scenario provisions once (the hashing corpus, the embedded server): a sweep over
# them would run every point against the first point's corpus or server.
PROVISIONED = {
    "hashing": ("files", "file_size"),
    "http": ("latency_ms", "payload_size", "error_rate"),
}
MAX_SWEEP_POINTS = 100  # hard limit; past 10 the CLI asks for --yes
SweepValue = Annotated[float, Field(allow_inf_nan=False)] | int


def sweepable(workload: BaseModel) -> list[str]:
    """The workload's numeric parameters a `sweep:` may vary."""
    kind = getattr(workload, "kind", "")
    names = []
    for name, field in type(workload).model_fields.items():
        if name in PROVISIONED.get(kind, ()) or (kind == "callable" and name != "tasks"):
            continue
        if field.annotation in (int, float):
            names.append(name)
    if kind == "callable" and getattr(workload, "args", None) is None:
        names.append("tasks")
    return names


WorkerCount = Annotated[int, Field(ge=1, le=MAX_WORKERS)] | Literal["cpus"]


def _known_executor(name: str) -> str:
    if name not in EXECUTOR_NAMES:
        raise ValueError(f"unknown executor {name!r}; choose from {', '.join(EXECUTOR_NAMES)}")
    return name


ExecutorName = Annotated[
    str, AfterValidator(_known_executor), Field(json_schema_extra={"enum": list(EXECUTOR_NAMES)})
]


def default_start_method() -> str:
    """forkserver on Linux (safe with threads, 3.14's default there), spawn elsewhere."""
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


# 10 pairs let a two-sided signed-rank test reach p = 2/1024, under 0.05/12: every row of a
# 13-run matrix (5 models at 1, 2 and 4 workers) can be significant after Holm-Bonferroni.
# With 8 the smallest p is 2/256, and Holm over 12 rows made every speedup n.s.
QUICK_ROUNDS = 10


class Scenario(_Strict, InterpreterAxis):
    """One scenario file. `name` comes from the file name unless given."""

    name: str | None = Field(None, description="short identifier; defaults to the file name")
    title: str = Field(..., min_length=1, description="one line shown in lists and reports")
    description: str = Field("", description="what the scenario demonstrates")
    workload: WorkloadSpec
    executors: list[ExecutorName] = Field(
        default_factory=lambda: list(DEFAULT_EXECUTORS),
        min_length=1,
        description="models to compare (default: all but dask)",
    )
    workers: list[WorkerCount] = Field(
        default_factory=lambda: [1, 2, 4, "cpus"],  # type: ignore[arg-type]
        min_length=1,
        description="pool sizes / concurrency bounds; 'cpus' means the CPUs this process may use",
    )
    repeats: int = Field(
        QUICK_ROUNDS, ge=1, le=1000,
        description="rounds: each takes one measured repeat of every run, in a shuffled order",
    )  # fmt: skip
    warmups: int = Field(
        1, ge=0, le=100,
        description="unmeasured repeats before the measured ones, in each runner process",
    )  # fmt: skip
    processes: int = Field(
        2, ge=1, le=64,
        description="runner processes per run; its repeats are split between them in blocks "
        "of rounds, so that process placement is sampled rather than baked in",
    )  # fmt: skip
    timeout: float = Field(120.0, gt=0, le=86_400, description="seconds allowed for one run")
    min_time: float = Field(
        DEFAULT_MIN_TIME,
        ge=0,
        le=3600,
        description="calibration: each warmup and repeat passes over the tasks as many times as "
        "it takes to last at least this many seconds (times are then reported per pass); "
        "0 turns calibration off",
    )
    start_method: Literal["fork", "forkserver", "spawn"] | None = Field(
        None, description="process pool start method; default: forkserver on Linux, spawn elsewhere"
    )
    cluster: ClusterAddress | None = Field(
        None,
        description="dask: the address of an existing Dask scheduler (tcp://host:8786) whose "
        "first `workers` workers run the tasks; default: a LocalCluster started for each run",
    )
    sweep: dict[str, list[SweepValue]] = Field(
        default_factory=lambda: {},  # not `dict`: see interpreters.py
        description="run the whole matrix at each value of a numeric workload parameter, "
        "e.g. {size: [1000, 10000]}; several parameters: every combination",
    )

    @model_validator(mode="after")
    def _valid_sweep(self) -> Scenario:
        allowed = sweepable(self.workload)
        points = 1
        for name, values in self.sweep.items():
            if name not in allowed:
                raise ValueError(
                    f"sweep: {name!r} is not a parameter a sweep can vary for a "
                    f"{self.workload.kind} workload; choose from {', '.join(allowed)}"
                )
            if not values or len(set(values)) != len(values):
                raise ValueError(f"sweep: {name} needs one or more distinct values")
            points *= len(values)
            base = self.workload.model_dump()
            for value in values:
                try:
                    type(self.workload).model_validate({**base, name: value})
                except ValueError as exc:
                    first = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
                    raise ValueError(f"sweep: {name} = {value}: {first}") from None
        if points > MAX_SWEEP_POINTS:
            raise ValueError(f"sweep: {points} combinations; at most {MAX_SWEEP_POINTS}")
        if self.sweep and getattr(self.workload, "task_sizes_us", None):
            raise ValueError("sweep: use either sweep or the workload's task_sizes_us, not both")
        return self

    @model_validator(mode="after")
    def _no_duplicate_executors(self) -> Scenario:
        seen = set()
        for name in self.executors:
            if name in seen:
                raise ValueError(f"executor {name!r} is listed twice")
            seen.add(name)
        return self

    def resolved_workers(self, usable: int) -> list[int]:
        counts = {usable if w == "cpus" else int(w) for w in self.workers}
        return sorted(counts)

    def resolved_start_method(self) -> str:
        return self.start_method or default_start_method()

    def quick(self) -> Scenario:
        """A short version: smaller workload and small pools, but still QUICK_ROUNDS rounds, so
        that a big difference can be significant, in every row of the matrix after Holm."""
        small = [w for w in self.resolved_workers(usable_cpus()) if w <= 8] or [1]
        return self.model_copy(
            update={
                "workload": self.workload.quick(),
                "repeats": QUICK_ROUNDS,
                "warmups": 0,
                "workers": small[:3],
            }
        )


# "64 KiB", "1MB", "2 gib", "4096": what lab.core.units.parse_size accepts, as an ECMA regex.
SIZE_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*([bB]|[kKmMgG]([iI]?[bB])?)?\s*$"


def _allow_size_strings(schema: dict[str, Any]) -> None:
    """Byte sizes validate as integers in pydantic's schema; files may also write '64 KiB'."""
    for model in (NumericWorkload, HashingWorkload, HttpWorkload, DispatchWorkload):
        props = schema.get("$defs", {}).get(model.__name__, {}).get("properties", {})
        for name, field in model.model_fields.items():
            if name in props and any(
                getattr(m, "func", None) is parse_size for m in field.metadata
            ):
                prop = props[name]
                number = {k: prop.pop(k) for k in ("type", "minimum", "maximum") if k in prop}
                prop["anyOf"] = [number, {"type": "string", "pattern": SIZE_PATTERN}]


def scenario_json_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema()
    _allow_size_strings(schema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://concurrency-lab.invalid/scenario.schema.json"
    return schema
