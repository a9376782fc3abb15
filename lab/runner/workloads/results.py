"""Results of code the lab does not know, compared by value: a hash per task, a short repr.

Hashes must agree across processes, so nothing here depends on `hash()` (randomised per
process for strings), on set or dict order, or on object addresses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import reprlib
import struct
from typing import Any

# Past this many tasks, the per-task record becomes one per group of tasks (still exact, as the
# groups' hashes cover every result, but a difference is then located to a group).
MAX_GROUPS = 1000
REPR_LIMIT = 60

_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3


def short_repr(value: Any) -> str:
    try:
        text = _repr.repr(value)
    except Exception:  # a broken __repr__ must not hide the difference being reported
        text = f"<{type(value).__name__}>"
    return text if len(text) <= REPR_LIMIT else text[: REPR_LIMIT - 1] + "…"


def _blob(tag: bytes, data: bytes) -> bytes:
    # Long payloads go in as their own hash: the canonical form stays small, still exact.
    if len(data) > 4096:
        return tag + b"#" + hashlib.blake2b(data, digest_size=16).digest()
    return tag + str(len(data)).encode() + b":" + data


def _canon(value: Any, depth: int = 0) -> bytes:
    """Unambiguous bytes for a value, equal exactly when the values are equal as data."""
    kind = type(value)
    if kind is int:
        # Bytes, not str(): str() refuses ints past 4,300 digits.
        number: int = value
        return b"i" + number.to_bytes(number.bit_length() // 8 + 1, "little", signed=True) + b";"
    if kind is str:
        return _blob(b"s", value.encode("utf-8", "surrogatepass"))
    if depth > 100:
        raise ValueError("result nested more than 100 levels deep")
    if value is None or isinstance(value, bool):
        return b"N" if value is None else b"T" if value else b"F"
    if isinstance(value, int):
        return _canon(int(value))
    if isinstance(value, float):
        # Bit-exact: executors run the same code, so any difference in a float is real.
        return b"f" + struct.pack("<d", value)
    if isinstance(value, str):
        return _canon(str(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return _blob(b"b", bytes(value))
    if isinstance(value, list | tuple):
        items = [_canon(v, depth + 1) for v in value]
        return _blob(b"l" if isinstance(value, list) else b"t", _joined(items))
    if isinstance(value, dict):
        pairs = [_joined([_canon(k, depth + 1), _canon(v, depth + 1)]) for k, v in value.items()]
        return _blob(b"d", _joined(sorted(pairs)))
    if isinstance(value, set | frozenset):
        return _blob(b"S", _joined(sorted(_canon(v, depth + 1) for v in value)))
    if callable(getattr(value, "tobytes", None)) and not isinstance(value, type):
        # Arrays (array.array, numpy): their repr elides the middle, their bytes do not.
        shape = str(getattr(value, "shape", "")).encode()
        return _blob(b"A" + type(value).__qualname__.encode() + shape, value.tobytes())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _blob(b"D" + type(value).__qualname__.encode(), _canon(fields, depth + 1))
    if hasattr(value, "__dict__") and not callable(value):
        return _blob(b"O" + type(value).__qualname__.encode(), _canon(vars(value), depth + 1))
    return _blob(b"r", repr(value).encode("utf-8", "backslashreplace"))


def _joined(parts: list[bytes]) -> bytes:
    return b"".join(str(len(p)).encode() + b":" + p for p in parts)


def value_hash(value: Any) -> bytes:
    """A result's hash by value: equal for equal numbers, strings, bytes, containers, dataclasses
    and objects' attributes; anything else by its repr()."""
    return hashlib.blake2b(_canon(value), digest_size=8).digest()


def digest_results(hashes: list[bytes], values: dict[int, str]) -> tuple[str, list[str] | None]:
    """The run's digest over the per-task hashes in task order, and, when `values` were kept
    (a run's first pass), per-task (or per-group) records "hash repr" to locate a difference."""
    digest = hashlib.blake2b(b"".join(hashes), digest_size=12).hexdigest()
    if not values:
        return digest, None
    size = max(1, math.ceil(len(hashes) / MAX_GROUPS))
    if size == 1:
        return digest, [f"{h.hex()} {values.get(i, '?')}" for i, h in enumerate(hashes)]
    groups = [
        hashlib.blake2b(b"".join(hashes[i : i + size]), digest_size=8).hexdigest()
        for i in range(0, len(hashes), size)
    ]
    return digest, groups
