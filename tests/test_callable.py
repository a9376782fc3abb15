"""`kind: callable`: a scenario's own function under every model, checked task by task.

Real modules in temp folders, real pools and real `concurrency-lab` processes; nothing mocked.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from lab.runner.executors import executor_class
from lab.runner.main import root_cause
from lab.runner.workloads import workload_class, workload_unit
from lab.runner.workloads.base import RepeatOutcome, UserCodeError, WorkloadSetupError, WrongAnswer
from lab.runner.workloads.results import value_hash
from lab.scenario.callable_spec import CallableWorkload
from lab.scenario.loader import ScenarioError, load_file
from lab.scenario.spec import WorkloadSpec

ROOT = Path(__file__).resolve().parent.parent

USER_MODULE = """
import threading
import time

STATE = {"total": 0}
READY = []


def prepare():
    READY.append(1)


def square(i):
    if not READY:
        raise RuntimeError("setup did not run in this process")
    return {"i": i, "square": i * i, "tags": {"a", "b", str(i)}}


async def asquare(i):
    return square(i)


async def aexplode(i):
    return helper(i)


async def tagged(i):
    return ("from the coroutine", i)


def plain(i):
    return ("from the function", i)


def explode(i):
    if i == 3:
        return helper(i)
    return i


def helper(i):
    raise ValueError(f"task {i} is cursed")


def racy(i):
    # A shared counter without a lock: alone it returns i; under threads another task resets
    # it during the sleep, so the task returns that task's count.
    STATE["total"] = 0
    for _ in range(i):
        STATE["total"] += 1
    time.sleep(0.003)
    return STATE["total"]


def lock(i):
    return threading.Lock()


CALLS = [0]


def drift(i):
    # The first six calls (one pass of six tasks) return i, every later one i + 1.
    CALLS[0] += 1
    return i if CALLS[0] <= 6 else i + 1


def sized(text):
    data = text.encode()
    return data.upper(), len(data)
"""


@pytest.fixture(autouse=True, scope="module")
def _stop_forkserver() -> Iterator[None]:
    # In-process pools start this pytest process's forkserver and resource tracker; later
    # tests (the app's) count this process's children, so neither may outlive this module.
    yield
    import gc
    from multiprocessing import forkserver, resource_tracker

    gc.collect()  # the pools' semaphores unlink themselves before the tracker goes
    forkserver._forkserver._stop()
    resource_tracker._resource_tracker._stop()


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A folder with a user module of a name unique to the test (modules are cached per process)."""
    folder = tmp_path / "project"
    folder.mkdir()
    name = "usermod_" + request.node.name.replace("[", "_").replace("]", "").replace("-", "_")
    (folder / f"{name}.py").write_text(USER_MODULE)
    return folder


def _name(project: Path) -> str:
    return next(project.glob("usermod_*.py")).stem


def _spec(project: Path, **fields: Any) -> Any:
    data = {"kind": "callable", "path": str(project), **fields}
    return TypeAdapter(WorkloadSpec).validate_python(data)


def _run(spec: Any, executor: str, workers: int = 2) -> RepeatOutcome:
    workload = workload_class("callable")(spec, {})
    ex = executor_class(executor)(workers, "forkserver")
    ex.start(workload)
    try:
        tally = workload.new_tally()
        ex.run(workload, workload.tasks(), tally)
        return tally.finish()
    finally:
        ex.close()


@pytest.mark.parametrize("executor", ["serial", "asyncio", "uvloop", "threads", "processes"])
def test_every_model_computes_the_same_digest(project: Path, executor: str) -> None:
    name = _name(project)
    spec = _spec(
        project,
        function=f"{name}:square",
        async_function=f"{name}:asquare",
        setup=f"{name}:prepare",
        tasks=12,
    )
    serial = _run(spec, "serial")
    outcome = _run(spec, executor)
    assert outcome.digest == serial.digest
    assert outcome.tasks == outcome.amount == 12
    # The run's first pass keeps one "hash repr" per task, in task order.
    assert outcome.results is not None and len(outcome.results) == 12
    assert outcome.results[5].split(" ", 1)[1].startswith("{'i': 5, 'square': 25")


