"""End to end with another interpreter found on this machine (pyenv's, or any on PATH) beside
the lab's own: the other's runner environment is built in a private cache, every run is measured
under both, and the report carries each interpreter's facts as its own runners read them.

Without a second interpreter this cannot run: under CI (CI=true) that fails, elsewhere it is
skipped with the reason, never silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.engine.interpreters.probe import Interpreter, probe
from tests.cheap import cheap

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ("python3.12", "python3.13", "python3.14", "python3.14t", "python3.11")

# Cheap: one runner process per run and block, no calibration (the interpreter axis is the
# subject); --quick still takes its rounds, which the comparison between interpreters needs.
SCENARIO = cheap("""\
title: tiny primes
workload: {kind: numeric, kernel: primes, tasks: 4, tasks_per_worker: 1, size: 300}
executors: [serial, threads]
workers: [2]
""")


def another_interpreter() -> Interpreter | None:
    """The first interpreter other than the lab's own."""
    for name in CANDIDATES:
        one = probe(name)
        if one.problem is None and not one.is_lab_python:
            return one
    return None


@pytest.fixture(scope="module")
def pythons() -> list[str]:
    """Another interpreter, whose runner environment is built, and the lab's own, which needs
    none: both paths of the axis in one session. (A second built environment cost the suite a
    second pip install, and 3.13's backport, on cores that pip keeps busy: 6 s of 12.)"""
    other = another_interpreter()
    if other is None:
        message = (
            "no Python but the lab's own was found (looked for "
            f"{', '.join(CANDIDATES)} on PATH and in pyenv's versions), so the interpreter "
            "axis was NOT tested end to end; install one (pyenv install 3.13)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return [str(other.path), sys.executable]


@pytest.mark.slow
def test_report_under_two_interpreters(pythons: list[str], tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(SCENARIO)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "lab", "--report", "-", "--format", "md", "--quick"]
    for python in pythons:
        command += ["--python", python]
    done = subprocess.run(
        [*command, str(scenario)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = done.stdout
    interpreters = [probe(p) for p in pythons]
    assert "## Interpreters" in report
    for one in interpreters:
        version = ".".join(map(str, one.version or ()))
        # Version and GIL as the interpreter's own runners read them once their imports were done.
        row = f"| {one.label} | CPython {version} | with GIL | on | {one.path} |"
        assert row in report, report
        assert f"## tiny primes ({one.label}) (`tiny@{one.label}`)" in report
        if not one.is_lab_python:
            assert f"{one.label}: building its runner environment" in done.stderr
    first, second = interpreters[0].label, interpreters[1].label
    for run in ("serial-1", "threads-2"):
        assert f"| tiny | {run} | {second} vs {first} |" in report
