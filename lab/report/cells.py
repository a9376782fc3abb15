"""Cells shared by every format and the app: one run's figures as text, the fastest run, escaping."""

from __future__ import annotations

from lab.analysis.winner import DRIFT_LIMIT
from lab.core.stats import TEST_NAME, Comparison
from lab.core.textsafe import markdown_text
from lab.core.units import format_bytes, format_p, format_rate, format_seconds
from lab.results.machine import MachineFacts
from lab.results.model import RunResult, ScenarioResult
from lab.scenario.models import UVLOOP

# The libraries whose versions the machine table shows: the HTTP client, uvloop, the app's.
SHOWN_LIBRARIES = ("aiohttp", UVLOOP.needs_module, "textual")

# After a speedup whose figures against serial are in doubt (lab.analysis.controls).
DOUBT_MARK = "!"
DOUBT_LEGEND = (
    "A `!` after a speedup marks it doubtful: a negative control (a 1-worker run of the serial "
    "function) differed from serial, or the speedup is beyond the cores the run could use; the "
    "warnings say which and why."
)


def _spread(run: RunResult) -> str:
    wall = run.summary.wall_seconds
    median, mad = wall.median, wall.mad
    if not median or mad is None or wall.n < 2:
        return ""
    return f" ±{100 * mad / median:.0f}%"


def run_cells(run: RunResult) -> dict[str, str]:
    """The report's columns for one run, formatted for people (Markdown and the app)."""
    s = run.summary
    wall = s.wall_seconds.median
    tp = s.throughput.value
    lat = s.latency
    mem = run.peak_uss_bytes or run.peak_rss_bytes
    return {
        "executor": run.executor,
        "workers": str(run.workers),
        "status": run.status if run.status != "ok" else "ok",
        "time": (format_seconds(wall) + _spread(run)) if wall else "–",
        "throughput": format_rate(tp, run.unit) if tp else "–",
        "speedup": (f"{s.speedup:.2f}×" + (DOUBT_MARK if s.doubts else "")) if s.speedup else "–",
        "efficiency": f"{100 * s.efficiency:.0f}%" if s.efficiency else "–",
        "cpu": f"{s.cpu_cores:.2f} cores" if s.cpu_cores is not None else "–",
        "memory": format_bytes(mem) if mem else "–",
        "startup": format_seconds(run.startup_seconds) if run.startup_seconds is not None else "–",
        "latency": (
            f"{format_seconds(lat.p50)} / {format_seconds(lat.p95)} / {format_seconds(lat.p99)}"
            if lat
            else "–"
        ),
        "errors": str(s.error_count),
        "params": params_label(run),
        **significance_cells(run),
    }


def params_label(run: RunResult) -> str:
    """A sweep run's workload overrides, e.g. 'task_us=100'; '' for the scenario's own runs."""
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, float | int) else f"{k}={v}" for k, v in run.params.items()
    )


def significance_cells(run: RunResult) -> dict[str, str]:
    """The speedup's 95% interval and whether it differs significantly from the baseline."""
    test = run.summary.versus_baseline
    if test is None or test.ratio_low is None or test.ratio_high is None:
        return {"speedup_ci": "", "significance": ""}
    low, high = test.ratio_low, test.ratio_high
    if not test.can_be_significant:
        # Below 4 repeats a side the "interval" is every pairwise ratio at 67% or less.
        return {"speedup_ci": "", "significance": "(too few repeats to test)"}
    return {
        "speedup_ci": f"({low:.2f}–{high:.2f})",
        "significance": "" if test.significant else "n.s.",
    }


def speedup_with_uncertainty(run: RunResult) -> str:
    """`3.91× (3.80–4.02)`, with `n.s.` when not significantly different from the baseline."""
    cells = run_cells(run)
    text = " ".join(c for c in (cells["speedup"], cells["speedup_ci"], cells["significance"]) if c)
    return text


def significant_winner(result: ScenarioResult) -> str | None:
    """The run_id of the winner, only when it is significantly faster than the best run of
    every other model (Holm-adjusted); None for a tie. The only source of "fastest" marks."""
    info = result.fastest
    return info.run_id if info is not None and info.significant_against_all else None


def best_mark(result: ScenarioResult, run: RunResult) -> str:
    """ "(fastest)" for a significant winner, "(lowest median)" for a best that is not."""
    if significant_winner(result) == run.run_id:
        return "(fastest)"
    if result.fastest is not None and result.fastest.run_id == run.run_id:
        return "(lowest median)"
    return ""


def _p(c: Comparison) -> float | None:
    adjusted = getattr(c, "p_adjusted", None)
    return c.p_value if adjusted is None else float(adjusted)


