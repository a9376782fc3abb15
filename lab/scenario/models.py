"""The concurrency models: one descriptor each, the only place a model's name is written.

Charts, cells, rules, claims, controls, the plan, the app and the spec read these attributes and
predicates, never compare against a model's name. Adding a model is one executor module under
lab/runner/executors/ (named here by import path, loaded only by the runner) plus one descriptor.

Pure data: nothing here imports pydantic or an executor, so `--list` and planning stay light.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from lab.core import optional

MIB = 1024 * 1024


@dataclass(frozen=True)
class Footprint:
    """What a run of the model starts beside its runner, for the check that a plan fits the
    machine (lab.engine.system.limits): memory per worker and in all, open files per worker."""

    worker_bytes: int = 0
    workers_called: str = ""  # "worker processes": how the estimate names its workers
    shared_bytes: int = 0  # started once per run, whatever the workers
    shared_called: str = ""
    files_per_worker: int = 0  # held by the runner (pipes, comms); 0: the workload's own only


@dataclass(frozen=True)
class ConcurrencyModel:
    """One concurrency model: what it is called and drawn as, where its executor lives, whether
    it runs here, and what the analysis must know about it."""

    name: str  # as scenarios, reports and run ids write it
    letter: str  # the chart's marker, readable without colour
    display_name: str
    description: str  # one line
    executor: str  # "module:Class" of its executor, imported by the runner only
    terminal_colour: str  # the app's chart
    html_colour: str  # the HTML report's charts
    plural: bool  # its name reads as a plural: "processes win", "dask wins"
    default: bool = True  # run when a scenario lists no executors
    needs_module: str | None = None  # an optional dependency, found without importing it
    missing_words: str = ""  # what to say when `needs_module` is missing ...
    install_line: str | None = None  # ... and the command that installs it, where one exists
    needs_subinterpreters: bool = False  # a PEP 734 pool: Python 3.13 with the backport, 3.14+
    # What the analysis branches on:
    baseline: bool = False  # the serial baseline every speedup is over; runs at 1 worker only
    event_loop: bool = False  # coroutines on one loop: CPU work stays on one thread
    gil_bound_threads: bool = False  # OS threads in one interpreter: the GIL holds their bytecode
    own_gil: str | None = None  # why its workers run bytecode on several cores, when they do
    shows_pool_costs: bool = False  # explanations quote its pool's start-up and memory per worker
    start_method: bool = False  # starts its workers with the scenario's multiprocessing method
    calls_sync_function: bool = False  # its workers call the sync form, as serial does
    price_per_task: float = 2e-4  # seconds it adds per task at most on a sound machine
    task_size_sweep: bool = False  # runs at every task size of a `task_sizes_us` sweep
    cluster: bool = False  # a scheduler and workers it starts (or reaches at an address)
    stands_in_for: str | None = None  # the model whose claims it answers when that one did not run
    footprint: Footprint = Footprint()

    @property
    def install(self) -> str:
        """The sentence for a missing `needs_module`: what is missing and how to install it."""
        line = self.install_line
        return f"{self.missing_words}: {line}" if line else self.missing_words

    @property
    def shares_one_gil(self) -> bool:
        """All its Python bytecode runs under one GIL (the serial baseline, loops, threads)."""
        return self.baseline or self.event_loop or self.gil_bound_threads

    def is_negative_control(self, workers: int, async_form: bool) -> bool:
        """A 1-worker run of it calls the same function as serial: a negative control (a loop
        calls the sync function only when the workload has no coroutine form of its own)."""
        if workers != 1 or self.baseline:
            return False
        return self.calls_sync_function or (self.event_loop and not async_form)

    def unavailable(self) -> str | None:
        """None when it can run here, else why not and how to get it. Imports nothing."""
        if self.needs_subinterpreters:
            return optional.interpreters_problem()
        if self.needs_module is not None and optional.missing(self.needs_module):
            return self.install
        return None


# Measured on a 2-core VM (issue 25): 6 us a task for a thread pool, 81-88 us for a process or
# interpreter pool, 1-4 ms for Dask; the prices below are about twice that.
SERIAL = ConcurrencyModel(
    name="serial",
    letter="s",
    display_name="serial",
    description="one task after another in the runner's main thread: the baseline",
    executor="lab.runner.executors.serial:SerialExecutor",
    terminal_colour="white",
    html_colour="#6b7280",
    plural=False,
    baseline=True,
    task_size_sweep=True,
)
ASYNCIO = ConcurrencyModel(
    name="asyncio",
    letter="a",
    display_name="asyncio",
    description="coroutines on the standard library's event loop",
    executor="lab.runner.executors.asyncio_loop:AsyncioExecutor",
    terminal_colour="cyan",
    html_colour="#2563eb",
    plural=False,
    event_loop=True,
    price_per_task=1e-4,
)
UVLOOP = ConcurrencyModel(
    name="uvloop",
    letter="u",
    display_name="uvloop",
    description="asyncio's coroutines on uvloop's event loop (libuv), where it is installed",
    executor="lab.runner.executors.uvloop_loop:UvloopExecutor",
    terminal_colour="blue",
    html_colour="#7c3aed",
    plural=False,
    needs_module="uvloop",
    missing_words="uvloop is not installed"
    + (" (it does not exist on Windows)" if sys.platform == "win32" else ""),
    install_line=None if sys.platform == "win32" else "pip install uvloop",
    event_loop=True,
    price_per_task=1e-4,
    stands_in_for="asyncio",
)
THREADS = ConcurrencyModel(
    name="threads",
    letter="t",
    display_name="thread pool",
    description="a ThreadPoolExecutor: OS threads sharing one interpreter and its GIL",
    executor="lab.runner.executors.threads:ThreadExecutor",
    terminal_colour="yellow",
    html_colour="#ea580c",
    plural=True,
    gil_bound_threads=True,
    calls_sync_function=True,
    price_per_task=1e-4,
    task_size_sweep=True,
    # A thread's touched stack and bookkeeping (its 8 MiB stack is mostly never touched).
    footprint=Footprint(worker_bytes=256 * 1024, workers_called="threads"),
)
PROCESSES = ConcurrencyModel(
    name="processes",
    letter="p",
    display_name="process pool",
    description="a ProcessPoolExecutor: worker processes, tasks and results pickled",
    executor="lab.runner.executors.processes:ProcessExecutor",
    terminal_colour="green",
    html_colour="#16a34a",
    plural=True,
    own_gil="each worker process has its own interpreter and GIL",
    shows_pool_costs=True,
    start_method=True,
    calls_sync_function=True,
    price_per_task=2e-4,  # pickling and a pipe per chunk
    task_size_sweep=True,
    # A pool worker process (forkserver child importing the workload): about 21 GB for 1024;
    # the runner holds its pipes and a sentinel.
    footprint=Footprint(
        worker_bytes=20 * MIB, workers_called="worker processes", files_per_worker=4
    ),
)
INTERPRETERS = ConcurrencyModel(
    name="interpreters",
    letter="i",
    display_name="sub-interpreter pool",
    description="an InterpreterPoolExecutor (PEP 734): interpreters with a GIL each, one process",
    executor="lab.runner.executors.subinterpreters:InterpreterExecutor",
    terminal_colour="red",
    html_colour="#0d9488",
    plural=True,
    default=False,
    needs_subinterpreters=True,
    own_gil="each sub-interpreter has its own GIL, all in one process",
    calls_sync_function=True,
    price_per_task=2e-4,
    # A sub-interpreter with the workload's modules imported in it (the executor's module alone
    # took about 24 ms to import in each on 3.14), its thread's stack and its queues.
    footprint=Footprint(worker_bytes=16 * MIB, workers_called="sub-interpreters"),
)
DASK = ConcurrencyModel(
    name="dask",
    letter="d",
    display_name="Dask cluster",
    description="Dask distributed: single-threaded worker processes (a LocalCluster, or a cluster's)",
    executor="lab.runner.executors.dask_cluster:DaskExecutor",
    terminal_colour="magenta",
    html_colour="#db2777",
    plural=False,
    default=False,
    needs_module="distributed",
    missing_words="Dask distributed is not installed",
    install_line="pip install 'concurrency-lab[cluster]'",
    calls_sync_function=True,
    price_per_task=5e-3,  # a scheduler round trip per task or chunk
    cluster=True,
    # A LocalCluster's worker imports Dask distributed (about 45 MiB USS measured, a nanny's
    # share included), and the runner holds the scheduler; an existing cluster costs only the
    # client. Per worker: its comms to the scheduler, the client and its nanny, pipes.
    footprint=Footprint(
        worker_bytes=64 * MIB,
        workers_called="Dask workers",
        shared_bytes=48 * MIB,
        shared_called="the Dask client and scheduler",
        files_per_worker=16,
    ),
)

# Every model, in report order.
MODELS: tuple[ConcurrencyModel, ...] = (
    SERIAL,
    ASYNCIO,
    UVLOOP,
    THREADS,
    PROCESSES,
    INTERPRETERS,
    DASK,
)
BY_NAME = {model.name: model for model in MODELS}
NAMES = tuple(BY_NAME)
# What a scenario runs unless it lists executors: the models of one machine. Dask is asked for
# by name (it needs the optional `cluster` extra and starts a cluster per run), sub-interpreter
# pools too (they need Python 3.13+).
DEFAULT_NAMES = tuple(model.name for model in MODELS if model.default)

# (light, heavy) pairs a break-even compares: the model cheaper per task and to start, and the
# one whose price more work per task may pay back. Dask against the process pool when a
# scenario has both.
BREAKEVEN_PAIRS = ((PROCESSES.name, DASK.name), (THREADS.name, PROCESSES.name))


def traits(name: str | None) -> ConcurrencyModel:
    """The descriptor of a model's name; an unknown name (a report from another release, no
    model at all) reads as a model with no traits."""
    found = BY_NAME.get(name) if name is not None else None
    return found or _NO_TRAITS


_NO_TRAITS = ConcurrencyModel(
    name="",
    letter="",
    display_name="",
    description="",
    executor="",
    terminal_colour="",
    html_colour="",
    plural=False,
    default=False,
)


# The serial baseline's name, as run ids and speedups name it.
BASELINE = next(model for model in MODELS if model.baseline).name


def is_baseline(name: str | None) -> bool:
    return traits(name).baseline


def unavailable(name: str) -> str | None:
    """None when the named model can run here, else why not and how to get it."""
    return traits(name).unavailable()
