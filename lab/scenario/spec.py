"""The scenario model: one YAML document, validated into typed settings.

Its workload models, one per `kind:`, are in lab.scenario.workload_specs (re-exported here)."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    model_validator,
)

from lab.core.cpus import usable_cpus
from lab.core.units import parse_size
from lab.scenario import kinds, models
from lab.scenario.cluster import ClusterAddress
from lab.scenario.workload_specs import HASH_ALGORITHMS as HASH_ALGORITHMS
from lab.scenario.workload_specs import DispatchWorkload as DispatchWorkload
from lab.scenario.workload_specs import HashingWorkload as HashingWorkload
from lab.scenario.workload_specs import HttpWorkload as HttpWorkload
from lab.scenario.workload_specs import NumericWorkload as NumericWorkload
from lab.scenario.workload_specs import StrictModel
from lab.scenario.workload_specs import WorkloadSpec as WorkloadSpec

# The concurrency models, in report order (their descriptors: lab.scenario.models).
EXECUTOR_NAMES = models.NAMES
# What a scenario runs unless it lists executors: the models of one machine.
DEFAULT_EXECUTORS = models.DEFAULT_NAMES
START_METHODS = ("fork", "forkserver", "spawn")

# Like pyperf's default: a repeat shorter than 0.1 s is mostly scheduler and timer noise.
DEFAULT_MIN_TIME = 0.1

# A hard ceiling keeps a typo (workers: 100000) from forking the machine to death.
MAX_WORKERS = 1024


MAX_SWEEP_POINTS = 100  # hard limit; past 10 the CLI asks for --yes
SweepValue = Annotated[float, Field(allow_inf_nan=False)] | int


class LocatedError(ValueError):
    """A problem a model validator finds at one key of the file: `loc` says where, and the
    message shows the value (lab.scenario.messages places it there)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def sweepable(workload: BaseModel) -> list[str]:
    """The workload's numeric parameters a `sweep:` may vary."""
    kind = kinds.traits(getattr(workload, "kind", ""))
    names = []
    for name, field in type(workload).model_fields.items():
        if name in kind.provisioned or (kind.user_function and name != "tasks"):
            continue
        # An optional rate (http's open loop) is swept like any number.
        if field.annotation in (int, float, float | None):
            names.append(name)
    if kind.user_function and getattr(workload, "args", None) is None:
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


class Scenario(StrictModel):
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
        default_factory=lambda: {},  # not `dict`: see `interpreters` below
        description="run the whole matrix at each value of a numeric workload parameter, "
        "e.g. {size: [1000, 10000]}; several parameters: every combination",
    )
    interpreters: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        # Not `list`: pydantic reads each factory's signature, and for a builtin that parses
        # its text signature with tokenize, whose regex alone costs ~5 ms of `--check`.
        default_factory=lambda: [],
        description="Pythons to run the matrix under, each one more axis (names on PATH, e.g. "
        "python3.13, or paths); --python overrides it; default: the lab's own Python",
    )

    @model_validator(mode="before")
    @classmethod
    def _rate_list_is_a_sweep(cls, data: Any) -> Any:
        """`rate: [200, 400, 800]` in an http workload is a sweep over the rates, its first
        value the base point (as if written `sweep: {rate: [...]}`)."""
        if not isinstance(data, dict):
            return data
        workload = data.get("workload")
        if not isinstance(workload, dict) or workload.get("kind") != kinds.HTTP.name:
            return data
        rates = workload.get("rate")
        sweep = data.get("sweep")
        if (
            not isinstance(rates, list)
            or not rates
            or (sweep is not None and not isinstance(sweep, dict))
        ):
            return data
        if isinstance(sweep, dict) and "rate" in sweep:
            return data  # two lists of rates: the workload's list fails validation, where written
        return {
            **data,
            "workload": {**workload, "rate": rates[0]},
            "sweep": {**(sweep or {}), "rate": rates},
        }

    @model_validator(mode="after")
    def _valid_sweep(self) -> Scenario:
        allowed = sweepable(self.workload)
        points = 1
        for name, values in self.sweep.items():
            if name not in allowed:
                raise LocatedError(
                    ("sweep", name),
                    f"sweep: {name!r} is not a parameter a sweep can vary for a "
                    f"{self.workload.kind} workload; choose from {', '.join(allowed)}",
                )
            if not values or len(set(values)) != len(values):
                raise LocatedError(
                    ("sweep", name), f"sweep: {name} needs one or more distinct values"
                )
            points *= len(values)
            base = self.workload.model_dump()
            field = type(self.workload).model_fields[name]
            for index, value in enumerate(values):
                # 1e6 in YAML is a float: a whole one stands for the integer it is, so the
                # message is about its size, not about parsing a float as an integer.
                whole = field.annotation is int and isinstance(value, float) and value.is_integer()
                try:
                    type(self.workload).model_validate(
                        {**base, name: int(value) if whole else value}
                    )
                except ValueError as exc:
                    first = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
                    raise LocatedError(
                        ("sweep", name, index), f"sweep: {name} = {value}: {first}"
                    ) from None
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

    @property
    def open_loop(self) -> bool:
        """Whether its workload is a schedule of arrivals (http with a `rate`) rather than a
        batch of tasks: then it has no serial baseline, no speedups and so no controls."""
        return isinstance(self.workload, HttpWorkload) and self.workload.open_loop

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
