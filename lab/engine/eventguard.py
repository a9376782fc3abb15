"""What a runner may say, and when: the session's check on its event stream.

The events come from the runner's own pipe, out of reach of the measured code by accident; this
check makes the rest of the way hold: only the messages the plan allows, in its order and
counts. (Each message's fields were validated when its line was decoded: lab.runner.protocol.)
One ready, one startup, facts once, the configured warmups, one repeat per repeat asked for (its
index and round those of the command), done once after the close. Anything else means the
stream cannot be trusted, and the run fails with the reason, never a result.
"""

from __future__ import annotations

from collections import deque
from typing import assert_never

from lab.results.repeat import RepeatRecord
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
        match message:
            case RunSpec():
                self.warmups, self.at_once = message.warmups, message.repeats
            case MeasureCommand():
                self.asked.append(message)
            case CloseCommand():
                self.closing = True
            case _:
                assert_never(message)

    def check(self, event: RunnerEvent) -> None:
        """Raise StreamCorrupted when `event` is not what the plan allows now."""
        name = type(event).__name__
        if self.ended:
            raise StreamCorrupted(f"a {name} event after the runner's last one")
        match event:
            case RunnerError():  # possible at any moment, even before ready
                self.ended = True
            case Ready():
                if self.seen_ready:
                    raise StreamCorrupted("a second ready event")
                self.seen_ready = True
            case Startup():
                self._after_ready(name)
                if self.seen_startup:
                    raise StreamCorrupted("a second startup event")
                self.seen_startup = True
            case Facts():
                self._after_startup(name)
                if self.seen_facts:
                    raise StreamCorrupted("a second facts event")
                self.seen_facts = True
            case Progress():
                self._after_startup(name)
            case RepeatDone():
                self._after_startup(name)
                self._repeat(event.record)
            case Done():
                self._after_startup(name)
                if not self.closing or self.asked or self.warmups_seen < self.warmups:
                    raise StreamCorrupted("a done event before the run was closed")
                self.ended = True
            case _:
                assert_never(event)

    def _after_ready(self, name: str) -> None:
        if not self.seen_ready:
            raise StreamCorrupted(f"a {name} event before ready")

    def _after_startup(self, name: str) -> None:
        self._after_ready(name)
        if not self.seen_startup:
            raise StreamCorrupted(f"a {name} event before startup")

    def _repeat(self, record: RepeatRecord) -> None:
        if record.wall_seconds <= 0:
            raise StreamCorrupted(f"{record.phase} {record.index} took no time")
        if record.phase == "warmup":
            if self.warmups_seen >= self.warmups:
                raise StreamCorrupted(f"more warmups than the {self.warmups} configured")
            if record.index != self.warmups_seen:
                raise StreamCorrupted(f"warmup {record.index} where {self.warmups_seen} was due")
            self.warmups_seen += 1
            return
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
