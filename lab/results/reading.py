"""Reading a report back from a file someone hands the lab (`compare`), as carefully as a
scenario: regular files only, a size cap, UTF-8, strict JSON (no NaN or Infinity), and every
field checked against the published schema (lab.results.schema) before anything uses it.

jsonschema is only a test dependency, so `first_problem()` implements the few keywords the report
schema uses (type, required, properties, additionalProperties, items, enum, const, minimum);
tests/test_compare_input.py checks that it agrees with jsonschema.
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import stat
from collections.abc import Callable
from typing import Any

from lab.core.units import format_bytes
from lab.results.fleet import FLEET_SCHEMA_ID, FLEET_SCHEMA_VERSION, FleetReport
from lab.results.fleetschema import FLEET_SCHEMA
from lab.results.model import SCHEMA_ID, SCHEMA_VERSION, Report
from lab.results.schema import REPORT_SCHEMA

# A report of 100,000 repeats with latency histograms is tens of MiB; far above that is not
# a report, and reading it would only exhaust memory.
MAX_REPORT_BYTES = 256 * 1024 * 1024


class ReportInputError(Exception):
    """A file that is not a readable report; str() is one line naming the file and why."""


def _read_bytes(path: str, limit: int = MAX_REPORT_BYTES, what: str = "reports are") -> bytes:
    try:
        # O_NONBLOCK: a FIFO opens at once instead of waiting for a writer; fstat then refuses
        # it. The check is on the opened file, so a swap after the check changes nothing.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        why = "a symlink loop" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise ReportInputError(f"{path}: cannot read it ({why})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise ReportInputError(f"{path}: {what}; a report is a JSON file")
        if st.st_size > limit:
            raise ReportInputError(
                f"{path}: the file is {format_bytes(st.st_size)}; {what} at most "
                f"{format_bytes(limit)}"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(raw) > limit:  # grew while being read
        raise ReportInputError(f"{path}: more than {format_bytes(limit)}")
    return raw


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


_TYPES: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: v is True or v is False,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "string": lambda v: type(v) is str,
    "array": lambda v: type(v) is list,
    "object": lambda v: type(v) is dict,
}

# A compiled check: None when the value fits, else (what, path from the innermost key out).
Checker = Callable[[Any], tuple[str, list[str | int]] | None]


def _compile(schema: dict[str, Any]) -> Checker:
    """One closure per schema node, built once: a report of 100,000 repeats is 2 million
    values, so the walk must not re-read the schema at each of them."""
    const, enum = schema.get("const", _ABSENT), schema.get("enum")
    kinds = schema.get("type")
    tests = [_TYPES[k] for k in ([kinds] if isinstance(kinds, str) else kinds or [])]
    minimum = schema.get("minimum")
    required = schema.get("required", [])
    properties = {k: _compile(v) for k, v in schema.get("properties", {}).items()}
    extra = schema.get("additionalProperties")
    extra_check = _compile(extra) if isinstance(extra, dict) else None
    items = _compile(schema["items"]) if "items" in schema else None
    expected = " or ".join([kinds] if isinstance(kinds, str) else kinds or [])

    def run(value: Any) -> tuple[str, list[str | int]] | None:
        if const is not _ABSENT and value != const:
            return f"expected {const!r}, got {_show(value)}", []
        if enum is not None and value not in enum:
            return f"expected one of {enum}, got {_show(value)}", []
        if tests and not any(test(value) for test in tests):
            return f"expected {expected}, got {_show(value)}", []
        if minimum is not None and _TYPES["number"](value) and value < minimum:
            return f"expected at least {minimum}, got {_show(value)}", []
        if type(value) is dict:
            for key in required:
                if key not in value:
                    return f"missing key {key!r}", []
            for key, item in value.items():
                checker = properties.get(key, extra_check)
                if checker is not None and (found := checker(item)) is not None:
                    found[1].append(key)
                    return found
        elif items is not None and type(value) is list:
            for i, item in enumerate(value):
                if (found := items(item)) is not None:
                    found[1].append(i)
                    return found
        return None

    return run


_ABSENT = object()


@functools.cache
def _report_checker() -> Checker:
    return _compile(REPORT_SCHEMA)


def first_problem(value: Any, schema: dict[str, Any] | None = None) -> str | None:
    """The first way value breaks schema (the report schema by default) as "where: what"."""
    found = (_compile(schema) if schema is not None else _report_checker())(value)
    if found is None:
        return None
    what, path = found
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in reversed(path))
    return f"{where.lstrip('.') or '/'}: {what}"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _finite_float(text: str) -> float:
    """No infinities hide in numbers too big for a float (1e999 parses as inf)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a float")
    return value


def _parse_json(raw: bytes, path: str) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportInputError(
            f"{path}: byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8; "
            "not a concurrency-lab report"
        ) from None
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise ReportInputError(f"{path}: not a report (JSON nested too deeply)") from None
    except ValueError as exc:
        raise ReportInputError(
            f"{path}: not JSON ({exc}); write reports with --report FILE.json or --format json"
        ) from None
    return data


def parse_report(raw: bytes, path: str) -> Report:
    """A Report from a file's bytes, or ReportInputError with one line saying what is wrong."""
    return _report_from(_parse_json(raw, path), path)


def _report_from(data: Any, path: str) -> Report:
    if isinstance(data, dict) and data.get("schema") == FLEET_SCHEMA_ID:
        raise ReportInputError(
            f"{path}: a fleet report (one report per host); give one host's report"
        )
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        raise ReportInputError(f'{path}: not a concurrency-lab report (no "schema": "{SCHEMA_ID}")')
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ReportInputError(
            f"{path}: report schema version {_show(data.get('schema_version'))}; this lab "
            f"reads version {SCHEMA_VERSION}"
        )
    problem = first_problem(data)
    if problem is not None:
        raise ReportInputError(f"{path}: a malformed report ({problem})")
    try:
        return Report.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportInputError(
            f"{path}: a malformed report ({type(exc).__name__}: {exc})"
        ) from None


@functools.cache
def _fleet_checker() -> Checker:
    return _compile(FLEET_SCHEMA)


def parse_report_or_fleet(raw: bytes, path: str) -> Report | FleetReport:
    """A Report, or a FleetReport when the file is one; ReportInputError (one line) otherwise."""
    data = _parse_json(raw, path)
    if not isinstance(data, dict) or data.get("schema") != FLEET_SCHEMA_ID:
        return _report_from(data, path)
    if data.get("schema_version") != FLEET_SCHEMA_VERSION:
        raise ReportInputError(
            f"{path}: fleet report schema version {_show(data.get('schema_version'))}; this lab "
            f"reads version {FLEET_SCHEMA_VERSION}"
        )
    found = _fleet_checker()(data)
    if found is not None:
        what, where = found
        at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in reversed(where))
        raise ReportInputError(f"{path}: a malformed fleet report ({at.lstrip('.')}: {what})")
    try:
        return FleetReport.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportInputError(
            f"{path}: a malformed fleet report ({type(exc).__name__}: {exc})"
        ) from None


def read_report_or_fleet(
    path: str, limit: int = MAX_REPORT_BYTES, what: str = "reports are"
) -> Report | FleetReport:
    """Read and check a report or a fleet report (`compare`, `view`); a file over limit
    bytes is refused before it is read, its message saying `what` are at most limit."""
    return parse_report_or_fleet(_read_bytes(path, limit, what), path)


def read_report(path: str) -> Report:
    """Read and check a report file; ReportInputError (one line) when it is not one."""
    return parse_report(_read_bytes(path), path)
