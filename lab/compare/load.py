"""Reading a report to compare: clear errors for bad files, today's statistics for old ones."""

from __future__ import annotations

from lab.analysis.summarise import finalise_scenario
from lab.results.model import Report
from lab.results.reading import ReportInputError, read_report


class CompareError(Exception):
    """A report that cannot be read; the message says which file and why."""


def load_report(path: str) -> Report:
    """A report file, checked like a scenario file is (lab.results.reading); CompareError with
    one line when it is not a readable report of this schema version."""
    try:
        report = read_report(path)
    except ReportInputError as exc:
        raise CompareError(str(exc)) from None
    # Summaries are derived data: recompute them so older reports get today's statistics.
    try:
        for result in report.scenarios:
            finalise_scenario(result, int(report.machine.get("cpus_usable") or 1))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise CompareError(
            f"{path}: a malformed report: its runs cannot be summarised "
            f"({type(exc).__name__}: {exc})"
        ) from None
    return report
