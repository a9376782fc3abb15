"""The JSON report: the measurements (lab.results.model) plus the analysis derived from them."""

from __future__ import annotations

import json
from typing import Any

from lab.analysis.across import across_interpreters
from lab.analysis.analyse import analyse_report
from lab.analysis.axis import split_report
from lab.results.model import Report


def to_json(report: Report) -> str:
    report = split_report(report)  # an interpreter axis: one scenario per interpreter
    data = report.to_json()
    per_scenario, overall = analysis_json(report)
    data["scenarios"] = [s | a for s, a in zip(data["scenarios"], per_scenario, strict=True)]
    data.update(overall)
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def analysis_json(report: Report) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-scenario keys (verdicts, claims, scaling, breakeven) and report-level keys.

    The analysis is derived data: a bug in it must never cost the user the measurements, so
    a failure is recorded in the report instead of raised.
    """
    try:
        analysis = analyse_report(report)
    except Exception as exc:  # pragma: no cover - defensive
        error = f"{type(exc).__name__}: {exc}"
        return [{"analysis_error": error} for _ in report.scenarios], {"analysis_error": error}
    return [a.to_json() for a in analysis.scenarios], {
        "claims": [c.to_json() for c in analysis.claims],
        "claim_notes": analysis.notes,
    } | (
        {"across_interpreters": [r.to_json() for r in across_interpreters(report)]}
        if report.interpreters
        else {}
    )
