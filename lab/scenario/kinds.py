"""The workload kinds: one descriptor each, the only place outside a kind's own modules (its spec
class, its runner module) where its name is written.

Pure data: the spec class and the runner class are named by import path and loaded only where
used, so that `--list` and the runner never import what they do not need.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkloadKind:
    """One `kind:` of workload: its models, the app's knobs and what the analysis must know."""

    name: str  # as `kind:` in a scenario file
    spec: str  # "module:Class" of its scenario model (pydantic), in the scenario layer
    runner: str  # "module:Class" of its Workload, imported by the runner only
    size_knobs: tuple[str, str]  # the two fields the app's form shows for "how much work"
    provisions: bool = False  # its runner module has a provision() for scenario-wide resources
    # Parameters provisioned once per scenario (the corpus, the embedded server): a sweep over
    # them would run every point against the first point's corpus or server.
    provisioned: tuple[str, ...] = ()
    async_form: bool = False  # its asyncio form is code of its own (aiofiles, an HTTP client)
    async_form_field: str | None = None  # ... or when the scenario names one in this field
    user_function: bool = False  # the user's own function: only `tasks` can be swept
    cpu_work: bool = False  # every task does real CPU work (not near-empty, not waiting)
    pure_python: bool = False  # that work is Python bytecode, which holds the GIL
    releases_gil: bool = False  # that work is C code releasing the GIL (hashlib, big buffers)
    reads_files: bool = False  # each task reads a file: per-file costs, the page cache
    measures_latency: bool = False  # each task is a request with a latency worth showing
    near_empty_field: str | None = None  # tasks this field's microseconds long: the handover

    def spec_class(self) -> Any:
        return _load(self.spec)

    def runner_class(self) -> Any:
        return _load(self.runner)

    def has_async_form(self, workload: dict[str, object]) -> bool:
        """Whether a workload of this kind (as a report records it) brings a coroutine form."""
        field = self.async_form_field
        return self.async_form or (field is not None and bool(workload.get(field)))


def _load(path: str) -> Any:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


NUMERIC = WorkloadKind(
    name="numeric",
    spec="lab.scenario.workload_specs:NumericWorkload",
    runner="lab.runner.workloads.numeric:Numeric",
    size_knobs=("tasks", "size"),
    cpu_work=True,
    pure_python=True,
)
HASHING = WorkloadKind(
    name="hashing",
    spec="lab.scenario.workload_specs:HashingWorkload",
    runner="lab.runner.workloads.hashing:Hashing",
    size_knobs=("files", "file_size"),
    provisions=True,
    provisioned=("files", "file_size"),
    async_form=True,
    cpu_work=True,
    releases_gil=True,
    reads_files=True,
)
HTTP = WorkloadKind(
    name="http",
    spec="lab.scenario.workload_specs:HttpWorkload",
    runner="lab.runner.workloads.http:Http",
    size_knobs=("requests", "latency_ms"),
    provisions=True,
    provisioned=("latency_ms", "payload_size", "error_rate"),
    async_form=True,
    measures_latency=True,
)
DISPATCH = WorkloadKind(
    name="dispatch",
    spec="lab.scenario.workload_specs:DispatchWorkload",
    runner="lab.runner.workloads.dispatch:Dispatch",
    size_knobs=("tasks", "task_us"),
    near_empty_field="task_us",
)
CALLABLE = WorkloadKind(
    name="callable",
    spec="lab.scenario.callable_spec:CallableWorkload",
    runner="lab.runner.workloads.callable:UserFunction",
    size_knobs=("tasks", "check"),
    async_form_field="async_function",
    user_function=True,
)

KINDS: tuple[WorkloadKind, ...] = (NUMERIC, HASHING, HTTP, DISPATCH, CALLABLE)
BY_NAME = {kind.name: kind for kind in KINDS}
NAMES = tuple(BY_NAME)

_NO_TRAITS = WorkloadKind(name="", spec="", runner="", size_knobs=("tasks", "tasks"))


def traits(name: object) -> WorkloadKind:
    """The descriptor of a kind's name; an unknown one (a report from another release, a
    missing kind) reads as a kind with no traits."""
    return BY_NAME.get(name, _NO_TRAITS) if isinstance(name, str) else _NO_TRAITS
