"""Safety of the lab's processes on a shared server, provoked for real (issue 14, items 1, 4, 5):
code planted in the working directory never runs; a SIGKILLed lab takes its whole tree with it
and its temp folders are swept by the next lab; SIGHUP ends like SIGTERM; cancelled and
timed-out pools leave no semaphores; Ctrl+C is never lost; the embedded server stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from lab.engine.events import RunProgress
from lab.engine.plan import make_plan
from lab.engine.runnerproc import RunnerProcess, Spawned
from lab.engine.session import LabSession
from lab.engine.system import sweep
from lab.runner.cancelsafe import get_within
from lab.runner.system.child_env import child_env, python_command
from lab.runner.system.groups import TRACKER_GRACE, running
from lab.scenario.loader import resolve
from tests.conftest import CONSOLE_SCRIPT, LabSandbox, command_line
from tests.conftest import LabProcess as Lab
from tests.conftest import scenario_file as scenario
from tests.faults import fault_env, hanging


def semaphores_of(processes: list[psutil.Process]) -> set[str]:
    """The multiprocessing semaphores (/dev/shm/sem.mp-*) these processes have mapped.

    glibc maps a semaphore under a temporary name before linking it to its real one, so the
    maps are matched to /dev/shm by inode."""
    inodes: set[int] = set()
    for proc in processes:
        try:
            with open(f"/proc/{proc.pid}/maps") as f:
                for line in f:
                    fields = line.split(maxsplit=5)
                    if len(fields) == 6 and fields[5].startswith("/dev/shm/sem."):
                        inodes.add(int(fields[4]))
        except OSError:
            continue
    found = set()
    for entry in os.scandir("/dev/shm"):
        if entry.name.startswith("sem.mp-"):
            try:
                if entry.inode() in inodes:
                    found.add(entry.path)
            except OSError:
                continue
    return found


def wait_gone(pids: list[int], timeout: float) -> float:
    """Seconds until none of `pids` runs; fails after `timeout`."""
    start = time.monotonic()
    while alive := [pid for pid in pids if running(pid)]:
        assert time.monotonic() - start < timeout, f"still running: {alive}"
        time.sleep(0.005)
    return time.monotonic() - start


def left(paths: set[str]) -> set[str]:
    return {p for p in paths if os.path.exists(p)}


# --- 1. Code from the working directory ---------------------------------------------------

PLANTED = {
    "json.py": "json",
    "psutil.py": "psutil",
    "multiprocessing/__init__.py": "multiprocessing",
    "lab/__init__.py": "lab",
    "lab/engine/__init__.py": "lab.engine",
}


def plant(folder: Path, markers: Path) -> None:
    """Modules that would leave a marker file if any process of the lab imported them."""
    for relative, name in PLANTED.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        marker = markers / f"{name}-imported"
        path.write_text(f"import os\nopen({str(marker)!r}, 'a').write(str(os.getpid()) + ' ')\n")


def test_planted_modules_are_live(tmp_path: Path) -> None:
    """The plants work: an ordinary `python -c` in that folder runs them."""
    work, markers = tmp_path / "work", tmp_path / "markers"
    work.mkdir()
    markers.mkdir()
    plant(work, markers)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSAFEPATH", "PYTHONPATH")}
    subprocess.run([sys.executable, "-c", "import json"], cwd=work, env=env, check=True)
    assert (markers / "json-imported").exists()


@pytest.mark.slow
def test_no_process_of_the_lab_imports_from_the_working_directory(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    """The console script, its runners, their pool workers, forkserver and resource tracker,
    and the embedded server, all started from a folder full of planted modules."""
    assert CONSOLE_SCRIPT.exists()
    work, markers = tmp_path / "work", tmp_path / "markers"
    work.mkdir()
    markers.mkdir()
    plant(work, markers)
    (work / "a.yaml").write_text(
        "title: n\nworkload: {kind: numeric, tasks: 4, size: 2000}\n"
        "executors: [serial, processes]\nworkers: [2]\nrepeats: 1\nwarmups: 0\n"
    )
    (work / "b.yaml").write_text(
        "title: h\nworkload: {kind: http, requests: 20, latency_ms: 0}\n"
        "executors: [threads, processes]\nworkers: [2]\nrepeats: 1\nwarmups: 0\n"
    )
    lab = Lab(
        lab_sandbox, "--report", "out.json", "a.yaml", "b.yaml", cwd=work, script=True,
        PYTHONSAFEPATH="",  # the lab must make its children safe itself
    )  # fmt: skip
    assert lab.finish() == 0, lab.stderr
    report = json.loads((work / "out.json").read_text())
    statuses = [r["status"] for s in report["scenarios"] for r in s["runs"]]
    assert statuses == ["ok"] * 4
    assert sorted(p.name for p in markers.iterdir()) == []


def test_child_environment_puts_nothing_ahead_of_the_standard_library(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["", ".", "rel/dir", str(tmp_path)]))
    env = child_env()
    assert env["PYTHONPATH"] == str(tmp_path)  # the user's own absolute entries only
    assert env["PYTHONSAFEPATH"] == "1"
    assert env["LAB_PARENT_PID"] == str(os.getpid())
    command = python_command("lab.runner.main")
    assert command[:2] == [sys.executable, "-P"]
    probe = "import json, sys; print(sys.path[0], json.__file__)"
    work = tmp_path / "work"
    work.mkdir()
    (work / "json.py").write_text("raise SystemExit('planted json imported')\n")
    out = subprocess.run(
        [*command[:2], "-c", probe], cwd=work, env=env, capture_output=True, text=True, check=True
    )
    first, json_file = out.stdout.split()
    assert first != str(work) and json_file != str(work / "json.py")


def test_an_uninstalled_checkout_runs_its_children_safely_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Where `-m` could not find the lab, a bootstrap appends its folder after the standard
    library and site-packages and runs the module as `-m` would, arguments and all."""
    from lab.runner.system import child_env as module

    monkeypatch.setattr(module, "_installed", lambda: False)
    command = python_command("lab.runner.server", "--payload-size", "7")
    assert command[:3] == [sys.executable, "-P", "-c"]
    work, markers = tmp_path / "work", tmp_path / "markers"
    work.mkdir()
    markers.mkdir()
    plant(work, markers)
    server = subprocess.Popen(
        command, cwd=work, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline().decode()
        assert line.startswith("LISTENING "), server.communicate()
        conn = http.client.HTTPConnection("127.0.0.1", int(line.split()[1]), timeout=5)
        conn.request("GET", "/item/1")
        assert conn.getresponse().read() == b"concurrency-lab "[:7]
        conn.close()
    finally:
        server.terminate()
        server.wait(5)
    assert sorted(p.name for p in markers.iterdir()) == []


# --- 4. A killed lab leaves nothing behind ------------------------------------------------

BUSY = """\
title: busy
workload: {kind: http, requests: 40, latency_ms: 0}
executors: [processes]
workers: [2]
repeats: 3
warmups: 0
timeout: 120
"""


@pytest.mark.slow
@pytest.mark.alone  # times its reaction to a signal
def test_a_sigkilled_lab_takes_its_whole_tree_with_it(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    """Runner, forkserver, pool workers (one busy in a task), resource tracker and embedded
    server all end within a second or so; the next lab sweeps the dead lab's temp folder."""
    lab = Lab(
        lab_sandbox, "--report", "out.json", scenario(tmp_path, BUSY), cwd=tmp_path,
        **fault_env("processes-2:hang@0"),
    )  # fmt: skip
    lab.wait_until("lab.runner.server")
    lab.wait_until("lab.runner.main")
    lab.wait_until("multiprocessing.forkserver")
    # Two pool workers: children of the forkserver.
    deadline = time.monotonic() + 60
    # The lab, its server, runner, forkserver, resource tracker and two pool workers.
    while len(tree := lab_sandbox.processes()) < 7:
        assert time.monotonic() < deadline, [command_line(p)[:60] for p in tree]
        time.sleep(0.05)
    # Workers that are still starting follow as soon as they have started (they check their
    # parent then); give them time, so that what is timed below is how fast they follow.
    time.sleep(1.0)
    tree = [p for p in lab_sandbox.processes() if p.pid != lab.proc.pid]
    semaphores = semaphores_of(tree)
    assert semaphores, "the pool's semaphores should be visible in its processes' maps"
    folders = list(lab_sandbox.tmp.glob("concurrency-lab-*"))
    assert len(folders) == 1
    lab.proc.kill()
    lab.proc.wait()
    took = wait_gone([p.pid for p in tree], 3.0)
    assert not lab_sandbox.wait_until_gone(1.0)
    print(f"\nthe lab's {len(tree)} children were gone {took * 1000:.0f} ms after its SIGKILL")
    assert left(semaphores) == set()
    assert folders[0].exists()  # nobody could remove it...
    # ... until the next lab starts.
    quick = "title: q\nworkload: {kind: dispatch, tasks: 2, task_us: 10}\nexecutors: [serial]\n"
    nxt = Lab(lab_sandbox, "--report", "-", scenario(tmp_path, quick, "q.yaml"), cwd=tmp_path)
    assert nxt.finish() == 0, nxt.stderr
    assert not folders[0].exists()


WATCHED_CHILD = """\
from lab.runner.system import parent_death
parent_death._prctl_pdeathsig = lambda: False  # as where prctl is missing: the thread watches
parent_death.arm()
print("armed", flush=True)
import time; time.sleep(3600)
"""


@pytest.mark.alone  # times its reaction to a signal
def test_without_prctl_a_thread_follows_the_parent(lab_sandbox: LabSandbox) -> None:
    parent_code = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-P', '-c', {WATCHED_CHILD!r}],\n"
        "    stdout=subprocess.PIPE)\n"
        "print(child.pid, child.stdout.readline().decode().strip(), flush=True)\n"
        "time.sleep(3600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True,
        env=lab_sandbox.env(),
    )  # fmt: skip
    assert parent.stdout is not None
    pid, armed = parent.stdout.readline().split()
    assert armed == "armed" and running(int(pid))
    parent.kill()
    parent.wait()
    took = wait_gone([int(pid)], 3.0)
    print(f"\nthe watching thread followed its parent in {took * 1000:.0f} ms")


def test_a_child_whose_parent_died_before_it_armed_follows_at_once() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    code = (
        "from lab.runner.system import parent_death\n"
        f"parent_death.arm({gone.pid})\n"
        "print('survived')\n"
    )
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True)
    assert out.returncode == -signal.SIGKILL, out
    assert "survived" not in out.stdout


