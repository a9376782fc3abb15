"""The lab's exit codes, the same for every command. What each means for the user is said once,
in the command's help (lab.cli.parser, shown in docs/reference/cli.md); `compare` adds its own
(lab.compare.main)."""

from __future__ import annotations

import signal

from lab.core.stopping import exit_status

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = exit_status(signal.SIGINT)
EXIT_READER_LEFT = exit_status(signal.SIGPIPE)
