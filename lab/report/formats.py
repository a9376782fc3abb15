"""Report formats: their names, which one a path asks for, and rendering by name.

Renderers are imported when used: `--help`, `--list` and `--check` need the format names
only, and must start fast.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from lab.core.textsafe import safe_text

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


def render(report: Report, fmt: str) -> str:
    """The report in fmt, with URL passwords redacted and control characters escaped: the
    one door every report (file, stdout, the app's export) goes out through."""
    module, name = RENDERERS[fmt]
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
