"""Compress generated text with zlib: C code that releases the GIL, so threads should scale."""

from __future__ import annotations

import random
import zlib

CHUNK = 256 * 1024
_TEXT = b""


def prepare() -> None:
    """Once per process, before timing: about 1 MiB of word-like text, the same everywhere."""
    global _TEXT
    rng = random.Random(42)
    words = [bytes(rng.choices(range(97, 123), k=rng.randint(2, 9))) for _ in range(2000)]
    _TEXT = b" ".join(rng.choices(words, k=180_000))


def compress(index: int) -> tuple[tuple[int, int], float]:
    """Task `index` compresses its own 256 KiB slice; counts megabytes read."""
    start = (index * 7919) % (len(_TEXT) - CHUNK)
    data = _TEXT[start : start + CHUNK]
    packed = zlib.compress(data, 6)
    return (len(packed), zlib.crc32(packed)), len(data) / 1e6
