"""A fleet report: one complete lab report per host of a Dask cluster (`--fleet`).

Each host ran its own headless session; its report is kept whole, exactly as the host wrote
it. A host that could not give a report (its worker died, its session failed, the run was
cancelled before it started) is kept too, with its status and the reason in plain words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from lab import __version__
from lab.results.model import Report

FLEET_SCHEMA_ID = "concurrency-lab/fleet-report"
FLEET_SCHEMA_VERSION = 1

# ok: the session ran to its end (its own runs may still have failed: see its report);
# failed: the session exited without a report or with an error; lost: the host's launcher
# worker left the cluster mid-run; cancelled: the fleet run was interrupted.
HostStatus = Literal["ok", "failed", "lost", "cancelled"]
HOST_STATUSES: tuple[HostStatus, ...] = ("ok", "failed", "lost", "cancelled")


@dataclass
class HostRun:
    host: str  # the host part of its workers' addresses
    workers: list[str]  # every worker the cluster has on this host
    launcher: str  # the worker that ran the host's session
    status: HostStatus = "cancelled"
    message: str | None = None  # why it is not ok, in words
    exit_code: int | None = None  # the host's lab session's exit code, when it ended
    seconds: float | None = None  # wall time of the host's session, as the launcher saw it
    report: Report | None = None
    # The full JSON the host wrote (analysis included), kept so a saved fleet report embeds
    # each host's report exactly as it came; None for a report built in memory.
    report_json: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The host as people know it: its address, with its hostname when that says more."""
        hostname = (self.report.machine.get("hostname") if self.report else None) or ""
        return f"{self.host} ({hostname})" if hostname and hostname != self.host else self.host


@dataclass
class FleetReport:
    scheduler: str
    hosts: list[HostRun] = field(default_factory=list)
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    lab_version: str = __version__
    command: list[str] = field(default_factory=list)
    interrupted: bool = False

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
        return {
            "schema": FLEET_SCHEMA_ID,
            "schema_version": FLEET_SCHEMA_VERSION,
            "created": self.created,
            "lab_version": self.lab_version,
            "command": self.command,
            "scheduler": self.scheduler,
            "interrupted": self.interrupted,
            "hosts": [
                {
                    "host": h.host,
                    "workers": h.workers,
                    "launcher": h.launcher,
                    "status": h.status,
                    "message": h.message,
                    "exit_code": h.exit_code,
                    "seconds": h.seconds,
                    "report": data,
                }
                for h, data in zip(self.hosts, host_reports, strict=True)
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FleetReport:
        hosts = [
            HostRun(
                host=h["host"],
                workers=list(h.get("workers") or []),
                launcher=h.get("launcher") or "",
                status=h["status"],
                message=h.get("message"),
                exit_code=h.get("exit_code"),
                seconds=h.get("seconds"),
                report=Report.from_json(h["report"]) if h.get("report") else None,
                report_json=h.get("report"),
            )
            for h in data.get("hosts", [])
        ]
        return cls(
            scheduler=data.get("scheduler", ""),
            hosts=hosts,
            created=data.get("created", ""),
            lab_version=data.get("lab_version", ""),
            command=data.get("command") or [],
            interrupted=bool(data.get("interrupted")),
        )
