"""The break-even of a sweep: from which value of the swept parameter does a process pool beat
a thread pool? ("processes overtake threads from size ≈ 12,000") With dask runs beside the
process pool, the same question one step out: from which task size does a Dask cluster, with
its higher price per task and to start, beat the local process pool?

Read from a scenario whose runs sweep one numeric workload parameter (`sweep:`, or the dispatch
workload's `task_sizes_us`). Two answers, because both matter when choosing:

- steady: pools already running, wall time of a batch only (per-task hand-off vs parallelism);
- batch: one batch of the scenario's tasks from a cold start, pool start-up included.

Between measured sizes the crossing is interpolated linearly; past the largest size it is
extrapolated from the last two (and says so).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lab.core.units import format_number, format_seconds
from lab.results.model import RunResult, ScenarioResult
from lab.scenario.models import BASELINE, BREAKEVEN_PAIRS, PROCESSES, THREADS, traits

TASK_US = "task_us"  # dispatch's busy microseconds per task, shown in µs
CrossingKind = Literal["crossing", "always", "extrapolated", "never"]


def verb_for(executor: str, verb: str) -> str:
    """`verb` agreeing with a model's name: ('processes', 'win') -> 'win', ('dask', ...) -> 'wins'."""
    plural = traits(executor).plural
    return verb if plural else verb + ("es" if verb.endswith("s") else "s")


@dataclass
class SizePoint:
    """One value of the swept parameter: each model's best run there (wall time of a batch)."""

    value: float  # of the swept parameter
    serial_wall: float | None
    light_run: str | None
    light_wall: float | None
    light_startup: float | None  # median over the sizes, for this run's worker count
    heavy_run: str | None
    heavy_wall: float | None
    heavy_startup: float | None

    def total(self, role: str, with_startup: bool) -> float | None:
        """'light' or 'heavy': its batch's wall time, start-up added for a cold batch."""
        wall = getattr(self, f"{role}_wall")
        startup = getattr(self, f"{role}_startup") or 0.0
        if wall is None:
            return None
        return float(wall + (startup if with_startup else 0.0))


@dataclass
class Crossing:
    basis: Literal["steady", "batch"]
    kind: CrossingKind
    value: float | None  # of the swept parameter, where the heavy model starts to win
    text: str


@dataclass
class BreakEven:
    param: str  # the swept parameter
    tasks: int
    points: list[SizePoint]
    steady: Crossing
    batch: Crossing
    text: str
    warnings: list[str] = field(default_factory=list)
    light: str = THREADS.name  # the executors compared: light wins small tasks, heavy big ones
    heavy: str = PROCESSES.name
    # dask only: from which size its per-task price is paid back, i.e. it beats serial
    payback: Crossing | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def label(self, value: float) -> str:
        """A value of the swept parameter as the tables show it: '100 µs', 'size 12,000'."""
        return value_label(self.param, value)


def value_label(param: str, value: float) -> str:
    """A value of the swept parameter as tables and verdicts show it: '100 µs', 'size 12,000'."""
    return _us(value) if param == TASK_US else f"{param} {format_number(value)}"


def value_near(param: str, value: float) -> str:
    """An interpolated value: 'about 120 µs of work per task', 'size ≈ 3,160'."""
    if param == TASK_US:
        return f"about {_us(value)} of work per task"
    return f"{param} ≈ {format_number(value)}"


def swept_param(result: ScenarioResult) -> str | None:
    """The one workload parameter the scenario's runs vary, if exactly one is."""
    names = {k for r in result.runs for k in r.params}
    if len(names) != 1:
        return None
    name = names.pop()
    values = {r.params.get(name, result.workload.get(name)) for r in result.runs}
    return name if len(values) >= 2 else None


def swept_value(run: RunResult, result: ScenarioResult, param: str) -> float | None:
    value = run.params.get(param, result.workload.get(param))
    return float(value) if isinstance(value, int | float) else None


def batch_wall(run: RunResult) -> float | None:
    w = run.summary.wall_seconds.median
    return float(w) if run.status == "ok" and w else None


def find_crossing(
    sizes: Sequence[float], diffs: Sequence[float]
) -> tuple[CrossingKind, float | None]:
    """Where diff (heavy − light model's time) turns negative and stays so.

    Inside the measured range the crossing is interpolated between the two sizes around it;
    past the largest size it is extrapolated from a least-squares line through every
    difference (timings are noisy, start-up most of all).
    """
    if all(d <= 0 for d in diffs):
        return "always", sizes[0]
    if diffs[-1] <= 0:
        i = max(k for k in range(1, len(diffs)) if diffs[k - 1] > 0 and diffs[k] <= 0)
        s0, s1, d0, d1 = sizes[i - 1], sizes[i], diffs[i - 1], diffs[i]
        return "crossing", s0 + d0 * (s1 - s0) / (d0 - d1)
    if len(diffs) >= 2:
        ms, md = statistics.fmean(sizes), statistics.fmean(diffs)
        sxx = sum((x - ms) ** 2 for x in sizes)
        slope = sum((x - ms) * (d - md) for x, d in zip(sizes, diffs, strict=True)) / sxx
        if slope < 0:
            return "extrapolated", ms - md / slope
    return "never", None


