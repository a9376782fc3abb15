"""The runner protocol: typed messages with one serializer, used by the runner and the session.

Like pyperf's worker and manager, both ends share this module, so a field can only be renamed
in one place. Every message is one line of JSON, and every message is a pydantic dataclass:
decoding a line validates it (strict types, finite numbers), so a field of the wrong type is
refused here, with its name, before the session looks at it.

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

from dataclasses import field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from lab.results.codec import DEFERRED, FINITE, adapter
from lab.results.repeat import Count, NonNegative, Phase, RepeatRecord

# The runner's event pipe: its fd number, handed over in the environment (subprocess pass_fds).
EVENT_FD_ENV = "LAB_EVENT_FD"
MAX_EVENT_LINE = 2**24  # bytes: an event longer than this is not one the runner sends

T = TypeVar("T")


class ProtocolError(ValueError):
    """A line that is not a message of the protocol; str() names the field that is wrong."""


def _decode(found: TypeAdapter[T], line: str | bytes, what: str) -> T:
    """line as a message, or ProtocolError: "a malformed event: ready.pid: ..., got '1'"."""
    try:
        value: T = found.validate_json(line, strict=True)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        if error["type"] == "json_invalid":
            raise ProtocolError(f"not JSON: {error['msg']}") from None
        loc = ".".join(str(part) for part in error["loc"])
        if not loc or error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            raise ProtocolError(f"not {what}: {error['msg']}") from None
        got = str(error["input"])[:40]  # whatever the line held there, cut short
        noun = what.split(" ", 1)[1]
        raise ProtocolError(f"a malformed {noun}: {loc}: {error['msg']}, got {got!r}") from None
    return value


def _encode(message: object) -> str:
    return adapter(type(message)).dump_json(message).decode()


@dataclass(frozen=True, config=FINITE)
class RunSpec:
    workload: dict[str, Any]
    context: dict[str, Any]
    executor: str
    workers: Annotated[int, Field(ge=1)]
    start_method: str
    warmups: Count
    repeats: Count  # measured at once; 0 when the session sends MeasureCommands (rounds)
    run_id: str | None = None
    min_time: NonNegative = 0.0  # the runner calibrates passes per repeat
    timeout: NonNegative = 0.0
    commanded: Count = 0  # repeats the session will command: calibration's timeout budget
    cluster: str | None = None  # dask: an existing scheduler's address (None: a LocalCluster)

    def to_line(self) -> str:
        return _encode(self)

    @classmethod
    def from_line(cls, line: str | bytes) -> RunSpec:
        found: RunSpec = _decode(adapter(cls), line, "a run spec")
        return found


@dataclass(frozen=True, config=DEFERRED)
class MeasureCommand:
    index: Count  # the run's repeat number
    round: Count  # the session's round number
    command: Literal["repeat"] = field(default="repeat", repr=False)


@dataclass(frozen=True, config=DEFERRED)
class CloseCommand:
    command: Literal["close"] = field(default="close", repr=False)


Command = MeasureCommand | CloseCommand


def command_line(command: Command) -> str:
    return _encode(command)


_COMMANDS = Annotated[Command, Field(discriminator="command")]


def parse_command(line: str | bytes) -> Command:
    found: Command = _decode(adapter(_COMMANDS), line, "a command")
    return found


@dataclass(frozen=True, config=FINITE)
class Ready:
    pid: Count
    rss: Count
    event: Literal["ready"] = field(default="ready", repr=False)


@dataclass(frozen=True, config=FINITE)
class Startup:
    seconds: NonNegative
    # tasks shipped to a worker at once (process pool, dask)
    chunk_size: Annotated[int, Field(ge=1)] | None = None
    event: Literal["startup"] = field(default="startup", repr=False)


@dataclass(frozen=True, config=FINITE)
class Progress:
    phase: Phase
    repeat: Count
    done: Count
    total: Count
    elapsed: NonNegative
    event: Literal["progress"] = field(default="progress", repr=False)


@dataclass(frozen=True, config=FINITE)
class RepeatDone:
    record: RepeatRecord  # per-pass averages over its `loops` passes
    event: Literal["repeat"] = field(default="repeat", repr=False)


# RunnerError.kind of a run whose target no request reached (lab.engine.rounds asks why).
UNREACHABLE = "unreachable"


@dataclass(frozen=True, config=DEFERRED)
class RunnerError:
    kind: str
    message: str
    detail: str = ""
    event: Literal["error"] = field(default="error", repr=False)


@dataclass(frozen=True, config=FINITE)
class Done:
    max_rss: Count
    cpu_seconds: NonNegative | None
    uss: Count | None = None  # the runner's tree, pool still up
    # An existing cluster's workers (not in the tree): peaks sampled around each repeat.
    remote_rss: Count = 0
    remote_uss: Count | None = None
    event: Literal["done"] = field(default="done", repr=False)


@dataclass(frozen=True, config=DEFERRED)
class Facts:
    """The interpreter as the runner sees it once the workload and pool are loaded
    (lab.runner.system.pyfacts): version, build, whether the GIL is on and what turned it on."""

    facts: dict[str, Any]
    event: Literal["facts"] = field(default="facts", repr=False)


RunnerEvent = Ready | Startup | Facts | Progress | RepeatDone | RunnerError | Done


def to_line(message: RunnerEvent) -> str:
    return _encode(message)


_EVENTS = Annotated[RunnerEvent, Field(discriminator="event")]


def from_line(line: str | bytes) -> RunnerEvent:
    found: RunnerEvent = _decode(adapter(_EVENTS), line, "an event")
    return found