def fastest_sentence(result: ScenarioResult) -> str:
    """Says "A is the fastest" only where the tests say so; otherwise a tie, with figures."""
    info = result.fastest
    if not info or not info.versus:
        return ""
    best = info.run_id
    test = f"{info.test or TEST_NAME}, {len(info.versus)} comparisons"
    loaded = sorted({w["run_id"] for w in result.all_warnings() if w["code"] == "background_load"})
    caveat = (
        f" Careful: {len(loaded)} of the runs ran while other programs kept the CPUs busy."
        if loaded
        else ""
    )
    figures = ", ".join(
        f"{rid} {v.ratio:.2f}× slower ({format_p(p)})"
        if v.ratio and (p := _p(v)) is not None
        else rid
        for rid, v in info.versus.items()
    )
    if info.significant_against_all:
        return (
            f"**{best}** is the fastest: significantly faster than every other run, judged on "
            f"the best run of each other model ({figures}; {test}).{caveat}"
        )
    tied = ", ".join(rid for rid, v in info.versus.items() if not v.significant)
    text = (
        f"No winner: **{best}** has the lowest median time, but it is not significantly faster "
        f"than {tied}, so this is a tie between {best} and {tied} ({figures}; {test})."
    )
    if not any(v.can_be_significant for v in info.versus.values()):
        paired = any(getattr(v, "paired", False) for v in info.versus.values())
        text += (
            " With this few rounds no difference can be significant: use at least 8."
            if paired
            else " With this few repeats no difference can be significant: use at least 4."
        )
    return text + caveat


def drift_sentence(result: ScenarioResult) -> str:
    """The rounds' seed and the drift meter, in one line."""
    rounds = result.rounds
    if not rounds:
        return ""
    text = (
        f"Measured in {rounds.get('count')} interleaved rounds (seed {rounds.get('seed')}, "
        f"{rounds.get('processes')} runner processes per run)"  # the rounds' field, not the pool
    )
    drift = rounds.get("drift")
    if drift is None:
        return text + "; no baseline to measure drift."
    text += f"; drift of the baseline between rounds: {100 * drift:.1f}%"
    if drift > DRIFT_LIMIT:
        text += (
            f", above {100 * DRIFT_LIMIT:.0f}%: the machine drifted during the session, so "
            "single rounds are unreliable"
        )
    return text + "."


def md_escape(text: str) -> str:
    return markdown_text(text)  # the Markdown sanitiser (lab.core.textsafe)


def machine_rows(m: MachineFacts) -> list[tuple[str, str]]:
    """The machine facts most likely to explain a difference between two reports, as
    (fact, value) rows for the Markdown and HTML reports."""
    py = m.get("python") or {}
    libs = m.get("libraries") or {}
    freq = m.get("cpu_frequency_mhz") or {}
    caches = m.get("cpu_caches") or {}
    loop = m.get("event_loop") or {}
    flags = [k for k in ("pgo", "lto", "debug") if py.get(k)]
    rows: list[tuple[str, str]] = [
        ("CPU", f"{m.get('cpu_model', '?')} ({m.get('architecture', '?')})"),
        ("frequency", ", ".join(f"{k} {v:.0f} MHz" for k, v in freq.items()) or "–"),
        ("governor", m.get("cpu_governor") or "–"),
        ("caches", " ".join(f"{k} {v}" for k, v in caches.items()) or "–"),
        (
            "CPUs",
            f"{m.get('cpus_logical', '?')} logical, {m.get('cpus_physical', '?')} physical, "
            f"{m.get('cpus_usable', '?')} usable (affinity {m.get('cpus_affinity', '?')}, "
            f"quota {m.get('cpu_quota') or 'none'})",
        ),
        (
            "memory",
            f"{format_bytes(m.get('memory_total_bytes') or 0)}, swap used "
            f"{format_bytes(m.get('swap_used_bytes') or 0)}, cgroup limit "
            f"{format_bytes(limit) if (limit := m.get('cgroup_memory_limit_bytes')) else 'none'}",
        ),
        ("system", f"{m.get('os', '?')}; container: {m.get('container') or 'none'}"),
        (
            "Python",
            f"{py.get('implementation', '')} {py.get('version', '')}, "
            f"GIL {'on' if py.get('gil_enabled', True) else 'off'}"
            f"{', ' + '/'.join(flags) if flags else ''}, {py.get('compiler', '')}",
        ),
        (
            "concurrency",
            f"start method {m.get('multiprocessing_start_method', '?')}, "
            f"event loop {loop.get('asyncio_default', '?')}",
        ),
        (
            "libraries",
            ", ".join(f"{k} {v}" for k, v in libs.items() if k in SHOWN_LIBRARIES) or "–",
        ),
    ]
    return rows
