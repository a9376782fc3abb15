"""The signals that stop a lab: Ctrl+C (SIGINT), SIGTERM, and SIGHUP when the terminal or the
SSH session goes away. Each ends an interrupted lab with 128 + its number (130, 143, 129)."""

from __future__ import annotations

import signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM))


def exit_status(signum: int) -> int:
    """The status of a lab a signal stopped, as a shell reports a command it killed."""
    return 128 + signum
