"""Fleet runs end to end on a real Dask cluster: a scheduler on 127.0.0.1 and single-threaded
workers bound to 127.0.0.2 and 127.0.0.3, which stand for two hosts (both loopback).

The lab runs as `python -m lab --fleet ...` in its own process; each host's session is a real
headless lab started by its worker. No mocks: faults are real signals to real processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import psutil
import pytest

import lab
from lab.compare import main as compare_main
from lab.fleet.cluster import CONNECT_TIMEOUT, FleetError, address_problem
from lab.report.formats import render_fleet
from lab.report.schema import FLEET_SCHEMA
from lab.results.fleet import FleetReport
from lab.results.reading import ReportInputError, parse_report_or_fleet, read_report_or_fleet
from tests.cheap import cheap
from tests.conftest import command_line
from tests.daskcluster import DaskCluster, dask_cluster, pytest_skip_if_no_distributed

pytestmark = pytest.mark.slow

HOSTS = ("127.0.0.2", "127.0.0.3")

# A few milliseconds per repeat: the fleet's own machinery is what these tests exercise.
TINY = """\
title: tiny fleet check
workload: {kind: dispatch, tasks: 20, task_us: 200}
executors: [serial, threads]
workers: [2]
repeats: 4
warmups: 0
timeout: 60
"""


def fleet_command(address: str, *args: str, connect_timeout: float | None = None) -> list[str]:
    """`python -m lab --fleet address ...`; with `connect_timeout`, the same CLI with the
    fleet's CONNECT_TIMEOUT (5 s) set to it: for a test that waits the timeout out."""
    head = [sys.executable, "-m", "lab"]
    if connect_timeout is not None:
        code = (
            "import lab.fleet.cluster as cluster, lab.__main__ as entry; "
            f"cluster.CONNECT_TIMEOUT = {float(connect_timeout)!r}; raise SystemExit(entry.main())"
        )
        head = [sys.executable, "-c", code]
    return [*head, "--fleet", address, "--quick", "--seed", "7", *args]


def is_lab(proc: psutil.Process) -> bool:
    """A host's lab session or one of its runners (not a helper Dask itself started)."""
    try:
        return proc.status() != psutil.STATUS_ZOMBIE and "lab" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def is_session(proc: psutil.Process) -> bool:
    """A host's lab session (started with the fleet's `-c` entry) with a runner of its own.
    Processes come and go while this looks: one that is gone is not a session."""
    try:
        return "arm_from_env" in " ".join(proc.cmdline()) and any(
            is_lab(child) for child in proc.children()
        )
    except psutil.Error:
        return False


def session_processes(cluster: DaskCluster) -> list[psutil.Process]:
    """Every lab process the workers started and that still runs."""
    return [p for worker in cluster.workers for p in worker.tree()[1:] if is_lab(p)]


@dataclass
class FleetRun:
    cluster: DaskCluster
    report_path: Path
    returncode: int
    stderr: str
    seconds: float


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetRun]:
    """One two-host fleet run, shared by the tests that read its report."""
    tmp = tmp_path_factory.mktemp("fleet")
    scenario = tmp / "tiny.yaml"
    # One runner process a run, no calibration: nothing here reads a figure.
    scenario.write_text(cheap(TINY), encoding="utf-8")
    out = tmp / "fleet.json"
    with dask_cluster(tmp / "cluster", HOSTS) as cluster:
        started = time.monotonic()
        done = subprocess.run(
            fleet_command(cluster.address, "--report", str(out), str(scenario)),
            capture_output=True, text=True, timeout=240, cwd=tmp,
        )  # fmt: skip
        yield FleetRun(cluster, out, done.returncode, done.stderr, time.monotonic() - started)


