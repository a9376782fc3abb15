"""Facts about the machine and interpreter, recorded with every report."""

from __future__ import annotations

import multiprocessing
import os
import platform
import socket
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from lab.cpus import affinity_cpus, cgroup_cpu_limit, usable_cpus
from lab.scenario import default_start_method

LIBRARIES = ("aiohttp", "aiofiles", "uvloop", "textual", "psutil", "pydantic", "PyYAML")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return bool(check()) if check else True


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine_facts() -> dict[str, Any]:
    vm = psutil.virtual_memory()
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "architecture": platform.machine(),
        "cpus_logical": os.cpu_count(),
        "cpus_physical": psutil.cpu_count(logical=False),
        "cpus_affinity": affinity_cpus(),
        "cpu_quota": cgroup_cpu_limit(),
        "cpus_usable": usable_cpus(),
        "memory_total_bytes": vm.total,
        "memory_available_bytes": vm.available,
        "os": platform.platform(),
        "kernel": platform.release(),
        "python": {
            "implementation": platform.python_implementation(),
            "version": platform.python_version(),
            "build": " ".join(platform.python_build()),
            "compiler": platform.python_compiler(),
            "executable": sys.executable,
            "gil_enabled": gil_enabled(),
        },
        "multiprocessing_start_method": default_start_method(),
        "multiprocessing_methods": multiprocessing.get_all_start_methods(),
        "libraries": library_versions(),
    }