def _owned(root: Path, name: str, owner: dict[str, object] | None) -> Path:
    folder = root / f"{sweep.PREFIX}{name}"
    folder.mkdir()
    (folder / "corpus").mkdir()
    (folder / "corpus" / "file-0").write_bytes(b"x" * 100)
    if owner is not None:
        (folder / sweep.OWNER).write_text(json.dumps(owner))
    return folder


def test_sweep_removes_only_folders_whose_owner_is_gone(tmp_path: Path) -> None:
    ns = os.readlink("/proc/self/ns/pid")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no process (until reused, which the start time catches)
    try:
        started = psutil.Process(live.pid).create_time()
        folders = {
            "live": _owned(tmp_path, "live", {"pid": live.pid, "started": started, "pidns": ns}),
            "dead": _owned(tmp_path, "dead", {"pid": dead.pid, "started": started, "pidns": ns}),
            "reused": _owned(
                tmp_path, "reused", {"pid": live.pid, "started": started - 3600, "pidns": ns}
            ),
            "no-owner": _owned(tmp_path, "no-owner", None),
            "other-ns": _owned(
                tmp_path, "other-ns", {"pid": dead.pid, "started": 0, "pidns": "pid:[1]"}
            ),
            "garbage": _owned(tmp_path, "garbage", None),
        }
        (folders["garbage"] / sweep.OWNER).write_text("{not json")
        (tmp_path / "unrelated").mkdir()
        removed = sweep.sweep_stale(str(tmp_path))
    finally:
        live.kill()
        live.wait()
    assert sorted(p.name for p in removed) == [f"{sweep.PREFIX}dead", f"{sweep.PREFIX}reused"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{sweep.PREFIX}{n}" for n in ("live", "no-owner", "other-ns", "garbage")] + ["unrelated"]
    )


