"""The lab session a fleet host runs: a plain headless lab that dies with the worker that
started it, so a worker killed mid-run leaves nothing running on its host."""

from __future__ import annotations

from lab.engine.system.parent_death import arm_from_env


def main(argv: list[str]) -> int:
    arm_from_env()  # the worker's pid, set by child_env(); its own children follow it in turn
    from lab.cli import main as lab_main

    return lab_main(argv)
