"""A real terminal for the app: the lab runs on a pseudo-terminal, and the test reads the
raw bytes it writes there, escape sequences and all, as a terminal emulator would get them."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class PtyApp:
    """A process on a pty of rows x columns; `output` is every byte it wrote to the terminal."""

    pid: int
    fd: int
    output: bytearray = field(default_factory=bytearray)

    @classmethod
    def start(
        cls, argv: Sequence[str], env: dict[str, str], rows: int = 40, columns: int = 120
    ) -> PtyApp:
        pid, fd = os.forkpty()
        if pid == 0:  # the child: the pty is its terminal (stdin, stdout, stderr)
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
                os.execve(argv[0], list(argv), env)
            finally:
                os._exit(127)
        return cls(pid, fd)

    def read_for(self, seconds: float, until: bytes | None = None) -> bool:
        """Read what the app writes for up to `seconds`; True once `until` has appeared (or,
        without `until`, when the time is up). False when the app closed the terminal."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.1))
            if ready:
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except OSError:  # EIO: every process holding the terminal has gone
                    return False
                if not chunk:
                    return False
                self.output += chunk
            if until is not None and until in self.output:
                return True
        return until is None

    def press(self, keys: str, settle: float = 1.0, quiet: float | None = None) -> None:
        """Type each key, then read for `settle` seconds; with `quiet`, only until the app
        has answered the key (written something) and then written nothing for `quiet` seconds.

        The app answering is what makes the next key safe to type: an escape followed too soon
        by another key is read as one key (escape + enter is alt+enter).
        """
        for key in keys:
            os.write(self.fd, key.encode())
            if quiet is None:
                self.read_for(settle)
            else:
                self._read_until_quiet(settle, quiet)

    def _read_until_quiet(self, seconds: float, quiet: float) -> None:
        deadline = time.monotonic() + seconds
        before = len(self.output)
        while (left := deadline - time.monotonic()) > 0:
            seen = len(self.output)
            answered = seen > before
            if not self.read_for(min(left, quiet if answered else 0.05)):
                return  # the app closed the terminal
            if answered and len(self.output) == seen:
                return

    def finish(self, timeout: float = 20.0) -> int:
        """Quit with `q`, read to the end, and return the exit status (killed if it hangs)."""
        with contextlib.suppress(OSError):  # the app may have closed the terminal already
            os.write(self.fd, b"q")
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            self.read_for(0.2)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                break
        else:
            os.kill(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
        self.read_for(0.2)
        os.close(self.fd)
        assert status is not None
        return os.waitstatus_to_exitcode(status)
