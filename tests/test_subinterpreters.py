"""The `interpreters` executor on real sub-interpreters: pyenv's 3.13 with the interpreters-pep-734
backport, in the runner environment the lab builds for it (in the lab's own cache, as a user's
`--python python3.13` run would: built once, reused while the lab's source is unchanged).

What the lab's own Python (3.11 here) says about the model, and the analysis of it, need no
other interpreter. Where 3.13 or 3.14 is missing, the tests that need it skip saying so.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab.analysis.analyse import analyse_scenario
from lab.analysis.claims import merge_claims
from lab.analysis.facts import scenario_facts
from lab.analysis.interpreters_claims import interpreters_claims
from lab.core.optional import interpreters_problem
from lab.engine.interpreters.envbuild import ensure_env
from lab.engine.interpreters.envcache import RunnerEnv
from lab.engine.interpreters.probe import probe
from lab.scenario.models import unavailable
from tests.cheap import cheap
from tests.synthetic import machine, run, scenario

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 240  # a hung pool (the backport waits forever on some failures) fails, not hangs

USER_MODULE = """\
def make():
    def inner(x):
        return x * 2
    return inner


closure = make()


def double(x):
    return READY * x


def setup():
    global READY
    READY = 2


def with_psutil(x):
    import psutil  # an extension module that refuses sub-interpreters

    return psutil.cpu_count() and x


def returns_a_lock(x):
    import threading

    return threading.Lock()


def fails(x):
    if x == 3:
        raise ValueError("three is not allowed")
    return x
"""

# Runs under the environment's python: every outcome as one JSON line.
PROBE = """\
import json, sys, time
from lab.runner.executors.subinterpreters import InterpreterExecutor
from lab.runner.workloads.callable import UserFunction
from lab.runner.workloads.numeric import Numeric
from lab.scenario.callable_spec import CallableWorkload
from lab.scenario.spec import NumericWorkload

def measure(workload, workers=2):
    executor = InterpreterExecutor(workers, "forkserver")
    try:
        executor.start(workload)
        tally = workload.new_tally()
        executor.run(workload, workload.tasks(), tally)
        return {"ok": tally.finish().digest, "chunk": executor.chunk,
                "workers": len(executor.worker_threads)}
    except Exception as exc:
        return {"error": type(exc).__name__, "message": str(exc),
                "kind": getattr(exc, "kind", None)}
    finally:
        executor.close()

out = {"numeric": measure(Numeric(NumericWorkload(kind="numeric", tasks=16, size=500), {}))}
for name, setup in [("double", "umod:setup"), ("closure", None), ("with_psutil", None),
                    ("returns_a_lock", None), ("fails", None)]:
    spec = CallableWorkload(kind="callable", path=sys.argv[1], function="umod:" + name,
                            setup=setup, tasks=8)
    out[name] = measure(UserFunction(spec, {}))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def py313_env() -> RunnerEnv:
    interp = probe("python3.13")
    if interp.problem is not None or interp.is_lab_python:
        pytest.skip(
            f"no Python 3.13 here ({interp.problem or 'it is the lab own'}): sub-interpreter "
            "pools were NOT tested on real interpreters; install one (pyenv install 3.13)"
        )
    env = asyncio.run(ensure_env(interp, lambda message: None))
    assert env.interpreters_problem is None, env.interpreters_problem
    return env


