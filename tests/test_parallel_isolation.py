"""Under pytest-xdist, a test marked `alone` runs while no other test runs, but one `inprocess`
test at a time, the companion's, and none beside an `alone(quiet=True)` test (tests/scheduling.py).

A real parallel pytest run of a small module: three workers, ordinary tests that sleep, `alone`
tests, and `inprocess` ones; each test writes when it started and ended, and no interval of an
`alone` test may overlap any other test's but one `inprocess` test's at a time. An `inprocess`
test that starts a process fails."""

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
import json, os, subprocess, time
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
    # Until the companion has begun (however late its worker started), so that they overlap
    # whenever the room lets them.
    deadline = start + 20
    while not list(LOG.glob("began-*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    record(f"alone-{i}", start)


@pytest.mark.alone(quiet=True)
def test_quiet():
    start = time.monotonic()
    time.sleep(0.5)
    record("quiet", start)


@pytest.mark.inprocess
@pytest.mark.slow
@pytest.mark.parametrize("i", range(8))
def test_beside(i):
    start = time.monotonic()
    (LOG / f"began-{i}").touch()
    time.sleep(0.3)
    record(f"beside-{i}", start)


@pytest.mark.inprocess
@pytest.mark.parametrize("i", range(4))
def test_light(i):
    start = time.monotonic()
    time.sleep(0.3)
    record(f"light-{i}", start)


@pytest.mark.inprocess
def test_starts_a_process():
    subprocess.run(["true"], check=True)
"""


def overlap(a: dict[str, float], b: dict[str, float]) -> float:
    return min(a["end"], b["end"]) - max(a["start"], b["start"])


@pytest.mark.slow
def test_an_alone_test_never_overlaps_another_but_one_companion(tmp_path: Path) -> None:
    (tmp_path / "test_mod.py").write_text(MODULE)
    # The suite's scheduling plugin, as the suite uses it (and nothing else of its conftest).
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.scheduling"]\n')
    log = tmp_path / "log"
    log.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    # xdist and the plugin under test, none of the other installed plugins: 4 pytest processes
    # that import textual's snapshot plugin and hypothesis for nothing cost seconds of CPU.
    env.update(ALONE_LOG=str(log), PYTHONPATH=str(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "xdist", "-n", "3",
         "--dist", "worksteal", "-o", "markers=alone\ninprocess\nslow", "--rootdir", str(tmp_path),
         "-c", os.devnull, str(tmp_path / "test_mod.py")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=240,
    )  # fmt: skip
    output = done.stdout + done.stderr
    # The one test that broke its mark, and only it, errs at its teardown.
    assert done.returncode == 1, output
    assert "24 passed, 1 error" in output, output  # its call passed; its teardown failed
    assert "test_starts_a_process is marked inprocess but started a process: " in output, output
    entries = [json.loads(p.read_text()) for p in log.glob("*.json")]
    assert len(entries) == 23
    # The ordinary tests did run side by side (else this test could not fail).
    together = sorted(
        (e for e in entries if e["name"].startswith("together")), key=lambda e: e["start"]
    )
    assert any(b["start"] < a["end"] for a, b in itertools.pairwise(together))
    in_process = [e for e in entries if e["name"].startswith(("beside", "light"))]
    companions = 0
    for alone in (e for e in entries if e["name"].startswith(("alone", "quiet"))):
        beside = [e for e in entries if e is not alone and overlap(alone, e) > 0]
        if alone["name"] == "quiet":
            assert beside == [], (alone, beside)
            continue
        assert all(e in in_process for e in beside), (alone, beside)
        assert all(overlap(a, b) <= 0 for a, b in itertools.combinations(beside, 2)), beside
        companions += len(beside)
    # The companion did run beside the alone tests (else this test could not fail).
    assert companions, entries
