"""Wrong answers are said on the run's own line (issue 14, item 6): never `ok` on the
progress line followed by exit code 1 for a cross-run mismatch found later."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LabSandbox
from tests.faults import fault_env

SCENARIO = """\
title: Mismatch
workload: {kind: numeric, kernel: primes, tasks: 4, size: 500}
executors: [EXECUTORS]
workers: [2]
repeats: 1
warmups: 0
min_time: 0
"""


def run_lab(
    tmp_path: Path, box: LabSandbox, executors: str, fault: str
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "mismatch.yaml"
    path.write_text(SCENARIO.replace("EXECUTORS", executors))
    return subprocess.run(
        [sys.executable, "-m", "lab", "--report", "-", "--format", "json", str(path)],
        capture_output=True, text=True, env=box.env(**fault_env(fault)), timeout=180,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.slow
def test_a_wrong_answer_fails_the_run_on_its_own_line(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    out = run_lab(tmp_path, lab_sandbox, "serial, threads", "threads-2:wrong")
    assert out.returncode == 1, out.stderr
    (line,) = [line for line in out.stderr.splitlines() if re.match(r"\s+threads-2\s", line)]
    assert re.match(r"\s+threads-2\s+failed\s+results differ from the other executors", line)
    run = json.loads(out.stdout)["scenarios"][0]["runs"][1]
    assert run["status"] == "failed" and run["error"]["kind"] == "mismatch"
    assert "results differ from the other executors" in run["error"]["message"]


@pytest.mark.slow
def test_a_mismatch_found_after_the_line_is_corrected_in_words(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    """threads runs before serial: its line is printed before the reference exists, so the
    scenario's check fails it afterwards, and the lab prints its line again with the reason."""
    out = run_lab(tmp_path, lab_sandbox, "threads, serial", "serial-1:wrong")
    assert out.returncode == 1, out.stderr
    lines = [line for line in out.stderr.splitlines() if re.match(r"\s+threads-2\s", line)]
    assert len(lines) == 2, out.stderr
    assert re.match(r"\s+threads-2\s+ok\s", lines[0])
    assert re.match(r"\s+threads-2\s+failed\s+results differ from the other executors", lines[1])
