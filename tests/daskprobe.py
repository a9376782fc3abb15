"""Task functions for tests that run on real Dask workers. Standard library only: the workers
and the scheduler (which unpickles task graphs) import it, by its name, from the checkout."""

from __future__ import annotations

import os


def recorded_double(log: str, x: int) -> int:
    """2x, leaving a line with the worker's pid in `log` for every call: counts executions."""
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")
    return 2 * x