def test_a_fleet_run_reports_both_hosts_and_leaves_nothing_running(fleet_run: FleetRun) -> None:
    assert fleet_run.returncode == 0, fleet_run.stderr
    lines = fleet_run.stderr.splitlines()
    assert lines[0].startswith("fleet: 2 hosts at tcp://127.0.0.1:")
    assert any(line.startswith("[127.0.0.2] ok in ") for line in lines), fleet_run.stderr
    assert any(line.startswith("[127.0.0.3] ok in ") for line in lines), fleet_run.stderr
    assert "Traceback" not in fleet_run.stderr
    # Each host's progress, live and marked with its host, before the line that ends it.
    for host in HOSTS:
        run_line = next(i for i, t in enumerate(lines) if t.startswith(f"[{host}]    threads-2 ok"))
        end_line = next(i for i, t in enumerate(lines) if t.startswith(f"[{host}] ok in "))
        assert run_line < end_line, fleet_run.stderr
    data = json.loads(fleet_run.report_path.read_text(encoding="utf-8"))
    assert [h["host"] for h in data["hosts"]] == list(HOSTS)
    assert [h["status"] for h in data["hosts"]] == ["ok", "ok"]
    for host in data["hosts"]:
        assert host["launcher"].startswith(f"tcp://{host['host']}:")
        runs = host["report"]["scenarios"][0]["runs"]
        assert {r["run_id"]: r["status"] for r in runs} == {"serial-1": "ok", "threads-2": "ok"}
        # The same command on every host: the seed given to the fleet orders every host's rounds.
        assert host["report"]["scenarios"][0]["rounds"]["seed"] == 7
    (scenario,) = data["comparison"]
    assert scenario["hosts"] == list(HOSTS)
    assert [m["executor"] for m in scenario["models"]] == ["serial", "threads"]
    for model in scenario["models"]:
        assert set(model["best"]) == set(HOSTS)
        assert model["fastest"] in HOSTS
        (other,) = model["versus"]
        assert other != model["fastest"] and model["versus"][other]["family"] == 2
    assert session_processes(fleet_run.cluster) == []


def test_the_fleet_report_validates_and_reads_back(fleet_run: FleetRun) -> None:
    data = json.loads(fleet_run.report_path.read_text(encoding="utf-8"))
    jsonschema.validate(data, FLEET_SCHEMA)
    fleet = read_report_or_fleet(str(fleet_run.report_path))
    assert isinstance(fleet, FleetReport)
    assert [h.host for h in fleet.hosts] == list(HOSTS)
    assert all(h.report is not None and h.report.all_ok for h in fleet.hosts)
    # Every format renders from the report read back: the hosts side by side, the winners.
    md = render_fleet(fleet, "md")
    assert "| host " in md and "127.0.0.2" in md and "127.0.0.3" in md
    assert "## Host 127.0.0.2" in md and ("tie" in md or "wins" in md)
    csv_lines = render_fleet(fleet, "csv").splitlines()
    assert csv_lines[0].startswith("scenario,executor,host,host_status,cpu_model")
    assert len(csv_lines) == 1 + 2 * 2  # two models on two hosts
    assert "<h2>Hosts</h2>" in render_fleet(fleet, "html")


def _broken(data: Any, path: list[str | int], value: object) -> bytes:
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["hosts", 0, "status"], "bogus", "hosts[0].status: input should be 'ok', 'failed'"),
        (["hosts", 1, "report", "schema_version"], 99, "hosts[1].report.schema_version"),
        (["schema_version"], 2, "fleet report schema version 2"),
        (
            ["hosts", 0, "report", "machine"],
            None,
            "hosts[0].report.machine: input should be an object",
        ),
    ],
)
def test_a_malformed_fleet_report_is_refused_in_one_line(
    fleet_run: FleetRun, path: list[str | int], value: object, message: str
) -> None:
    data = json.loads(fleet_run.report_path.read_text(encoding="utf-8"))
    raw = _broken(data, path, value)
    with pytest.raises(ReportInputError) as caught:
        parse_report_or_fleet(raw, "fleet.json")
    assert message in str(caught.value) and "\n" not in str(caught.value)
    if path != ["schema_version"]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(raw), FLEET_SCHEMA)


