"""A scenario's `interpreters:` key: the Pythons its matrix runs under (lab.engine.interpreters)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class InterpreterAxis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    interpreters: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        # Not `list`: pydantic reads each factory's signature, and for a builtin that parses
        # its text signature with tokenize, whose regex alone costs ~5 ms of `--check`.
        default_factory=lambda: [],
        description="Pythons to run the matrix under, each one more axis (names on PATH, e.g. "
        "python3.13, or paths); --python overrides it; default: the lab's own Python",
    )
