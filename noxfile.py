"""The test suite under every supported Python found on this machine.

    nox                      # a session per Python below; one that is not installed is skipped
    nox -s tests-3.13        # one interpreter
    nox -s tests-3.12 -- tests/test_cli.py   # arguments after -- go to pytest

An interpreter is `python3.X` on PATH when that runs, else pyenv's newest 3.X
(`$PYENV_ROOT/versions/3.X.*`, whether or not pyenv has it selected); never downloaded.
`.ci/run` runs the 3.12 and 3.13 sessions with --error-on-missing-interpreters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.download_python = "never"  # the machine's own interpreters only: CI has no network
nox.options.error_on_missing_interpreters = False  # skip a Python this machine lacks
nox.options.reuse_venv = "yes"  # reinstalled into on each run: fast, and still current
# uv builds a session's environment in seconds where pip takes half a minute (`.ci/run` installs
# it beside nox); without uv, nox falls back to virtualenv and pip.
nox.options.default_venv_backend = "uv|virtualenv"

PYTHONS = ["3.11", "3.12", "3.13", "3.14"]  # the classifiers in pyproject.toml name the tested ones


def interpreter(version: str) -> str:
    """A path to Python `version`, or the bare version (nox then reports it missing)."""
    on_path = shutil.which(f"python{version}")
    # pyenv's shim exists for every installed version but runs only the selected ones.
    if on_path and subprocess.run([on_path, "-c", ""], capture_output=True).returncode == 0:
        return on_path
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = [p for p in root.glob(f"versions/{version}.*/bin/python{version}") if p.is_file()]

    def release(path: Path) -> tuple[int, ...]:
        patch = path.parents[1].name.removeprefix(f"{version}.")
        return (int(patch),) if patch.isdigit() else (-1,)  # 3.13.0 before 3.13.1; 3.13t last

    return str(max(found, key=release)) if found else version


def tests_under(version: str) -> None:
    @nox.session(name=f"tests-{version}", python=interpreter(version))
    def tests(session: nox.Session) -> None:
        """The README's test command, under this interpreter."""
        # Compiled at install, as pip does: uv leaves that to the first import, and where
        # PYTHONDONTWRITEBYTECODE is set (as on the CI machine) every process the suite starts
        # would compile textual, pydantic and dask from source again (3.12 took 7:24 against
        # 3.11's 5:03 in one .ci/run).
        session.install("-e", ".[test]", env={"UV_COMPILE_BYTECODE": "1"})
        session.run("python", "-m", "pytest", *session.posargs)


for _version in PYTHONS:
    tests_under(_version)
