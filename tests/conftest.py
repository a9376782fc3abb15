from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from lab.loader import LoadedScenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def make_scenario() -> Callable[..., LoadedScenario]:
    """Build a LoadedScenario from YAML text (dedented)."""

    def build(text: str, name: str = "test") -> LoadedScenario:
        return parse_scenario(textwrap.dedent(text), f"{name}.yaml", name)

    return build


@pytest.fixture
def lab_cmd() -> list[str]:
    return [sys.executable, "-m", "lab"]
