"""Every built-in's report holds to the schema and each run's summary reads back into the same
JSON: what is checked is the report's shape for each workload kind, never a figure.

Each built-in's report is checked once, from the session that runs it anyway:
- `tests/test_cli.py` runs END_TO_END_BUILTIN end to end under `--quick`;
- the other closed loops run in `tests/test_controls.py`'s built-in test (real runner
  processes, 1 and 2 workers, two sweep points), which calls `assert_report_holds` below;
- an open loop has no controls, so here it runs its whole `--quick` plan (every executor and
  rate) once: one round, one in-process runner per run, no warmup, `min_time: 0`."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from lab.engine.plan import make_plan
from lab.engine.session import LabSession
from lab.report.formats import render
from lab.report.schema import REPORT_SCHEMA
from lab.results.model import Report
from lab.results.reading import parse_report
from lab.results.summary import RunSummary
from lab.scenario.builtins import builtin_paths
from lab.scenario.loader import LoadedScenario, load_builtins
from lab.scenario.workload_specs import HttpWorkload
from tests.fakerunner import FakeRunners
from tests.test_cli import END_TO_END_BUILTIN

OPEN_LOOPS = [item.name for item in load_builtins() if item.scenario.open_loop]


# An open loop's repeat lasts its `duration` whatever the rate: 0.2 s still sends each rate's
# requests on a schedule (80 at 400/s), for every figure of the open-loop report.
OPEN_LOOP_DURATION = 0.2


def one_round(loaded: LoadedScenario) -> LoadedScenario:
    """An open loop's --quick scenario as one round in one runner process per run, its repeats
    shortened to OPEN_LOOP_DURATION."""
    quick = loaded.scenario.quick()
    assert quick.open_loop and isinstance(quick.workload, HttpWorkload), loaded.name
    duration = min(quick.workload.duration, OPEN_LOOP_DURATION)
    update: dict[str, Any] = {
        "repeats": 1,
        "processes": 1,
        "warmups": 0,
        "min_time": 0,
        "workload": quick.workload.model_copy(update={"duration": duration}),
    }
    return replace(loaded, scenario=quick.model_copy(update=update))


def assert_report_holds(report: Report, name: str) -> None:
    """`report`, of built-in `name` alone, holds to the report schema, reads back through the
    models as compare and view read it, and every run in it ran."""
    text = render(report, "json")
    data = json.loads(text)
    jsonschema.validate(data, REPORT_SCHEMA)
    assert parse_report(text.encode(), name).to_json() == report.to_json()
    assert [s["name"] for s in data["scenarios"]] == [name]
    for scenario in data["scenarios"]:
        assert scenario["runs"] and "verdicts" in scenario
        for run in scenario["runs"]:
            assert run["status"] == "ok", (run["run_id"], run.get("error"))
            assert run["summary"]["wall_seconds"]["n"] >= 1, run["run_id"]
            assert RunSummary.from_json(run["summary"]).to_json() == run["summary"]


def test_every_builtin_report_is_checked_by_one_test() -> None:
    """The end-to-end built-in, the open loops here and the closed loops in the controls test:
    a new built-in lands in one of them."""
    closed = [item.name for item in load_builtins() if not item.scenario.open_loop]
    assert END_TO_END_BUILTIN in closed and OPEN_LOOPS
    assert sorted([*closed, *OPEN_LOOPS]) == sorted(builtin_paths())


@pytest.mark.parametrize("name", OPEN_LOOPS)
async def test_an_open_loop_builtin_report_validates_against_the_schema(
    name: str, fake_runners: FakeRunners
) -> None:
    loaded = next(item for item in load_builtins() if item.name == name)
    session = LabSession(make_plan([one_round(loaded)]))
    async for _ in session.events():
        pass
    assert_report_holds(session.report, name)
