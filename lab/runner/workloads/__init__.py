"""Workload registry: kind -> module. Modules are imported only when a run needs them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from lab.runner.workloads.base import Workload, no_resources

# kind -> (module, workload class name, has a provision() for scenario-level resources)
REGISTRY: dict[str, tuple[str, str, bool]] = {
    "numeric": ("lab.runner.workloads.numeric", "Numeric", False),
    "hashing": ("lab.runner.workloads.hashing", "Hashing", True),
    "http": ("lab.runner.workloads.http", "Http", True),
    "dispatch": ("lab.runner.workloads.dispatch", "Dispatch", False),
    "callable": ("lab.runner.workloads.callable", "UserFunction", False),
}


def workload_class(kind: str) -> type[Workload]:
    module, name, _ = REGISTRY[kind]
    cls: type[Workload] = getattr(importlib.import_module(module), name)
    return cls


def workload_unit(spec: Any) -> str:
    """What throughput counts for a spec: its own `unit` where it has one (kind: callable)."""
    own = getattr(spec, "unit", None)
    return own if isinstance(own, str) else workload_class(spec.kind).unit


def provisioner(kind: str) -> Callable[[Any, Path], AbstractAsyncContextManager[dict[str, Any]]]:
    """The scenario-level setup for a kind: a corpus, a server, or nothing."""
    module, _, has_provision = REGISTRY[kind]
    if not has_provision:
        return no_resources
    fn: Callable[[Any, Path], AbstractAsyncContextManager[dict[str, Any]]] = (
        importlib.import_module(module).provision
    )
    return fn


__all__ = ["REGISTRY", "provisioner", "workload_class", "workload_unit"]
