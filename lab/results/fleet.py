"""A fleet report: one complete lab report per host of a Dask cluster (`--fleet`).

Each host ran its own headless session; its report is kept whole, exactly as the host wrote
it. A host that could not give a report (its worker died, its session failed, the run was
cancelled before it started) is kept too, with its status and the reason in plain words.
"""

from __future__ import annotations

from dataclasses import field
from typing import Annotated, Any, Final, Literal

from pydantic import Field
from pydantic.dataclasses import dataclass

from lab import __version__
from lab.results.codec import DEFERRED, dump
from lab.results.model import Report, _now

FLEET_SCHEMA_ID: Final = "concurrency-lab/fleet-report"
FLEET_SCHEMA_VERSION: Final = 1

# ok: the session ran to its end (its own runs may still have failed: see its report);
# failed: the session exited without a report or with an error; lost: the host's launcher
# worker left the cluster mid-run; cancelled: the fleet run was interrupted.
HostStatus = Literal["ok", "failed", "lost", "cancelled"]
HOST_STATUSES: tuple[HostStatus, ...] = ("ok", "failed", "lost", "cancelled")


@dataclass(config=DEFERRED)
class HostRun:
    host: str  # the host part of its workers' addresses
    workers: list[str]  # every worker the cluster has on this host
    launcher: str  # the worker that ran the host's session
    status: HostStatus = "cancelled"
    message: str | None = None  # why it is not ok, in words
    exit_code: int | None = None  # the host's lab session's exit code, when it ended
    seconds: float | None = None  # wall time of the host's session, as the launcher saw it
    # The host's report: in a file, whole as the host wrote it, analysis included
    # (lab.report.schema describes that shape).
    report: Report | None = None
    # The full JSON the host wrote (analysis included), kept so a saved fleet report embeds
    # each host's report exactly as it came; None for a report built in memory.
    report_json: Annotated[dict[str, Any] | None, Field(exclude=True)] = None

    @property
    def name(self) -> str:
        """The host as people know it: its address, with its hostname when that says more."""
        hostname = (self.report.machine.get("hostname") if self.report else None) or ""
        return f"{self.host} ({hostname})" if hostname and hostname != self.host else self.host


@dataclass(kw_only=True, config=DEFERRED)
class FleetReport:
    schema: Literal["concurrency-lab/fleet-report"] = FLEET_SCHEMA_ID
    schema_version: Literal[1] = FLEET_SCHEMA_VERSION
    created: str = field(default_factory=_now)
    lab_version: str = __version__
    command: list[str] = field(default_factory=list)
    scheduler: str
    interrupted: bool = False
    hosts: list[HostRun] = field(default_factory=list)

    @property
    def all_ok(self) -> bool:
        return not self.interrupted and all(
            h.status == "ok" and h.report is not None and h.report.all_ok for h in self.hosts
        )

    def reports(self) -> list[tuple[str, Report]]:
        """(host, report) of every host that gave one, in the fleet's order."""
        return [(h.host, h.report) for h in self.hosts if h.report is not None]

    def to_json(self, host_reports: list[dict[str, Any] | None]) -> dict[str, Any]:
        """The fleet's record; host_reports are the hosts' report JSONs (analysis included),
        in the order of `hosts`."""
        data = dump(self)
        for host, report in zip(data["hosts"], host_reports, strict=True):
            host["report"] = report
        return data
