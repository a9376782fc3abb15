"""Latency histograms of the open loop: HDR (High Dynamic Range) histograms from `hdrh`.

Bounded memory whatever the request count, three significant digits (about 0.1%), and
mergeable: the workers of a pool, the passes and the repeats of a run add up exactly. Values
are recorded in microseconds; a value past the range is recorded at its top, and the exact
maximum is kept beside the histogram.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from typing import TYPE_CHECKING

from typing_extensions import TypedDict  # pydantic validates it (lab.results.openloop)

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600 * 1_000_000  # one hour: past any request_timeout plus any schedule
SIGNIFICANT_DIGITS = 3
# An encoded histogram from a report is untrusted: bounded before it is decoded.
MAX_ENCODED = 1_000_000
MAX_DECODED = 4_000_000
# hdrh's V2 payload header (cookie, length, normalizing offset, significant digits, lowest and
# highest trackable value, conversion ratio), big-endian, after an 8-byte outer header.
_PAYLOAD_HEADER = struct.Struct(">IIIIQQd")

# An open-loop request sent more than this after its scheduled time counts as sent late.
LATE_AFTER = 0.001

PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9))


class LatencyPercentiles(TypedDict):
    """Seconds; None where nothing was recorded."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    p999: float | None
    max: float | None


class BadHistogram(ValueError):
    """An encoded histogram that does not decode (a corrupted or hand-edited report)."""


def _check_encoded(raw: bytes) -> None:
    """Refuse, before hdrh sees it, an encoding that would decompress past MAX_DECODED bytes
    (a zip bomb) or that declares another range than the lab records (a huge counts array)."""
    if len(raw) < 8:
        raise BadHistogram("an encoded histogram is too short")
    inflate = zlib.decompressobj()
    try:
        payload = inflate.decompress(raw[8:], MAX_DECODED)
    except zlib.error as exc:
        raise BadHistogram(f"an encoded histogram does not decompress: {exc}") from None
    if inflate.unconsumed_tail:
        raise BadHistogram(f"an encoded histogram decompresses past {MAX_DECODED:,} bytes")
    if len(payload) < _PAYLOAD_HEADER.size:
        raise BadHistogram("an encoded histogram's payload is too short")
    _, _, _, digits, lowest, highest, _ = _PAYLOAD_HEADER.unpack_from(payload)
    if (digits, lowest, highest) != (SIGNIFICANT_DIGITS, LOWEST_US, HIGHEST_US):
        raise BadHistogram(
            "an encoded histogram covers another range than the lab records "
            f"({lowest}-{highest} µs at {digits} digits)"
        )


def _new() -> HdrHistogram:
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


class LatencyHistogram:
    """Latencies in seconds, held as an HDR histogram of microseconds."""

    def __init__(self) -> None:
        self.hdr = _new()
        self.maximum = 0.0

    @property
    def count(self) -> int:
        return int(self.hdr.get_total_count())

    def add(self, seconds: float) -> None:
        micros = min(HIGHEST_US, max(LOWEST_US, round(seconds * 1_000_000)))
        self.hdr.record_value(micros)
        self.maximum = max(self.maximum, seconds)

    def merge(self, other: LatencyHistogram) -> None:
        self.hdr.add(other.hdr)
        self.maximum = max(self.maximum, other.maximum)

    def percentile(self, q: float) -> float | None:
        if not self.count:
            return None
        # Never above the exact maximum: HDR answers a bucket's highest equivalent value.
        value: float = self.hdr.get_value_at_percentile(q) / 1_000_000
        return min(value, self.maximum)

    def share_above(self, seconds: float) -> float:
        """The share of recorded values above `seconds` (to HDR precision)."""
        total = self.count
        if not total:
            return 0.0
        micros = min(HIGHEST_US, max(LOWEST_US, round(seconds * 1_000_000)))
        at_most = sum(
            item.count_added_in_this_iter_step
            for item in self.hdr.get_recorded_iterator()
            if item.value_iterated_to <= micros
        )
        share: float = (total - at_most) / total
        return share

    def percentiles(self) -> LatencyPercentiles:
        found: LatencyPercentiles = {
            "count": self.count,
            "p50": None,
            "p90": None,
            "p99": None,
            "p999": None,
            "max": self.maximum if self.count else None,
        }
        for key, q in PERCENTILES:
            found[key] = self.percentile(q)  # type: ignore[literal-required]
        return found

    def encode(self) -> str:
        """The histogram as compressed base64 text (HdrHistogram's own encoding)."""
        return str(self.hdr.encode().decode("ascii"))

    @classmethod
    def decode(cls, text: str, maximum: float | None = None) -> LatencyHistogram:
        from hdrh.histogram import HdrHistogram

        if not isinstance(text, str) or len(text) > MAX_ENCODED:
            raise BadHistogram("an encoded histogram must be text of at most 1 MB")
        try:
            _check_encoded(base64.b64decode(text, validate=True))
            hdr = HdrHistogram.decode(text.encode("ascii"))
        except (binascii.Error, ValueError, TypeError, UnicodeEncodeError) as exc:
            raise BadHistogram(f"an encoded histogram does not decode: {exc}") from None
        except Exception as exc:  # hdrh raises its own errors on bad headers and payloads
            raise BadHistogram(
                f"an encoded histogram does not decode: {type(exc).__name__}"
            ) from None
        found = cls()
        found.hdr.add(hdr)
        top = found.hdr.get_max_value() / 1_000_000 if found.count else 0.0
        found.maximum = maximum if maximum is not None else top
        return found
