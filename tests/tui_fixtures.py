"""Fixed data for the app's tests: a machine, a finished scenario, a live run view.

Snapshots must not depend on this machine or on live measurements, so they show these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.analysis.noise import EnvironmentFacts, environment_warnings
from lab.analysis.summarise import finalise_scenario
from lab.engine.events import CpuSample, RunFinished, RunProgress, RunStarted, ScenarioStarted
from lab.engine.plan import RunPlan, ScenarioPlan
from lab.results.machine import MachineFacts
from lab.results.model import Memory, Report, RunResult, ScenarioResult
from lab.results.notices import Notice
from lab.results.repeat import RepeatRecord
from lab.scenario.loader import LoadedScenario, load_builtins
from lab.tui.app import LabApp
from lab.tui.live import LiveState

MACHINE: MachineFacts = {
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


# A numeric run on 4 CPUs at 1, 2 and 4 workers with 5 repeats: speedup intervals, USL fits.
FITTED_RUNS = [
    ("serial", 1, 2.00, 2.00, 20, 0.000001),
    ("asyncio", 1, 2.05, 2.05, 21, 0.0003),
    ("asyncio", 2, 2.06, 2.06, 21, 0.0003),
    ("asyncio", 4, 2.07, 2.07, 21, 0.0003),
    ("uvloop", 1, 2.04, 2.04, 22, 0.004),
    ("uvloop", 2, 2.03, 2.03, 22, 0.004),
    ("uvloop", 4, 2.05, 2.05, 22, 0.004),
    ("threads", 1, 2.10, 2.10, 21, 0.001),
    ("threads", 2, 2.20, 2.30, 22, 0.002),
    ("threads", 4, 2.30, 2.40, 23, 0.003),
    ("processes", 1, 2.15, 2.10, 45, 0.21),
    ("processes", 2, 1.10, 2.15, 70, 0.40),
    ("processes", 4, 0.62, 2.30, 120, 0.55),
]
# Repeat times that set off noise warnings: a cold first repeat, and repeats that vary a lot.
NOISY_WALLS = {
    "threads-4": [3.10, 2.30, 2.31, 2.30, 2.32],
    "processes-4": [0.62, 0.50, 0.75, 0.58, 0.70],
}
# The machine's warnings, as lab.analysis.noise words them for these facts.
MACHINE_WARNINGS = environment_warnings(
    EnvironmentFacts(
        governors=["powersave"], cpu_busy=0.35, load_average=1.4, logical_cpus=4, usable_cpus=4
    )
)

# Dispatch with a task-size sweep (wall seconds for 2000 tasks, no CPU figures needed).
SWEEP_MAIN = [
    ("serial", 1, 0.0010, 0.0010, 20, 0.000001),
    ("asyncio", 1, 0.0060, 0.0060, 21, 0.0003),
    ("asyncio", 2, 0.0062, 0.0062, 21, 0.0003),
    ("threads", 1, 0.0500, 0.0500, 21, 0.001),
    ("threads", 2, 0.0600, 0.0700, 22, 0.002),
    ("processes", 1, 0.0400, 0.0100, 45, 0.21),
    ("processes", 2, 0.0300, 0.0100, 70, 0.30),
]
SWEEP_SIZES = {  # task_us -> (serial, threads-2, processes-2) wall seconds
    25: (0.052, 0.110, 0.045),
    100: (0.202, 0.260, 0.120),
    300: (0.602, 0.660, 0.320),
}


def _result(
    name: str,
    workload: dict[str, Any],
    runs_spec: list[tuple[Any, ...]],
    repeats: int = 3,
    walls: dict[str, list[float]] | None = None,
    title: str = "Numeric crunching (pure-Python prime counting)",
    usable: int = 4,
) -> ScenarioResult:
    """A finished scenario with fixed numbers, finalised by the engine's own code."""
    tasks = int(workload.get("tasks", 64))
    runs = []
    for executor, workers, wall, cpu, rss, startup, *rest in runs_spec:
        params: dict[str, Any] = rest[0] if rest else {}
        label = ",".join(f"{k}={v:g}" for k, v in params.items())
        run_id = f"{executor}-{workers}" + (f"@{label}" if label else "")
        times = (walls or {}).get(run_id) or [wall * (1 + 0.01 * i) for i in range(repeats)]
        records = [
            RepeatRecord("repeat", i, t, cpu * t / wall, 0.0, tasks, tasks, "d1")
            for i, t in enumerate(times)
        ]
        runs.append(
            RunResult(
                run_id=run_id,
                executor=executor,
                workers=workers,
                unit="tasks",
                tasks=tasks,
                status="ok",
                startup_seconds=startup,
                repeats=records,
                memory=Memory(peak_rss_bytes=rss * 1024**2),
                params=params,
            )
        )
    result = ScenarioResult(
        name=name,
        source=f"builtin:{name}",
        title=title,
        description="fixed numbers for tests",
        workload=workload,
        settings={
            "repeats": repeats,
            "warmups": 0,
            "timeout": 60.0,
            "workers": sorted({r.workers for r in runs}),
        },
        runs=runs,
    )
    finalise_scenario(result, usable)
    return result


NUMERIC = {"kind": "numeric", "kernel": "primes", "tasks": 64, "size": 2000}


