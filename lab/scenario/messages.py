"""Pydantic's validation errors as plain sentences, each at the key and value it is about."""

from __future__ import annotations

import difflib
import re
from typing import Any

import annotated_types
from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

from lab.core.units import format_bytes, parse_size
from lab.scenario.callable_spec import REF_PATTERN
from lab.scenario.kinds import KINDS
from lab.scenario.problems import Problem, clip
from lab.scenario.spec import MAX_WORKERS, LocatedError, Scenario
from lab.scenario.yamlsource import Path_, SourceMap

_WORKLOAD_MODELS: dict[str, type[BaseModel]] = {kind.name: kind.spec_class() for kind in KINDS}


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _workload_model(data: Any) -> type[BaseModel] | None:
    node = data.get("workload") if isinstance(data, dict) else None
    kind = node.get("kind") if isinstance(node, dict) else None
    return _WORKLOAD_MODELS.get(kind) if isinstance(kind, str) else None


def _workload_kind(data: Any) -> Any:
    node = data.get("workload") if isinstance(data, dict) else None
    return node.get("kind") if isinstance(node, dict) else None


def _fields_at(path: Path_, data: Any) -> list[str]:
    """Valid key names of the mapping at path, for 'did you mean' suggestions."""
    if path == ():
        return list(Scenario.model_fields)
    if path == ("workload",):
        model = _workload_model(data)
        return list(model.model_fields) if model else ["kind"]
    return []


def _field(loc: Path_, data: Any) -> FieldInfo | None:
    """The model field a location points at (top-level or workload keys)."""
    if len(loc) == 1 and isinstance(loc[0], str):
        return Scenario.model_fields.get(loc[0])
    if len(loc) == 2 and loc[0] == "workload" and isinstance(loc[1], str):
        model = _workload_model(data)
        return model.model_fields.get(loc[1]) if model else None
    return None


def _number(value: Any, sizes: bool) -> str:
    if sizes and isinstance(value, int) and value >= 1024:
        return f"{value:,} bytes ({format_bytes(value)})"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def _range(field: FieldInfo | None) -> str:
    """'from 1 to 1000', 'more than 0 and at most 600', '' when the field has no bounds."""
    if field is None:
        return ""
    sizes = any(isinstance(m, BeforeValidator) and m.func is parse_size for m in field.metadata)
    low: Any = None
    high: Any = None
    low_open = high_open = False
    for m in field.metadata:
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Gt):
            low, low_open = m.gt, True
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.Lt):
            high, high_open = m.lt, True
    if low is not None and high is not None and not low_open and not high_open:
        return f"from {_number(low, sizes)} to {_number(high, sizes)}"
    parts = []
    if low is not None:
        parts.append(f"{'more than' if low_open else 'at least'} {_number(low, sizes)}")
    if high is not None:
        parts.append(f"{'less than' if high_open else 'at most'} {_number(high, sizes)}")
    return " and ".join(parts)


def show_value(value: Any) -> str:
    """A value as the user wrote it in YAML, short enough for one line."""
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() < 64 else "a very large number"
    if isinstance(value, float):
        return repr(value).replace("inf", ".inf").replace("nan", ".nan")
    if isinstance(value, str):
        return repr(clip(value, 40))
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "int_parsing_size": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list such as [a, b]",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}
_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _expected(err: Any, field: FieldInfo | None) -> str | None:
    """What the value should have been, in plain words; None when the error says it better."""
    kind = err["type"]
    if kind in _TYPE_WORDS:
        words = _TYPE_WORDS[kind]
        if field is not None and field.annotation is int and "number" in words:
            words = "a whole number"
        bounds = _range(field) if words in ("a whole number", "a number") else ""
        return f"{words} {bounds}".strip()
    if kind in _BOUND_ERRORS:
        return _range(field) or err["msg"].removeprefix("Input should be ")
    if kind == "literal_error":
        return f"one of {err.get('ctx', {}).get('expected', '?')}"
    return None