def test_own_workdir_records_its_owner_and_survives_a_sweep(
    lab_sandbox: LabSandbox,
) -> None:
    workdir = sweep.make_workdir()
    try:
        owner = json.loads((workdir / sweep.OWNER).read_text())
        assert owner["pid"] == os.getpid()
        assert sweep.sweep_stale() == []
        assert workdir.exists()
    finally:
        shutil.rmtree(workdir)


SLOW = """\
title: slow
workload: {kind: dispatch, tasks: 20, task_us: 2000}
executors: [serial, threads, processes]
workers: [2]
repeats: 2
warmups: 0
timeout: 60
"""


@pytest.mark.slow
@pytest.mark.alone  # times its reaction to a signal
def test_sighup_ends_like_sigterm_with_exit_129(lab_sandbox: LabSandbox, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    # Seed 5 orders round 1 serial-1, threads-2, processes-2: once every runner is warm (the
    # pool's forkserver has its two workers) and serial-1 had its repeat, threads-2 hangs.
    lab = Lab(
        lab_sandbox, "--report", str(out), "--seed", "5", scenario(tmp_path, SLOW),
        cwd=tmp_path, **fault_env("threads-2:hang@0"),
    )  # fmt: skip
    lab.wait_until("forkserver", count=3)
    deadline = time.monotonic() + 60
    while not hanging(lab_sandbox.tmp):  # serial-1 measured, threads-2 hangs: however loaded
        assert time.monotonic() < deadline and lab.proc.poll() is None, lab.stderr
        time.sleep(0.05)
    sent = time.monotonic()
    os.kill(lab.proc.pid, signal.SIGHUP)
    assert lab.proc.wait(10) == 129
    assert time.monotonic() - sent < 2.0
    assert lab.finish() == 129
    report = json.loads(out.read_text())
    assert report["interrupted"] is True
    runs = {r["run_id"]: r["status"] for r in report["scenarios"][0]["runs"]}
    # Interleaved rounds: every run started, none had all its rounds.
    assert runs == {"serial-1": "cancelled", "threads-2": "cancelled", "processes-2": "cancelled"}
    serial = report["scenarios"][0]["runs"][0]
    assert [r["round"] for r in serial["repeats"]] == [0]


HANGING_POOL = """\
title: hanging pool
workload: {kind: numeric, tasks: 8, size: 2000}
executors: [processes]
workers: [2]
repeats: 1
warmups: 0
timeout: 3
"""


@pytest.mark.slow
def test_a_timed_out_process_run_leaves_no_semaphores(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    lab = Lab(
        lab_sandbox, "--report", str(out), scenario(tmp_path, HANGING_POOL), cwd=tmp_path,
        **fault_env("processes-2:hang@0"),
    )  # fmt: skip
    lab.wait_until("multiprocessing.forkserver")
    deadline = time.monotonic() + 30
    semaphores: set[str] = set()
    while lab.proc.poll() is None and time.monotonic() < deadline:
        semaphores |= semaphores_of(lab_sandbox.processes())
        time.sleep(0.1)
    assert lab.finish() == 1, lab.stderr
    report = json.loads(out.read_text())
    assert report["scenarios"][0]["runs"][0]["status"] == "timeout"
    assert len(semaphores) >= 6, semaphores  # the pool's queues and locks, and ours
    assert left(semaphores) == set()


async def test_a_cancelled_process_run_leaves_no_semaphores(
    lab_sandbox: LabSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in fault_env("processes-2:hang@0").items():
        monkeypatch.setenv(name, value)
    text = HANGING_POOL.replace("timeout: 3", "timeout: 60")
    session = LabSession(make_plan(resolve([scenario(tmp_path, text)])))
    semaphores: set[str] = set()
    async for event in session.events():
        if isinstance(event, RunProgress) and not semaphores:
            deadline = time.monotonic() + 30
            while len(semaphores) < 6 and time.monotonic() < deadline:
                semaphores |= semaphores_of(lab_sandbox.processes())
                await asyncio.sleep(0.05)
            session.cancel_run()
    run = session.report.scenarios[0].runs[0]
    assert run.status == "cancelled"
    assert len(semaphores) >= 6, semaphores
    assert left(semaphores) == set()


# A runner whose pool's resource tracker outlives it: kill_group spares the tracker (it must
# unlink the killed pool's semaphores), and the tracker holds the runner's stdout, as every
# process the runner starts does. Here it never ends by itself.
TRACKER = "multiprocessing.resource_tracker"  # what kill_group spares
RUNNER_WITH_A_LINGERING_TRACKER = """\
import subprocess, sys, time
tracker = "multiprocessing." + "resource_tracker"  # in its command line, not in this one
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", tracker])
time.sleep(600)
"""


async def test_stopping_a_runner_waits_for_it_not_for_what_holds_its_output(
    lab_sandbox: LabSandbox,
) -> None:
    """Process.wait() also waits for the runner's pipes to close; the tracker held them, and a
    stop took 5 s before the tracker's own 1 s of grace (a Ctrl+C then took over 2 s)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUNNER_WITH_A_LINGERING_TRACKER,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    read_end, write_end = os.pipe()
    os.close(write_end)
    events = asyncio.StreamReader()
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(events), os.fdopen(read_end, "rb", 0)
    )
    runner = RunnerProcess(Spawned(proc, events, transport, "no-mark"), "processes-2")
    deadline = time.monotonic() + 30
    while not any(TRACKER in command_line(p) for p in lab_sandbox.processes()):
        assert time.monotonic() < deadline, "the tracker never started"
        await asyncio.sleep(0.02)
    started = time.monotonic()
    await runner.stop(0.0)
    took = time.monotonic() - started
    assert proc.returncode == -signal.SIGKILL
    assert took < TRACKER_GRACE + 1.5, f"stop took {took:.1f} s"
    # The tracker had its grace, then went with the rest of the group (the fixture checks).


# --- 5. Ctrl+C is never lost ----------------------------------------------------------------

CYCLE = """\
title: cycle
workload: {kind: numeric, tasks: 8, size: 500}
executors: [serial, processes, threads]
workers: [2]
repeats: 3
warmups: 1
min_time: 0
timeout: 60
"""

# Where each Ctrl+C lands: after the first runner appears (its start-up, warmup, the next
# runners' start) or after the pool's forkserver appears (its workers' start, then the rounds:
# repeats and the hand-over between runs), plus a random delay of up to that many seconds.
# With interleaved rounds a run's line is printed only at the very end, so lines are no moment.
MOMENTS = [
    ("lab.runner.main", 0.0), ("lab.runner.main", 0.3), ("lab.runner.main", 1.0),
    ("forkserver", 0.0), ("forkserver", 0.3), ("forkserver", 1.0),
    ("forkserver", 1.5), ("forkserver", 2.0), ("lab.runner.main", 2.0), ("forkserver", 0.6),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.alone  # times its reaction to a signal
def test_ctrl_c_at_any_moment_of_the_run_cycle_exits_130_within_two_seconds(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    """SIGINT lands at many moments: start-up, warmup, repeats, between runs, pool start."""
    path = scenario(tmp_path, CYCLE)
    rng = random.Random()
    tries = 0
    for after, spread in MOMENTS:
        lab = Lab(
            lab_sandbox, "--report", "-", "--format", "json", path, cwd=tmp_path,
            PYTHONFAULTHANDLER="1",  # a lab that does not stop shows where it is (SIGABRT)
        )  # fmt: skip
        try:
            lab.wait_until(after)
        except AssertionError:
            if lab.proc.poll() is None:
                raise
            lab.finish()
            continue  # finished before the moment came: not a try
        delay = rng.uniform(0.0, spread)
        time.sleep(delay)
        where = f"{delay:.2f} s after {after}"
        if lab.ending():
            lab.finish()
            continue  # finished before the signal: not a try
        sent = time.monotonic()
        os.killpg(lab.proc.pid, signal.SIGINT)
        try:
            code = lab.proc.wait(2.0)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{where}: still running 2 s after Ctrl+C:\n{stacks_of(lab)}")
        assert code == 130, f"{where}: exit {code}\n{lab.stderr}"
        assert time.monotonic() - sent < 2.0
        lab.finish()
        alive = lab_sandbox.wait_until_gone(2.0)
        assert not alive, [command_line(p)[:80] for p in alive]
        tries += 1
    assert tries >= 8


def stacks_of(lab: Lab) -> str:
    """What a lab that does not stop is doing: every thread's stack, which faulthandler writes
    on SIGABRT; then it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(lab.proc.pid, signal.SIGABRT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        lab.proc.wait(5)
    lab.proc.kill()
    lab.finish()
    return lab.stderr


# The command is over and the process is exiting: a Ctrl+C now lands in the exit handlers, or
# after Python has put SIGINT's default action back (a death by signal, exit -2, for finished
# work: seen once in the test above, 1.72 s after the forkserver, as a lab printed its end).
_AS_THE_LAB_EXITS = """\
import atexit, os, signal, sys
from lab import __main__ as entry
entry.guard_exit()
# Exit handlers run in reverse order of registration: this one runs before the lab's last.
atexit.register(lambda: {send})
print("the report", flush=True)
sys.exit(entry.finished(0))
"""


@pytest.mark.parametrize(
    ("send", "code"),
    [
        ("None", 0),
        ("os.kill(os.getpid(), signal.SIGINT)", 130),
        ("os.kill(os.getpid(), signal.SIGTERM)", 143),
    ],
)
def test_a_signal_as_the_lab_exits_is_a_status_not_a_death(send: str, code: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _AS_THE_LAB_EXITS.format(send=send)],
        capture_output=True, text=True, timeout=60, env=child_env(),
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert done.stdout == "the report\n"
    assert done.stderr == ""


# --- The embedded server stops at once --------------------------------------------------------


@pytest.mark.alone  # times its reaction to a signal
def test_embedded_server_stops_cleanly_on_sigterm(lab_sandbox: LabSandbox) -> None:
    """With a keep-alive connection open and its stdin watched, SIGTERM ends it at once,
    without 'Fatal Python error: _enter_buffered_busy'."""
    times = []
    for _ in range(3):
        server = subprocess.Popen(
            python_command("lab.runner.server", "--exit-with-parent"),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=child_env(),
        )  # fmt: skip
        assert server.stdout is not None and server.stderr is not None
        port = int(server.stdout.readline().split()[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/item/1")
        assert conn.getresponse().read()
        sent = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(5)
        times.append(time.monotonic() - sent)
        conn.close()
        err = server.stderr.read().decode()
        assert code == 0, err
        assert "Fatal" not in err and "Traceback" not in err, err
    print(
        f"\nembedded server stopped {', '.join(f'{t * 1000:.0f}' for t in times)} ms after SIGTERM"
    )
    assert max(times) < 1.0


@pytest.mark.alone  # times its reaction to a signal
def test_embedded_server_follows_a_sigkilled_parent(lab_sandbox: LabSandbox) -> None:
    """Its stdin pipe is held open by another process, so only the parent-death signal can
    tell it that the lab is gone."""
    code = (
        "import subprocess, sys, time\n"
        "from lab.runner.system.child_env import child_env, python_command\n"
        "p = subprocess.Popen(python_command('lab.runner.server', '--exit-with-parent'),\n"
        "    stdin=sys.stdin, stdout=subprocess.PIPE, env=child_env())\n"
        "print(p.pid, p.stdout.readline().decode().strip(), flush=True)\n"
        "time.sleep(3600)\n"
    )
    keeper_r, keeper_w = os.pipe()  # we keep the write end: the server's stdin never ends
    try:
        parent = subprocess.Popen(
            [sys.executable, "-c", code], stdin=keeper_r, stdout=subprocess.PIPE, text=True,
            env=lab_sandbox.env(),
        )  # fmt: skip
        assert parent.stdout is not None
        pid, listening, _ = parent.stdout.readline().split()
        assert listening == "LISTENING"
        assert running(int(pid))
        parent.kill()
        parent.wait()
        took = wait_gone([int(pid)], 3.0)
        print(f"\nserver gone {took * 1000:.0f} ms after its parent")
    finally:
        os.close(keeper_r)
        os.close(keeper_w)


@pytest.mark.parametrize("ticks", range(6))
async def test_a_wait_never_swallows_a_cancellation_that_comes_with_its_item(ticks: int) -> None:
    """Cancel the session's wait at every loop iteration after its item arrived: the
    cancellation always goes through (asyncio.wait_for lost it at one of them before 3.12),
    and the item is not lost either."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    waiter = asyncio.create_task(get_within(queue, 60))
    await asyncio.sleep(0)
    queue.put_nowait("event")
    for _ in range(ticks):
        await asyncio.sleep(0)
    if waiter.done():
        assert waiter.result() == "event"  # it returned before the cancellation: nothing lost
        return
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert queue.get_nowait() == "event"
