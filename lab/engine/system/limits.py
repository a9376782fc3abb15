"""Will a plan fit this machine? Memory and open files, checked before anything runs.

Every run's memory is estimated from what it starts (the runner, a pool of worker processes,
threads) and what its workload holds per worker (response bodies, read buffers, the primes
reference). A run whose estimate exceeds the memory available now (psutil's `available`, and
what the cgroup still allows) is refused with a sentence instead of waking the OOM killer.

Open files: an asyncio or thread run holds a socket per concurrent request, and a process pool
a few pipes per worker, all in one runner. When the soft RLIMIT_NOFILE is too low but the hard
limit allows, the soft limit is raised (runners inherit it, like `ulimit -n` would do);
otherwise the run is refused.
"""

from __future__ import annotations

import contextlib
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from lab.core.units import format_bytes, format_number
from lab.engine.plan import RunPlan, ScenarioPlan
from lab.engine.system.machine import CGROUP, cgroup_memory_limit
from lab.runner.workloads.numeric import SIEVE_SEGMENT
from lab.scenario.models import traits
from lab.scenario.spec import HashingWorkload, HttpWorkload, NumericWorkload

MIB = 1024 * 1024
GIB = 1024 * MIB
# A runner: the interpreter, the lab's engine and the workload module (measured about 40 MiB).
RUNNER_BYTES = 64 * MIB
# Files a runner keeps open besides the work: stdio, its event pipe, imports, the loop's.
BASE_FILES = 64
# What each model starts beside the runner (its workers, a scheduler) is its descriptor's
# footprint (lab.scenario.models).


@dataclass(frozen=True)
class Estimate:
    bytes: int
    parts: list[str]  # what it is made of, in words


def _workload_bytes_per_worker(spec: Any) -> tuple[int, str]:
    """Memory one concurrent task of the workload holds at once."""
    if isinstance(spec, HttpWorkload):
        # The body, read whole, plus the client's buffers of about the same size.
        return 2 * int(spec.payload_size), f"{format_bytes(int(spec.payload_size))} responses"
    if isinstance(spec, HashingWorkload):
        return int(spec.chunk_size), f"{format_bytes(int(spec.chunk_size))} read buffers"
    return 0, ""


def estimate_run(plan: ScenarioPlan, run: RunPlan) -> Estimate:
    """Peak memory of one run, all its processes together."""
    parts = [f"the runner {format_bytes(RUNNER_BYTES)}"]
    total = RUNNER_BYTES
    workers = run.workers
    model = traits(run.executor)
    started = model.footprint
    if started.shared_bytes:
        total += started.shared_bytes
        parts.append(f"{started.shared_called} {format_bytes(started.shared_bytes)}")
    # An existing cluster's workers run on its own machines, not here.
    if started.worker_bytes and not (model.cluster and plan.scenario.cluster):
        total += workers * started.worker_bytes
        parts.append(f"{workers} {started.workers_called} × {format_bytes(started.worker_bytes)}")
    # The workload as this run has it: a sweep point overrides some of its parameters.
    spec = plan.scenario.workload.model_copy(update=run.overrides)
    per_task, what = _workload_bytes_per_worker(spec)
    if per_task:
        total += workers * per_task
        parts.append(f"{workers} × {what}")
    if isinstance(spec, NumericWorkload) and spec.kernel == "primes":
        reference = SIEVE_SEGMENT + 64 * spec.tasks  # a segment, and a count per task
        total += reference
        parts.append(f"the primes reference {format_bytes(reference)}")
    return Estimate(total, parts)


def available_memory() -> tuple[int, str]:
    """Bytes this process may still allocate, and where the figure comes from."""
    free = int(psutil.virtual_memory().available)
    source = "free on this machine"
    limit = cgroup_memory_limit()
    if limit is not None:
        used = 0
        for name in ("memory.current", "memory/memory.usage_in_bytes"):
            with contextlib.suppress(OSError, ValueError):
                used = int(Path(CGROUP, name).read_text().strip())
                break
        if limit - used < free:
            free, source = max(0, limit - used), "left under this container's memory limit"
    return free, source


def files_needed(plan: ScenarioPlan, run: RunPlan) -> int:
    """Open files the run's runner holds at its peak."""
    per_worker = traits(run.executor).footprint.files_per_worker
    if per_worker:
        return BASE_FILES + per_worker * run.workers
    if isinstance(plan.scenario.workload, HttpWorkload | HashingWorkload):
        return BASE_FILES + run.workers  # a socket or file per concurrent task
    return BASE_FILES


def _fit_open_files(need: int) -> int | None:
    """Raise the soft RLIMIT_NOFILE to need if the hard limit allows; the limit it cannot
    reach (the hard one) when it does not, None when it fits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or need <= soft:
        return None
    if hard != resource.RLIM_INFINITY and need > hard:
        return int(hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    except (OSError, ValueError):
        return int(soft)
    return None


def plan_problems(plans: list[ScenarioPlan], available: int | None = None) -> list[str]:
    """Why some runs of these plans cannot run on this machine, one sentence each; [] if
    every run fits. `available` overrides the memory available now (bytes)."""
    if available is None:
        available, source = available_memory()
    else:
        source = "available"
    problems: list[str] = []
    need_files = 0
    for plan in plans:
        for run in plan.runs:
            estimate = estimate_run(plan, run)
            if estimate.bytes > available:
                problems.append(
                    f"{plan.name} {run.run_id} would need about {format_bytes(estimate.bytes)} "
                    f"of memory ({', '.join(estimate.parts)}), more than the "
                    f"{format_bytes(available)} {source}; use fewer workers or a smaller workload"
                )
            files = files_needed(plan, run)
            if files > need_files:
                need_files, widest = files, f"{plan.name} {run.run_id}"
    if need_files:
        limit = _fit_open_files(need_files)
        if limit is not None:
            problems.append(
                f"{widest} needs about {format_number(need_files)} open files (a socket, file "
                f"or pipe per worker), but this process may open at most {format_number(limit)} "
                f"(ulimit -n); raise it (ulimit -n {format_number(2 * need_files)}) or use "
                "fewer workers"
            )
    return problems
