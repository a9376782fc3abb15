"""The machine a report was measured on, as `lab.engine.system.machine.machine_facts()` records it.

TypedDicts rather than dataclasses: the facts are saved and read back as they are, and a report
from another version may hold keys this one does not know (they are kept: extra="allow"). Every
key is optional (total=False): older reports lack some, and readers take a default for a key
that was not recorded.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs it below Python 3.12

KEEP_UNKNOWN = ConfigDict(extra="allow")


@with_config(KEEP_UNKNOWN)
class PythonFacts(TypedDict, total=False):
    implementation: str
    version: str
    build: str
    compiler: str
    cflags: str | None
    config_args: str
    pgo: bool
    lto: bool
    debug: bool
    free_threading_build: bool
    jit: bool | None
    executable: str
    gil_enabled: bool
    hash_seed: str | None


@with_config(KEEP_UNKNOWN)
class TimerFacts(TypedDict, total=False):
    name: str
    implementation: str
    resolution: float


@with_config(KEEP_UNKNOWN)
class EventLoopFacts(TypedDict, total=False):
    asyncio_default: str
    uvloop_available: bool


@with_config(KEEP_UNKNOWN)
class MachineFacts(TypedDict, total=False):
    hostname: str
    cpu_model: str
    architecture: str
    cpu_frequency_mhz: dict[str, float] | None
    cpu_governor: str | None
    cpu_caches: dict[str, str] | None
    cpus_logical: int | None
    cpus_physical: int | None
    cpus_affinity: int
    cpu_quota: float | None
    cpus_usable: Annotated[int, Field(ge=1)]
    memory_total_bytes: int
    memory_available_bytes: int
    swap_total_bytes: int | None
    swap_used_bytes: int | None
    container: str | None
    cgroup_memory_limit_bytes: int | None
    load_average_1min: float | None
    uptime_seconds: float | None
    os: str
    kernel: str
    python: PythonFacts
    timer: TimerFacts
    multiprocessing_start_method: str
    multiprocessing_methods: list[str]
    event_loop: EventLoopFacts
    libraries: dict[str, str | None]
