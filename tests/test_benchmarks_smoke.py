"""Every script under benchmarks/ runs in its smoke mode (tiny sizes, seconds), so none can rot
unnoticed against the lab's API. The figures they print are not checked: speed is not a test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.scenario.loader import load_builtins
from tests.conftest import ROOT, LabSandbox

BENCHMARKS = ROOT / "benchmarks"

# Each script, its smoke arguments, and a line its output must hold once it ran to the end.
SMOKE = {
    "lab_vs_raw.py": (["--smoke"], "lowest lab/raw throughput ratio"),
    "negative_controls.py": (["--smoke"], "violations over 1 sessions"),
    "app_cpu.py": (["--smoke"], "the app at 80x24 in a pty"),
    "load_http_100k.py": (["--smoke"], "orchestrator (this process) peak RSS"),
    "load_processes_10k.py": (["--smoke"], "orchestrator (this process) peak RSS"),
    "startup.py": (["--smoke"], "--check FILE.yaml"),
    "stats_scaling.py": (["--smoke"], "summarise"),
    "open_loop_overhead.py": (["--smoke"], "lab/raw held-rate ratio"),
}


def test_every_benchmark_script_has_a_smoke_run() -> None:
    scripts = {p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(SMOKE)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SMOKE))
def test_benchmark_smoke_mode_runs_to_the_end(script: str, lab_sandbox: LabSandbox) -> None:
    arguments, last_words = SMOKE[script]
    # startup.py times the installed console script: the one beside this interpreter.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = lab_sandbox.env(PATH=path)
    env.pop("PYTHONSAFEPATH")  # run as a person types it: the script's folder first on sys.path
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert last_words in done.stdout, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    if script == "lab_vs_raw.py":
        accounts_for_every_builtin(done.stdout)


def accounts_for_every_builtin(output: str) -> None:
    """lab_vs_raw.py runs every built-in, or names it on the line of those it leaves out (open
    loops, which open_loop_overhead.py measures): none goes missing without a word."""
    lines = output.splitlines()
    measured = {line.split()[0] for line in lines if line.strip()}
    line = next(line for line in lines if line.startswith("left out"))
    assert line.endswith("benchmarks/open_loop_overhead.py measures its overhead"), line
    left_out = set(line.split("): ", 1)[1].split(";")[0].split(", "))
    assert "http_open_loop" in left_out, line
    builtins = {item.name for item in load_builtins()}
    assert builtins <= measured | left_out, f"missing: {builtins - measured - left_out}\n{output}"
    assert not measured & left_out, measured & left_out
