"""The dask executor on real Dask processes: a scheduler and workers started here on 127.0.0.1
(tests/daskcluster.py), and LocalClusters started by the lab's own runners. No mocks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import psutil
import pytest
from pydantic import TypeAdapter

from lab.runner.executors import executor_class
from lab.runner.workloads import provisioner, workload_class
from lab.runner.workloads.base import RepeatOutcome, Tally, Workload
from lab.scenario.spec import WorkloadSpec
from tests.conftest import ROOT, LabSandbox, scenario_file
from tests.conftest import LabProcess as Lab
from tests.daskcluster import DaskCluster, dask_cluster, pytest_skip_if_no_distributed
from tests.daskprobe import recorded_double
from tests.faults import fault_env

pytest_skip_if_no_distributed()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """One scheduler and two single-threaded workers, shared by this module's tests."""
    # The checkout on the path: the scheduler and workers import tests.daskprobe's functions.
    env = {"PYTHONPATH": str(ROOT)}
    directory = tmp_path_factory.mktemp("dask")
    with dask_cluster(directory, ("127.0.0.1", "127.0.0.1"), env=env) as found:
        yield found


def passes(spec_data: dict[str, Any], executor: str, count: int, **kw: Any) -> list[RepeatOutcome]:
    """`count` passes over a workload's tasks through one executor, in this process."""
    spec = TypeAdapter(WorkloadSpec).validate_python(spec_data)
    workload = workload_class(spec.kind)(spec, kw.pop("context", {}))
    ex = executor_class(executor)(kw.pop("workers", 2), "forkserver", kw.pop("address", None))
    ex.start(workload)
    try:
        outcomes = []
        for _ in range(count):
            tally = workload.new_tally()
            ex.run(workload, workload.tasks(), tally)
            outcomes.append(tally.finish())
        assert (ex.chunk or 0) >= (1 if executor == "dask" else 0)
        return outcomes
    finally:
        ex.close()


def test_a_local_cluster_listens_on_loopback_ports_of_its_own() -> None:
    """The scheduler serves HTTP even without a dashboard: not on Dask's 8787, where a user's
    own cluster (or another lab's) listens, and never beyond loopback."""
    spec = TypeAdapter(WorkloadSpec).validate_python({"kind": "dispatch", "tasks": 4})
    workload = workload_class(spec.kind)(spec, {})
    executor = executor_class("dask")(1, "forkserver", None)
    executor.start(workload)
    try:
        me = psutil.Process()
        listening = [
            c.laddr
            for proc in [me, *me.children(recursive=True)]
            for c in proc.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
    finally:
        executor.close()
    assert len(listening) >= 3, listening  # the scheduler, its HTTP server, the worker (and nanny)
    assert all(a.ip.startswith("127.") for a in listening), listening
    assert 8787 not in [a.port for a in listening], listening


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "numeric", "kernel": "primes", "tasks": 6, "size": 300},
        {"kind": "numeric", "kernel": "integrate", "tasks": 6, "size": 2000},
        {"kind": "dispatch", "tasks": 50, "task_us": 10},
    ],
    ids=["primes", "integrate", "dispatch"],
)
def test_results_on_an_existing_cluster_match_serial(
    cluster: DaskCluster, spec: dict[str, Any]
) -> None:
    serial = passes(spec, "serial", 1, workers=1)[0]
    dask = passes(spec, "dask", 2, address=cluster.address)
    assert [o.digest for o in dask] == [serial.digest] * 2
    assert [o.tasks for o in dask] == [serial.tasks] * 2


async def test_hashing_on_an_existing_cluster_matches_serial(
    cluster: DaskCluster, tmp_path: Path
) -> None:
    import asyncio

    spec_data = {"kind": "hashing", "files": 3, "file_size": 20_000, "chunk_size": 4096}
    spec = TypeAdapter(WorkloadSpec).validate_python(spec_data)
    async with provisioner(spec.kind)(spec, tmp_path) as context:
        serial = await asyncio.to_thread(passes, spec_data, "serial", 1, workers=1, context=context)
        dask = await asyncio.to_thread(
            passes, spec_data, "dask", 1, address=cluster.address, context=dict(context)
        )
    assert dask[0].digest == serial[0].digest


CALLS = """\
import os

def double(x):
    with open(os.path.join(os.path.dirname(__file__), "calls.log"), "a") as f:
        f.write(f"{os.getpid()}\\n")
    return 2 * x
"""


def test_a_scenario_function_runs_on_the_workers_with_results_checked(
    cluster: DaskCluster, tmp_path: Path
) -> None:
    """kind: callable: each worker imports the user's module from `path` before timing."""
    (tmp_path / "calls.py").write_text(CALLS)
    spec = {"kind": "callable", "function": "calls:double", "path": str(tmp_path), "tasks": 16}
    outcomes = passes(spec, "dask", 2, address=cluster.address)
    serial = passes(spec, "serial", 1, workers=1)[0]
    assert [o.digest for o in outcomes] == [serial.digest] * 2
    calls = (tmp_path / "calls.log").read_text().split()
    assert len(calls) == 16 * 2 + 16  # two dask passes, one serial
    assert {int(pid) for pid in calls} - {os.getpid()} == {w.pid for w in cluster.workers}


