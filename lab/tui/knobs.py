"""The knobs form's logic: scenario <-> form values, validated by the scenario models.

No Textual here: the form widget only shows these values and the errors keyed by field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from lab.scenario.kinds import BY_NAME as KINDS
from lab.scenario.spec import DEFAULT_EXECUTORS, EXECUTOR_NAMES, Scenario

BYTE_FIELDS = {"file_size", "chunk_size", "payload_size"}

FIELDS = ("executors", "workers", "size1", "size2", "repeats", "warmups")


@dataclass(frozen=True)
class KnobValues:
    executors: tuple[str, ...]
    workers: str
    size1: str
    size2: str
    repeats: str
    warmups: str


def _show_bytes(value: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= factor and value % factor == 0:
            return f"{value // factor} {unit}"
    return str(value)


def _show(field: str, value: Any) -> str:
    if field in BYTE_FIELDS and isinstance(value, int):
        return _show_bytes(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def size_fields(scenario: Scenario) -> tuple[str, str]:
    return KINDS[scenario.workload.kind].size_knobs


def field_help(scenario: Scenario, field: str) -> str:
    """The model's own description of a workload field (shown under the input)."""
    info = type(scenario.workload).model_fields.get(field)
    return (info.description or "") if info else ""


def values_of(scenario: Scenario) -> KnobValues:
    first, second = size_fields(scenario)
    workload = scenario.workload
    return KnobValues(
        executors=tuple(scenario.executors),
        workers=", ".join(str(w) for w in scenario.workers),
        size1=_show(first, getattr(workload, first)),
        size2=_show(second, getattr(workload, second)),
        repeats=str(scenario.repeats),
        warmups=str(scenario.warmups),
    )


def _workers(text: str) -> list[str]:
    return [token for token in re.split(r"[\s,]+", text.strip()) if token]


def _field_of(loc: tuple[Any, ...], kind: str) -> str | None:
    if not loc:
        return None
    head = loc[0]
    if head == "workload":
        rest = [p for p in loc[1:] if p != kind]
        first, second = KINDS[kind].size_knobs
        if rest and rest[0] == first:
            return "size1"
        if rest and rest[0] == second:
            return "size2"
        return None
    if head in ("executors", "workers", "repeats", "warmups"):
        return str(head)
    return None


def _message(field: str, error: Any) -> str:
    if field == "workers" and error["type"] not in ("too_short",):
        return "worker counts: whole numbers 1 to 1024 or 'cpus', comma-separated"
    if error["type"] == "int_parsing":
        return "should be a whole number"
    if error["type"] == "float_parsing":
        return "should be a number"
    if field == "executors" and error["type"] == "too_short":
        return "pick at least one executor"
    if field == "workers" and error["type"] == "too_short":
        return "give at least one worker count"
    message = str(error["msg"]).removeprefix("Value error, ").replace("Input should", "should")
    return message[0].lower() + message[1:] if message else message


def apply_knobs(base: Scenario, values: KnobValues) -> tuple[Scenario | None, dict[str, str]]:
    """Validate the form through the Scenario model: the same rules as a YAML file.

    Returns the adjusted scenario, or None and one message per form field in error.
    """
    data = base.model_dump(mode="python")
    kind = base.workload.kind
    first, second = KINDS[kind].size_knobs
    # The form toggles the models of one machine; a scenario's dask runs stay as written.
    kept = [e for e in base.executors if e not in DEFAULT_EXECUTORS]
    data["executors"] = [e for e in EXECUTOR_NAMES if e in values.executors or e in kept]
    data["workers"] = _workers(values.workers)
    data["repeats"] = values.repeats.strip()
    data["warmups"] = values.warmups.strip()
    data["workload"][first] = values.size1.strip()
    data["workload"][second] = values.size2.strip()
    try:
        return Scenario.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = _field_of(tuple(error["loc"]), kind)
            if field is not None and field not in errors:
                errors[field] = _message(field, error)
            elif field is None and "form" not in errors:
                errors["form"] = str(error["msg"])
        return None, errors
