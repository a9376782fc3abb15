"""One pydantic TypeAdapter per results class: the JSON of a report and of a runner message
is the model's own (de)serialisation, never a second hand-written copy of its fields."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ConfigDict, Field, TypeAdapter

T = TypeVar("T")

# Every model builds its validator and serializer when first used, not when its module is
# imported: a runner (one per run) uses a few message classes and never the report's.
DEFERRED = ConfigDict(defer_build=True)
# Measurements cross a process boundary as JSON, which has no NaN or infinity: neither may
# enter a record from a runner or a file.
FINITE = ConfigDict(defer_build=True, allow_inf_nan=False)


def _absent(value: object) -> bool:
    """Left out of the JSON: as in reports made before the field existed."""
    return value is None or value == [] or value == "" or value == {}


# A field's annotation (`Annotated[T, Omitted]`): no key in the JSON where it holds nothing.
Omitted = Field(exclude_if=_absent)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def adapter(cls: Any) -> TypeAdapter[Any]:
    """cls's adapter, built once (building one costs milliseconds; using it, microseconds)."""
    found = _ADAPTERS.get(cls)
    if found is None:
        found = _ADAPTERS[cls] = TypeAdapter(cls)
    return found


def dump(value: object) -> dict[str, Any]:
    """value as the JSON object a report holds (keys left out where the model says so)."""
    data: dict[str, Any] = adapter(type(value)).dump_python(value, mode="json")
    return data


def load(cls: type[T], data: dict[str, Any]) -> T:
    """data (decoded JSON) as a cls, with JSON's types taken strictly: no "1" for 1.

    Through JSON text because pydantic's strict mode accepts objects for dataclasses only
    from JSON; the report reader validates the file's bytes directly (lab.results.reading).
    """
    found: T = adapter(cls).validate_json(json.dumps(data, allow_nan=False), strict=True)
    return found
