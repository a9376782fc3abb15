"""--help, --version and --list start fast: they never import pydantic, the engine or a renderer.

Timing lives in benchmarks/startup.py; this checks the cause (what gets imported), which
does not depend on how busy the machine is.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pydantic", "psutil", "aiohttp", "textual", "lab.scenario.loader", "lab.engine",
         "lab.analysis", "lab.report.markdown", "lab.results")  # fmt: skip

PROBE = """
import contextlib, io, json, sys
from lab.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {h.split('.')[0] for h in HEAVY}
               and any(m == h or m.startswith(h + '.') for h in HEAVY))
print(json.dumps({"code": code, "heavy": heavy, "out": out.getvalue()}))
"""


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["--list"]])
def test_quick_commands_import_nothing_heavy(argv: list[str]) -> None:
    import json

    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", *argv],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None)
    assert result["heavy"] == []
    if argv == ["--list"]:
        assert "numeric_crunching" in result["out"] and "crunching" in result["out"].lower()


def test_list_titles_match_the_validated_scenarios() -> None:
    from lab.scenario.builtins import builtin_titles
    from lab.scenario.loader import load_builtins

    assert builtin_titles() == {s.name: s.scenario.title for s in load_builtins()}
