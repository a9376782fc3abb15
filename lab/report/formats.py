"""Render a Report as JSON, Markdown, CSV or HTML, and write it atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab.report.csvfile import to_csv
from lab.report.jsonfile import to_json
from lab.report.markdown import to_markdown
from lab.results.model import Report

FORMATS = ("json", "md", "csv", "html")


def to_html(report: Report) -> str:
    from lab.report.html import to_html as render_html  # pygal is loaded only for HTML

    return render_html(report)


RENDERERS: dict[str, Callable[[Report], str]] = {
    "json": to_json,
    "md": to_markdown,
    "csv": to_csv,
    "html": to_html,
}


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)


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