class SameTasks(Workload):
    """Sixteen identical tasks: chunks in flight at once are identical too."""

    kind = "same"
    unit = "tasks"

    def __init__(self, log: Path) -> None:
        super().__init__(None, {})
        self.log = log

    def task_count(self) -> int:
        return 16

    def tasks(self) -> Iterator[int]:
        return iter([7] * 16)

    @property
    def sync_function(self) -> Callable[[Any], Any]:
        return partial(recorded_double, str(self.log))

    async def run_async(self, task: Any) -> Any:
        raise NotImplementedError

    def new_tally(self) -> Tally:
        return CountTally()


class CountTally(Tally):
    def __init__(self) -> None:
        self.results: list[Any] = []

    def add(self, result: Any) -> None:
        self.results.append(result)

    def finish(self) -> RepeatOutcome:
        return RepeatOutcome(amount=len(self.results), tasks=len(self.results))


def test_identical_tasks_run_every_time_not_once(cluster: DaskCluster, tmp_path: Path) -> None:
    """pure=False: under Dask's default, identical chunks in flight at once share one key and
    run once (a speed-up that is not there). Every call of the function leaves a line."""
    workload = SameTasks(tmp_path / "calls.log")
    ex = executor_class("dask")(2, "forkserver", cluster.address)
    ex.start(workload)
    try:
        for _ in range(2):
            tally = CountTally()
            ex.run(workload, workload.tasks(), tally)
            assert tally.results == [14] * 16
    finally:
        ex.close()
    assert len((tmp_path / "calls.log").read_text().split()) == 16 * 2


SCENARIO = """\
title: dask against the process pool
workload: {kind: numeric, tasks: 16, size: 1500}
executors: [serial, processes, dask]
workers: [2]
repeats: 2
warmups: 0
processes: 1
min_time: 0
timeout: 90
"""


def runs(path: Path) -> dict[str, dict[str, Any]]:
    report = json.loads(path.read_text())
    return {r["run_id"]: r for r in report["scenarios"][0]["runs"]}


@pytest.mark.slow
@pytest.mark.parametrize("where", ["local", "existing"])
def test_headless_run_checks_dask_results_on_either_cluster(
    cluster: DaskCluster, lab_sandbox: LabSandbox, tmp_path: Path, where: str
) -> None:
    out = tmp_path / "report.json"
    given = ["--cluster", cluster.address] if where == "existing" else []
    # Against the test's cluster the process pool adds nothing new: serial and dask only.
    text = SCENARIO if where == "local" else SCENARIO.replace("processes, ", "")
    lab = Lab(
        lab_sandbox, "--report", str(out), *given, scenario_file(tmp_path, text), cwd=tmp_path
    )
    assert lab.finish() == 0, lab.stderr
    found = runs(out)
    expected = ["serial-1", "processes-2", "dask-2"] if where == "local" else ["serial-1", "dask-2"]
    assert {k: r["status"] for k, r in found.items()} == dict.fromkeys(expected, "ok")
    dask = found["dask-2"]
    # Every repeat computed what serial computed: the session compares digests across runs.
    digests = {r["digest"] for run in found.values() for r in run["repeats"]}
    assert len(digests) == 1 and None not in digests
    assert dask["chunk_size"] == 2  # 16 tasks, 2 workers: four chunks each, as the pool
    if where == "local":
        assert found["processes-2"]["chunk_size"] == 2
    assert dask["startup_seconds"] > 0 and len(dask["repeats"]) == 2
    if where == "existing":  # the cluster is the test's: the lab started no worker of its own
        assert all(w.process.poll() is None for w in cluster.workers)
    # The same work costs CPU wherever it runs: on an existing cluster that is the workers',
    # outside the runner's process tree, and the run's CPU must count it.
    cpu = {k: r["summary"]["cpu_seconds"]["median"] for k, r in found.items()}
    assert cpu["dask-2"] >= 0.8 * cpu["serial-1"], cpu
    if where == "existing":  # and its memory counts the workers', which no tree sampling sees
        assert len(cluster.workers) == 2  # both chosen
        workers = sum(psutil.Process(w.process.pid).memory_info().rss for w in cluster.workers)
        memory = {k: r["memory"]["peak_rss_bytes"] for k, r in found.items()}
        assert memory["dask-2"] >= memory["serial-1"] + 0.8 * workers, (memory, workers)


