"""How the lab starts its child interpreters (runners, the embedded server): with `-P`, an
environment that puts nothing ahead of the standard library, and the lab's own pid to watch.

`python -m pkg.mod` puts the current directory first on `sys.path`; a `json.py` or a `lab/`
package in the folder the lab was started from would run in every child. With `-P` (and
`PYTHONSAFEPATH`, which multiprocessing's own helpers inherit) no folder goes ahead of the
standard library but the user's own absolute `PYTHONPATH` entries.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import lab
from lab.runner.system.parent_death import PARENT_ENV

# Runs a module like `-m`, with the lab's folder put *after* the standard library and the
# site-packages: for a checkout that is not installed, the only way the child finds the lab.
_BOOTSTRAP = (
    "import runpy, sys; root = sys.argv.pop(1); module = sys.argv.pop(1); "
    "sys.path.append(root); runpy.run_module(module, run_name='__main__', alter_sys=True)"
)


def _lab_root() -> str:
    return str(Path(lab.__file__).resolve().parent.parent)


def _safe_pythonpath(value: str) -> str | None:
    """The user's PYTHONPATH without relative or empty entries, which mean the current folder."""
    kept = [entry for entry in value.split(os.pathsep) if entry and os.path.isabs(entry)]
    return os.pathsep.join(kept) or None


def child_env() -> dict[str, str]:
    """The parent's environment, made safe for a child interpreter of the lab."""
    env = dict(os.environ)
    pythonpath = _safe_pythonpath(env.pop("PYTHONPATH", ""))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env["PYTHONSAFEPATH"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env[PARENT_ENV] = str(os.getpid())
    return env


@functools.cache
def _installed() -> bool:
    """Whether a child started with `-P` from a neutral folder imports this very copy of the lab
    (installed, or installed editable) without help."""
    env = child_env()
    try:
        found = subprocess.run(
            [sys.executable, "-P", "-c", "import lab; print(lab.__file__)"],
            env=env, cwd="/", capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    path = found.stdout.strip()
    return bool(path) and Path(path).resolve() == Path(lab.__file__).resolve()


def python_command(module: str, *args: str) -> list[str]:
    """The command line that runs `module` of the lab in a child interpreter, safely."""
    if _installed():
        return [sys.executable, "-P", "-m", module, *args]
    return [sys.executable, "-P", "-c", _BOOTSTRAP, _lab_root(), module, *args]
