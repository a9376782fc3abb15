"""Every built-in's report, from one short round of real runner processes: the JSON holds to the
schema and each run's summary reads back into the same JSON.

`tests/test_cli.py` runs one built-in end to end under `--quick` (10 rounds, 2 runner processes
per run); here the others run their whole `--quick` plan (every executor, worker count and
sweep point) once: one round, one runner process per run, no warmup, `min_time: 0`. What is
checked is the report's shape for each workload kind, never a figure."""

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
from lab.results.reading import parse_report
from lab.results.summary import RunSummary
from lab.scenario.builtins import builtin_paths
from lab.scenario.loader import LoadedScenario, load_builtins
from lab.scenario.workload_specs import HttpWorkload
from tests.fakerunner import FakeRunners
from tests.test_cli import END_TO_END_BUILTIN

OTHERS = [name for name in builtin_paths() if name != END_TO_END_BUILTIN]


# An open loop's repeat lasts its `duration` whatever the rate: 0.2 s still sends each rate's
# requests on a schedule (80 at 400/s), for every figure of the open-loop report.
OPEN_LOOP_DURATION = 0.2


def one_round(loaded: LoadedScenario) -> LoadedScenario:
    """The --quick scenario as one round in one runner process per run (an open loop's
    repeats shortened to OPEN_LOOP_DURATION)."""
    quick = loaded.scenario.quick()
    update: dict[str, Any] = {"repeats": 1, "processes": 1, "warmups": 0, "min_time": 0}
    if isinstance(quick.workload, HttpWorkload) and quick.workload.open_loop:
        duration = min(quick.workload.duration, OPEN_LOOP_DURATION)
        update["workload"] = quick.workload.model_copy(update={"duration": duration})
    return replace(loaded, scenario=quick.model_copy(update=update))


def test_the_others_are_every_builtin_but_the_end_to_end_one() -> None:
    assert sorted([*OTHERS, END_TO_END_BUILTIN]) == sorted(builtin_paths())
    assert len(OTHERS) == len(builtin_paths()) - 1


@pytest.mark.parametrize("name", OTHERS)
async def test_builtin_report_validates_against_the_schema(
    name: str, fake_runners: FakeRunners
) -> None:
    loaded = next(item for item in load_builtins() if item.name == name)
    session = LabSession(make_plan([one_round(loaded)]))
    async for _ in session.events():
        pass
    text = render(session.report, "json")
    data = json.loads(text)
    jsonschema.validate(data, REPORT_SCHEMA)
    # ... and reads back through the models as compare and view read it.
    assert parse_report(text.encode(), name).to_json() == session.report.to_json()
    assert [s["name"] for s in data["scenarios"]] == [name]
    for scenario in data["scenarios"]:
        assert scenario["runs"] and "verdicts" in scenario
        for run in scenario["runs"]:
            assert run["status"] == "ok", (run["run_id"], run.get("error"))
            assert run["summary"]["wall_seconds"]["n"] >= 1, run["run_id"]
            assert RunSummary.from_json(run["summary"]).to_json() == run["summary"]
