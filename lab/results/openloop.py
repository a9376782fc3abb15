"""What one open-loop repeat of the http workload recorded (`RepeatRecord.open_loop`).

An open loop sends every request at its scheduled time whatever the answers do. A request sent
late is measured from its scheduled time (`corrected`: what a caller sees) as well as from its
actual send (`service`: what the server took). Bounded whatever the request count: percentiles
and the two HDR histograms, encoded, so that repeats and runs merge exactly (lab.core.hdr).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from lab.core.hdr import LatencyHistogram, LatencyPercentiles

# A request sent more than this after its scheduled time counts as sent late.
LATE_AFTER = 0.001
# A model holds a rate when it sends at least this share of it.
HELD_SHARE = 0.99


def _percentiles(data: Any) -> LatencyPercentiles:
    data = data if isinstance(data, dict) else {}

    def number(key: str) -> float | None:
        value = data.get(key)
        return float(value) if isinstance(value, int | float) else None

    return {
        "count": int(data.get("count") or 0),
        "p50": number("p50"),
        "p90": number("p90"),
        "p99": number("p99"),
        "p999": number("p999"),
        "max": number("max"),
    }


@dataclass
class OpenLoopRecord:
    target_rate: float  # requests per second the schedule asked for
    achieved_rate: float  # requests sent over the time sending took (never above the target)
    scheduled: int  # requests in the schedule: every one is sent, none is dropped
    late_share: float  # share of requests sent more than LATE_AFTER past their time
    arrival: str  # "constant" or "poisson"
    corrected: LatencyPercentiles  # from the scheduled time to the answer (seconds)
    service: LatencyPercentiles  # from the actual send to the answer (seconds)
    corrected_hdr: str = ""  # LatencyHistogram.encode()
    service_hdr: str = ""

    @property
    def held(self) -> bool:
        return self.achieved_rate >= HELD_SHARE * self.target_rate

    def histograms(self) -> tuple[LatencyHistogram, LatencyHistogram]:
        """(corrected, service); raises lab.core.hdr.BadHistogram for a corrupted report."""
        return (
            LatencyHistogram.decode(self.corrected_hdr, self.corrected.get("max")),
            LatencyHistogram.decode(self.service_hdr, self.service.get("max")),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> OpenLoopRecord | None:
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["corrected"] = _percentiles(values.get("corrected"))
        values["service"] = _percentiles(values.get("service"))
        return cls(
            target_rate=float(values.get("target_rate") or 0.0),
            achieved_rate=float(values.get("achieved_rate") or 0.0),
            scheduled=int(values.get("scheduled") or 0),
            late_share=float(values.get("late_share") or 0.0),
            arrival=str(values.get("arrival") or "constant"),
            corrected=values["corrected"],
            service=values["service"],
            corrected_hdr=str(values.get("corrected_hdr") or ""),
            service_hdr=str(values.get("service_hdr") or ""),
        )


_seconds = {"type": ["number", "null"], "minimum": 0}
_percentiles_schema = {
    "type": "object",
    "required": ["count", "p50", "p90", "p99", "p999", "max"],
    "properties": {
        "count": {"type": "integer", "minimum": 0},
        **{key: _seconds for key in ("p50", "p90", "p99", "p999", "max")},
    },
}
# The JSON schema of `RepeatRecord.open_loop` (lab.results.schema includes it).
OPEN_LOOP_RECORD_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["target_rate", "achieved_rate", "scheduled", "late_share", "corrected", "service"],
    "properties": {
        "target_rate": {"type": "number", "exclusiveMinimum": 0},
        "achieved_rate": {"type": "number", "minimum": 0},
        "scheduled": {"type": "integer", "minimum": 0},
        "late_share": {"type": "number", "minimum": 0, "maximum": 1},
        "arrival": {"enum": ["constant", "poisson"]},
        "corrected": _percentiles_schema,
        "service": _percentiles_schema,
        # HdrHistogram's compressed base64 encoding, bounded (lab.core.hdr.MAX_ENCODED)
        "corrected_hdr": {"type": "string", "maxLength": 1_000_000},
        "service_hdr": {"type": "string", "maxLength": 1_000_000},
    },
}
