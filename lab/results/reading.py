"""Reading a report back from a file someone hands the lab (`compare`), as carefully as a
scenario: regular files only, a size cap, UTF-8, strict JSON (no NaN or Infinity), and every
field checked against the published schema (lab.results.schema) before anything uses it.

jsonschema is only a test dependency, so `check()` implements the few keywords the report
schema uses (type, required, properties, additionalProperties, items, enum, const, minimum);
tests/test_compare_input.py checks that it agrees with jsonschema.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from collections.abc import Iterator
from typing import Any

from lab.core.units import format_bytes
from lab.results.model import SCHEMA_ID, SCHEMA_VERSION, Report
from lab.results.schema import REPORT_SCHEMA

# A report of 100,000 repeats with latency histograms is tens of MiB; far above that is not
# a report, and reading it would only exhaust memory.
MAX_REPORT_BYTES = 256 * 1024 * 1024


class ReportInputError(Exception):
    """A file that is not a readable report; str() is one line naming the file and why."""


def _read_bytes(path: str) -> bytes:
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
        if st.st_size > MAX_REPORT_BYTES:
            raise ReportInputError(
                f"{path}: the file is {format_bytes(st.st_size)}; reports are at most "
                f"{format_bytes(MAX_REPORT_BYTES)}"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_REPORT_BYTES and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_REPORT_BYTES:  # grew while being read
        raise ReportInputError(f"{path}: more than {format_bytes(MAX_REPORT_BYTES)}")
    return raw


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    raise AssertionError(f"schema type {kind!r} is not handled")


def _where(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "/"


def check(value: Any, schema: dict[str, Any], path: tuple[str | int, ...] = ()) -> Iterator[str]:
    """Every way value breaks schema, as "where: what" lines (the first is enough to refuse)."""
    if "const" in schema and value != schema["const"]:
        yield f"{_where(path)}: expected {schema['const']!r}, got {_show(value)}"
        return
    if "enum" in schema and value not in schema["enum"]:
        yield f"{_where(path)}: expected one of {schema['enum']}, got {_show(value)}"
        return
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_type_ok(value, k) for k in kinds):
            yield f"{_where(path)}: expected {' or '.join(kinds)}, got {_show(value)}"
            return
    if "minimum" in schema and _type_ok(value, "number") and value < schema["minimum"]:
        yield f"{_where(path)}: expected at least {schema['minimum']}, got {_show(value)}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                yield f"{_where(path)}: missing key {key!r}"
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                yield from check(item, properties[key], (*path, key))
            elif isinstance(extra, dict):
                yield from check(item, extra, (*path, key))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            yield from check(item, schema["items"], (*path, i))


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _finite(value: Any) -> bool:
    """No infinities hide in numbers too big for a float (1e999 parses as inf)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def parse_report(raw: bytes, path: str) -> Report:
    """A Report from a file's bytes, or ReportInputError with one line saying what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportInputError(
            f"{path}: byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8; "
            "not a concurrency-lab report"
        ) from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ReportInputError(f"{path}: not a report (JSON nested too deeply)") from None
    except ValueError as exc:
        raise ReportInputError(
            f"{path}: not JSON ({exc}); write reports with --report FILE.json or --format json"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        raise ReportInputError(f'{path}: not a concurrency-lab report (no "schema": "{SCHEMA_ID}")')
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ReportInputError(
            f"{path}: report schema version {_show(data.get('schema_version'))}; this lab "
            f"reads version {SCHEMA_VERSION}"
        )
    if not _finite(data):
        raise ReportInputError(f"{path}: a malformed report (a number too large for a float)")
    problem = next(check(data, REPORT_SCHEMA), None)
    if problem is not None:
        raise ReportInputError(f"{path}: a malformed report ({problem})")
    try:
        return Report.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportInputError(
            f"{path}: a malformed report ({type(exc).__name__}: {exc})"
        ) from None


def read_report(path: str) -> Report:
    """Read and check a report file; ReportInputError (one line) when it is not one."""
    return parse_report(_read_bytes(path), path)
