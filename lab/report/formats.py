"""Report formats: their names, which one a path asks for, and rendering by name.

Renderers are imported when used: `--help`, `--list` and `--check` need the format names
only, and must start fast.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from lab.core.textsafe import map_strings, markdown_line, safe_text

if TYPE_CHECKING:
    from lab.results.fleet import FleetReport
    from lab.results.model import Report

FORMATS = ("json", "md", "csv", "html")

# format -> (module, function); HTML pulls in pygal, so it is never imported for the others.
RENDERERS: dict[str, tuple[str, str]] = {
    "json": ("lab.report.jsonfile", "to_json"),
    "md": ("lab.report.markdown", "to_markdown"),
    "csv": ("lab.report.csvfile", "to_csv"),
    "html": ("lab.report.html", "to_html"),
}


def _one_line(text: str) -> str:
    return safe_text(text, one_line=True)


# Every string of a report passes through its format's sanitiser before a renderer picks its
# fields, so a field a renderer forgets is still safe; renderers escape what their syntax
# needs on top (`|` in Markdown cells, `<` in HTML, formulas in CSV: lab.core.textsafe).
# JSON keeps the data exact: json.dumps escapes every control character itself.
PRE_SANITISERS = {"md": markdown_line, "csv": _one_line, "html": safe_text}


def render(report: Report, fmt: str) -> str:
    """The report in fmt, with URL passwords redacted and control and format characters
    escaped: the one door every report (file, stdout, the app's export) goes out through."""
    module, name = RENDERERS[fmt]
    if fmt in PRE_SANITISERS:
        report = map_strings(report, PRE_SANITISERS[fmt])
    text: str = getattr(importlib.import_module(module), name)(report)
    return safe_text(text)


FLEET_RENDERERS: dict[str, str] = {
    "json": "to_fleet_json",
    "md": "to_fleet_markdown",
    "csv": "to_fleet_csv",
    "html": "to_fleet_html",
}


def render_fleet(fleet: FleetReport, fmt: str) -> str:
    """A fleet report in fmt, through the same escaping as every other report."""
    module = importlib.import_module("lab.report.fleetformats")
    if fmt in PRE_SANITISERS:
        fleet = map_strings(fleet, PRE_SANITISERS[fmt])
    text: str = getattr(module, FLEET_RENDERERS[fmt])(fleet)
    return safe_text(text)


def format_for_path(path: str, default: str = "md") -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    aliases = {
        "markdown": "md",
        "json": "json",
        "csv": "csv",
        "md": "md",
        "html": "html",
        "htm": "html",
    }
    return aliases.get(suffix, default)
