"""Memory and open files (issue 14, items 7 and 8): runs that cannot fit are refused before
anything starts; the primes reference stays in bounded memory; requests that fail for lack of
file descriptors are named so, never counted as throughput, and fail the run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from lab.engine.plan import make_plan
from lab.engine.system.limits import GIB, estimate_run, plan_problems
from lab.runner.system.child_env import child_env
from lab.runner.workloads.http import EmbeddedServer
from lab.scenario.loader import parse_scenario
from lab.scenario.spec import WorkloadSpec
from tests.conftest import LabSandbox

MIB = 1024 * 1024


def scenario_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def lab_with_nofile(
    soft: int, hard: int, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """The lab started in a process whose RLIMIT_NOFILE is (soft, hard), like `ulimit -n`."""
    code = (
        "import resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard})); "
        "from lab.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True, text=True, env=env or child_env(), timeout=timeout,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_primes_reference_memory_stays_bounded() -> None:
    """tasks x size = 10**8 numbers: the old sieve held a byte per number (100 MB here,
    1.5 GB for tasks: 10, size: 10**8); the segmented one holds a 1 MiB segment."""
    code = textwrap.dedent(
        """
        import resource
        from lab.runner.workloads.numeric import sieve_counts, count_primes
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        counts = sieve_counts(1_000_000, 10**7, 10)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) * 1024, counts[0], len(counts))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), timeout=300
    )
    assert out.returncode == 0, out.stderr
    grown, first, tasks = (int(v) for v in out.stdout.split())
    assert grown < 16 * MIB, f"peak RSS grew by {grown / MIB:.0f} MiB"
    assert (first, tasks) == (726_517 - 78_498, 10)  # pi(1.1e7) - pi(1e6)


def test_segmented_sieve_matches_trial_division() -> None:
    from lab.runner.workloads import numeric

    for start, size, tasks in [(0, 1, 5), (0, 7, 9), (1_000_000, 2000, 8), (2, 3, 4)]:
        expected = [
            numeric.count_primes(start + i * size, start + (i + 1) * size) for i in range(tasks)
        ]
        assert numeric.sieve_counts(start, size, tasks) == expected


def test_1024_worker_processes_are_estimated_at_about_21_gb() -> None:
    loaded = parse_scenario(
        "title: t\nworkload: {kind: dispatch, tasks: 10}\nexecutors: [processes]\n"
        "workers: [1024]\n",
        "t.yaml",
        "t",
    )
    (plan,) = make_plan([loaded])
    estimate = estimate_run(plan, plan.runs[0])
    assert 19 * GIB < estimate.bytes < 22 * GIB
    (problem,) = plan_problems([plan], available=8 * GIB)
    assert "processes-1024 would need about 20.1 GiB" in problem
    assert "1024 worker processes" in problem and "8.0 GiB" in problem
    assert plan_problems([plan], available=64 * GIB) == []


def test_run_too_big_for_this_machine_is_refused_before_anything_starts(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    # 1024 worker processes each holding a 64 MiB response: 64 GiB and more on any machine.
    path = scenario_file(
        tmp_path,
        """
        title: Too big
        workload: {kind: http, requests: 10, payload_size: 64 MiB}
        executors: [processes]
        workers: [1024]
        """,
    )
    out = subprocess.run(
        [sys.executable, "-m", "lab", "--report", "-", path],
        capture_output=True, text=True, env=lab_sandbox.env(), timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "processes-1024 would need about" in out.stderr
    assert "nothing ran" in out.stderr and out.stdout == ""
    assert "Traceback" not in out.stderr


HTTP_1000 = """
    title: Fan-out
    workload: {kind: http, requests: 2000, latency_ms: 20, payload_size: 64}
    executors: [asyncio]
    workers: [1000]
    repeats: 1
    warmups: 0
    min_time: 0
"""


def test_open_file_limit_too_low_for_the_concurrency_is_refused(tmp_path: Path) -> None:
    out = lab_with_nofile(256, 256, "--report", "-", scenario_file(tmp_path, HTTP_1000))
    assert out.returncode == 2, out.stderr
    assert "asyncio-1000 needs about 1,064 open files" in out.stderr
    assert "at most 256 (ulimit -n)" in out.stderr and "nothing ran" in out.stderr


@pytest.mark.slow
def test_soft_open_file_limit_is_raised_when_the_hard_one_allows(tmp_path: Path) -> None:
    out = lab_with_nofile(
        256, 4096, "--report", "-", "--format", "json", scenario_file(tmp_path, HTTP_1000)
    )
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)["scenarios"][0]["runs"][0]
    assert run["status"] == "ok"
    assert run["repeats"][0]["errors"] == {}
    assert run["repeats"][0]["amount"] == 2000


FETCH_UNDER_LIMIT = """
import asyncio, json, resource, sys
from pydantic import TypeAdapter
from lab.runner.executors import executor_class
from lab.runner.workloads import workload_class
from lab.runner.workloads.http import TooManyFailures
from lab.scenario.spec import WorkloadSpec

resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
spec = TypeAdapter(WorkloadSpec).validate_python(json.loads(sys.argv[1]))
workload = workload_class("http")(spec, {"base": sys.argv[2]})
ex = executor_class("asyncio")(400, "forkserver")
ex.start(workload)
tally = workload.new_tally()
ex.run(workload, workload.tasks(), tally)
ex.close()
print(json.dumps(tally.outcomes))
try:
    outcome = tally.finish()
except TooManyFailures as exc:
    print("FAILED", exc)
else:
    print("AMOUNT", outcome.amount)
"""


@pytest.mark.parametrize("share", [0.01, 1.0])
async def test_requests_without_file_descriptors_are_named_and_never_throughput(
    lab_sandbox: LabSandbox, share: float
) -> None:
    """400 concurrent requests from a process that may open 128 files: the failures are
    "too_many_open_files" (not "refused"); above max_error_share the run fails in words, and
    when allowed, only answered requests count as throughput."""
    server = EmbeddedServer(50, 64, 0)  # started here, with this process's ordinary limit
    base = await server.start()
    try:
        spec = {"kind": "http", "requests": 800, "latency_ms": 50, "max_error_share": share}
        TypeAdapter(WorkloadSpec).validate_python(spec)
        proc = await asyncio_run(
            [sys.executable, "-c", FETCH_UNDER_LIMIT, json.dumps(spec), base], lab_sandbox
        )
    finally:
        await server.stop()
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.strip().splitlines()
    outcomes = json.loads(first)
    assert outcomes.get("too_many_open_files", 0) > 0, outcomes
    assert "refused" not in outcomes
    if share < 1:
        assert second.startswith("FAILED ")
        assert "too many open files" in second and "max_error_share" in second
    else:
        assert second == f"AMOUNT {outcomes['ok']}"


async def asyncio_run(cmd: list[str], box: LabSandbox) -> subprocess.CompletedProcess[str]:
    import asyncio

    return await asyncio.to_thread(
        subprocess.run, cmd, capture_output=True, text=True, env=box.env(), timeout=120
    )
