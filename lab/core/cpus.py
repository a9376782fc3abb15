"""How many CPUs this process may really use (affinity and cgroup quota, not os.cpu_count())."""

from __future__ import annotations

import math
import os
from pathlib import Path


def affinity_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPU quota in cores, or None when unlimited or unreadable."""
    v2 = root / "cpu.max"
    try:
        quota, period = v2.read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota_us > 0 and period_us > 0:
            return quota_us / period_us
    except (OSError, ValueError):
        pass
    return None


def usable_cpus() -> int:
    """CPUs available to this process: the smaller of its affinity mask and cgroup quota."""
    count = affinity_cpus()
    quota = cgroup_cpu_limit()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)