def _message(err: Any, field: FieldInfo | None) -> str:
    """Plain words for one pydantic error, without the value (added by the caller)."""
    kind = err["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        return f"unknown workload kind; expected one of {', '.join(_WORKLOAD_MODELS)}"
    if kind == "union_tag_not_found":
        return f"workload needs a 'kind': one of {', '.join(_WORKLOAD_MODELS)}"
    if kind in ("too_short", "string_too_short"):
        n = err.get("ctx", {}).get("min_length", 1)
        return "must not be empty" if n == 1 else f"needs at least {n} items"
    if kind in ("too_long", "string_too_long"):
        return f"is too long (at most {err.get('ctx', {}).get('max_length', '?')})"
    if kind == "string_pattern_mismatch":
        # Never the raw regular expression: what the key takes, in words.
        if err.get("ctx", {}).get("pattern") == REF_PATTERN:
            return "expected module:function (names of letters, digits and _, joined by dots)"
        described = field.description if field is not None else None
        return f"is not in the expected form: {described}" if described else "is not valid here"
    if kind in _BOUND_ERRORS:
        return f"must be {_expected(err, field)}"
    if kind == "list_type" and isinstance(err.get("input"), str | int | float):
        value = err["input"]
        single = clip(value, 30) if isinstance(value, str) else show_value(value)
        return f"expected a list; for a single value write [{single}]"
    expected = _expected(err, field)
    if expected is not None:
        return f"expected {expected}"
    return str(err["msg"]).removeprefix("Value error, ")


def _with_value(message: str, value: Any) -> str:
    """Append '(got X)' unless the message already shows the value."""
    shown = show_value(value)
    if "for a single value write [" in message or (isinstance(value, str) and shown in message):
        return message
    return f"{message} (got {shown})"


def _suggest(value: Any, choices: list[str]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _strip_branches(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """The key path of an error, without the union branch names pydantic adds to it."""
    # Discriminated unions put the tag into the location: workload.numeric.size -> workload.size
    if len(loc) >= 2 and loc[0] == "workload" and loc[1] in _WORKLOAD_MODELS:
        loc = (loc[0], *loc[2:])
    # int | 'cpus' adds the branch: workers[0].constrained-int -> workers[0]
    if len(loc) == 3 and loc[0] == "workers" and isinstance(loc[1], int):
        loc = loc[:2]
    return loc


def problems_from_errors(
    file: str, errors: list[Any], data: Any, source_map: SourceMap
) -> list[Problem]:
    grouped: dict[tuple[str | int, ...], list[Any]] = {}
    for err in errors:
        located = (err.get("ctx") or {}).get("error")
        if isinstance(located, LocatedError):  # a model validator's, about one key
            err = {key: value for key, value in err.items() if key != "input"}
            grouped.setdefault(located.loc, []).append(err)
            continue
        loc = _strip_branches(tuple(err["loc"]))
        if err["type"] == "union_tag_invalid" and loc == ("workload",):
            loc = ("workload", "kind")
        grouped.setdefault(loc, []).append(err)
    problems = []
    for loc, errs in grouped.items():
        err = errs[0]
        kind = err["type"]
        field = _field(loc, data)
        if kind == "extra_forbidden":
            key = loc[-1]
            choices = _fields_at(loc[:-1], data)
            close = difflib.get_close_matches(str(key), choices, n=1, cutoff=0.5)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else (f"; valid keys: {', '.join(choices)}" if choices else "")
            )
            message = f"unknown key {clip(str(key), 40)!r}{hint}"
            position = source_map.keys.get(loc) or source_map.locate(loc)
        else:
            value = err.get("input")
            hint = ""
            if loc[:1] == ("workers",) and len(loc) == 2:
                # int | 'cpus': one error per branch; say both at once.
                message = f"expected a whole number from 1 to {MAX_WORKERS}, or 'cpus'"
                hint = _suggest(value, ["cpus"])
            elif len(errs) > 1 and all(_expected(e, None) for e in errs):
                message = "expected " + " or ".join(
                    dict.fromkeys(str(_expected(e, None)) for e in errs)
                )
            else:
                message = _message(err, field)
                if isinstance(value, str) and len(value) > 40:
                    # Validators quote the value in full; a screen wants the start of it.
                    message = message.replace(repr(value), show_value(value))
            if kind == "literal_error":
                options = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
                hint = _suggest(value, options)
            elif kind == "union_tag_invalid":
                value = _workload_kind(data)
                hint = _suggest(value, list(_WORKLOAD_MODELS))
            if kind not in ("missing", "union_tag_not_found") and ("input" in err or hint):
                message = _with_value(message, value)
            message += hint
            position = source_map.values.get(loc) or source_map.locate(loc)
        problems.append(
            Problem(
                file,
                position.line if position else None,
                position.column if position else None,
                format_path(loc),
                message,
            )
        )
    return problems
