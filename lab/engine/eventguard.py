"""What a runner may say, and when: the session's check on its event stream.

The events come from the runner's own pipe, out of reach of the measured code by accident; this
check makes the rest of the way hold: only the messages the plan allows, in its order and
counts, with fields of the right types. One ready, one startup, facts once, the configured
warmups, one repeat per repeat asked for (its index and round those of the command), done once
after the close. Anything else means the stream cannot be trusted, and the run fails with
the reason, never a result.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import fields
from typing import Any

from lab.results.model import RepeatRecord
from lab.runner.protocol import (
    CloseCommand,
    Command,
    Done,
    Facts,
    MeasureCommand,
    Progress,
    Ready,
    RepeatDone,
    RunnerError,
    RunnerEvent,
    RunSpec,
    Startup,
)

CORRUPTED = "the runner's event stream was corrupted"
CORRUPTED_KIND = "corrupted_stream"  # the RunError kind of a run failed for it


class StreamCorrupted(Exception):
    """An event the plan does not allow here; the message says what was wrong."""


def _number(value: Any, name: str, *, whole: bool = False, optional: bool = False) -> None:
    if value is None and optional:
        return
    kinds: tuple[type, ...] = (int,) if whole else (int, float)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not isinstance(value, kinds)
    ):
        expected = "a whole number" if whole else "a number"
        raise StreamCorrupted(f"{name} is {type(value).__name__}, not {expected}")
    if not math.isfinite(value) or value < 0:
        raise StreamCorrupted(f"{name} is {value!r}, not a finite number >= 0")


def _record(record: RepeatRecord) -> None:
    """The fields of a repeat record, typed as the runner writes them."""
    for name in ("wall_seconds", "cpu_user", "cpu_system", "amount"):
        _number(getattr(record, name), f"{record.phase} {name}")
    for name in ("index", "tasks", "loops"):
        _number(getattr(record, name), f"{record.phase} {name}", whole=True)
    if record.loops < 1 or record.wall_seconds <= 0:
        raise StreamCorrupted(f"{record.phase} {record.index} took no time or no pass")
    if record.digest is not None and not isinstance(record.digest, str):
        raise StreamCorrupted(f"{record.phase} digest is not text")
    errors = record.errors
    if not isinstance(errors, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in errors.items()
    ):
        raise StreamCorrupted(f"{record.phase} errors are not counts by kind")
    if record.latency is not None and not isinstance(record.latency, dict):
        raise StreamCorrupted(f"{record.phase} latency is not a histogram")
    results = record.results
    if results is not None and not (
        isinstance(results, list) and all(isinstance(r, str) for r in results)
    ):
        raise StreamCorrupted(f"{record.phase} results are not text")


def _typed(event: RunnerEvent) -> None:
    """Simple messages: every field a number (or text) of the declared kind."""
    if isinstance(event, Ready):
        _number(event.pid, "ready pid", whole=True)
        _number(event.rss, "ready rss", whole=True)
    elif isinstance(event, Startup):
        _number(event.seconds, "startup seconds")
        _number(event.chunk_size, "startup chunk_size", whole=True, optional=True)
    elif isinstance(event, Facts):
        if not isinstance(event.facts, dict):
            raise StreamCorrupted("facts is not an object")
    elif isinstance(event, Progress):
        if event.phase not in ("warmup", "repeat"):
            raise StreamCorrupted(f"progress of an unknown phase {str(event.phase)[:40]!r}")
        for name in ("repeat", "done", "total"):
            _number(getattr(event, name), f"progress {name}", whole=True)
        _number(event.elapsed, "progress elapsed")
    elif isinstance(event, RunnerError):
        for f in fields(event):
            if not isinstance(getattr(event, f.name), str):
                raise StreamCorrupted(f"error {f.name} is not text")
    elif isinstance(event, Done):
        _number(event.max_rss, "done max_rss", whole=True)
        _number(event.cpu_seconds, "done cpu_seconds", optional=True)
        _number(event.uss, "done uss", whole=True, optional=True)
        _number(event.remote_rss, "done remote_rss", whole=True)
        _number(event.remote_uss, "done remote_uss", whole=True, optional=True)
    elif isinstance(event, RepeatDone):
        _record(event.record)


class EventGuard:
    """Follows what the session asked a runner for (`sent`) and checks each event (`check`)."""

    def __init__(self) -> None:
        self.warmups = 0  # the spec's
        self.at_once = 0  # repeats the spec asks for at once (no rounds)
        self.asked: deque[MeasureCommand] = deque()
        self.closing = False
        self.seen_ready = self.seen_startup = self.seen_facts = False
        self.warmups_seen = 0
        self.repeats_seen = 0  # of those asked at once
        self.ended = False  # done or error came

    def sent(self, message: RunSpec | Command) -> None:
        if isinstance(message, RunSpec):
            self.warmups, self.at_once = message.warmups, message.repeats
        elif isinstance(message, MeasureCommand):
            self.asked.append(message)
        elif isinstance(message, CloseCommand):
            self.closing = True

    def check(self, event: RunnerEvent) -> None:
        """Raise StreamCorrupted when `event` is not what the plan allows now."""
        name = type(event).__name__
        if self.ended:
            raise StreamCorrupted(f"a {name} event after the runner's last one")
        _typed(event)
        if isinstance(event, RunnerError):  # possible at any moment, even before ready
            self.ended = True
            return
        if isinstance(event, Ready):
            if self.seen_ready:
                raise StreamCorrupted("a second ready event")
            self.seen_ready = True
            return
        if not self.seen_ready:
            raise StreamCorrupted(f"a {name} event before ready")
        if isinstance(event, Startup):
            if self.seen_startup:
                raise StreamCorrupted("a second startup event")
            self.seen_startup = True
            return
        if not self.seen_startup:
            raise StreamCorrupted(f"a {name} event before startup")
        if isinstance(event, Facts):
            if self.seen_facts:
                raise StreamCorrupted("a second facts event")
            self.seen_facts = True
        elif isinstance(event, RepeatDone):
            self._repeat(event.record)
        elif isinstance(event, Done):
            if not self.closing or self.asked or self.warmups_seen < self.warmups:
                raise StreamCorrupted("a done event before the run was closed")
            self.ended = True

    def _repeat(self, record: RepeatRecord) -> None:
        if record.phase == "warmup":
            if self.warmups_seen >= self.warmups:
                raise StreamCorrupted(f"more warmups than the {self.warmups} configured")
            if record.index != self.warmups_seen:
                raise StreamCorrupted(f"warmup {record.index} where {self.warmups_seen} was due")
            self.warmups_seen += 1
            return
        if record.phase != "repeat":
            raise StreamCorrupted(f"a record of an unknown phase {str(record.phase)[:40]!r}")
        if self.warmups_seen < self.warmups:
            raise StreamCorrupted("a repeat before the configured warmups")
        if self.repeats_seen < self.at_once:
            if record.index != self.repeats_seen or record.round is not None:
                raise StreamCorrupted(f"repeat {record.index} where {self.repeats_seen} was due")
            self.repeats_seen += 1
            return
        if not self.asked:
            raise StreamCorrupted("a repeat that was not asked for")
        command = self.asked[0]
        if (record.index, record.round) != (command.index, command.round):
            raise StreamCorrupted(
                f"repeat {record.index} of round {record.round} where repeat "
                f"{command.index} of round {command.round} was asked for"
            )
        self.asked.popleft()
