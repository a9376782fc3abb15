"""Warnings as they travel in results: one plain sentence, a code, and the run it is about."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict  # pydantic needs it below Python 3.12


class Notice(TypedDict):
    code: str
    message: str
    run_id: NotRequired[str]
    detail: NotRequired[str]  # what a grouped list shows after the group's sentence


def notice(code: str, message: str, run_id: str | None = None) -> Notice:
    data = Notice(code=code, message=message)
    if run_id is not None:
        data["run_id"] = run_id
    return data
