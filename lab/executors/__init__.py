"""Executor registry: name -> module. Adding a concurrency model means adding one module here."""

from __future__ import annotations

import importlib

from lab.executors.base import Executor

REGISTRY: dict[str, tuple[str, str]] = {
    "serial": ("lab.executors.serial", "SerialExecutor"),
    "asyncio": ("lab.executors.asyncio_loop", "AsyncioExecutor"),
    "uvloop": ("lab.executors.uvloop_loop", "UvloopExecutor"),
    "threads": ("lab.executors.threads", "ThreadExecutor"),
    "processes": ("lab.executors.processes", "ProcessExecutor"),
}


def executor_class(name: str) -> type[Executor]:
    module, cls = REGISTRY[name]
    found: type[Executor] = getattr(importlib.import_module(module), cls)
    return found


def available(name: str) -> str | None:
    """None when the executor can run here, else the reason it cannot (uvloop on Windows)."""
    if name == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            return "uvloop is not installed (it does not exist on Windows)"
    return None
