"""Reading a report to compare: clear errors for bad files, today's statistics for old ones."""

from __future__ import annotations

import json
from pathlib import Path

from lab.analysis.summarise import finalise_scenario
from lab.results.model import SCHEMA_ID, SCHEMA_VERSION, Report


class CompareError(Exception):
    """A report that cannot be read; the message says which file and why."""


def load_report(path: str) -> Report:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CompareError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CompareError(
            f"{path}: not JSON ({exc}); write reports with --report FILE.json or --format json"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        raise CompareError(f'{path}: not a concurrency-lab report (no "schema": "{SCHEMA_ID}")')
    if data.get("schema_version") != SCHEMA_VERSION:
        raise CompareError(
            f"{path}: report schema version {data.get('schema_version')!r}; this lab reads "
            f"version {SCHEMA_VERSION}"
        )
    try:
        report = Report.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise CompareError(f"{path}: a malformed report ({type(exc).__name__}: {exc})") from None
    # Summaries are derived data: recompute them so older reports get today's statistics.
    for result in report.scenarios:
        finalise_scenario(result, int(report.machine.get("cpus_usable") or 1))
    return report
