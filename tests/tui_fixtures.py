"""Fixed data for the app's tests: a machine, a finished scenario, a live run view.

Snapshots must not depend on this machine or on live measurements, so they show these.
"""

from __future__ import annotations

from typing import Any

from lab.events import CpuSample, RunFinished, RunProgress, RunStarted, ScenarioStarted
from lab.loader import LoadedScenario, load_builtins
from lab.plan import RunPlan, ScenarioPlan
from lab.report.model import RepeatRecord, RunResult, ScenarioResult
from lab.tui.app import LabApp
from lab.tui.live import LiveState

MACHINE: dict[str, Any] = {
    "hostname": "lab-host",
    "cpu_model": "Example CPU 9000 @ 3.00GHz",
    "architecture": "x86_64",
    "cpus_logical": 4,
    "cpus_physical": 2,
    "cpus_affinity": 4,
    "cpu_quota": None,
    "cpus_usable": 4,
    "memory_total_bytes": 16 * 1024**3,
    "memory_available_bytes": 8 * 1024**3,
    "os": "Linux-6.1-x86_64",
    "kernel": "6.1",
    "python": {
        "implementation": "CPython",
        "version": "3.11.7",
        "build": "main Jan 1 2026 00:00:00",
        "compiler": "GCC 12.2.0",
        "executable": "/usr/bin/python3",
        "gil_enabled": True,
    },
    "multiprocessing_start_method": "forkserver",
    "multiprocessing_methods": ["fork", "spawn", "forkserver"],
    "libraries": {"textual": "8.2.8", "uvloop": "0.21.0"},
}
LOOP = "this app: asyncio _UnixSelectorEventLoop; runs: asyncio (stdlib loop), uvloop 0.21.0"

# (executor, workers, wall seconds per repeat, cpu seconds, peak rss MiB, startup s)
RUNS = [
    ("serial", 1, 2.00, 2.00, 20, 0.000001),
    ("asyncio", 1, 2.05, 2.05, 21, 0.0003),
    ("asyncio", 2, 2.06, 2.06, 21, 0.0003),
    ("uvloop", 1, 2.04, 2.04, 22, 0.004),
    ("uvloop", 2, 2.03, 2.03, 22, 0.004),
    ("threads", 1, 2.10, 2.10, 21, 0.001),
    ("threads", 2, 2.20, 2.30, 22, 0.002),
    ("processes", 1, 2.15, 2.10, 45, 0.21),
    ("processes", 2, 1.10, 2.15, 70, 0.40),
]


def finished_result(name: str = "numeric_crunching") -> ScenarioResult:
    """A finished numeric scenario with fixed numbers, finalised by the engine's own code."""
    runs = []
    for executor, workers, wall, cpu, rss, startup in RUNS:
        repeats = [
            RepeatRecord("repeat", i, wall * (1 + 0.01 * i), cpu, 0.0, 64, 64, "d1")
            for i in range(3)
        ]
        runs.append(
            RunResult(
                run_id=f"{executor}-{workers}",
                executor=executor,
                workers=workers,
                unit="tasks",
                tasks=64,
                status="ok",
                startup_seconds=startup,
                repeats=repeats,
                peak_rss_bytes=rss * 1024**2,
            )
        )
    result = ScenarioResult(
        name=name,
        source=f"builtin:{name}",
        title="Numeric crunching (pure-Python prime counting)",
        description="fixed numbers for tests",
        workload={"kind": "numeric", "kernel": "primes", "tasks": 64, "size": 2000},
        settings={"repeats": 3, "warmups": 0, "workers": [1, 2]},
        runs=runs,
    )
    result.finalise(4)
    return result


def make_app(**kwargs: Any) -> LabApp:
    return LabApp(load_builtins(), machine=MACHINE, loop_name=LOOP, **kwargs)


def builtin_index(name: str) -> int:
    return [s.name for s in load_builtins()].index(name)


def with_results(app: LabApp, name: str = "numeric_crunching") -> None:
    index = builtin_index(name)
    app.results[index] = finished_result(name)
    app.results_key = index
    app._show_results()


async def with_live_runs(app: LabApp) -> None:
    """The run view part-way through a session, from synthetic events."""
    loaded: LoadedScenario = load_builtins()[builtin_index("numeric_crunching")]
    runs = [RunPlan(f"{e}-{w}", e, w) for e, w, *_ in RUNS]
    plan = ScenarioPlan(loaded.name, loaded.source, loaded.scenario, runs)
    app.plan_keys = [builtin_index("numeric_crunching")]
    app.live = LiveState.for_plans([plan])
    await app._build_rows([plan])
    app.live.apply(ScenarioStarted(plan.name, loaded.scenario.title, tuple(runs)))
    for run in runs[:4]:
        app.live.apply(RunStarted(plan.name, run.run_id, run.executor, run.workers, 64, 0, 3))
        result = RunResult(run.run_id, run.executor, run.workers, "tasks", 64, status="ok")
        app.live.apply(RunFinished(plan.name, run.run_id, result))
    current = runs[4]
    app.live.apply(
        RunStarted(plan.name, current.run_id, current.executor, current.workers, 64, 0, 3)
    )
    app.live.apply(RunProgress(plan.name, current.run_id, "repeat", 1, 32, 64, 0.5, 3.0, 31.5))
    app.live.apply(CpuSample((97.0, 12.0, 3.0, 55.0), current.run_id))
    app._paint()
