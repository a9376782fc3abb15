"""Writing a fleet report: where asked, by the rules every report follows (lab.report.write);
to stdout when that fails, so a fleet's measurements are never lost to a bad path."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TextIO

from lab.core.textsafe import safe_text
from lab.report.formats import render_fleet
from lab.report.write import write_atomic, write_stream
from lab.results.fleet import FleetReport
from lab.scenario.builtins import builtin_paths


def remote_targets(targets: list[str]) -> list[str]:
    """The scenarios as each host is told them: built-in names as they are, files by absolute
    path (the hosts read them there: a shared folder, or the same copy on every host)."""
    names = builtin_paths()
    return [t if t in names else str(Path(t).resolve()) for t in targets]


def write_fleet(report: FleetReport, output: str, fmt: str, stderr: TextIO) -> bool:
    """Whether the report went where asked (else it went to stdout)."""
    text = render_fleet(report, fmt)
    if output == "-":
        write_stream(sys.stdout, text)
        return True
    try:
        write_atomic(Path(output), text)
    except OSError as exc:
        with contextlib.suppress(OSError):
            stderr.write(
                safe_text(f"cannot write the fleet report to {output}: {exc}", one_line=True)
                + "; writing it to stdout\n"
            )
            write_stream(sys.stdout, text)
        return False
    with contextlib.suppress(OSError):
        stderr.write(f"fleet report written to {safe_text(output, one_line=True)}\n")
    return True
