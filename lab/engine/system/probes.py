"""Probes of the machine, each a small reader that returns None where the OS does not say.

The noise rules (lab.analysis.noise) turn what they read into warnings; tests build
`EnvironmentFacts` by hand or monkeypatch these readers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

from lab.analysis.noise import LOAD_SAMPLE_SECONDS, EnvironmentFacts, page_cache_warning
from lab.core import cpus
from lab.results.notices import Notice, notice
from lab.scenario.kinds import traits as kind_traits

# --- facts, each from one small reader ----------------------------------------------------------


def read_governors(root: Path = Path("/sys/devices/system/cpu")) -> list[str] | None:
    """The cpufreq scaling governor of each CPU this process may use, or None if unreadable."""
    try:
        ids = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        ids = list(range(os.cpu_count() or 1))
    found = []
    for i in ids:
        try:
            found.append((root / f"cpu{i}" / "cpufreq" / "scaling_governor").read_text().strip())
        except OSError:
            continue
    return found or None


def read_cpu_busy(seconds: float = LOAD_SAMPLE_SECONDS) -> float | None:
    """Share (0-1) of the usable CPUs that other programs kept busy over a short sample.

    The lab's own CPU over the sample (this process, its helpers, an app drawing) is left out.
    """
    own = read_lab_cpu_seconds()
    try:
        per_cpu = psutil.cpu_percent(interval=seconds, percpu=True)
    except (OSError, psutil.Error):
        return None
    after = read_lab_cpu_seconds()
    try:
        ids = [i for i in sorted(os.sched_getaffinity(0)) if i < len(per_cpu)]
    except (AttributeError, OSError):
        ids = list(range(len(per_cpu)))
    if not ids:
        return None
    busy = sum(per_cpu[i] for i in ids) / len(ids) / 100
    if own is not None and after is not None and seconds > 0:
        busy -= (after - own) / seconds / len(ids)
    return max(0.0, busy)


def read_load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def read_swap_used() -> int | None:
    try:
        return int(psutil.swap_memory().used)
    except (OSError, psutil.Error, RuntimeError):
        return None


def read_logical_cpus() -> int | None:
    return os.cpu_count()


def read_usable_cpus() -> int:
    return cpus.usable_cpus()


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long,
    ]  # fmt: skip
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    return libc


def read_page_cache_fraction(paths: Sequence[str]) -> tuple[float, int] | None:
    """(share of the files' pages resident in the page cache, total bytes), or None.

    Maps each file read-only and asks the kernel with mincore(2), which touches no page.
    Linux only; None anywhere it cannot tell.
    """
    if not sys.platform.startswith("linux") or not paths:
        return None
    try:
        libc = _libc()
    except (OSError, AttributeError):
        return None
    import mmap

    page = os.sysconf("SC_PAGE_SIZE")
    failed = ctypes.c_void_p(-1).value
    resident = pages_total = size_total = 0
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                continue
            addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr is None or addr == failed:
                continue
            try:
                pages = (size + page - 1) // page
                vec = (ctypes.c_ubyte * pages)()
                if libc.mincore(addr, size, vec) != 0:
                    continue
                resident += sum(1 for v in bytes(vec) if v & 1)
                pages_total += pages
                size_total += size
            finally:
                libc.munmap(addr, size)
        finally:
            os.close(fd)
    if not pages_total:
        return None
    return resident / pages_total, size_total


def read_busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot, all CPUs together."""
    try:
        t = psutil.cpu_times()
    except (OSError, psutil.Error):
        return None
    return float(
        t.user + t.system + getattr(t, "nice", 0.0) + getattr(t, "irq", 0.0)
        + getattr(t, "softirq", 0.0)
    )  # fmt: skip


def read_lab_cpu_seconds() -> float | None:
    """CPU seconds of this process and its live descendants (the app, the embedded server)."""
    try:
        me = psutil.Process()
        t = me.cpu_times()
        total = t.user + t.system
        for child in me.children(recursive=True):
            try:
                c = child.cpu_times()
            except psutil.Error:
                continue
            total += c.user + c.system + c.children_user + c.children_system
    except (OSError, psutil.Error):
        return None
    return float(total)


class BackgroundMeter:
    """How many cores other programs kept busy while one run executed.

    Machine-wide busy CPU time over the run, less the lab's own (this process, its helpers
    such as the embedded server, and the runner with everything it started, as the runner
    reports in its `done` event), divided by the run's wall time.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.busy = read_busy_cpu_seconds()
        self.lab = read_lab_cpu_seconds()
        self.runner_cpu: float | None = None

    def stop(self) -> float | None:
        busy, lab = read_busy_cpu_seconds(), read_lab_cpu_seconds()
        seconds = self.clock() - self.started
        if None in (self.busy, self.lab, busy, lab, self.runner_cpu) or seconds <= 0:
            return None
        assert busy is not None and lab is not None and self.busy is not None
        assert self.lab is not None and self.runner_cpu is not None
        other = (busy - self.busy) - (lab - self.lab) - self.runner_cpu
        return max(0.0, other / seconds)


def read_environment(sample_seconds: float = LOAD_SAMPLE_SECONDS) -> EnvironmentFacts:
    return EnvironmentFacts(
        governors=read_governors(),
        cpu_busy=read_cpu_busy(sample_seconds),
        load_average=read_load_average(),
        logical_cpus=read_logical_cpus(),
        usable_cpus=read_usable_cpus(),
        swap_used=read_swap_used(),
    )


def scenario_warnings(scenario: Any, context: dict[str, Any]) -> list[Notice]:
    """Warnings about a scenario as a whole, checked after its runs (while its corpus exists)."""
    workload = scenario.workload
    found: list[Notice] = []
    skipped = context.get("skipped") or []
    if skipped:
        shown = "; ".join(skipped[:5]) + (
            f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        )
        found.append(
            notice(
                "folder_skipped",
                f"{len(skipped)} entries under {workload.folder} were not hashed: {shown}. "
                "The results cover the rest of the folder only.",
            )
        )
    reads_files = kind_traits(workload.kind).reads_files
    if reads_files and getattr(workload, "cache", None) == "warm" and context.get("files"):
        resident = read_page_cache_fraction(context["files"])
        cache = page_cache_warning(*resident) if resident else None
        found += [cache] if cache else []
    return found
