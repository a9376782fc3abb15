"""`python -m lab` and the `concurrency-lab` command: the CLI, imported inside a Ctrl+C guard.

The console script imports this module, then calls main(); the CLI's own modules load inside
it, so a Ctrl+C while they load is an interrupt (130, one line), never a traceback.

Once the command is over, a stop signal still ends the lab with a status, never as a death by
signal: see `finished` and `leave_without_finalising`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys

from lab.core.exit_codes import EXIT_INTERRUPTED
from lab.core.stopping import STOP_SIGNALS, exit_status

_exit_code: int | None = None


def main() -> int:
    guard_exit()
    try:
        from lab.cli import main as cli_main
    except KeyboardInterrupt:
        print("interrupted; nothing ran", file=sys.stderr)
        return finished(EXIT_INTERRUPTED)
    try:
        code = cli_main()
    except KeyboardInterrupt:  # in the instant between the command's own handlers and here
        code = EXIT_INTERRUPTED
    return finished(code)


def guard_exit() -> None:
    """Register the last exit handler, before anything else can register one (they run in
    reverse order of registration)."""
    atexit.register(leave_without_finalising)


def finished(code: int) -> int:
    """The command is over, its report written: from here a stop signal ends the process at
    once with 128 + its number, as an interrupted command. Without this, one landing now would
    raise a KeyboardInterrupt into the exit handlers, or kill the lab outright once Python has
    put the signals' default actions back as it finalises (exit -2 for finished work)."""
    global _exit_code
    _exit_code = code
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop)
    return code


def _stop(signum: int, frame: object) -> None:
    _flush()
    os._exit(exit_status(signum))


def leave_without_finalising() -> None:
    """The last exit handler: the lab has written and closed its report, reaped its children
    and run every other exit handler; what the interpreter would still do (free every object,
    unload every module) takes tens of milliseconds in which SIGINT's default action is back.
    So exit now, with the command's status. After an uncaught exception (no status yet) the
    usual exit goes on."""
    if _exit_code is None:
        return
    _flush()
    os._exit(_exit_code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # closed, or a reader that left
            if stream is not None:
                stream.flush()


if __name__ == "__main__":
    raise SystemExit(main())
