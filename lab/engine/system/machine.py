"""Facts about the machine and interpreter, recorded with every report (pyperf-level metadata).

Every reader returns None (or leaves a key out of a small dict) where the OS does not say, so a
report written on macOS, in a container or on an old kernel still has the same shape.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import platform
import socket
import sys
import time
from importlib import metadata
from pathlib import Path

import psutil

from lab.core.cpus import affinity_cpus, cgroup_cpu_limit, usable_cpus
from lab.engine.system import probes
from lab.results.machine import EventLoopFacts, MachineFacts, TimerFacts
from lab.runner.system.pyfacts import gil_enabled, python_build
from lab.scenario.models import UVLOOP
from lab.scenario.spec import default_start_method

UVLOOP_LIBRARY = str(UVLOOP.needs_module)
LIBRARIES = ("aiohttp", "aiofiles", UVLOOP_LIBRARY, "textual", "psutil", "pydantic", "PyYAML")
CGROUP = Path("/sys/fs/cgroup")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_frequency_mhz() -> dict[str, float] | None:
    """Current, min and max clock in MHz (min and max are 0 where the OS does not say)."""
    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError, psutil.Error):
        return None
    if freq is None:
        return None
    return {k: round(v, 1) for k, v in freq._asdict().items() if v}


def cpu_caches(root: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> dict[str, str] | None:
    """Cache sizes of the first CPU, e.g. {"L1d": "32K", "L1i": "32K", "L2": "1024K"}."""
    caches: dict[str, str] = {}
    try:
        for index in sorted(root.glob("index*")):
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
            suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
            caches[f"L{level}{suffix}"] = size
    except OSError:
        pass
    return caches or None


def cgroup_memory_limit(root: Path = CGROUP) -> int | None:
    """The cgroup's memory limit in bytes, or None when unlimited or unreadable."""
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        # cgroup v1 spells "unlimited" as a huge page-aligned number.
        return value if value < 2**62 else None
    return None


def container_kind() -> str | None:
    """docker, podman, kubernetes, lxc, ... when the process looks containerised."""
    if Path("/.dockerenv").exists():
        return "docker"
    if Path("/run/.containerenv").exists():
        return "podman"
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    env = os.environ.get("container")  # noqa: SIM112 - systemd and podman set it lower-case
    if env:
        return env
    try:
        text = Path("/proc/1/cgroup").read_text()
    except OSError:
        return None
    for marker in ("docker", "kubepods", "lxc", "containerd"):
        if marker in text:
            return marker
    return None


def event_loop() -> EventLoopFacts:
    """The loop asyncio runs by default here, and whether uvloop is there too."""
    loop = asyncio.new_event_loop()
    try:
        default = f"{type(loop).__module__}.{type(loop).__qualname__}"
    finally:
        loop.close()
    return {"asyncio_default": default, "uvloop_available": _version(UVLOOP_LIBRARY) is not None}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    return {name: _version(name) for name in LIBRARIES}


def timer() -> TimerFacts:
    info = time.get_clock_info("perf_counter")
    return {
        "name": "perf_counter",
        "implementation": info.implementation,
        "resolution": info.resolution,
    }


def machine_facts() -> MachineFacts:
    vm = psutil.virtual_memory()
    swap = probes.read_swap_used()
    try:
        swap_total: int | None = int(psutil.swap_memory().total)
    except (OSError, psutil.Error, RuntimeError):
        swap_total = None
    try:
        uptime: float | None = round(time.time() - psutil.boot_time())
    except (OSError, psutil.Error):
        uptime = None
    governors = probes.read_governors()
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "architecture": platform.machine(),
        "cpu_frequency_mhz": cpu_frequency_mhz(),
        "cpu_governor": "/".join(sorted(set(governors))) if governors else None,
        "cpu_caches": cpu_caches(),
        "cpus_logical": os.cpu_count(),
        "cpus_physical": psutil.cpu_count(logical=False),
        "cpus_affinity": affinity_cpus(),
        "cpu_quota": cgroup_cpu_limit(),
        "cpus_usable": usable_cpus(),
        "memory_total_bytes": vm.total,
        "memory_available_bytes": vm.available,
        "swap_total_bytes": swap_total,
        "swap_used_bytes": swap,
        "container": container_kind(),
        "cgroup_memory_limit_bytes": cgroup_memory_limit(),
        "load_average_1min": probes.read_load_average(),
        "uptime_seconds": uptime,
        "os": platform.platform(),
        "kernel": platform.release(),
        "python": {
            "implementation": platform.python_implementation(),
            "version": platform.python_version(),
            **python_build(),
            "executable": sys.executable,
            "gil_enabled": gil_enabled(),
            "hash_seed": os.environ.get("PYTHONHASHSEED"),
        },
        "timer": timer(),
        "multiprocessing_start_method": default_start_method(),
        "multiprocessing_methods": multiprocessing.get_all_start_methods(),
        "event_loop": event_loop(),
        "libraries": library_versions(),
    }
