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


def _feed(h: Any, value: Any, depth: int = 0) -> None:
    if depth > 100:
        raise ValueError("result nested more than 100 levels deep")
    if value is None or isinstance(value, bool):
        h.update(b"N" if value is None else b"T" if value else b"F")
    elif isinstance(value, int):
        # Bytes, not str(): str() refuses ints past 4,300 digits.
        data = value.to_bytes(value.bit_length() // 8 + 1, "little", signed=True)
        h.update(b"i" + str(len(data)).encode() + b":" + data)
    elif isinstance(value, float):
        # Bit-exact: executors run the same code, so any difference in a float is real.
        h.update(b"f" + struct.pack("<d", value))
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        h.update(b"s" + str(len(data)).encode() + b":" + data)
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        h.update(b"b" + str(len(data)).encode() + b":" + data)
    elif isinstance(value, list | tuple):
        h.update((b"l" if isinstance(value, list) else b"t") + str(len(value)).encode() + b"[")
        for item in value:
            _feed(h, item, depth + 1)
        h.update(b"]")
    elif isinstance(value, dict):
        items = sorted(_item_hash(k) + _item_hash(v) for k, v in value.items())
        h.update(b"d" + str(len(items)).encode() + b"{" + b"".join(items) + b"}")
    elif isinstance(value, set | frozenset):
        h.update(b"S" + str(len(value)).encode() + b"{")
        h.update(b"".join(sorted(_item_hash(v) for v in value)) + b"}")
    elif callable(getattr(value, "tobytes", None)) and not isinstance(value, type):
        # Arrays (array.array, numpy): their repr elides the middle, their bytes do not.
        shape = str(getattr(value, "shape", "")).encode()
        h.update(b"A" + type(value).__qualname__.encode() + shape + b":" + value.tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(b"D" + type(value).__qualname__.encode() + b"(")
        _feed(h, {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, depth + 1)
    elif hasattr(value, "__dict__") and not callable(value):
        h.update(b"O" + type(value).__qualname__.encode() + b"(")
        _feed(h, vars(value), depth + 1)
    else:
        h.update(b"r" + repr(value).encode("utf-8", "backslashreplace"))


def _item_hash(value: Any) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    _feed(h, value)
    return h.digest()


def value_hash(value: Any) -> bytes:
    """A result's hash by value: equal for equal numbers, strings, bytes, containers, dataclasses
    and objects' attributes; anything else by its repr()."""
    return _item_hash(value)[:8]


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