def _us(value: float) -> str:
    return f"{value:,.0f} µs" if value >= 10 else f"{value:.2g} µs"


@dataclass(frozen=True)
class _Wording:
    """How the texts name the swept parameter: task_us as µs of work, others by name."""

    param: str
    light: str = THREADS.name
    heavy: str = PROCESSES.name

    def near(self, v: float) -> str:
        return value_near(self.param, v)

    def shown(self, v: float) -> str:
        return value_label(self.param, v)

    @property
    def what(self) -> str:
        return "task size" if self.param == TASK_US else f"value of {self.param}"

    @property
    def whats(self) -> str:
        return "task sizes" if self.param == TASK_US else f"values of {self.param}"

    @property
    def verb(self) -> str:
        return verb_for(self.heavy, "beat" if self.param == TASK_US else "overtake")

    def would(self, v: float) -> str:
        if self.param == TASK_US:
            return f"win from about {_us(v)} per task"
        return f"overtake {'it' if traits(self.light).baseline else 'them'} from {self.near(v)}"


def _crossing(
    basis: Literal["steady", "batch"], points: list[SizePoint], tasks: int, w: _Wording
) -> Crossing:
    with_startup = basis == "batch"
    light, heavy = w.light, w.heavy
    cluster = traits(heavy).cluster
    usable = [
        p for p in points
        if p.total("light", with_startup) is not None
        and p.total("heavy", with_startup) is not None
    ]  # fmt: skip
    where = (
        f"once both {'are' if cluster else 'pools are'} running"
        if basis == "steady"
        else f"for one batch of {tasks} tasks from a cold start "
        f"({'cluster and pool ' if cluster else 'pool '}start-up included)"
    )
    if len(usable) < 2:
        return Crossing(basis, "never", None, f"{where}: fewer than two {w.whats} measured")
    sizes = [p.value for p in usable]
    total: Callable[[SizePoint, str], float] = lambda p, e: p.total(e, with_startup) or 0.0  # noqa: E731
    diffs = [total(p, "heavy") - total(p, "light") for p in usable]
    kind, at = find_crossing(sizes, diffs)
    first, last = usable[0], usable[-1]
    if kind == "always":
        text = (
            f"{where}, {heavy} {verb_for(heavy, 'beat')} {light} at every "
            f"{w.what} measured, from "
            f"{w.shown(first.value)} ({format_seconds(total(first, 'heavy'))} vs "
            f"{format_seconds(total(first, 'light'))})"
        )
    elif kind == "crossing":
        assert at is not None
        text = (
            f"{where}, {heavy} {w.verb} {light} from {w.near(at)} "
            f"(measured {w.shown(sizes[0])} to {w.shown(sizes[-1])})"
        )
    elif kind == "extrapolated":
        assert at is not None
        text = (
            f"{where}, {light} still {verb_for(light, 'win')} at {w.shown(last.value)} "
            f"({format_seconds(total(last, 'light'))} vs {format_seconds(total(last, 'heavy'))}); "
            f"extrapolating, {heavy} would {w.would(at)}"
        )
    else:
        text = (
            f"{where}, {light} {verb_for(light, 'win')} at every {w.what} measured up to "
            f"{w.shown(last.value)}, "
            "and the gap is not closing"
        )
    return Crossing(basis, kind, at, text)


def _payback_text(c: Crossing, w: _Wording, points: list[SizePoint]) -> str:
    """A cluster against serial, once running: from which size its price per task is paid
    back (w.light is serial, w.heavy the cluster)."""
    ran = [p for p in points if p.light_wall is not None and p.heavy_wall is not None]
    last = ran[-1] if ran else None
    heavy, light = w.heavy, w.light
    if c.kind == "always" and ran:
        return (
            f"{heavy} {verb_for(heavy, 'beat')} {light} at every {w.what} measured, "
            f"from {w.shown(ran[0].value)}"
        )
    if c.kind == "crossing" and c.value is not None:
        return (
            f"{heavy} {verb_for(heavy, 'pay')} back its price per task, beating {light}, "
            f"from {w.near(c.value)}"
        )
    if last is None or last.light_wall is None or last.heavy_wall is None:
        return f"{heavy} against {light}: {c.text}"
    behind = (
        f"{heavy} is still slower than {light} at {w.shown(last.value)} "
        f"({format_seconds(last.heavy_wall)} vs {format_seconds(last.light_wall)})"
    )
    if c.kind == "extrapolated" and c.value is not None:
        return (
            f"{behind}; extrapolating, it would pay back its price per task from {w.near(c.value)}"
        )
    return f"{behind}, and the gap is not closing"


