"""Run `python -m lab.runner.main` as the session does: its events on a pipe of their own.

The runner refuses to start without LAB_EVENT_FD; its fds 1 and 2 carry only what the measured
code and its workers write, returned apart from the events.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

from lab.runner.protocol import EVENT_FD_ENV
from lab.runner.system.child_env import child_env


def run_runner(
    spec: dict[str, Any] | str, env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, list[dict[str, Any]], str]:
    """Its exit code, its events (parsed) and what it wrote on fds 1 and 2."""
    read_end, write_end = os.pipe()
    env = dict(env or child_env())
    env[EVENT_FD_ENV] = str(write_end)
    chunks: list[bytes] = []

    def drain() -> None:
        with os.fdopen(read_end, "rb") as events:
            while chunk := events.read(65536):
                chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "lab.runner.main"],
            input=spec if isinstance(spec, str) else json.dumps(spec),
            capture_output=True, text=True, env=env, timeout=timeout, pass_fds=(write_end,),
        )  # fmt: skip
    finally:
        os.close(write_end)
    reader.join(timeout)
    lines = b"".join(chunks).decode().splitlines()
    return proc.returncode, [json.loads(line) for line in lines], proc.stdout + proc.stderr
