"""Executor registry: name -> module. Adding a concurrency model means adding one module here."""

from __future__ import annotations

import importlib

from lab.core.optional import unavailable
from lab.runner.executors.base import Executor
from lab.scenario.spec import EXECUTOR_NAMES

REGISTRY: dict[str, tuple[str, str]] = {
    "serial": ("lab.runner.executors.serial", "SerialExecutor"),
    "asyncio": ("lab.runner.executors.asyncio_loop", "AsyncioExecutor"),
    "uvloop": ("lab.runner.executors.uvloop_loop", "UvloopExecutor"),
    "threads": ("lab.runner.executors.threads", "ThreadExecutor"),
    "processes": ("lab.runner.executors.processes", "ProcessExecutor"),
    "interpreters": ("lab.runner.executors.subinterpreters", "InterpreterExecutor"),
    "dask": ("lab.runner.executors.dask_cluster", "DaskExecutor"),
}

assert tuple(REGISTRY) == EXECUTOR_NAMES, "every executor name needs a module, in order"


def executor_class(name: str) -> type[Executor]:
    module, cls = REGISTRY[name]
    found: type[Executor] = getattr(importlib.import_module(module), cls)
    return found


def available(name: str) -> str | None:
    """None when the executor can run here, else the reason it cannot and the install line
    (uvloop on Windows, dask without the `cluster` extra). Nothing is imported to find out."""
    return unavailable(name)
