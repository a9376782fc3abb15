"""The interpreter as a runner sees it, read inside that interpreter after the workload's imports.

A free-threaded build (Py_GIL_DISABLED) turns the GIL back on when it imports an extension module
that has not declared it safe without one, and warns once, naming the module. By the time the
runner asks `sys._is_gil_enabled()` those imports are long done, so when the GIL is on in a
free-threaded build the extension modules loaded are imported again, in order, in a fresh
interpreter that records the warnings: the one that names a module says which turned it on
(failing that, the first module after whose import it was on).
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import sysconfig
from typing import Any

from lab.results.machine import PythonFacts

FIND_TIMEOUT = 60.0
CULPRIT = re.compile(r"to load module '([^']+)'")

_FIND = """\
import importlib, json, sys, warnings
gil_on = getattr(sys, "_is_gil_enabled", lambda: True)
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    flipped = None
    for name in sys.argv[1:]:
        try:
            importlib.import_module(name)
        except Exception:
            continue
        if flipped is None and gil_on():
            flipped = name
print(json.dumps({"warnings": [str(w.message) for w in seen], "flipped": flipped}))
"""


def _forced_on() -> bool:
    """The user asked for the GIL (PYTHON_GIL=1 or -X gil=1): nothing turned it on by surprise."""
    return str(sys._xoptions.get("gil", "")) == "1" or getattr(sys.flags, "gil", None) == 1


def extension_modules() -> list[str]:
    names = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if path.endswith((".so", ".pyd")):
            names.append(name)
    return names


def gil_enabled_by(candidates: list[str]) -> list[str]:
    """The modules whose import turned the GIL on, as a fresh interpreter's warnings name them
    (else the module after whose import it was on)."""
    try:
        done = subprocess.run(
            [sys.executable, "-P", "-c", _FIND, *candidates], capture_output=True, text=True,
            timeout=FIND_TIMEOUT, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        data = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return []
    named = [m.group(1) for w in data.get("warnings", []) if (m := CULPRIT.search(str(w)))]
    flipped = data.get("flipped")
    return list(dict.fromkeys(named)) or ([str(flipped)] if flipped else [])


def runtime_facts() -> dict[str, Any]:
    build = python_build()
    facts: dict[str, Any] = {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "executable": sys.executable,
        "abiflags": getattr(sys, "abiflags", ""),
        "free_threading_build": build["free_threading_build"],
        "gil_enabled": gil_enabled(),
        "build": build["build"],
        "compiler": build["compiler"],
        "pgo": build["pgo"],
        "lto": build["lto"],
        "debug": build["debug"],
        "jit": build["jit"],
    }
    if facts["free_threading_build"] and facts["gil_enabled"] and not _forced_on():
        facts["gil_enabled_by"] = gil_enabled_by(extension_modules())
    return facts


def gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return bool(check()) if check else True


def python_build() -> PythonFacts:
    config_args = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    return {
        "build": " ".join(platform.python_build()),
        "compiler": platform.python_compiler(),
        "cflags": sysconfig.get_config_var("PY_CFLAGS"),
        "config_args": config_args,
        "pgo": "--enable-optimizations" in config_args,
        "lto": "--with-lto" in config_args,
        "debug": hasattr(sys, "gettotalrefcount"),
        "free_threading_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "jit": _jit_enabled(),
    }


def _jit_enabled() -> bool | None:
    jit = getattr(sys, "_jit", None)
    is_enabled = getattr(jit, "is_enabled", None)
    return bool(is_enabled()) if callable(is_enabled) else None
