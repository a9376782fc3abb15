"""Every workload computes the right answer under every executor (in-process, no runner)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from lab.runner.executors import executor_class
from lab.runner.workloads import provisioner, workload_class
from lab.runner.workloads.base import RepeatOutcome, WrongAnswer
from lab.scenario.models import NAMES, unavailable
from lab.scenario.spec import WorkloadSpec


@pytest.fixture(autouse=True, scope="module")
def _stop_forkserver() -> Iterator[None]:
    # The in-process pools below start this pytest process's forkserver; stop it afterwards so
    # later tests that count the lab's child processes see none of it.
    yield
    from multiprocessing import forkserver

    forkserver._forkserver._stop()


SPECS: dict[str, dict[str, Any]] = {
    "numeric-primes": {"kind": "numeric", "kernel": "primes", "tasks": 6, "size": 300},
    "numeric-integrate": {"kind": "numeric", "kernel": "integrate", "tasks": 6, "size": 2000},
    "hashing": {"kind": "hashing", "files": 5, "file_size": 70_000, "chunk_size": 4096},
    "hashing-cold": {
        "kind": "hashing",
        "files": 3,
        "file_size": 10_000,
        "cache": "cold",
        "algorithm": "blake2b",
    },
    "http": {
        "kind": "http",
        "requests": 20,
        "latency_ms": 1,
        "payload_size": 100,
        "error_rate": 0.2,
    },
    "dispatch": {"kind": "dispatch", "tasks": 50, "task_us": 10},
}


def run_once(kind_spec: dict[str, Any], executor: str, context: dict[str, Any]) -> RepeatOutcome:
    spec = TypeAdapter(WorkloadSpec).validate_python(kind_spec)
    workload = workload_class(spec.kind)(spec, context)
    ex = executor_class(executor)(2, "forkserver")
    ex.start(workload)
    try:
        workload.before_repeat()
        tally = workload.new_tally()
        ex.run(workload, workload.tasks(), tally)
        return tally.finish()
    finally:
        ex.close()


async def provisioned(
    kind_spec: dict[str, Any], tmp_path: Path, executors: list[str]
) -> list[RepeatOutcome]:
    spec = TypeAdapter(WorkloadSpec).validate_python(kind_spec)
    async with provisioner(spec.kind)(spec, tmp_path) as context:
        return [await asyncio.to_thread(run_once, kind_spec, name, context) for name in executors]


@pytest.mark.parametrize("name", list(SPECS))
async def test_every_executor_agrees(name: str, tmp_path: Path) -> None:
    # dask: tests/test_dask_executor.py runs these workloads on one shared cluster, rather
    # than a LocalCluster started per workload here. interpreters: where this Python has a
    # pool (3.13 with the backport, 3.14+); elsewhere tests/test_subinterpreters.py runs it
    # on pyenv's 3.13.
    executors = [
        name
        for name in NAMES
        if name != "dask" and not (name == "interpreters" and unavailable(name))
    ]
    outcomes = await provisioned(SPECS[name], tmp_path, executors)
    digests = {o.digest for o in outcomes}
    assert len(digests) == 1, dict(zip(executors, digests, strict=False))
    for outcome in outcomes:
        assert outcome.tasks == outcome.amount or outcome.amount > 0
    if name == "http":
        # 20% injected errors, decided per request index: the same requests fail everywhere.
        errors = [o.errors for o in outcomes]
        assert all(e == errors[0] for e in errors)
        assert 0 < errors[0].get("http_500", 0) < 20
        assert all(o.latency is not None and o.latency.count == 20 for o in outcomes)


async def test_generated_corpus_is_removed(tmp_path: Path) -> None:
    spec = TypeAdapter(WorkloadSpec).validate_python(SPECS["hashing"])
    async with provisioner("hashing")(spec, tmp_path) as context:
        assert len(context["files"]) == 5
        assert all(Path(f).exists() for f in context["files"])
    assert list(tmp_path.iterdir()) == []


def test_wrong_prime_count_is_caught() -> None:
    spec = TypeAdapter(WorkloadSpec).validate_python(SPECS["numeric-primes"])
    workload = workload_class("numeric")(spec, {})
    tally = workload.new_tally()
    with pytest.raises(WrongAnswer):
        tally.add((0, -1))


def test_wrong_integral_is_caught() -> None:
    spec = TypeAdapter(WorkloadSpec).validate_python(SPECS["numeric-integrate"])
    tally = workload_class("numeric")(spec, {}).new_tally()
    with pytest.raises(WrongAnswer):
        tally.add((2, 0.5))


def test_missing_dispatch_results_are_caught() -> None:
    spec = TypeAdapter(WorkloadSpec).validate_python(SPECS["dispatch"])
    tally = workload_class("dispatch")(spec, {}).new_tally()
    tally.add(0)
    with pytest.raises(WrongAnswer):
        tally.finish()


async def test_user_folder_is_hashed_without_changes(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_bytes(b"a" * 5000)
    (tmp_path / "sub" / "b.bin").write_bytes(b"b" * 3000)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    spec = {"kind": "hashing", "folder": str(tmp_path)}
    outcomes = await provisioned(spec, tmp_path, ["serial", "threads", "asyncio"])
    assert {o.digest for o in outcomes} == {outcomes[0].digest}
    assert outcomes[0].amount == pytest.approx(8000 / 1e6)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


def test_pool_workers_import_only_light_modules() -> None:
    # Every process-pool worker imports the workload's module at start-up; pydantic and aiohttp
    # would add a few hundred ms each, per worker, to the measured start-up cost.
    import subprocess
    import sys

    from lab.runner.system.child_env import child_env

    code = (
        "import sys\n"
        "import lab.runner.workloads.numeric, lab.runner.workloads.hashing, lab.runner.workloads.http, lab.runner.workloads.dispatch\n"
        "print(sorted(m for m in ('pydantic', 'aiohttp', 'yaml', 'textual') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=True
    )
    assert out.stdout.strip() == "[]"
