"""JSON Schema (draft 2020-12) of the fleet report written by `--fleet --format json`.

Each host's report is checked against the report schema (lab.results.schema) where it sits.
"""

from __future__ import annotations

from typing import Any

from lab.results.fleet import FLEET_SCHEMA_ID, FLEET_SCHEMA_VERSION, HOST_STATUSES
from lab.results.schema import COMPARISON, REPORT_SCHEMA

_num = {"type": ["number", "null"]}
_int = {"type": ["integer", "null"]}

# null for a host that gave no report; its own $schema and $id stay on the top-level schema.
_host_report = {
    **{k: v for k, v in REPORT_SCHEMA.items() if not k.startswith("$")},
    "type": ["object", "null"],
}

# A fleet report (`--fleet`): every host's own report, whole, plus the comparison of the hosts
# (lab.analysis.fleet, recomputed when the report is loaded).
_host_model = {
    "type": "object",
    "required": ["executor", "best", "fastest", "winner", "versus"],
    "properties": {
        "executor": {"type": "string"},
        "best": {"type": "object", "additionalProperties": {"type": "object"}},
        "fastest": {"type": ["string", "null"]},
        "winner": {"type": ["string", "null"]},
        "versus": {"type": "object", "additionalProperties": COMPARISON},
    },
}
FLEET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://concurrency-lab.invalid/fleet-report.schema.json",
    "title": "concurrency-lab fleet report",
    "type": "object",
    "required": ["schema", "schema_version", "created", "lab_version", "scheduler", "hosts"],
    "properties": {
        "schema": {"const": FLEET_SCHEMA_ID},
        "schema_version": {"const": FLEET_SCHEMA_VERSION},
        "created": {"type": "string"},
        "lab_version": {"type": "string"},
        "command": {"type": "array", "items": {"type": "string"}},
        "scheduler": {"type": "string"},
        "interrupted": {"type": "boolean"},
        "hosts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["host", "workers", "launcher", "status", "message", "report"],
                "properties": {
                    "host": {"type": "string"},
                    "workers": {"type": "array", "items": {"type": "string"}},
                    "launcher": {"type": "string"},
                    "status": {"enum": list(HOST_STATUSES)},
                    "message": {"type": ["string", "null"]},
                    "exit_code": _int,
                    "seconds": _num,
                    "report": _host_report,
                },
            },
        },
        "comparison": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["scenario", "hosts", "models", "note"],
                "properties": {
                    "scenario": {"type": "string"},
                    "hosts": {"type": "array", "items": {"type": "string"}},
                    "models": {"type": "array", "items": _host_model},
                    "note": {"type": ["string", "null"]},
                },
            },
        },
    },
}
