"""The runner process speaks JSON lines on its event pipe: ready, startup, progress, repeat, done/error."""

from __future__ import annotations

import platform
import sys
import sysconfig
import time
from typing import Any

from tests.eventpipe import run_runner


def spec(**overrides: Any) -> dict[str, Any]:
    base = {
        "workload": {"kind": "dispatch", "tasks": 30},
        "context": {},
        "executor": "threads",
        "workers": 2,
        "start_method": "forkserver",
        "warmups": 1,
        "repeats": 2,
    }
    base.update(overrides)
    return base


def test_event_sequence() -> None:
    code, events, _ = run_runner(spec())
    assert code == 0
    kinds = [e["event"] for e in events if e["event"] != "progress"]
    assert kinds == ["ready", "startup", "facts", "repeat", "repeat", "repeat", "done"]
    # The interpreter as the runner saw it once the workload and pool were loaded.
    facts = next(e for e in events if e["event"] == "facts")["facts"]
    assert facts["version"] == platform.python_version()
    assert facts["gil_enabled"] is (getattr(sys, "_is_gil_enabled", lambda: True)())
    assert facts["free_threading_build"] is bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    repeats = [e["record"] for e in events if e["event"] == "repeat"]
    assert [(r["phase"], r["index"]) for r in repeats] == [
        ("warmup", 0),
        ("repeat", 0),
        ("repeat", 1),
    ]
    for r in repeats:
        assert r["tasks"] == 30 and r["amount"] == 30
        assert r["wall_seconds"] > 0 and r["cpu_user"] >= 0
        assert r["digest"] == str(30 * 29 // 2)
    # A final progress event per repeat reports every task done.
    finals = [e for e in events if e["event"] == "progress" and e["done"] == 30]
    assert len(finals) >= 3


def test_failure_becomes_an_error_event() -> None:
    code, events, _ = run_runner(spec(workload={"kind": "numeric", "tasks": -1}))
    assert code == 1
    error = events[-1]
    assert error["event"] == "error"
    assert error["kind"] == "exception"
    assert "ValidationError" in error["message"]
    assert "Traceback" in error["detail"]


def test_process_pool_reports_cpu_of_workers() -> None:
    """The tasks' CPU is spent in pool workers; the runner must count it. A fixed amount of
    work (prime counting), not a fixed time of spinning: on a loaded machine a 5 ms spin got
    less than 5 ms of CPU, and the figure fell under any fixed bound."""
    from lab.runner.workloads.numeric import Numeric, numeric_task
    from lab.scenario.spec import NumericWorkload

    workload = {"kind": "numeric", "tasks": 8, "size": 10000}
    here = time.process_time()
    for task in Numeric(NumericWorkload.model_validate(workload), {}).tasks():
        numeric_task(task)
    cost = time.process_time() - here  # the same tasks' CPU in this process
    code, events, _ = run_runner(
        spec(workload=workload, executor="processes", warmups=0, repeats=1)
    )
    assert code == 0
    startup = next(e for e in events if e["event"] == "startup")
    assert startup["seconds"] > 0
    repeat = next(e["record"] for e in events if e["event"] == "repeat")
    assert repeat["cpu_user"] + repeat["cpu_system"] >= 0.5 * cost, (repeat, cost)
