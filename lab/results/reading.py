"""Reading a report back from a file someone hands the lab (`compare`, `view`), as carefully as a
scenario: regular files only, a size cap, UTF-8, strict JSON (no NaN or Infinity), then
validation by the results models themselves (lab.results.model, lab.results.fleet), strict on
types (no "1" for 1), before anything uses it. An error is one line: the file, the field's path
and what was expected.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from lab.core.units import format_bytes
from lab.results.codec import adapter
from lab.results.fleet import FLEET_SCHEMA_ID, FLEET_SCHEMA_VERSION, FleetReport
from lab.results.model import SCHEMA_ID, SCHEMA_VERSION, Report

T = TypeVar("T")

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


def _where(loc: tuple[int | str, ...]) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
    return where.lstrip(".") or "/"


def _problem(error: ErrorDetails) -> str:
    """A validation error as "where: what": the field's path, what it expected, what it got."""
    loc = error["loc"]
    if error["type"] == "missing":
        return f"{_where(loc[:-1])}: missing key {loc[-1]!r}"
    what = error["msg"]
    what = what[:1].lower() + what[1:]
    return f"{_where(loc)}: {what}, got {_show(error['input'])}"


def _validated(cls: type[T], raw: bytes | str) -> T | str:
    """raw as a cls, or its first problem as "where: what"."""
    try:
        found: T = adapter(cls).validate_json(raw, strict=True)
    except ValidationError as exc:
        return _problem(exc.errors(include_url=False)[0])
    return found


def first_problem(value: Any) -> str | None:
    """The first way decoded JSON breaks the report model, as "where: what"; None if none."""
    found = _validated(Report, json.dumps(value, allow_nan=False))
    return found if isinstance(found, str) else None


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
    return _report_from(_parse_json(raw, path), raw, path)


def _report_from(data: Any, raw: bytes, path: str) -> Report:
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
    # The bytes again, now that json.loads vouched for them: pydantic's strict mode takes
    # objects for dataclasses only from JSON (and its parser would let NaN through).
    found = _validated(Report, raw)
    if isinstance(found, str):
        raise ReportInputError(f"{path}: a malformed report ({found})")
    return found


def parse_report_or_fleet(raw: bytes, path: str) -> Report | FleetReport:
    """A Report, or a FleetReport when the file is one; ReportInputError (one line) otherwise."""
    data = _parse_json(raw, path)
    if not isinstance(data, dict) or data.get("schema") != FLEET_SCHEMA_ID:
        return _report_from(data, raw, path)
    if data.get("schema_version") != FLEET_SCHEMA_VERSION:
        raise ReportInputError(
            f"{path}: fleet report schema version {_show(data.get('schema_version'))}; this lab "
            f"reads version {FLEET_SCHEMA_VERSION}"
        )
    found = _validated(FleetReport, raw)
    if isinstance(found, str):
        raise ReportInputError(f"{path}: a malformed fleet report ({found})")
    # Each host's report is kept exactly as the host wrote it (analysis included).
    for host, host_data in zip(found.hosts, data["hosts"], strict=True):
        host.report_json = host_data.get("report")
    return found


def read_report_or_fleet(
    path: str, limit: int = MAX_REPORT_BYTES, what: str = "reports are"
) -> Report | FleetReport:
    """Read and check a report or a fleet report (`compare`, `view`); a file over limit
    bytes is refused before it is read, its message saying `what` are at most limit."""
    return parse_report_or_fleet(_read_bytes(path, limit, what), path)


def read_report(path: str) -> Report:
    """Read and check a report file; ReportInputError (one line) when it is not one."""
    return parse_report(_read_bytes(path), path)
