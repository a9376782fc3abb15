"""Optional dependencies: whether one is installed, found without importing it.

Asked by `--list` and by planning, which must stay light: importing Dask distributed alone
takes about half a second, and a run without the `dask` executor never pays it. Which model
needs what is in its descriptor (lab.scenario.models).
"""

from __future__ import annotations

import importlib.util
import sys


def missing(module: str) -> bool:
    """True when `module` cannot be imported here (absent, or blocked as sys.modules[m] = None)."""
    if module in sys.modules:
        return sys.modules[module] is None
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


# Sub-interpreter pools (PEP 734): the standard library's from 3.14, the backport's on 3.13.
# On 3.12 the backport's low-level module (interpreters-3-12) crashed 3.12.1 at import here.
INTERPRETERS_INSTALL = "pip install 'concurrency-lab[interpreters]'"
INTERPRETERS_BACKPORT = "interpreters_backport"


def interpreters_problem(version: tuple[int, int] | None = None) -> str | None:
    """Why a sub-interpreter pool cannot run under Python `version` (default: this one, with
    its modules as installed here); None when it can. Nothing is imported to find out."""
    major_minor = version or (sys.version_info.major, sys.version_info.minor)
    shown = ".".join(map(str, major_minor))
    if major_minor < (3, 13):
        return (
            f"sub-interpreter pools need Python 3.13 (with {INTERPRETERS_INSTALL}) or 3.14+, "
            f"this is {shown}; measure it with --python python3.13 or --python python3.14"
        )
    if version is not None:  # another Python's: what is installed here says nothing about it
        return None
    if major_minor >= (3, 14):
        if missing("concurrent.futures.interpreter"):
            return f"this Python {shown} has no concurrent.futures.InterpreterPoolExecutor"
        return None
    if missing(INTERPRETERS_BACKPORT):
        return f"the interpreters-pep-734 backport is not installed: {INTERPRETERS_INSTALL}"
    return None
