"""The report and fleet report JSON Schemas are generated from the models (lab.report.schema);
the committed copies under lab/results/schemas/ must be what the models generate today, so a
change in a report's shape is a visible diff."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from lab.report.schema import REGENERATE, SCHEMAS, committed, generate, text
from lab.runner.system.child_env import child_env


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_committed_schema_is_the_generated_one(name: str) -> None:
    generated = generate(name)
    jsonschema.Draft202012Validator.check_schema(generated)
    assert text(generated) == text(committed(name)), (
        f"lab/results/schemas/{name}.schema.json is stale; regenerate it: {REGENERATE}"
    )


@pytest.mark.parametrize(
    ("argv", "title"),
    [
        (["--schema", "report"], "concurrency-lab report"),
        (["--schema", "fleet"], "concurrency-lab fleet report"),
        (["--schema", "scenario"], "Scenario"),
        (["--schema"], "Scenario"),
    ],
)
def test_the_cli_prints_each_schema(argv: list[str], title: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lab", *argv],
        capture_output=True, text=True, env=child_env(), timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["title"] == title