@pytest.mark.slow
def test_a_killed_worker_fails_its_run_alone_and_leaves_nothing(
    lab_sandbox: LabSandbox, tmp_path: Path
) -> None:
    """A LocalCluster worker SIGKILLs itself at task 5: its nanny would restart it and Dask
    would re-run its chunk elsewhere; the run fails in words instead, the others go on."""
    out = tmp_path / "report.json"
    lab = Lab(
        lab_sandbox, "--report", str(out), scenario_file(tmp_path, SCENARIO.replace("processes, ", "")),
        cwd=tmp_path, **fault_env("dask-2:kill@5"),
    )  # fmt: skip
    assert lab.finish() == 1, lab.stderr
    found = runs(out)
    assert {k: r["status"] for k, r in found.items()} == {"serial-1": "ok", "dask-2": "failed"}
    assert len(found["serial-1"]["repeats"]) == 2
    error = found["dask-2"]["error"]
    assert error["kind"] == "worker_died"
    assert re.fullmatch(
        r"a Dask worker \(tcp://127\.0\.0\.1:\d+, pid \d+\) left the cluster during the run "
        r"\(killed, crashed or disconnected\); Dask would re-run its tasks on the others, so the "
        r"run stopped",
        error["message"],
    ), error["message"]
    assert "Traceback" not in lab.stderr
    # lab_sandbox's teardown fails the test if any process of the lab (a worker, a nanny's
    # spawn) or any temp file is left.


def test_a_cluster_with_too_few_workers_is_refused_before_anything_runs(
    tmp_path: Path, cluster: DaskCluster
) -> None:
    scenario = SCENARIO.replace("workers: [2]", "workers: [1, 3]")
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--report", "-", "--cluster", cluster.address,
         scenario_file(tmp_path, scenario)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"the Dask cluster at {cluster.address} has 2 worker(s), fewer than the 3 asked for; "
        "start more workers or ask for fewer\n\nnothing ran\n"
    )
    assert done.stdout == ""


def test_a_worker_with_another_lab_version_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's interpreter finds concurrency-lab 9.9.9's metadata first on its path."""
    fake = tmp_path / "fake"
    info = fake / "concurrency_lab-9.9.9.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: concurrency-lab\nVersion: 9.9.9\n")
    (tmp_path / "c").mkdir()
    other = DaskCluster(tmp_path / "c")
    try:
        other.start_scheduler()
        monkeypatch.setenv("PYTHONPATH", str(fake))  # the worker's environment only
        other.start_worker()
        monkeypatch.undo()
        other.wait_for_workers(1)
        done = subprocess.run(
            [sys.executable, "-m", "lab", "--report", "-", "--cluster", other.address,
             scenario_file(tmp_path, SCENARIO.replace("workers: [2]", "workers: [1]"))],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
    finally:
        other.stop()
    assert done.returncode == 2, done.stderr
    assert re.fullmatch(
        r"Dask worker tcp://127\.0\.0\.1:\d+ at tcp://127\.0\.0\.1:\d+ runs concurrency-lab "
        r"9\.9\.9, this lab is \d[\w.]*; install the same version on every worker\n\n"
        r"nothing ran\n",
        done.stderr,
    ), done.stderr


def test_an_unreachable_scheduler_is_refused(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
        done = subprocess.run(
            [sys.executable, "-m", "lab", "--report", "-", "--cluster", address, scenario_file(tmp_path, SCENARIO)],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
            # Refused at once, retried until this bound: a short one proves the same as 1 s.
            env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "0.2s"},
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"cannot reach the Dask scheduler at {address}: ")
    assert done.stderr.endswith("\n\nnothing ran\n") and "Traceback" not in done.stderr


@pytest.mark.parametrize("bad", ["127.0.0.1:8786", "http://h:1", "tcp://h", "tcp://h:99999"])
def test_a_bad_cluster_address_is_bad_input(
    tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from lab.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["--report", "-", "--cluster", bad, scenario_file(tmp_path, SCENARIO)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --cluster: '{bad}' " in err and "Traceback" not in err


def test_a_scenario_names_its_cluster_and_the_command_line_overrides_it(
    tmp_path: Path, make_scenario: Any
) -> None:
    from lab.engine.plan import dask_clusters, make_plan

    loaded = make_scenario(SCENARIO + "cluster: tcp://127.0.0.1:8786\n")
    assert dask_clusters(make_plan([loaded])) == {"tcp://127.0.0.1:8786": 2}
    other = make_plan([loaded.with_cluster("tls://127.0.0.5:9000")])
    assert dask_clusters(other) == {"tls://127.0.0.5:9000": 2}
    no_dask = make_scenario(SCENARIO.replace(", dask]", "]") + "cluster: tcp://127.0.0.1:8786\n")
    assert dask_clusters(make_plan([no_dask])) == {}  # nothing to check, nothing imported


def test_the_app_gets_the_command_lines_cluster_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`concurrency-lab --cluster ADDRESS` without --report opens the app on that cluster, as
    headless mode runs on it: a flag the app dropped would silently start a LocalCluster."""
    import lab.tui.launch
    from lab.cli import main

    opened: list[list[str | None]] = []

    def fake_app(scenarios: list[Any], quick: bool = False, selected: int = 0) -> int:
        opened.append([s.scenario.cluster for s in scenarios])
        return 0

    monkeypatch.setattr(lab.tui.launch, "run_app", fake_app)
    path = scenario_file(tmp_path, SCENARIO + "cluster: tcp://127.0.0.1:8786\n")
    assert main([path]) == 0
    assert main(["--cluster", "tcp://127.0.0.9:9999", path]) == 0
    # The app offers the built-ins beside the file (last, and selected), which keep their own.
    assert [found[-1] for found in opened] == ["tcp://127.0.0.1:8786", "tcp://127.0.0.9:9999"]
