"""Environment for child processes the lab starts (runners, the embedded server)."""

from __future__ import annotations

import os
from pathlib import Path

import lab


def child_env() -> dict[str, str]:
    """The parent's environment, with this copy of the lab importable first.

    Makes `python -m lab.engine.runner` find the same package whether it was installed, installed
    editable, or is being run from a checkout.
    """
    env = dict(os.environ)
    root = str(Path(lab.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env