def test_asyncio_awaits_the_coroutine_form_when_there_is_one(project: Path) -> None:
    name = _name(project)
    both = _spec(project, function=f"{name}:plain", async_function=f"{name}:tagged", tasks=3)
    only = _spec(project, function=f"{name}:plain", tasks=3)
    assert _run(only, "asyncio").digest == _run(only, "serial").digest
    awaited = _run(both, "uvloop").results
    assert awaited is not None and awaited[2].endswith("('from the coroutine', 2)")
    failing = _spec(project, function=f"{name}:plain", async_function=f"{name}:aexplode", tasks=2)
    with pytest.raises(BaseExceptionGroup) as info:  # asyncio's TaskGroup: one per coroutine
        _run(failing, "asyncio")
    err = root_cause(info.value)  # what the runner reports
    assert isinstance(err, UserCodeError)
    assert re.match(r"task 0: .*:aexplode raised ValueError: task 0 is cursed$", str(err))
    assert "in aexplode" in err.detail and "lab/engine" not in err.detail


def test_results_hash_by_value_not_by_order_or_identity() -> None:
    assert value_hash({"a": 1, "b": {2, 3}}) == value_hash({"b": {3, 2}, "a": 1})
    assert value_hash([1, 2]) != value_hash((1, 2))
    assert value_hash(1) != value_hash(1.0) != value_hash(True)
    assert value_hash(0.1 + 0.2) != value_hash(0.3)
    assert value_hash(10**5000) != value_hash(10**5000 + 1)  # past str()'s digit limit
    assert value_hash(-1) != value_hash(255) and value_hash(-129) != value_hash(127)
    assert value_hash(b"x" * 5000) == value_hash(bytearray(b"x" * 5000))
    assert value_hash(b"x" * 5000) != value_hash(b"x" * 4999 + b"y")
    assert value_hash([1, [2]]) != value_hash([[1], 2]) != value_hash(["1", 2])


def test_a_raising_function_fails_with_its_own_frames(project: Path) -> None:
    name = _name(project)
    spec = _spec(project, function=f"{name}:explode", tasks=8)
    for executor in ("serial", "threads", "processes"):
        with pytest.raises(UserCodeError) as info:
            _run(spec, executor)
        err = info.value
        assert str(err) == f"task 3: {name}:explode raised ValueError: task 3 is cursed"
        assert err.kind == "exception"
        assert f'{name}.py", line' in err.detail and "in helper" in err.detail
        assert "lab/engine" not in err.detail and "concurrent/futures" not in err.detail


def test_an_unpicklable_result_under_processes_gets_a_sentence(project: Path) -> None:
    name = _name(project)
    spec = _spec(project, function=f"{name}:lock", tasks=4, check="none")
    assert _run(spec, "threads").tasks == 4  # fine where nothing is pickled
    with pytest.raises(UserCodeError) as info:
        _run(spec, "processes")
    message = str(info.value)
    assert "cannot be pickled, so a process pool cannot send it back" in message
    assert message.startswith("task ") and "lock" in message