def finished_result(name: str = "numeric_crunching") -> ScenarioResult:
    """A finished numeric scenario with fixed numbers: 3 repeats at 1 and 2 workers."""
    return _result(name, NUMERIC, RUNS)


def fitted_result() -> ScenarioResult:
    """numeric_crunching at 1, 2 and 4 workers, 5 repeats, two noisy runs."""
    return _result("numeric_crunching", NUMERIC, FITTED_RUNS, repeats=5, walls=NOISY_WALLS)


def sweep_result() -> ScenarioResult:
    """dispatch_overhead with its task-size sweep: run ids like `threads-2@task_us=100`."""
    spec: list[tuple[Any, ...]] = list(SWEEP_MAIN)
    for size, (serial, threads, processes) in SWEEP_SIZES.items():
        params = {"task_us": size}
        spec += [
            ("serial", 1, serial, serial, 20, 0.000001, params),
            ("threads", 2, threads, serial, 22, 0.002, params),
            ("processes", 2, processes, serial, 70, 0.30, params),
        ]
    workload = {"kind": "dispatch", "tasks": 2000, "task_us": 0.0, "task_sizes_us": [25, 100, 300]}
    return _result(
        "dispatch_overhead", workload, spec, repeats=5, title="Dispatch overhead (near-empty tasks)"
    )


def make_app(**kwargs: Any) -> LabApp:
    return LabApp(load_builtins(), machine=MACHINE, loop_name=LOOP, **kwargs)


def builtin_index(name: str) -> int:
    return [s.name for s in load_builtins()].index(name)


def with_results(
    app: LabApp,
    name: str = "numeric_crunching",
    result: ScenarioResult | None = None,
    machine_warnings: list[Notice] | None = None,
) -> None:
    """Show a finished result on the Results tab, as if a session had just produced it."""
    index = builtin_index(name)
    app.state.results[index] = result or finished_result(name)
    if machine_warnings is not None:
        app.state.machine_warnings[index] = machine_warnings
    app.state.results_key = index
    app.results_pane.refresh_results()


async def with_live_runs(app: LabApp) -> None:
    """The run view part-way through a session, from synthetic events."""
    loaded: LoadedScenario = load_builtins()[builtin_index("numeric_crunching")]
    runs = [RunPlan(f"{e}-{w}", e, w) for e, w, *_ in RUNS]
    plan = ScenarioPlan(loaded.name, loaded.source, loaded.scenario, runs)
    app.state.plan_keys = [builtin_index("numeric_crunching")]
    app.state.live = LiveState.for_plans([plan])
    await app.run_pane.build_rows([plan])
    app.state.live.apply(ScenarioStarted(plan.name, loaded.scenario.title, tuple(runs)))
    for run in runs[:4]:
        app.state.live.apply(RunStarted(plan.name, run.run_id, run.executor, run.workers, 64, 0, 3))
        result = RunResult(run.run_id, run.executor, run.workers, "tasks", 64, status="ok")
        app.state.live.apply(RunFinished(plan.name, run.run_id, result))
    current = runs[4]
    app.state.live.apply(
        RunStarted(plan.name, current.run_id, current.executor, current.workers, 64, 0, 3)
    )
    app.state.live.apply(
        RunProgress(plan.name, current.run_id, "repeat", 1, 32, 64, 0.5, 3.0, 31.5)
    )
    app.state.live.apply(CpuSample((97.0, 12.0, 3.0, 55.0), current.run_id))
    app._paint()


def saved_report(path: Path) -> Path:
    """A JSON report as `--report` writes it: the fitted numeric scenario and the sweep."""
    from lab.report.formats import render

    report = Report(
        machine=MACHINE,
        scenarios=[fitted_result(), sweep_result()],
        command=["concurrency-lab", "--report", str(path)],
        warnings=list(MACHINE_WARNINGS),
    )
    path.write_text(render(report, "json"), encoding="utf-8")
    return path


async def with_live_sweep(app: LabApp) -> None:
    """dispatch_overhead's planned runs, its task-size sweep part-way through."""
    from lab.engine.plan import plan_scenario

    index = builtin_index("dispatch_overhead")
    loaded: LoadedScenario = load_builtins()[index]
    plan = plan_scenario(loaded)
    runs = list(plan.runs)
    current = next(i for i, r in enumerate(runs) if r.params and r.executor == "processes")
    app.state.plan_keys = [index]
    app.state.live = LiveState.for_plans([plan])
    await app.run_pane.build_rows([plan])
    app.state.live.apply(ScenarioStarted(plan.name, loaded.scenario.title, tuple(runs)))
    for run in runs[:current]:
        app.state.live.apply(RunStarted(plan.name, run.run_id, run.executor, run.workers, 64, 0, 5))
        result = RunResult(run.run_id, run.executor, run.workers, "tasks", 2000, status="ok")
        app.state.live.apply(RunFinished(plan.name, run.run_id, result))
    run = runs[current]
    app.state.live.apply(RunStarted(plan.name, run.run_id, run.executor, run.workers, 2000, 0, 5))
    app.state.live.apply(
        RunProgress(plan.name, run.run_id, "repeat", 2, 1000, 2000, 0.5, 1.2, 3_551_049.8)
    )
    app.state.live.apply(CpuSample((97.0, 12.0), run.run_id))
    app._paint()