@pytest.fixture(scope="module")
def outcomes(py313_env: RunnerEnv, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("user")
    (folder / "umod.py").write_text(USER_MODULE)
    done = subprocess.run(
        [str(py313_env.python), "-P", "-c", PROBE, str(folder)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, dict] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_lab_own_311_names_the_model_unavailable_with_what_to_run() -> None:
    if sys.version_info >= (3, 13):
        pytest.skip("the lab's own Python is 3.13+: interpreters may run under it")
    reason = unavailable("interpreters")
    assert reason is not None
    assert "need Python 3.13 (with pip install 'concurrency-lab[interpreters]') or 3.14+" in reason
    listed = subprocess.run(
        [sys.executable, "-m", "lab", "--list"], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.strip().startswith("interpreters "))
    assert "unavailable: sub-interpreter pools need Python 3.13" in line
    assert "concurrency-lab[interpreters]" in line


def test_which_pythons_can_run_a_pool() -> None:
    assert "this is 3.12" in (interpreters_problem((3, 12)) or "")
    assert interpreters_problem((3, 13)) is None  # the environment gets the backport
    assert interpreters_problem((3, 14)) is None  # the standard library's


def test_a_3_13_runner_environment_gets_the_backport(py313_env: RunnerEnv) -> None:
    done = subprocess.run(
        [str(py313_env.python), "-c", "import interpreters_backport.concurrent.futures"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_numeric_tasks_run_on_two_real_interpreters(outcomes: dict[str, dict]) -> None:
    numeric = outcomes["numeric"]
    # The tally checks every count against the sieve: a wrong answer would be an error here.
    assert numeric.get("ok") is not None, numeric
    assert numeric["workers"] == 2  # start-up lasted until both had run a task
    assert numeric["chunk"] == 2  # 16 tasks, about four chunks per worker


def test_a_scenario_function_runs_after_its_setup_in_every_interpreter(
    outcomes: dict[str, dict],
) -> None:
    assert outcomes["double"].get("ok") is not None, outcomes["double"]


def test_a_closure_fails_with_the_cause_and_the_fix(outcomes: dict[str, dict]) -> None:
    closure = outcomes["closure"]
    assert closure["error"] == "UserCodeError" and closure["kind"] == "setup"
    assert closure["message"].startswith("umod.inner is a closure (defined inside make())")
    assert "define it with def at module level in umod" in closure["message"]


def test_an_extension_that_refuses_sub_interpreters_is_named(outcomes: dict[str, dict]) -> None:
    psutil = outcomes["with_psutil"]
    assert psutil["error"] == "UserCodeError"
    assert (
        "_psutil_linux is an extension module that refuses to load in a sub-interpreter"
        in psutil["message"]
    )


def test_results_and_exceptions_that_do_not_travel_fail_instead_of_hanging(
    outcomes: dict[str, dict],
) -> None:
    lock = outcomes["returns_a_lock"]
    assert lock["error"] == "RuntimeError"
    assert "cannot be pickled, so the interpreter pool cannot send it back" in lock["message"]
    fails = outcomes["fails"]
    assert fails["error"] == "UserCodeError"
    assert fails["message"] == "task 3: umod:fails raised ValueError: three is not allowed"


# One round in one runner process per run: which runs fail is the subject, not their times.
CLOSURE_SCENARIO = cheap("""\
title: a closure under every model
workload: {kind: callable, function: "umod:closure", tasks: 8}
executors: [serial, threads, processes, interpreters]
workers: [2]
""")


@pytest.mark.slow
def test_a_closure_scenario_fails_only_its_interpreters_runs(
    py313_env: RunnerEnv, tmp_path: Path
) -> None:
    (tmp_path / "umod.py").write_text(USER_MODULE)
    path = tmp_path / "closure.yaml"
    path.write_text(CLOSURE_SCENARIO)
    python = str(probe("python3.13").path)
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--python", python, "--report", "-",
         "--format", "json", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )  # fmt: skip
    report = json.loads(done.stdout)
    runs = {r["run_id"].split("@")[0]: r for r in report["scenarios"][0]["runs"]}
    assert {k: r["status"] for k, r in runs.items()} == {
        "serial-1": "ok", "threads-2": "ok", "processes-2": "ok", "interpreters-2": "failed",
    }  # fmt: skip
    assert (
        "umod.inner is a closure (defined inside make())"
        in runs["interpreters-2"]["error"]["message"]
    )


def test_the_standard_library_pool_on_3_14() -> None:
    interp = probe("python3.14")
    if interp.problem is not None:
        pytest.skip(
            f"no Python 3.14 here ({interp.problem}): the standard library's "
            "InterpreterPoolExecutor path was NOT tested; see docs/guides/interpreters.md for a Debian sid chroot"
        )
    env = asyncio.run(ensure_env(interp, lambda message: None))
    assert env.interpreters_problem is None
    done = subprocess.run(
        [str(env.python), "-P", "-c", textwrap.dedent("""\
            from lab.runner.executors.subinterpreters import InterpreterExecutor, pool_class
            from lab.runner.workloads.numeric import Numeric
            from lab.scenario.spec import NumericWorkload
            assert pool_class().__module__.startswith("concurrent.futures"), pool_class()
            w = Numeric(NumericWorkload(kind="numeric", tasks=8, size=300), {})
            e = InterpreterExecutor(2, "forkserver")
            e.start(w); t = w.new_tally(); e.run(w, w.tasks(), t); e.close()
            print(t.finish().digest)
        """)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


# -- the analysis, on synthetic figures with known answers ----------------------------------


def numeric_runs(interp_cores: float, interp_speedup: float) -> list:
    return [
        run("serial", 1, 100, cores=1.0),
        run("threads", 2, 98, cores=1.0),
        run("processes", 2, 180, cores=1.9, startup=0.08),
        run("interpreters", 2, 100 * interp_speedup, cores=interp_cores, startup=0.035),
    ]


def test_sub_interpreters_on_two_cores_confirm_the_cores_claim_and_get_their_rule() -> None:
    result = scenario("numeric_crunching", "numeric", numeric_runs(1.9, 1.85))
    analysis = analyse_scenario(result, machine())
    claims = {c.id: c for c in analysis.claims}
    cores = claims["interpreters_cores"]
    assert cores.status == "confirmed"
    assert cores.figures.startswith("interpreters 1.85x at 2 workers, 1.90 of 2 cores busy")
    assert "threads 0.98x at 2 workers" in cores.figures
    rule = next(e for e in analysis.verdict.explanations if e.executor == "interpreters")
    assert rule.rule == "interpreters_parallel"
    assert "each sub-interpreter has its own GIL, all in one process" in rule.text


def test_sub_interpreters_held_to_one_core_refute_the_cores_claim() -> None:
    result = scenario("numeric_crunching", "numeric", numeric_runs(1.0, 0.97))
    (cores, _) = interpreters_claims(scenario_facts(result, machine()))
    assert cores.status == "refuted"


MIB = 1024 * 1024


def dispatch_runs(interp_per_task_us: float, interp_start: float) -> list:
    tasks = 2000
    return [
        run("serial", 1, 1e6, tasks=tasks),
        run("threads", 1, 2e5, tasks=tasks, startup=0.0005, memory=30 * MIB),
        run("threads", 2, 2e5, tasks=tasks, startup=0.0006, memory=30 * MIB),
        run("processes", 1, 2e4, tasks=tasks, startup=0.014, memory=45 * MIB),
        run("processes", 2, 1e4, tasks=tasks, startup=0.016, memory=65 * MIB),
        run("interpreters", 1, 1e6 / interp_per_task_us, tasks=tasks, startup=interp_start,
            memory=38 * MIB),
        run("interpreters", 2, 1e6 / interp_per_task_us, tasks=tasks, startup=interp_start,
            memory=46 * MIB),
    ]  # fmt: skip


def test_the_cost_claim_compares_start_up_feeding_and_memory_slope_with_processes() -> None:
    result = scenario("dispatch_overhead", "dispatch", dispatch_runs(40, 0.010), task_us=0.0)
    (_, cost) = interpreters_claims(scenario_facts(result, machine()))
    assert cost.status == "confirmed"
    assert cost.figures == (
        "interpreters vs processes: start ✓ 10.0 ms vs 16.0 ms at 2 workers; "
        "feed ✓ 40 µs vs 50 µs per near-empty task at 1 worker; "
        "memory ✓ +8.0 MiB vs +20.0 MiB per added worker (peak memory's slope over 2 and 2 "
        "worker counts)"
    )


def test_slower_start_up_makes_the_cost_claim_partly_true() -> None:
    result = scenario("dispatch_overhead", "dispatch", dispatch_runs(40, 0.035), task_us=0.0)
    (_, cost) = interpreters_claims(scenario_facts(result, machine()))
    assert cost.status == "partly" and "start ✗ 35.0 ms vs 16.0 ms" in cost.figures


def test_the_claims_appear_only_where_interpreters_ran() -> None:
    plain = scenario("plain", "numeric", numeric_runs(1.9, 1.85)[:3])
    assert interpreters_claims(scenario_facts(plain, machine())) == []
    with_them = scenario("with", "numeric", numeric_runs(1.9, 1.85))
    rows = [("plain", analyse_scenario(plain, machine()).claims)]
    assert not {"interpreters_cores", "interpreters_cost"} & {c.id for c in merge_claims(rows)}
    rows.append(("with", analyse_scenario(with_them, machine()).claims))
    merged = {c.id: c for c in merge_claims(rows)}
    assert merged["interpreters_cores"].status == "confirmed"
    assert merged["interpreters_cores"].scenarios == ["with"]