def test_compare_on_a_fleet_report_compares_its_hosts(
    fleet_run: FleetRun, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(fleet_run.report_path)
    assert compare_main([path, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (pair,) = out["comparisons"]
    assert pair["baseline"] == f"{path}[127.0.0.2]" and pair["report"] == f"{path}[127.0.0.3]"
    assert {m["executor"] for m in pair["matched"]} == {"serial", "threads"}
    # One host's report against the fleet: the fleet stands for both of its hosts.
    single = fleet_run.report_path.parent / "one.json"
    host = json.loads(fleet_run.report_path.read_text(encoding="utf-8"))["hosts"][0]["report"]
    single.write_text(json.dumps(host), encoding="utf-8")
    assert compare_main([str(single), path]) == 0
    md = capsys.readouterr().out
    assert f"`{path}[127.0.0.2]`" in md and f"`{path}[127.0.0.3]`" in md


def test_a_worker_killed_mid_run_loses_its_host_and_keeps_the_other(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.yaml"
    # One model: the host that stays has less to finish.
    scenario.write_text(TINY.replace("[serial, threads]", "[serial]"), encoding="utf-8")
    out = tmp_path / "fleet.json"
    with dask_cluster(tmp_path / "cluster", HOSTS) as cluster:
        victim = cluster.workers[1]  # the worker on 127.0.0.3
        lab = subprocess.Popen(
            fleet_command(cluster.address, "--report", str(out), str(scenario)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        )  # fmt: skip
        try:
            # Mid-run: the host's lab session is measuring (it has started its runners).
            deadline = time.monotonic() + 120
            session: psutil.Process | None = None
            while time.monotonic() < deadline:
                sessions = [
                    p for p in victim.tree()[1:] if is_lab(p) and "arm_from_env" in command_line(p)
                ]
                if sessions and any(is_lab(c) for c in sessions[0].children()):
                    session = sessions[0]
                    break
                time.sleep(0.05)
            assert session is not None, "the host's session never started its runners"
            doomed = [session, *session.children(recursive=True)]
            os.kill(victim.pid, signal.SIGKILL)
            _, stderr = lab.communicate(timeout=180)
        finally:
            if lab.poll() is None:
                lab.kill()
                lab.wait()
        assert lab.returncode == 1, stderr
        # The session and its runners died with their worker: nothing left on that host.
        _, alive = psutil.wait_procs(doomed, timeout=10)
        assert alive == []
        assert session_processes(cluster) == []
    assert "[127.0.0.3] lost: its launcher worker tcp://127.0.0.3:" in stderr
    assert "Traceback" not in stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    lost, kept = data["hosts"][1], data["hosts"][0]
    assert (lost["host"], lost["status"], lost["report"]) == ("127.0.0.3", "lost", None)
    assert "left the cluster mid-run" in lost["message"]
    assert (kept["host"], kept["status"]) == ("127.0.0.2", "ok")
    assert {r["status"] for r in kept["report"]["scenarios"][0]["runs"]} == {"ok"}
    # Nothing to compare with one host left; the report says so rather than naming a winner.
    (scenario_cmp,) = data["comparison"]
    assert scenario_cmp["hosts"] == ["127.0.0.2"]
    assert all(m["winner"] is None for m in scenario_cmp["models"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path: Path) -> None:
    pytest_skip_if_no_distributed()
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY, encoding="utf-8")
    address = f"tcp://127.0.0.1:{_closed_port()}"
    # Dask retries a refused connection until the timeout: waited out at 1 s, not the 5 s that
    # docs/guides/cluster-and-fleet.md promises (and the constant still says).
    assert CONNECT_TIMEOUT == 5
    command = fleet_command(
        address, "--report", str(tmp_path / "fleet.md"), str(scenario), connect_timeout=1
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"cannot reach the Dask scheduler at {address} within 1 s" in done.stderr
    assert done.stdout == "" and not (tmp_path / "fleet.md").exists()


# Not `alone`: it times nothing (what it checks is the exit status and the reports), and alone
# it would set up the module's two-host fleet run a second time inside the room.
def test_ctrl_c_stops_every_host_and_keeps_their_partial_reports(
    fleet_run: FleetRun, tmp_path: Path
) -> None:
    cluster = fleet_run.cluster
    scenario = tmp_path / "long.yaml"
    scenario.write_text(TINY.replace("repeats: 4", "repeats: 400"), encoding="utf-8")
    out = tmp_path / "fleet.json"
    # Its own process group, as a terminal starts it: Ctrl+C reaches the fleet, not the workers.
    lab = subprocess.Popen(
        fleet_command(cluster.address, "--report", str(out), str(scenario)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if sum(is_session(p) for p in session_processes(cluster)) == 2:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the hosts' sessions never started their runners")
        os.killpg(lab.pid, signal.SIGINT)
        _, stderr = lab.communicate(timeout=120)
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
    assert lab.returncode == 130, stderr
    assert "interrupted: stopping every host's session" in stderr and "Traceback" not in stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["interrupted"] is True
    for host in data["hosts"]:
        assert host["status"] == "cancelled", host["message"]
        assert host["report"]["interrupted"] is True  # the host's partial report, kept
    deadline = time.monotonic() + 10
    while session_processes(cluster) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session_processes(cluster) == []


def test_no_workers_or_another_lab_version_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No workers, then a worker running a real copy of the lab with another version (ahead on
    that worker's path): each refused before anything runs."""
    pytest_skip_if_no_distributed()
    other = tmp_path / "other-lab"
    shutil.copytree(
        Path(lab.__file__).parent, other / "lab", ignore=shutil.ignore_patterns("__pycache__")
    )
    init = other / "lab" / "__init__.py"
    init.write_text(
        init.read_text(encoding="utf-8").replace(lab.__version__, "0.0.0.other"), encoding="utf-8"
    )
    cluster = DaskCluster(tmp_path)
    try:
        address = cluster.start_scheduler()
        empty = subprocess.run(
            fleet_command(address, "--report", "-", "numeric_crunching"),
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip
        with monkeypatch.context() as env:
            env.setenv("PYTHONPATH", str(other))
            cluster.start_worker("127.0.0.3")
        workers = cluster.wait_for_workers(1)
        mixed = subprocess.run(
            fleet_command(address, "--report", "-", "numeric_crunching"),
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip
    finally:
        cluster.stop()
    assert (empty.returncode, empty.stdout) == (2, ""), empty.stderr
    assert empty.stderr == (
        f"concurrency-lab --fleet: the Dask scheduler at {address} has no workers: "
        f"start `dask worker {address}` on each host (with the lab installed there)\n"
    )
    assert (mixed.returncode, mixed.stdout) == (2, ""), mixed.stderr
    (other_worker,) = [w for w in workers if "127.0.0.3" in w]
    assert mixed.stderr == (
        f"concurrency-lab --fleet: worker {other_worker} runs concurrency-lab 0.0.0.other, "
        f"this one is {lab.__version__}: install the same version on every host\n"
    )


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("foo", "missing port number"),
        ("", "missing port number"),
        ("udp://10.0.0.1:8786", "unknown address scheme 'udp'"),
        ("tcp://127.0.0.1:99999", "port 99999 is not between 1 and 65535"),
    ],
)
def test_an_address_no_scheduler_can_have_is_refused_before_connecting(
    address: str, why: str
) -> None:
    pytest_skip_if_no_distributed()
    with pytest.raises(FleetError) as caught:
        address_problem(address)
    assert str(caught.value).startswith(f"{address!r} is not a Dask scheduler address")
    assert why in str(caught.value)


def test_a_bad_address_exits_2_at_once_in_one_line(tmp_path: Path) -> None:
    pytest_skip_if_no_distributed()
    done = subprocess.run(
        fleet_command("scheduler-without-port", "--report", "-", "numeric_crunching"),
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "concurrency-lab --fleet: 'scheduler-without-port' is not a Dask scheduler address such "
        "as tcp://scheduler:8786 (missing port number in address 'scheduler-without-port')\n"
    )