def compared_pair(result: ScenarioResult) -> tuple[str, str] | None:
    """Which two of the scenario's own models the break-even compares: dask and the process
    pool when both ran, else threads and processes, else serial and its one other model."""
    # Only models measured at two or more values can cross: dispatch_overhead runs dask at its
    # base point only, and its task sizes under serial, threads and processes.
    param = swept_param(result)
    values: dict[str, set[float | None]] = {}
    for run in result.runs:
        values.setdefault(run.executor, set()).add(
            swept_value(run, result, param) if param else None
        )
    ran = [e for e, seen in values.items() if len(seen) >= 2]
    pair = next((pair for pair in BREAKEVEN_PAIRS if set(pair) <= set(ran)), None)
    if pair is not None:
        return pair
    others = [e for e in ran if not traits(e).baseline]
    return (BASELINE, others[0]) if BASELINE in ran and len(others) == 1 else None


def breakeven(result: ScenarioResult) -> BreakEven | None:
    """None unless the scenario measured the compared pair (compared_pair) at two or more
    values of one swept parameter."""
    pair = compared_pair(result)
    if pair is None:
        return None
    light, heavy = pair
    param = swept_param(result)
    if param is None:
        return None
    by_size: dict[float, list[RunResult]] = {}
    for run in result.runs:
        size = swept_value(run, result, param)
        if size is not None:
            by_size.setdefault(size, []).append(run)
    if len(by_size) < 2:
        return None
    # Start-up does not depend on the task size, but it is the noisiest figure (a process
    # pool's varies by 2x under load): use the median per (executor, workers) over all sizes.
    startups: dict[tuple[str, int], list[float]] = {}
    for run in result.runs:
        if run.status == "ok" and run.startup_seconds is not None:
            startups.setdefault((run.executor, run.workers), []).append(run.startup_seconds)

    def startup(run: RunResult | None) -> float | None:
        values = startups.get((run.executor, run.workers)) if run else None
        return statistics.median(values) if values else None

    # task_sizes_us runs each pool at one size past its first point; compare like with like.
    # A `sweep:` runs every worker count at every value: each model's best run there.
    legacy = any(not r.params for r in result.runs)
    pool = {r.executor: r.workers for r in result.runs if r.params} if legacy else {}
    points = []
    for size in sorted(by_size):
        runs = by_size[size]

        def best(executor: str, runs: list[RunResult] = runs) -> RunResult | None:
            """The run at the sweep's pool size, so every size compares like with like."""
            ok = [r for r in runs if r.executor == executor and batch_wall(r)]
            same = [r for r in ok if r.workers == pool.get(executor)]
            return min(same or ok, key=lambda r: batch_wall(r) or 0.0, default=None)

        t, p, s = best(light), best(heavy), best(BASELINE)
        points.append(
            SizePoint(
                size,
                batch_wall(s) if s else None,
                t.run_id if t else None,
                batch_wall(t) if t else None,
                startup(t),
                p.run_id if p else None,
                batch_wall(p) if p else None,
                startup(p),
            )
        )
    tasks = max((r.tasks for r in result.runs), default=0)
    wording = _Wording(param, light, heavy)
    steady = _crossing("steady", points, tasks, wording)
    batch = _crossing("batch", points, tasks, wording)
    text = f"{batch.text}; {steady.text}"
    payback = None
    if traits(heavy).cluster:
        # On one machine a LocalCluster has the pool's cores and a higher price per task, so
        # against serial is where that price shows being paid back.
        against = [
            SizePoint(p.value, p.serial_wall, None, p.serial_wall, 0.0, p.heavy_run, p.heavy_wall,
                      p.heavy_startup)
            for p in points
        ]  # fmt: skip
        payback = _crossing("steady", against, tasks, _Wording(param, BASELINE, heavy))
        payback.text = _payback_text(payback, _Wording(param, BASELINE, heavy), against)
        text += f"; {payback.text}"
    out = BreakEven(
        param, tasks, points, steady, batch, text, light=light, heavy=heavy, payback=payback
    )
    if sum(1 for p in points if p.light_wall and p.heavy_wall) < 3:
        out.warnings.append(
            f"fewer than three {wording.whats} with both {light} and {heavy}: a rough break-even"
        )
    return out
