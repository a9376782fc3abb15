"""Under pytest-xdist, a test marked `alone` runs while no other test runs (tests/scheduling.py).

A real parallel pytest run of a small module: two workers, ordinary tests that sleep, and two
`alone` tests; each test writes when it started and ended, and no interval of an `alone` test
may overlap any other test's."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

MODULE = """\
import json, os, time
from pathlib import Path

import pytest

LOG = Path(os.environ["ALONE_LOG"])


def record(name, start):
    entry = {"name": name, "start": start, "end": time.monotonic()}
    with open(LOG / f"{name}.json", "w") as f:
        json.dump(entry, f)


@pytest.mark.parametrize("i", range(8))
def test_together(i):
    start = time.monotonic()
    time.sleep(0.3)
    record(f"together-{i}", start)


@pytest.mark.alone
@pytest.mark.parametrize("i", range(2))
def test_alone(i):
    start = time.monotonic()
    time.sleep(0.3)
    record(f"alone-{i}", start)
"""


@pytest.mark.slow
def test_an_alone_test_never_overlaps_another(tmp_path: Path) -> None:
    (tmp_path / "test_mod.py").write_text(MODULE)
    # The suite's scheduling plugin, as the suite uses it (and nothing else of its conftest).
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.scheduling"]\n')
    log = tmp_path / "log"
    log.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    # xdist and the plugin under test, none of the other installed plugins: 3 pytest processes
    # that import textual's snapshot plugin and hypothesis for nothing cost seconds of CPU.
    env.update(ALONE_LOG=str(log), PYTHONPATH=str(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "xdist", "-n", "2",
         "--dist", "worksteal", "-o", "markers=alone: alone", "--rootdir", str(tmp_path),
         "-c", os.devnull, str(tmp_path / "test_mod.py")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    entries = [json.loads(p.read_text()) for p in log.iterdir()]
    assert len(entries) == 10
    # The ordinary tests did run side by side (else this test could not fail).
    together = sorted(
        (e for e in entries if e["name"].startswith("together")), key=lambda e: e["start"]
    )
    assert any(b["start"] < a["end"] for a, b in itertools.pairwise(together))
    for alone in (e for e in entries if e["name"].startswith("alone")):
        for other in entries:
            if other is not alone:
                overlap = min(alone["end"], other["end"]) - max(alone["start"], other["start"])
                assert overlap <= 0, (alone, other)
