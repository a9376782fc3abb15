"""Reading a report to compare: clear errors for bad files, today's statistics for old ones."""

from __future__ import annotations

from lab.analysis.summarise import finalise_scenario
from lab.results.fleet import FleetReport
from lab.results.model import Report
from lab.results.reading import ReportInputError, read_report, read_report_or_fleet

# `view` paints a grid row and an analysis per run, and a report is parsed and checked whole
# before anything is shown: 10,000 runs took 25 s to paint and 100,000 never painted (and
# ignored q). A report past these is refused at once with one sentence (exit 2); compare
# still reads it.
VIEW_MAX_BYTES = 16 * 1024 * 1024
VIEW_MAX_RUNS = 1_000


class CompareError(Exception):
    """A report that cannot be read; the message says which file and why."""


def load_report(path: str) -> Report:
    """A report file, checked like a scenario file is (lab.results.reading); CompareError with
    one line when it is not a readable report of this schema version."""
    try:
        report = read_report(path)
    except ReportInputError as exc:
        raise CompareError(str(exc)) from None
    return _finalised(report, path)


def load_report_or_fleet(path: str) -> Report | FleetReport:
    """A report or a fleet report (`view`), each host's summaries recomputed as for compare."""
    try:
        found = read_report_or_fleet(path)
    except ReportInputError as exc:
        raise CompareError(str(exc)) from None
    if isinstance(found, Report):
        return _finalised(found, path)
    for host in found.hosts:
        if host.report is not None:
            host.report = _finalised(host.report, f"{path} [{host.host}]")
    return found


def load_for_view(path: str) -> Report | FleetReport:
    """What `view` opens: a report or fleet report within VIEW_MAX_BYTES and VIEW_MAX_RUNS,
    refused before it is summarised (the slow part) when it holds more runs."""
    try:
        found = read_report_or_fleet(path, VIEW_MAX_BYTES, "view opens reports of")
    except ReportInputError as exc:
        raise CompareError(str(exc)) from None
    reports = [found] if isinstance(found, Report) else [r for _, r in found.reports()]
    runs = sum(len(result.runs) for report in reports for result in report.scenarios)
    if runs > VIEW_MAX_RUNS:
        raise CompareError(
            f"{path}: {runs:,} runs; view opens reports of at most {VIEW_MAX_RUNS:,} runs "
            "(compare reads it)"
        )
    if isinstance(found, Report):
        return _finalised(found, path)
    for host in found.hosts:
        if host.report is not None:
            host.report = _finalised(host.report, f"{path} [{host.host}]")
    return found


def load_reports(path: str) -> list[tuple[str, Report]]:
    """What `compare` compares from one file: the report, or a fleet report's hosts' reports
    in the fleet's order, each named `PATH[HOST]`."""
    found = load_report_or_fleet(path)
    if isinstance(found, Report):
        return [(path, found)]
    hosts = [(f"{path}[{host}]", report) for host, report in found.reports()]
    if not hosts:
        raise CompareError(f"{path}: a fleet report in which no host gave a report")
    return hosts


def _finalised(report: Report, path: str) -> Report:
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
