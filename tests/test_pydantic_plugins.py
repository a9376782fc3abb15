"""`--check` stands in for pydantic's plugin loader: the facts that makes safe, checked against
the installed pydantic, so that an upgrade that changes them fails here and not in a user's check.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from lab.scenario.pydantic_plugins import LOADER, NO_PLUGINS


@pytest.mark.parametrize("value", NO_PLUGINS)
def test_the_real_loader_finds_no_plugin_when_told_none(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic.plugin import _loader

    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", value)
    assert tuple(_loader.get_plugins()) == ()


def test_get_plugins_is_all_pydantic_takes_from_its_loader() -> None:
    uses = []
    for source in Path(pydantic.__file__).parent.rglob("*.py"):
        if source.name == "_loader.py":
            continue
        for line in source.read_text(encoding="utf-8").splitlines():
            if re.search(r"\b_loader\b", line) and not line.lstrip().startswith("#"):
                uses.append(line.strip())
    assert uses == ["from ._loader import get_plugins"]


CHECK_THEN_SAY_WHICH_LOADER = f"""
import contextlib, io, sys
from lab.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["--check", "numeric_crunching"])
loader = sys.modules.get({LOADER!r})
print(code, getattr(loader, "__file__", None) is not None, "importlib.metadata" in sys.modules)
"""


def _check(env_value: str | None) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if env_value is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = env_value
    done = subprocess.run(
        [sys.executable, "-c", CHECK_THEN_SAY_WHICH_LOADER],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    )  # fmt: skip
    return done.stdout.split("\n")[-2]


def test_a_check_uses_the_stand_in_and_never_searches_entry_points() -> None:
    assert _check(None) == "0 False False"


def test_a_user_who_names_plugins_to_disable_keeps_pydantics_loader() -> None:
    # "logfire" disables that plugin only; others still observe, so pydantic must search
    assert _check("logfire") == "0 True True"
