"""The JSON Schemas of the files the lab writes, generated from the models that write them.

A report file is the measurements (lab.results.model.Report) with the analysis derived from
them beside each scenario and at the end (lab.report.jsonfile); a fleet report holds one such
report per host (lab.results.fleet). The file models below only add those analysis keys, typed
by the analysis' own dataclasses, so every field is still declared once.

`concurrency-lab --schema report` (or `fleet`) prints a schema; the committed copies under
lab/results/schemas/ are compared with the generated ones by tests/test_report_schema.py.
"""

from __future__ import annotations

import json
from dataclasses import field
from importlib import resources
from typing import Any

from pydantic.dataclasses import dataclass

from lab.analysis.breakeven import BreakEven
from lab.analysis.claims import ClaimResult
from lab.analysis.scaling import ScalingFit
from lab.analysis.sweep import SweepVerdict
from lab.analysis.verdicts import Verdict
from lab.results.codec import DEFERRED, adapter
from lab.results.fleet import FleetReport, HostRun
from lab.results.model import Report, ScenarioResult

SCHEMAS = ("report", "fleet")
REGENERATE = "python -m lab.report.schema --write"


@dataclass(kw_only=True, config=DEFERRED)
class ScenarioFile(ScenarioResult):
    """A scenario as a report file holds it: its measurements, then what the analysis derived
    from them (recomputed whenever the report is loaded)."""

    verdicts: Verdict | None = None
    claims: list[ClaimResult] = field(default_factory=list)
    scaling: dict[str, ScalingFit] = field(default_factory=dict)
    breakeven: BreakEven | None = None
    # a sweep judged at each value (lab.analysis.sweep): per value, its winner or a tie
    sweep: SweepVerdict | None = None
    analysis_error: str | None = None  # the analysis failed; the measurements are intact


@dataclass(kw_only=True, config=DEFERRED)
class ReportFile(Report):
    """A report file: `--report FILE.json`, `--format json`."""

    # Only the schema is made from the file models (never a Report in use): narrowing is safe.
    scenarios: list[ScenarioFile] = field(default_factory=list)  # type: ignore[assignment]
    claims: list[ClaimResult] = field(default_factory=list)  # merged across scenarios
    claim_notes: list[str] = field(default_factory=list)  # how this machine changes them
    analysis_error: str | None = None
    # lab.analysis.across: each run under every interpreter of the axis, against the first
    across_interpreters: list[dict[str, Any]] = field(default_factory=list)


@dataclass(kw_only=True, config=DEFERRED)
class HostFile(HostRun):
    report: ReportFile | None = None  # null for a host that gave no report


@dataclass(kw_only=True, config=DEFERRED)
class FleetFile(FleetReport):
    """A fleet report file (`--fleet`): every host's own report, whole, then the hosts
    compared (lab.analysis.fleet, recomputed when the report is loaded)."""

    hosts: list[HostFile] = field(default_factory=list)  # type: ignore[assignment]
    comparison: list[dict[str, Any]] = field(default_factory=list)


_FILES: dict[str, tuple[type, str]] = {
    "report": (ReportFile, "concurrency-lab report"),
    "fleet": (FleetFile, "concurrency-lab fleet report"),
}


def generate(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the file `name` ("report" or "fleet") as written."""
    model, title = _FILES[name]
    body = adapter(model).json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://concurrency-lab.invalid/{name}.schema.json",
        **body,
        "title": title,
    }


def text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def committed(name: str) -> dict[str, Any]:
    """The committed copy (lab/results/schemas/NAME.schema.json)."""
    found: dict[str, Any] = json.loads(
        resources.files("lab.results").joinpath(f"schemas/{name}.schema.json").read_text("utf-8")
    )
    return found


def main() -> None:
    """`python -m lab.report.schema --write`: regenerate the committed copies."""
    import sys

    folder = resources.files("lab.results").joinpath("schemas")
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: {REGENERATE}")
    for name in SCHEMAS:
        path = folder.joinpath(f"{name}.schema.json")
        with open(str(path), "w", encoding="utf-8") as out:
            out.write(text(generate(name)))
        print(f"wrote {path}")


def __getattr__(name: str) -> dict[str, Any]:
    # REPORT_SCHEMA and FLEET_SCHEMA: the committed copies, read when first asked for.
    names = {"REPORT_SCHEMA": "report", "FLEET_SCHEMA": "fleet"}
    if name in names:
        return committed(names[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
