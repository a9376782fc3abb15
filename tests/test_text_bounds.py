"""Text from a file is handled in linear time, end to end (issue 21, section 3): a 221 KB
report took `compare` 72 s and a 200,000-character title took `--check` 40 s, both in the URL
pattern's backtracking. Here 1 MB of the worst text goes through each command and each report
format; the bounds are generous for a loaded 2-core machine, and far below what a quadratic
pattern takes (hours at 1 MB)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.compare import load_report
from lab.report.formats import FORMATS, render
from tests.conftest import LabSandbox
from tests.tui_fixtures import saved_report

WORD = "a" * 1_000_000  # one long word: the old scheme pattern retried from every letter


def lab(box: LabSandbox, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "lab", *args],
        capture_output=True, text=True, env=box.env(), timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return done, time.monotonic() - started


def long_report(path: Path) -> Path:
    saved_report(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["scenarios"][0]["description"] = WORD
    data["scenarios"][1]["title"] = "b://" + ":" * 1_000_000  # `://` then no `@`
    data["warnings"].append({"code": "machine_busy", "message": WORD})
    data["machine"]["cpu_model"] = WORD  # in compare's table of reports
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_check_of_a_one_megabyte_title_is_quick(tmp_path: Path, lab_sandbox: LabSandbox) -> None:
    scenario = tmp_path / "long.yaml"  # scenario files are capped at 1 MiB: 1,000,000 letters
    scenario.write_text(
        f"title: {WORD}\nworkload: {{kind: dispatch, tasks: 5}}\nexecutors: [serial]\n"
        "workers: [1]\n"
    )
    done, elapsed = lab(lab_sandbox, "--check", str(scenario))
    assert done.returncode == 0, done.stderr[-500:]
    assert elapsed < 60, f"--check took {elapsed:.0f} s"


def test_compare_of_a_report_with_a_megabyte_of_text_is_quick(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    path = long_report(tmp_path / "long.json")
    done, elapsed = lab(lab_sandbox, "compare", str(path), str(path))
    assert done.returncode == 0, done.stderr[-500:]
    assert WORD in done.stdout
    assert elapsed < 60, f"compare took {elapsed:.0f} s"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_report_format_renders_a_megabyte_of_text_quickly(tmp_path: Path, fmt: str) -> None:
    report = load_report(str(long_report(tmp_path / "long.json")))
    started = time.monotonic()
    text = render(report, fmt)
    elapsed = time.monotonic() - started
    if fmt != "csv":  # (CSV has no column for descriptions or the machine's warnings)
        assert WORD in text
    assert elapsed < 30, f"{fmt} took {elapsed:.0f} s"
