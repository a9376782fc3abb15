"""What runs inside each sub-interpreter of an interpreter pool (lab.runner.executors.subinterpreters).

Imported there by name, so it imports only the standard library. Every call takes and returns
bytes the lab pickled itself: the backport's pool (interpreters-pep-734 0.5.0) waits forever for
a result when a task cannot be unpickled in the interpreter, when its result cannot be pickled,
or when its exception cannot; here each of those becomes an exception that pickles.
"""

from __future__ import annotations

import importlib
import pickle
import re
import threading
from typing import Any

REFUSES = re.compile(r"module ([\w.]+) does not support loading in subinterpreters")


def refusal(exc: BaseException) -> str | None:
    """The extension module that refused to load in a sub-interpreter, when that is the cause."""
    seen: BaseException | None = exc
    while seen is not None:
        found = REFUSES.search(str(seen))
        if found:
            return found.group(1)
        seen = seen.__cause__ or seen.__context__
    return None


def _portable(exc: BaseException) -> BaseException:
    """exc when it survives pickling, else a RuntimeError that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def ready(module: str, init: bytes) -> int:
    """A worker's start-up: the workload's module and its own start-up (a scenario's function
    and its setup), so that their cost is start-up, not the first repeat. Returns the worker's
    thread id, which tells the workers apart."""
    try:
        importlib.import_module(module)
        function = pickle.loads(init)
        if function is not None:
            function()
    except BaseException as exc:
        raise _portable(exc) from None
    return threading.get_ident()


def run_chunk(payload: bytes) -> bytes:
    """(function, tasks) in, the pickled results out."""
    try:
        function, chunk = pickle.loads(payload)
        results: list[Any] = [function(task) for task in chunk]
    except BaseException as exc:
        raise _portable(exc) from None
    try:
        return pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise RuntimeError(
            f"a task returned a result that cannot be pickled, so the interpreter pool cannot "
            f"send it back: {type(exc).__name__}: {exc}; return plain data (numbers, strings, "
            "bytes, lists, dicts)"
        ) from None
