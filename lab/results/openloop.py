"""What one open-loop repeat of the http workload recorded (`RepeatRecord.open_loop`).

An open loop sends every request at its scheduled time whatever the answers do. A request sent
late is measured from its scheduled time (`corrected`: what a caller sees) as well as from its
actual send (`service`: what the server took). Bounded whatever the request count: percentiles
and the two HDR histograms, encoded, so that repeats and runs merge exactly (lab.core.hdr).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic.dataclasses import dataclass

from lab.core.hdr import MAX_ENCODED, LatencyHistogram, LatencyPercentiles
from lab.results.codec import FINITE
from lab.scenario.workload_specs import Arrival

# HdrHistogram's compressed base64 encoding, bounded before it is decoded (lab.core.hdr).
EncodedHistogram = Annotated[str, Field(max_length=MAX_ENCODED)]


@dataclass(config=FINITE)
class OpenLoopRecord:
    target_rate: Annotated[float, Field(gt=0)]  # requests per second the schedule asked for
    # requests sent over the time sending took (never above the target)
    achieved_rate: Annotated[float, Field(ge=0)]
    scheduled: Annotated[int, Field(ge=0)]  # requests in the schedule: every one is sent
    # share of requests sent late (lab.core.hdr.LATE_AFTER past their time)
    late_share: Annotated[float, Field(ge=0, le=1)]
    arrival: Arrival
    corrected: LatencyPercentiles  # from the scheduled time to the answer (seconds)
    service: LatencyPercentiles  # from the actual send to the answer (seconds)
    corrected_hdr: EncodedHistogram = ""  # LatencyHistogram.encode()
    service_hdr: EncodedHistogram = ""

    def histograms(self) -> tuple[LatencyHistogram, LatencyHistogram]:
        """(corrected, service); raises lab.core.hdr.BadHistogram for a corrupted report."""
        return (
            LatencyHistogram.decode(self.corrected_hdr, self.corrected.get("max")),
            LatencyHistogram.decode(self.service_hdr, self.service.get("max")),
        )
