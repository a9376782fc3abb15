"""The examples run under all five models, results checked, as `concurrency-lab --report`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab.scenario.loader import load_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "unit"), [("zlib_compress.yaml", "MB"), ("json_roundtrip.yaml", "tasks")]
)
def test_example_runs_under_every_model(tmp_path: Path, name: str, unit: str) -> None:
    out = tmp_path / "report.json"
    # From another folder: the scenario's module is found from its own path, not the cwd.
    proc = subprocess.run(
        [sys.executable, "-m", "lab", "--report", str(out), "--quick", str(EXAMPLES / name)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    scenario = json.loads(out.read_text())["scenarios"][0]
    runs = scenario["runs"]
    assert {r["executor"] for r in runs} == {"serial", "asyncio", "uvloop", "threads", "processes"}
    assert all(r["status"] == "ok" and r["unit"] == unit for r in runs)
    # Checked: every run's results agree with serial's, task by task.
    digests = {rep["digest"] for r in runs for rep in r["repeats"]}
    assert len(digests) == 1 and None not in digests


def test_examples_have_a_readme_line_and_load() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    kinds = {}
    for scenario in sorted(EXAMPLES.glob("*.yaml")):
        assert f"`{scenario.name}`" in readme
        kinds[scenario.name] = load_file(scenario).scenario.workload.kind
    assert kinds == {
        "json_roundtrip.yaml": "callable",
        "primes_by_size.yaml": "numeric",
        "zlib_compress.yaml": "callable",
    }


@pytest.mark.slow
def test_the_size_sweep_example_prints_a_breakeven(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab",
            "--report",
            "-",
            "--quick",
            str(EXAMPLES / "primes_by_size.yaml"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "**Break-even** (sweep of size):" in proc.stdout
    line = proc.stdout.split("**Break-even** (sweep of size):")[1].split("\n")[0]
    # Which pool wins depends on the machine; that the answer is given per size does not.
    assert "from a cold start" in line and "once both pools are running" in line
    assert "size ≈" in line or "size 8,000" in line or "size 50 " in line
