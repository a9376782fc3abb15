"""Optional dependencies: whether one is installed, found without importing it.

Asked by `--list` and by planning, which must stay light: importing Dask distributed alone
takes about half a second, and a run without the `dask` executor never pays it.
"""

from __future__ import annotations

import importlib.util
import sys

# Every executor, in report order (lab.scenario.spec.EXECUTOR_NAMES, without loading pydantic).
EXECUTORS = ("serial", "asyncio", "uvloop", "threads", "processes", "dask")

# executor -> (module it needs, what to say when it is missing)
NEEDS = {
    "uvloop": (
        "uvloop",
        "uvloop is not installed (it does not exist on Windows)"
        if sys.platform == "win32"
        else "uvloop is not installed: pip install uvloop",
    ),
    "dask": (
        "distributed",
        "Dask distributed is not installed: pip install 'concurrency-lab[cluster]'",
    ),
}


def missing(module: str) -> bool:
    """True when `module` cannot be imported here (absent, or blocked as sys.modules[m] = None)."""
    if module in sys.modules:
        return sys.modules[module] is None
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def unavailable(executor: str) -> str | None:
    """None when the executor can run here, else why not and how to get it."""
    need = NEEDS.get(executor)
    if need is None or not missing(need[0]):
        return None
    return need[1]
