"""How the suite shares 2 cores under pytest-xdist: how many workers, which worker gets which
tests, and the room that the `alone` tests hold by themselves. A plugin of its own
(tests/conftest.py names it), so that a test of these rules runs a nested pytest with them and
nothing else of the suite's (tests/test_parallel_isolation.py)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


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
# no other test enters it (a worker that started sooner took it first: 4.5 s at a run's start).
#
# (Letting tests that start no process run beside the `alone` ones was tried: under Python 3.12
# a lab then once took over 2 s to stop after a Ctrl+C that landed as its process pool started.)

_room: list[int] = []  # this worker's open lock files while one of its tests is in the room
ROOM_OPENS_WITHIN = 120.0  # seconds: then the other tests go on, whatever became of the alone ones


def runs_alone(item: pytest.Item | None) -> bool:
    return item is not None and item.get_closest_marker("alone") is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    items[:] = xdist_order(items, workers)


def xdist_order(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The collection laid out for pytest-xdist's worksteal, which hands worker i the i-th of
    `workers` consecutive slices and, at the end, steals from the tails of the longest queues.

    The first slice starts with the `alone` tests. Each other slice gets its share of the `slow`
    tests, a module at a time (a module's fixtures are set up once), then quick tests: what is
    left to steal at the end is quick, and no 20 s test starts last. The order only changes the
    wall time; every worker collects the same list."""
    alone = [item for item in items if runs_alone(item)]
    if workers < 2:
        return alone + [item for item in items if not runs_alone(item)]
    slow_by_module: dict[str, list[pytest.Item]] = {}
    quick: list[pytest.Item] = []
    for item in items:
        if runs_alone(item):
            continue
        if item.get_closest_marker("slow") is not None:
            slow_by_module.setdefault(item.nodeid.split("::")[0], []).append(item)
        else:
            quick.append(item)
    # worksteal's split: slice i holds what is left // (workers - i).
    sizes, left = [], len(items)
    for i in range(workers):
        sizes.append(left // (workers - i))
        left -= sizes[-1]
    slices: list[list[pytest.Item]] = [list(alone)] + [[] for _ in range(workers - 1)]
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
    if "PYTEST_XDIST_WORKER" in os.environ and basetemp and not _room:
        # Each worker's temp root is a folder of the run's own, shared by its workers.
        shared = Path(basetemp).parent
        alone = runs_alone(item)
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
    yield


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if runs_alone(item) and runs_alone(nextitem):
        return  # the next test runs alone too: it keeps the room this one holds
    while _room:
        os.close(_room.pop())  # closing a file releases this process's locks on it
