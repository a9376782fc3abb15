"""Executors: each model's descriptor (lab.scenario.models) names its module by import path,
loaded only when a run needs it. Adding a concurrency model means one module here and its
descriptor."""

from __future__ import annotations

import importlib

from lab.runner.executors.base import Executor
from lab.scenario.models import BY_NAME


def executor_class(name: str) -> type[Executor]:
    module, cls = BY_NAME[name].executor.split(":")
    found: type[Executor] = getattr(importlib.import_module(module), cls)
    return found


def available(name: str) -> str | None:
    """None when the executor can run here, else the reason it cannot and the install line
    (uvloop on Windows, dask without the `cluster` extra). Nothing is imported to find out."""
    return BY_NAME[name].unavailable()
