"""The test suite under every supported Python found on this machine.

    nox                      # a session per Python below; one that is not installed is skipped
    nox -s tests-3.13        # one interpreter
    nox -s tests-3.12 -- tests/test_cli.py   # arguments after -- go to pytest

Interpreters are looked up as `python3.X` on PATH (pyenv's shims included), never downloaded.
`.ci/run` runs the 3.12 and 3.13 sessions with --error-on-missing-interpreters.
"""

from __future__ import annotations

import nox

nox.options.download_python = "never"  # the machine's own interpreters only: CI has no network
nox.options.error_on_missing_interpreters = False  # skip a Python this machine lacks
nox.options.reuse_venv = "yes"  # reinstalled into on each run: fast, and still current
nox.options.sessions = ["tests"]

PYTHONS = ["3.11", "3.12", "3.13", "3.14"]  # the classifiers in pyproject.toml name the tested ones


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The README's test command, under this interpreter."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)
