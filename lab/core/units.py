"""Human-friendly sizes in scenario files ("64 KiB", "1MB", 4096)."""

from __future__ import annotations

import math
import re
from typing import Any

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: Any) -> Any:
    """Turn '64 KiB' into 65536; anything that is not a size string is left for pydantic."""
    if isinstance(value, str):
        match = _SIZE.match(value)
        if not match or match.group(2).lower() not in _UNITS:
            raise ValueError(
                f"{value!r} is not a size: use bytes or a unit such as '64 KiB', '1 MB'"
            )
        number = float(match.group(1)) * _UNITS[match.group(2).lower()]
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is too large to be a size")
        return int(number)
    return value


def format_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def format_seconds(s: float | None) -> str:
    """Seconds with three significant figures in the unit that fits: 1.23 s, 500 ms, 12.5 µs."""
    if s is None:
        return "–"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    return f"{s * 1e6:.1f} µs" if s < 1e-5 else f"{s * 1e6:.0f} µs"


def format_ratio(ratio: float | None) -> str:
    """A speedup or slowdown factor: 3.29x, 12.5x."""
    return "–" if ratio is None else f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def format_rate(value: float, unit: str) -> str:
    """A throughput to three significant figures: 2.5 tasks/s, 1,234 tasks/s, 70.3 k tasks/s,
    3.55 M tasks/s. A rate measured to a few percent has no seventh digit worth printing."""
    magnitude = abs(value)
    if magnitude < 9999.5:
        text = f"{value:,.0f}" if magnitude >= 99.95 else f"{value:.3g}"
        return f"{text} {unit}/s"
    for divisor, prefix in ((1e3, "k"), (1e6, "M"), (1e9, "G")):
        scaled = value / divisor
        if abs(scaled) < 999.5 or prefix == "G":
            decimals = 2 if abs(scaled) < 9.995 else 1 if abs(scaled) < 99.95 else 0
            return f"{scaled:.{decimals}f} {prefix} {unit}/s"
    raise AssertionError("unreachable: G takes every larger value")


def format_bytes_delta(count: float | None) -> str:
    """A signed memory difference: +1.2 MiB, −300 KiB."""
    if count is None:
        return "–"
    sign = "+" if count >= 0 else "−"
    return sign + format_bytes(abs(count))


def format_number(x: float | None, digits: int = 3) -> str:
    """A plain figure: 1,234 or 0.0123 or 1.2e-05."""
    if x is None:
        return "–"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) < 1e-3:
        return f"{x:.1e}"
    return f"{x:.{digits}g}"


def format_eta(seconds: float | None) -> str:
    """Time left of a run or session: ETA 42s, ETA 3:05."""
    if seconds is None:
        return "ETA –"
    whole = int(seconds + 0.5)
    return f"ETA {whole // 60}:{whole % 60:02d}" if whole >= 60 else f"ETA {whole}s"


def plural(count: int, noun: str) -> str:
    """A count and its noun: 1 run, 2 runs, 0 runs."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def format_p(p: float) -> str:
    """A p-value as a reader can use it: p = 0.031, p < 0.001, p > 0.99 (never "p=1")."""
    if p < 0.001:
        return "p < 0.001"
    if p > 0.99:
        return "p > 0.99"
    return f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}"
