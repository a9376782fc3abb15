"""How the suite shares 2 cores under pytest-xdist: how many workers, which worker gets which
tests, the `alone` tests' room and its companion, and the check that an `inprocess` test starts
no process. A plugin of its own (tests/conftest.py names it), so that a test of these rules runs
a nested pytest with them alone (tests/test_parallel_isolation.py)."""

from __future__ import annotations

import fcntl
import functools
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SpawnGuard(), "lab-spawn-guard")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per usable CPU. Most tests wait on the processes they start (a
    runner, a lab, a browser, a Dask cluster): at one worker per CPU the whole suite kept 1.1 of
    2 cores busy. PYTEST_XDIST_AUTO_NUM_WORKERS still overrides it, as in pytest-xdist."""
    forced = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if forced:
        return int(forced)
    return 2 * len(os.sched_getaffinity(0))


# --- Tests that must run alone under pytest-xdist --------------------------------------------
#
# A test marked `alone` times how fast the lab reacts to a signal: with other workers' tests
# beside it on 2 cores, its clock would measure them. Every test holds a shared lock on the run's
# "room" from before its fixtures are set up until after they are torn down (module fixtures
# that start sessions in the background included); an `alone` test holds it exclusively. The
# turnstile makes that writer-preferring: once an `alone` test waits, no new test enters, so it
# is not starved by the other workers' stream of short tests. POSIX record locks (lockf), not
# flock: a child forked during a test does not inherit them, so a pool worker that outlives its
# test cannot keep the room locked.
#
# Each wait for the room idles every other worker until their current tests end, and the room is
# then theirs to idle in: so the `alone` tests are collected first (xdist hands the first slice of
# the collection to one worker, which runs them at the start), one `alone` test followed by
# another keeps the room (one wait for them all), and until the first `alone` test is in the room
# no other test enters it (a worker that started sooner would otherwise take it first).
#
# The `alone` tests mostly wait on the labs they signal: they kept one of the 2 cores busy for
# the block's 30 s. A test marked `inprocess` starts no process (no lab, runner, pool, browser or
# cluster), so it takes one core at most: one worker at a time (the companion lock) runs such
# tests beside the `alone` ones, without the room, and its slice starts with the slow ones. A test
# marked `inprocess` that starts a process fails at teardown (its spawning calls are wrapped
# while it runs, and its children are checked).
# An `alone(quiet=True)` test, whose subject is timing on a quiet CPU, takes the companion lock
# too: the companion finishes its test, and its next ones wait for the room.

_room: list[int] = []  # this worker's open lock files while one of its tests is in the room
_companion: list[int] = []  # the companion lock file, while this worker holds it
_quiet: list[int] = []  # the companion lock file, while this worker's quiet test holds it
ROOM_OPENS_WITHIN = 120.0  # seconds: then the other tests go on, whatever became of the alone ones


def runs_alone(item: pytest.Item | None) -> bool:
    return item is not None and item.get_closest_marker("alone") is not None


def wants_a_quiet_cpu(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("alone")
    return marker is not None and bool(marker.kwargs.get("quiet"))


def runs_in_process(item: pytest.Item | None) -> bool:
    return item is not None and item.get_closest_marker("inprocess") is not None


def is_slow(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    items[:] = xdist_order(items, workers)


def xdist_order(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The collection laid out for pytest-xdist's worksteal, which hands worker i the i-th of
    `workers` consecutive slices and, at the end, steals from the tails of the longest queues.

    The first slice starts with the `alone` tests (the quiet ones last), the second with the
    slow `inprocess` ones (its worker is the companion while they run). Then each slice but the
    first gets its share of the other `slow` tests, a module at a time (a module's fixtures are
    set up once), then quick tests: what is left to steal at the end is quick, and no 20 s test
    starts last. The order only changes the wall time; every worker collects the same list."""
    # The quiet ones last: from the first, the companion waits for the room.
    alone = sorted((item for item in items if runs_alone(item)), key=wants_a_quiet_cpu)
    if workers < 2:
        return alone + [item for item in items if not runs_alone(item)]
    companion = [item for item in items if runs_in_process(item) and is_slow(item)]
    slow_by_module: dict[str, list[pytest.Item]] = {}
    quick: list[pytest.Item] = []
    for item in items:
        if runs_alone(item) or (runs_in_process(item) and is_slow(item)):
            continue
        if is_slow(item):
            slow_by_module.setdefault(item.nodeid.split("::")[0], []).append(item)
        else:
            quick.append(item)
    # worksteal's split: slice i holds what is left // (workers - i).
    sizes, left = [], len(items)
    for i in range(workers):
        sizes.append(left // (workers - i))
        left -= sizes[-1]
    slices: list[list[pytest.Item]] = [list(alone), companion] + [[] for _ in range(workers - 2)]
    for module in sorted(slow_by_module.values(), key=len, reverse=True):
        least = min(range(1, workers), key=lambda i: len(slices[i]))
        slices[least].extend(module)
    for i in range(workers):
        room = max(0, sizes[i] - len(slices[i]))
        slices[i].extend(quick[:room])
        del quick[:room]
    ordered = [item for part in slices for item in part] + quick
    assert len(ordered) == len(items)
    return ordered


def has_alone_tests(session: pytest.Session) -> bool:
    found = getattr(session, "_lab_has_alone_tests", None)
    if found is None:
        found = any(runs_alone(item) for item in session.items)
        session._lab_has_alone_tests = found  # type: ignore[attr-defined]
    return found


def wait_for_the_alone_block(started: Path) -> None:
    deadline = time.monotonic() + ROOM_OPENS_WITHIN
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    basetemp = item.config.option.basetemp
    if "PYTEST_XDIST_WORKER" in os.environ and basetemp:
        # Each worker's temp root is a folder of the run's own, shared by its workers.
        shared = Path(basetemp).parent
        alone = runs_alone(item)
        if alone and wants_a_quiet_cpu(item):
            quiet = os.open(shared / "alone.companion", os.O_RDWR | os.O_CREAT, 0o600)
            _quiet.append(quiet)
            fcntl.lockf(quiet, fcntl.LOCK_EX)  # the companion's test ends, and none starts
        if not (_room or _companion):
            enter(item, shared, alone)
    yield


def enter(item: pytest.Item, shared: Path, alone: bool) -> None:
    """Into the room (shared, or exclusive for an `alone` test), or beside it as the companion."""
    if runs_in_process(item):
        companion = os.open(shared / "alone.companion", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(companion, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _companion.append(companion)
            return
        except OSError:
            os.close(companion)  # another worker is the companion: this test takes the room
    started = shared / "alone.started"
    if not alone and has_alone_tests(item.session):
        wait_for_the_alone_block(started)
    turnstile = os.open(shared / "alone.turnstile", os.O_RDWR | os.O_CREAT, 0o600)
    room = os.open(shared / "alone.room", os.O_RDWR | os.O_CREAT, 0o600)
    _room.extend([room, turnstile])
    fcntl.lockf(turnstile, fcntl.LOCK_EX)
    fcntl.lockf(room, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
    if alone:
        started.touch()
    else:
        fcntl.lockf(turnstile, fcntl.LOCK_UN)  # in the room: let the next one through


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    while _quiet:
        os.close(_quiet.pop())  # closing a file releases this process's locks on it
    if runs_alone(item) and runs_alone(nextitem):
        return  # the next test runs alone too: it keeps the room this one holds
    # The companion lets go of its lock after each test too, so a quiet test waits for one test.
    while _room:
        os.close(_room.pop())
    while _companion:
        os.close(_companion.pop())


# What a test marked `inprocess` must not call, wrapped while one runs. (Not an audit hook: one
# stays for the life of the worker and sees every event, 200,000 in a Textual test, mostly id().)
# multiprocessing's spawn and forkserver start processes by other means; the children check at
# teardown catches those.
SPAWNERS: list[tuple[object, str]] = [
    (subprocess.Popen, "_execute_child"),
    (os, "fork"),
    (os, "forkpty"),
    (os, "posix_spawn"),
    (os, "posix_spawnp"),
    (os, "system"),
]
_spawned: list[str] = []  # what the running `inprocess` test started
_guarding: list[set[int]] = []  # while an `inprocess` test runs: the pids of earlier children
_originals: list[tuple[object, str, Any]] = []  # the wrapped functions, while wrapped


def _wrapped(name: str, original: Any) -> Any:
    @functools.wraps(original)
    def spawner(*args: Any, **kwargs: Any) -> Any:
        _spawned.append(f"{name}{args[1:2] if name == '_execute_child' else args[:1]!r}"[:120])
        return original(*args, **kwargs)

    return spawner


def wrap_spawners() -> None:
    for owner, name in SPAWNERS:
        original = getattr(owner, name, None)
        if original is not None:
            _originals.append((owner, name, original))
            setattr(owner, name, _wrapped(name, original))


def unwrap_spawners() -> None:
    while _originals:
        owner, name, original = _originals.pop()
        setattr(owner, name, original)


def command_line(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return "(gone)"


def child_pids() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


class SpawnGuard:
    """Fails a test marked `inprocess` that starts a process, from its setup to its teardown."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if runs_in_process(item):
            _spawned.clear()
            _guarding[:] = [child_pids()]
            wrap_spawners()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        if not _guarding:
            return
        unwrap_spawners()
        before = _guarding.pop()
        new = [
            f"{proc.pid} {command_line(proc)[:80]}"
            for proc in psutil.Process().children(recursive=True)
            if proc.pid not in before
        ]
        if _spawned or new:
            pytest.fail(
                f"{item.nodeid} is marked inprocess but started a process: "
                f"{'; '.join(_spawned + new)} (it would run beside the alone tests)"
            )