def test_a_missing_module_is_named(project: Path, tmp_path: Path) -> None:
    spec = _spec(project, function="no_such_module_here:run", tasks=2)
    with pytest.raises(WorkloadSetupError, match="'no_such_module_here' cannot be imported"):
        workload_class("callable")(spec, {})
    scenario = tmp_path / "missing.yaml"
    scenario.write_text(
        "title: t\nworkload: {kind: callable, function: no_such_module_here:run, path: project}\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_file(scenario)
    text = info.value.render()
    assert "missing.yaml:2:" in text and "workload.function" in text
    assert "no module 'no_such_module_here'" in text


def test_amounts_count_in_the_scenarios_unit(project: Path) -> None:
    name = _name(project)
    spec = _spec(project, function=f"{name}:sized", args=["ab", "cde", "", "fghi"], unit="bytes")
    assert workload_unit(spec) == "bytes"
    outcome = _run(spec, "threads")
    assert outcome.amount == 9 and outcome.tasks == 4
    plain = _spec(project, function=f"{name}:square", setup=f"{name}:prepare", tasks=2, unit="MB")
    with pytest.raises(UserCodeError, match=r"must return \(result, amount in MB\)"):
        _run(plain, "serial")


def test_later_passes_must_agree_with_the_first(project: Path) -> None:
    name = _name(project)
    spec = _spec(project, function=f"{name}:drift", tasks=6)
    workload = workload_class("callable")(spec, {})
    ex = executor_class("serial")(1, "forkserver")
    ex.start(workload)
    first = workload.new_tally()
    ex.run(workload, workload.tasks(), first)
    first.finish()
    again = workload.new_tally()
    ex.run(workload, workload.tasks(), again)
    with pytest.raises(WrongAnswer, match=r"^task 0: returned 0 in an earlier pass of this run"):
        again.finish()


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_race_under_threads_fails_that_run_with_the_task_index(tmp_path: Path) -> None:
    project = tmp_path / "race"
    project.mkdir()
    (project / "racer.py").write_text(USER_MODULE)
    scenario = _write(
        project,
        "race.yaml",
        """\
        title: a shared counter without a lock
        workload: {kind: callable, function: racer:racy, tasks: 12}
        executors: [serial, threads]
        workers: [4]
        repeats: 1
        warmups: 0
        min_time: 0
        """,
    )
    out = tmp_path / "race.json"
    proc = subprocess.run(
        [sys.executable, "-m", "lab", "--report", str(out), str(scenario)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    runs = {r["run_id"]: r for r in json.loads(out.read_text())["scenarios"][0]["runs"]}
    assert runs["serial-1"]["status"] == "ok"
    threads = runs["threads-4"]
    assert threads["status"] == "failed" and threads["error"]["kind"] == "mismatch"
    message = threads["error"]["message"]
    index = int(message.split(":")[0].removeprefix("task "))
    assert message == f"task {index}: threads returned {threads_value(out, index)}, " + (
        f"serial returned {index}"
    )


def threads_value(report: Path, index: int) -> str:
    runs = json.loads(report.read_text())["scenarios"][0]["runs"]
    record = next(r for r in runs if r["executor"] == "threads")["repeats"][0]
    return str(record["results"][index].split(" ", 1)[1])


PLANTED = """\
import pathlib
pathlib.Path(__file__).with_name("PLANTED_RAN").write_text("the planted module ran")

def run(i):
    return -1
"""


def test_a_planted_module_in_the_working_directory_never_runs(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "shadowed.py").write_text("def run(i):\n    return i * 2\n")
    _write(
        project,
        "mine.yaml",
        """\
        title: mine
        workload: {kind: callable, function: shadowed:run, tasks: 8}
        executors: [serial, asyncio, threads, processes]
        workers: [2]
        repeats: 1
        warmups: 0
        """,
    )
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "shadowed.py").write_text(PLANTED)
    out = tmp_path / "out.json"
    command = [sys.executable, "-m", "lab", "--report", str(out), str(project / "mine.yaml")]
    proc = subprocess.run(command, cwd=hostile, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert not (hostile / "PLANTED_RAN").exists()
    runs = json.loads(out.read_text())["scenarios"][0]["runs"]
    assert [r["status"] for r in runs] == ["ok"] * 4
    record = runs[0]["repeats"][0]["results"]
    assert [r.split(" ", 1)[1] for r in record] == [str(2 * i) for i in range(8)]
    check = subprocess.run(
        [sys.executable, "-m", "lab", "--check", str(project / "mine.yaml")],
        cwd=hostile,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert "nothing was imported or run" in check.stdout
    assert f"def run found in {project / 'shadowed.py'}" in check.stdout
    assert not (hostile / "PLANTED_RAN").exists()


def test_check_reads_the_module_without_running_it(tmp_path: Path) -> None:
    (tmp_path / "loud.py").write_text(
        'import pathlib\npathlib.Path(__file__).with_name("RAN").write_text("x")\n\n'
        "def work(i):\n    return i\n\nasync def awork(i):\n    return i\n"
    )
    good = _write(
        tmp_path, "good.yaml", "title: t\nworkload: {kind: callable, function: loud:work}\n"
    )
    loaded = load_file(good)
    workload = loaded.scenario.workload
    assert isinstance(workload, CallableWorkload)
    assert workload.path == str(tmp_path)  # made absolute, from the file's folder
    cases = {
        "function: loud:wrok": "defines no 'wrok' at top level; did you mean 'work'?",
        "function: loud:awork": "is a coroutine function (async def); name it in async_function",
        "{function: loud:work, async_function: loud:work}": "async_function needs an async def",
        "function: json:loads": "'json' is the name of a standard library module",
        "{function: loud:work, path: nowhere}": "is not a folder",
    }
    for keys, expected in cases.items():
        text = f"title: t\nworkload: {{kind: callable, {keys.strip('{}')}}}\n"
        with pytest.raises(ScenarioError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            load_file(_write(tmp_path, "bad.yaml", text))
    assert not (tmp_path / "RAN").exists()
