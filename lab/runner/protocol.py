"""The runner protocol: typed messages with one serializer, used by the runner and the session.

Like pyperf's worker and manager, both ends share this module, so a field can only be renamed
in one place. Every message is one line of JSON.

Session -> runner (stdin):
  RunSpec          first line: what to run; `repeats` > 0 measures that many repeats at once
  MeasureCommand   {"command": "repeat", index, round}: one measured repeat now (rounds)
  CloseCommand     {"command": "close"}: finish; end of input means the same
Runner -> session (a pipe of its own, fd EVENT_FD_ENV), tagged by "event":
  Ready, Startup, Facts, Progress, RepeatDone, RunnerError, Done

The events never travel on fds 1 and 2: the measured code and its pool workers write there (a
`print`, an `os.write(1, ...)`, a C library), and nothing they write may pass for a measurement.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from lab.results.model import RepeatRecord

# The runner's event pipe: its fd number, handed over in the environment (subprocess pass_fds).
EVENT_FD_ENV = "LAB_EVENT_FD"
MAX_EVENT_LINE = 2**24  # bytes: an event longer than this is not one the runner sends


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


class ProtocolError(ValueError):
    """A line that is not a message of the protocol."""


def _object(line: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("not a JSON object")
    return data


@dataclass(frozen=True)
class RunSpec:
    workload: dict[str, Any]
    context: dict[str, Any]
    executor: str
    workers: int
    start_method: str
    warmups: int
    repeats: int  # measured at once; 0 when the session sends MeasureCommands (rounds)
    run_id: str | None = None
    min_time: float = 0.0  # the runner calibrates passes per repeat
    timeout: float = 0.0
    commanded: int = 0  # repeats the session will command: calibration's timeout budget
    cluster: str | None = None  # dask: an existing scheduler's address (None: a LocalCluster)

    def to_line(self) -> str:
        return _dump(asdict(self))

    @classmethod
    def from_line(cls, line: str | bytes) -> RunSpec:
        data = _object(line)
        try:
            return cls(
                workload=dict(data["workload"]),
                context=dict(data["context"]),
                executor=str(data["executor"]),
                workers=int(data["workers"]),
                start_method=str(data["start_method"]),
                warmups=int(data["warmups"]),
                repeats=int(data["repeats"]),
                run_id=data.get("run_id"),
                min_time=float(data.get("min_time") or 0.0),
                timeout=float(data.get("timeout") or 0.0),
                commanded=int(data.get("commanded") or 0),
                cluster=str(data["cluster"]) if data.get("cluster") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"not a run spec: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class MeasureCommand:
    index: int  # the run's repeat number
    round: int  # the session's round number


@dataclass(frozen=True)
class CloseCommand:
    pass


Command = MeasureCommand | CloseCommand


def command_line(command: Command) -> str:
    if isinstance(command, MeasureCommand):
        return _dump({"command": "repeat", "index": command.index, "round": command.round})
    return _dump({"command": "close"})


def parse_command(line: str | bytes) -> Command:
    data = _object(line)
    kind = data.get("command")
    if kind == "repeat":
        return MeasureCommand(int(data["index"]), int(data["round"]))
    if kind == "close":
        return CloseCommand()
    raise ProtocolError(f"unknown command {kind!r}")


@dataclass(frozen=True)
class Ready:
    pid: int
    rss: int


@dataclass(frozen=True)
class Startup:
    seconds: float
    chunk_size: int | None = None  # tasks shipped to a worker at once (process pool, dask)


@dataclass(frozen=True)
class Progress:
    phase: str
    repeat: int
    done: int
    total: int
    elapsed: float


@dataclass(frozen=True)
class RepeatDone:
    record: RepeatRecord  # per-pass averages over its `loops` passes


@dataclass(frozen=True)
class RunnerError:
    kind: str
    message: str
    detail: str = ""


@dataclass(frozen=True)
class Done:
    max_rss: int
    cpu_seconds: float | None
    uss: int | None = None  # the runner's tree, pool still up
    # An existing cluster's workers (not in the tree): peaks sampled around each repeat.
    remote_rss: int = 0
    remote_uss: int | None = None


@dataclass(frozen=True)
class Facts:
    """The interpreter as the runner sees it once the workload and pool are loaded
    (lab.runner.system.pyfacts): version, build, whether the GIL is on and what turned it on."""

    facts: dict[str, Any]


RunnerEvent = Ready | Startup | Facts | Progress | RepeatDone | RunnerError | Done

_TAGS: dict[type, str] = {
    Ready: "ready",
    Startup: "startup",
    Facts: "facts",
    Progress: "progress",
    RepeatDone: "repeat",
    RunnerError: "error",
    Done: "done",
}
_BY_TAG: dict[str, type] = {tag: cls for cls, tag in _TAGS.items()}


def to_line(message: RunnerEvent) -> str:
    if isinstance(message, RepeatDone):
        fields = {"event": "repeat", **message.record.to_json()}
        for derived in ("cpu_seconds", "throughput"):  # the session recomputes them
            fields.pop(derived, None)
        return _dump(fields)
    return _dump({"event": _TAGS[type(message)], **asdict(message)})


def from_line(line: str | bytes) -> RunnerEvent:
    data = _object(line)
    tag = data.pop("event", None)
    cls = _BY_TAG.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise ProtocolError(f"unknown event {tag!r}")
    try:
        if cls is RepeatDone:
            return RepeatDone(RepeatRecord.from_json(data))
        message: RunnerEvent = cls(**data)
    except TypeError as exc:
        raise ProtocolError(f"bad {tag} event: {exc}") from None
    return message
