"""The examples run under all five models, results checked, as `concurrency-lab --report`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lab.scenario.loader import load_file
from tests.cheap import cheap_over

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@dataclass
class ExampleRun:
    process: subprocess.Popen[bytes]
    report: Path
    folder: Path  # holds stdout and stderr: files never fill up while another run is awaited

    def finish(self) -> tuple[int, str, str]:
        # Generous: three sessions at once, beside the other tests of a parallel run.
        returncode = self.process.wait(timeout=900)
        stdout, stderr = (
            (self.folder / name).read_text(encoding="utf-8") for name in ("stdout", "stderr")
        )
        return returncode, stdout, stderr


# A callable example's tasks per run: four per worker of its largest pool (4), each answer still
# checked against serial's; 64 zlib and 200 json tasks were a third of those sessions' time.
CALLABLE_TASKS = 16


def fewer_tasks(text: str) -> str:
    """A callable example's scenario with at most CALLABLE_TASKS tasks (the size sweep's
    example keeps its own: its break-even needs its task count)."""
    data = yaml.safe_load(text)
    workload = data["workload"]
    if workload["kind"] != "callable":
        return text
    workload["tasks"] = min(workload["tasks"], CALLABLE_TASKS)
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ExampleRun]]:
    """The three example sessions, started together: only their results are checked, never
    their speed, and together they take half the time they take one after the other.

    Each runs from a copy of the examples folder, its modules as shipped and its scenario's
    workload and matrix too, measured cheaply (tests/cheap.py: one round in one runner process
    per run, no warmup or calibration; a callable's tasks cut to CALLABLE_TASKS): what is
    checked is what they compute, in every model."""
    copy = tmp_path_factory.mktemp("examples") / "examples"
    shutil.copytree(EXAMPLES, copy)
    runs = {}
    for name, report in [
        ("zlib_compress.yaml", "report.json"),
        ("json_roundtrip.yaml", "report.json"),
        ("primes_by_size.yaml", "-"),
    ]:
        folder = tmp_path_factory.mktemp(name.removesuffix(".yaml"))
        scenario = copy / name
        scenario.write_text(fewer_tasks(cheap_over(scenario.read_text())))
        target = folder / report if report != "-" else Path("-")
        # From another folder: the scenario's module is found from its own path, not the cwd.
        with (folder / "stdout").open("wb") as out, (folder / "stderr").open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "lab", "--report", str(target), str(scenario)],
                cwd=folder, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        runs[name] = ExampleRun(process, target, folder)
    try:
        yield runs
    finally:
        for run in runs.values():
            if run.process.poll() is None:
                run.process.kill()
            run.process.wait()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "unit"), [("zlib_compress.yaml", "MB"), ("json_roundtrip.yaml", "tasks")]
)
def test_example_runs_under_every_model(
    example_runs: dict[str, ExampleRun], name: str, unit: str
) -> None:
    returncode, _, stderr = example_runs[name].finish()
    assert returncode == 0, stderr
    scenario = json.loads(example_runs[name].report.read_text())["scenarios"][0]
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
def test_the_size_sweep_example_prints_a_breakeven(example_runs: dict[str, ExampleRun]) -> None:
    returncode, stdout, stderr = example_runs["primes_by_size.yaml"].finish()
    assert returncode == 0, stderr
    assert "**Break-even** (sweep of size):" in stdout
    line = stdout.split("**Break-even** (sweep of size):")[1].split("\n")[0]
    # Which pool wins depends on the machine; that the answer is given per size does not.
    assert "from a cold start" in line and "once both pools are running" in line
    assert "size ≈" in line or "size 8,000" in line or "size 50 " in line
    assert "| size=8000 |" in stdout  # the params column shows the swept value
