"""Every number the rules judge by, named once: verdicts, claims, facts and noise read them here."""

from __future__ import annotations

SIGNIFICANCE_LEVEL = 0.05

# Speedups (a run's throughput over the single-worker reference).
GAIN = 1.3  # a speedup at least this big is a gain worth explaining
FLAT = 1.2  # below this, "about the same as serial"
SLOWER = 0.8  # below this, clearly slower than serial
CLEAR_GAIN = 1.5  # a gain nobody would call noise ("speeds up I/O waits")

# Cores kept busy by a run.
PARALLEL_CORES = 1.3  # more than one core busy
ONE_CORE = 1.2  # at most about one core busy
MANY_CORES = 1.5  # "uses several cores"

# CPU time is read with a clock that ticks every few ms: over less wall time than this (all
# repeats together), "cores used" is noise.
MIN_WALL_FOR_CPU = 0.1
CPU_BOUND_CORES = 0.7  # the serial run kept at least this much of a core busy
WAITING_CORES = 0.3  # ... or at most this much: it mostly waited
OTHER_LOAD_NOTE = 0.5  # other processes' busy cores worth mentioning next to a result
FREE_FOR_PARALLEL = 1.5  # free cores a run needs before it can show parallel CPU work

MANY_WAITS = 8  # "many concurrent waits": at least this many in flight
MEMORY_NOISE = 1024 * 1024  # smaller memory differences are within sampling noise (at least)

# What the lab knows about its workload kinds' code is in their descriptors (lab.scenario.kinds).
HASHLIB_GIL_MIN = 2048  # hashlib drops the GIL for buffers of this many bytes or more


def memory_noise_floor(*peaks: int) -> int:
    """Memory differences this small are sampling noise: MEMORY_NOISE, or 2% of the larger
    peak (allocator and page-cache jitter grow with the process), whichever is more."""
    return max(MEMORY_NOISE, int(0.02 * max(peaks)))
