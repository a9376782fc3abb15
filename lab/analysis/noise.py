"""Noise warnings: what on this machine, or in these numbers, makes a measurement less trustworthy.

Each warning is `{"code": ..., "message": ...}` whose message is one plain sentence (or two) a
newcomer can act on without looking anything up. Three scopes:

- the session (`environment_warnings`): facts read once before the first run: CPU frequency
  governor, other programs' CPU use, usable versus logical CPUs, swap in use;
- a scenario (`page_cache_warning`): a hashing corpus that sat in the page cache;
- a run (`run_warnings`): spread of the repeats, outliers, a slow first repeat, repeats too
  short to time.

Facts are read by the probes in lab.engine.system.probes; these rules only judge them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lab.core import stats
from lab.core.units import format_bytes, format_seconds
from lab.results.notices import Notice, notice

SPREAD_LIMIT = 0.10  # MAD / median above this: "the repeats vary a lot"
BUSY_LIMIT = 0.10  # other programs' share of the usable CPUs when the session starts
SWAP_LIMIT = 16 * 1024 * 1024  # bytes of swap in use before it is worth a warning
PAGE_CACHE_LIMIT = 0.5  # share of the hashing corpus resident in memory
MAX_NAMED = 5  # outlying repeats named one by one; the rest are counted
SHORT_REPEAT = 0.010  # seconds: a measured repeat shorter than this is mostly timer and jitter
LOAD_SAMPLE_SECONDS = 0.3


@dataclass
class EnvironmentFacts:
    governors: list[str] | None = None
    cpu_busy: float | None = None  # share of the usable CPUs busy before the first run
    load_average: float | None = None
    logical_cpus: int | None = None
    usable_cpus: int | None = None
    swap_used: int | None = None


# --- warnings -----------------------------------------------------------------------------------


def environment_warnings(facts: EnvironmentFacts) -> list[Notice]:
    found: list[Notice] = []
    other = sorted({g for g in facts.governors or [] if g != "performance"})
    if other:
        found.append(
            notice(
                "cpu_governor",
                f"The CPU frequency governor is '{'/'.join(other)}', not 'performance': the CPU "
                "speeds up and slows down with the load, so the same work can take different "
                "times. For steadier numbers switch it to performance (for example "
                "`sudo cpupower frequency-set -g performance`).",
            )
        )
    if facts.cpu_busy is not None and facts.cpu_busy > BUSY_LIMIT:
        load = f" (load average {facts.load_average:.2f})" if facts.load_average is not None else ""
        found.append(
            notice(
                "machine_busy",
                f"Other programs kept the CPUs {100 * facts.cpu_busy:.0f}% busy when the session "
                f"started{load}: they compete with the workload for the cores, so times can come "
                "out slower and noisier. Close them or rerun on an idle machine.",
            )
        )
    if facts.logical_cpus and facts.usable_cpus and facts.usable_cpus < facts.logical_cpus:
        found.append(
            notice(
                "cpus_limited",
                f"This process may use only {facts.usable_cpus} of the machine's "
                f"{facts.logical_cpus} logical CPUs (its CPU affinity or a container's CPU quota "
                f"limits it), so 'cpus' means {facts.usable_cpus} workers and CPU-bound work "
                f"cannot run more than about {facts.usable_cpus}× faster than serial.",
            )
        )
    if facts.swap_used is not None and facts.swap_used > SWAP_LIMIT:
        found.append(
            notice(
                "swap_in_use",
                f"{format_bytes(facts.swap_used)} of swap is in use: the machine has run short of "
                "memory, and a run whose memory is moved out to disk slows down unpredictably. "
                "Close memory-hungry programs or use a smaller workload.",
            )
        )
    return found


def page_cache_warning(fraction: float | None, size: int | None) -> Notice | None:
    """The hashing corpus sat in memory, so the runs did not measure the disk."""
    if fraction is None or fraction < PAGE_CACHE_LIMIT:
        return None
    return notice(
        "page_cache",
        f"The hashing corpus ({format_bytes(size or 0)}) was {100 * fraction:.0f}% in memory, "
        "in the operating system's page cache, so these runs measured hashing and memory speed, "
        "not the disk. Set `cache: cold` in the scenario to read it from the disk every repeat.",
    )


def _and(items: Iterable[str]) -> str:
    words = list(items)
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


# One sentence per kind of run warning, for a report that groups several runs under it.
GROUPED = {
    "background_load": "Other programs kept part of the CPUs busy while these runs executed, "
    "so their times are probably slower and noisier than on an idle machine; rerun them when "
    "the machine is quiet",
    "high_spread": "The repeats of these runs vary by more than 10% around their median, so "
    "small differences from other runs mean little; add repeats or rerun on a quieter machine",
    "slow_first_repeat": "The first repeat of these runs was their slowest, a cold start "
    "(caches, code loaded on first use, pool workers warming up); the medians are robust to "
    "it, and more warmups (run first, not counted) would keep it out",
    "outliers": "Some repeats lay far from their run's median (modified z-score above 3.5), "
    "most likely because the load from other programs changed during the run; the medians are "
    "robust to them, but check the machine is idle",
    "short_repeats": "The repeats of these runs were too short to time reliably (scheduler "
    "hiccups and timer overhead weigh on them); raise `min_time` or the number of tasks",
}


def run_warnings(
    run_id: str,
    walls: Sequence[float],
    loops: int = 1,
    warmups: int = 0,
    background: float | None = None,
    usable: int | None = None,
) -> list[Notice]:
    """Warnings about one run: its repeat times (seconds per pass) and the load beside it.

    Each has `run_id` and a short `detail` (what `group_notices` lists after GROUPED's text).
    """
    found: list[Notice] = []

    def add(code: str, message: str, detail: str) -> None:
        found.append({**notice(code, f"{run_id}: {message}", run_id), "detail": detail})

    if background is not None and usable and background > BUSY_LIMIT * usable:
        add(
            "background_load",
            f"other programs kept about {background:.1f} of the {usable} usable CPUs busy "
            "while this run executed, so its times are probably slower and noisier than on an "
            "idle machine. Rerun it when the machine is quiet.",
            f"{background:.1f} of {usable} CPUs",
        )
    if len(walls) < 2:
        return found
    summary = stats.describe(walls)
    median = float(summary["median"] or 0)
    spread = summary["relative_spread"]
    if spread is not None and spread > SPREAD_LIMIT:
        add(
            "high_spread",
            f"the repeats vary a lot (±{100 * spread:.0f}% around the median of "
            f"{format_seconds(median)}, above the {100 * SPREAD_LIMIT:.0f}% the lab calls steady), "
            "so small differences from other runs mean little here. Add repeats or rerun on a "
            "quieter machine.",
            f"±{100 * spread:.0f}%",
        )
    scores = stats.modified_z_scores(walls)
    slow_first = stats.first_is_slow(walls, scores=scores)
    if slow_first:
        advice = (
            "add more warmups, which run first and are not counted"
            if warmups
            else "add a warmup (`warmups: 1`), which runs first and is not counted"
        )
        add(
            "slow_first_repeat",
            f"the first repeat was the slowest ({format_seconds(walls[0])} against a median of "
            f"{format_seconds(median)}), a cold start: caches, code loaded on first use or pool "
            f"workers were still warming up. The median is robust to it; {advice}.",
            f"{format_seconds(walls[0])}, median {format_seconds(median)}",
        )
    # A slow first repeat is already explained above.
    flagged = [i for i in stats.outliers(walls, scores=scores) if not (slow_first and i == 0)]
    if flagged:
        named = flagged[:MAX_NAMED]
        parts = ", ".join(f"repeat {i + 1} ({format_seconds(walls[i])})" for i in named)
        if len(flagged) > len(named):
            parts += f" and {len(flagged) - len(named)} more"
        worst = max(abs(scores[i]) for i in flagged)
        add(
            "outliers",
            f"{parts} lay far from the others' median of {format_seconds(median)} (modified z-score "
            f"{worst:.1f}, above {stats.OUTLIER_Z}), most likely because the load from other "
            "programs changed during the run. The median is robust to it, but check the machine "
            "is idle.",
            f"{_and(f'repeat {i + 1}' for i in named)} took "
            f"{_and(format_seconds(walls[i]) for i in named)}"
            f"{f' (and {len(flagged) - len(named)} more)' if len(flagged) > len(named) else ''}"
            f", median {format_seconds(median)}",
        )
    if median * loops < SHORT_REPEAT:
        add(
            "short_repeats",
            f"each repeat lasted only {format_seconds(median * loops)}, too short to time reliably "
            "(scheduler hiccups and timer overhead weigh on it). Raise `min_time` or the number "
            "of tasks.",
            format_seconds(median * loops),
        )
    return found


def group_notices(notices: Sequence[Notice], minimum: int = 2) -> list[Notice]:
    """Fold run warnings of the same kind into one line when `minimum` runs or more share it.

    Keeps the order of first appearance; warnings without a run stay as they are.
    """
    by_code: dict[str, list[Notice]] = {}
    for n in notices:
        if n.get("run_id") and n["code"] in GROUPED:
            by_code.setdefault(n["code"], []).append(n)
    out: list[Notice] = []
    done: set[str] = set()
    for n in notices:
        code = n["code"]
        group = by_code.get(code)
        if not group or len(group) < minimum:
            out.append(n)
        elif code not in done:
            done.add(code)
            runs = "; ".join(f"{g['run_id']} ({g.get('detail', '')})" for g in group)
            out.append(notice(code, f"{GROUPED[code]}: {runs}."))
    return out
