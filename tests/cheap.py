"""Scenarios that are cheap to run: for tests whose subject is not the measurement.

A scenario's own defaults are those of a real measurement: two runner processes per run, a
warmup, 0.1 s of calibration per repeat, eight rounds. A test about the app, a report, a
fault or a safety rule needs none of it: one runner process, no warmup, one pass per repeat,
one round. `cheap()` adds those settings to a scenario's YAML where it leaves them out; a test
about measurement (calibration, rounds, several runner processes) sets them itself, and says so.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import yaml

from lab.scenario.loader import LoadedScenario, parse_scenario

# The settings of a cheap run; a scenario's own value for any of them wins.
CHEAP: dict[str, Any] = {"repeats": 1, "warmups": 0, "processes": 1, "min_time": 0}


def cheap(text: str, **settings: Any) -> str:
    """The scenario's YAML with CHEAP's settings (then `settings`) for the keys it leaves out.

    Appended after its own lines, so an error's line and column still point into the text as
    written.
    """
    text = textwrap.dedent(text)
    given = yaml.safe_load(text) or {}
    missing = {key: value for key, value in {**CHEAP, **settings}.items() if key not in given}
    if not missing:
        return text
    lines = "".join(
        f"{key}: {json.dumps(value)}\n" for key, value in missing.items()
    )  # JSON is YAML
    return (text if text.endswith("\n") else text + "\n") + lines


def cheap_over(text: str, **settings: Any) -> str:
    """The scenario's YAML with CHEAP's settings (then `settings`) over its own values: for a
    shipped scenario (an example) run for what it computes, not for its figures. Rewritten
    whole: its line numbers do not survive."""
    data = yaml.safe_load(textwrap.dedent(text))
    data.update({**CHEAP, **settings})
    return yaml.safe_dump(data, sort_keys=False)


def cheap_scenario(text: str, name: str = "test", **settings: Any) -> LoadedScenario:
    """A LoadedScenario from cheap(text): `name`.yaml, as the loader names files."""
    return parse_scenario(cheap(text, **settings), f"{name}.yaml", name)
