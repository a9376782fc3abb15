"""Workloads: each kind's descriptor (lab.scenario.kinds) names its module by import path,
imported only when a run needs it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from lab.runner.workloads.base import Workload, no_resources
from lab.scenario.kinds import BY_NAME


def workload_class(kind: str) -> type[Workload]:
    cls: type[Workload] = BY_NAME[kind].runner_class()
    return cls


def workload_unit(spec: Any) -> str:
    """What throughput counts for a spec: its own `unit` where it has one (kind: callable)."""
    own = getattr(spec, "unit", None)
    return own if isinstance(own, str) else workload_class(spec.kind).unit


def provisioner(kind: str) -> Callable[[Any, Path], AbstractAsyncContextManager[dict[str, Any]]]:
    """The scenario-level setup for a kind: a corpus, a server, or nothing."""
    described = BY_NAME[kind]
    if not described.provisions:
        return no_resources
    module = described.runner.split(":")[0]
    fn: Callable[[Any, Path], AbstractAsyncContextManager[dict[str, Any]]] = (
        importlib.import_module(module).provision
    )
    return fn


__all__ = ["provisioner", "workload_class", "workload_unit"]
