"""Noise warnings, driven by faked facts: no test depends on this machine's state or speed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lab.analysis import noise
from lab.engine.system import probes
from lab.engine.system.machine import cgroup_memory_limit, cpu_caches, machine_facts

QUIET = noise.EnvironmentFacts(
    governors=["performance", "performance"],
    cpu_busy=0.02,
    load_average=0.1,
    logical_cpus=2,
    usable_cpus=2,
    swap_used=0,
)


def codes(found: list[dict[str, str]]) -> list[str]:
    return [w["code"] for w in found]


def plain(found: list[dict[str, str]]) -> None:
    """Every warning is readable prose: a full sentence, no bare jargon left unexplained."""
    for w in found:
        message = w["message"]
        subject = message.split(": ", 1)[0] if w.get("run_id") else message
        assert subject[0].isupper() or subject[0].isdigit() or subject == w["run_id"], message
        assert message.endswith("."), message
        assert 60 < len(message) < 420, message


def test_quiet_machine_has_no_warnings() -> None:
    assert noise.environment_warnings(QUIET) == []
    assert noise.environment_warnings(noise.EnvironmentFacts()) == []  # nothing readable


def test_each_environment_warning() -> None:
    facts = noise.EnvironmentFacts(
        governors=["powersave", "performance"],
        cpu_busy=0.45,
        load_average=1.7,
        logical_cpus=8,
        usable_cpus=2,
        swap_used=512 * 1024 * 1024,
    )
    found = noise.environment_warnings(facts)
    assert codes(found) == ["cpu_governor", "machine_busy", "cpus_limited", "swap_in_use"]
    text = {w["code"]: w["message"] for w in found}
    assert "'powersave'" in text["cpu_governor"]
    assert "45% busy" in text["machine_busy"] and "load average 1.70" in text["machine_busy"]
    assert "only 2 of the machine's 8 logical CPUs" in text["cpus_limited"]
    assert "512.0 MiB of swap" in text["swap_in_use"]
    plain(found)


def test_thresholds() -> None:
    edge = noise.EnvironmentFacts(cpu_busy=noise.BUSY_LIMIT, swap_used=noise.SWAP_LIMIT)
    assert noise.environment_warnings(edge) == []


def test_read_environment_uses_the_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probes, "read_governors", lambda: ["schedutil"])
    monkeypatch.setattr(probes, "read_cpu_busy", lambda seconds: 0.5)
    monkeypatch.setattr(probes, "read_load_average", lambda: 3.0)
    monkeypatch.setattr(probes, "read_logical_cpus", lambda: 4)
    monkeypatch.setattr(probes, "read_usable_cpus", lambda: 4)
    monkeypatch.setattr(probes, "read_swap_used", lambda: 0)
    found = noise.environment_warnings(probes.read_environment())
    assert codes(found) == ["cpu_governor", "machine_busy"]


def test_read_governors_from_sysfs(tmp_path: Path) -> None:
    for i, governor in enumerate(["powersave", "performance"]):
        folder = tmp_path / f"cpu{i}" / "cpufreq"
        folder.mkdir(parents=True)
        (folder / "scaling_governor").write_text(governor + "\n")
    found = probes.read_governors(tmp_path)
    assert found is None or set(found) <= {"powersave", "performance"}
    assert probes.read_governors(tmp_path / "missing") is None


def test_page_cache_warning() -> None:
    assert noise.page_cache_warning(None, None) is None
    assert noise.page_cache_warning(0.1, 1 << 26) is None
    found = noise.page_cache_warning(1.0, 64 * 1024 * 1024)
    assert found is not None and found["code"] == "page_cache"
    assert "64.0 MiB" in found["message"] and "cache: cold" in found["message"]
    plain([found])


def test_read_page_cache_fraction_on_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100_000)
    found = probes.read_page_cache_fraction([str(path)])
    if found is None:  # not Linux, or mincore unavailable: the lab stays silent
        return
    fraction, size = found
    assert 0.0 <= fraction <= 1.0 and size == 100_000
    assert probes.read_page_cache_fraction([]) is None
    assert probes.read_page_cache_fraction([str(tmp_path / "missing")]) is None


class _Spec:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def test_scenario_warnings_only_for_a_warm_hashing_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probes, "read_page_cache_fraction", lambda paths: (0.97, 1 << 20))
    warm = _Spec(workload=_Spec(kind="hashing", cache="warm"))
    cold = _Spec(workload=_Spec(kind="hashing", cache="cold"))
    numeric = _Spec(workload=_Spec(kind="numeric"))
    context = {"files": ["a", "b"]}
    assert codes(probes.scenario_warnings(warm, context)) == ["page_cache"]
    assert probes.scenario_warnings(cold, context) == []
    assert probes.scenario_warnings(numeric, {}) == []
    monkeypatch.setattr(probes, "read_page_cache_fraction", lambda paths: None)
    assert probes.scenario_warnings(warm, context) == []


def test_run_warnings_steady_run_is_quiet() -> None:
    assert noise.run_warnings("threads-2", [1.00, 1.01, 0.99, 1.02, 1.00]) == []
    assert noise.run_warnings("threads-2", [1.0]) == []


def test_run_warnings_spread_outlier_and_cold_start() -> None:
    spread = noise.run_warnings("threads-2", [1.0, 1.3, 0.8, 1.2, 0.9])
    assert codes(spread) == ["high_spread"]
    assert spread[0]["run_id"] == "threads-2"
    assert "±20%" in spread[0]["message"]

    cold = noise.run_warnings("processes-4", [1.6, 1.0, 1.01, 0.99, 1.02], warmups=0)
    assert codes(cold) == ["slow_first_repeat"]
    assert "`warmups: 1`" in cold[0]["message"]
    cold_again = noise.run_warnings("processes-4", [1.6, 1.0, 1.01, 0.99, 1.02], warmups=1)
    assert "more warmups" in cold_again[0]["message"]

    late = noise.run_warnings("asyncio-1", [1.0, 1.01, 0.99, 1.7, 1.02])
    assert codes(late) == ["outliers"]
    assert "repeat 4 (1.70 s)" in late[0]["message"]
    plain(spread + cold + late)


def test_run_warnings_short_repeats_count_the_loops() -> None:
    short = noise.run_warnings("serial-1", [0.002, 0.002, 0.002])
    assert codes(short) == ["short_repeats"]
    assert "2.0 ms" in short[0]["message"]
    assert noise.run_warnings("serial-1", [0.002, 0.002, 0.002], loops=50) == []
    plain(short)


def test_machine_facts_are_complete() -> None:
    facts = machine_facts()
    for key in (
        "cpu_model", "cpu_frequency_mhz", "cpu_governor", "cpu_caches", "cpus_logical",
        "cpus_physical", "cpus_usable", "memory_total_bytes", "swap_used_bytes", "kernel",
        "container", "cgroup_memory_limit_bytes", "cpu_quota", "timer", "event_loop",
        "multiprocessing_start_method",
    ):  # fmt: skip
        assert key in facts, key
    python = facts["python"]
    for key in ("implementation", "version", "build", "gil_enabled", "pgo", "lto", "debug"):
        assert key in python, key
    for library in ("aiohttp", "uvloop", "textual"):
        assert library in facts["libraries"]
    assert "asyncio_default" in facts["event_loop"]


def test_cache_and_cgroup_readers(tmp_path: Path) -> None:
    for i, (level, kind, size) in enumerate(
        [("1", "Data", "48K"), ("1", "Instruction", "32K"), ("2", "Unified", "2048K")]
    ):
        folder = tmp_path / "cache" / f"index{i}"
        folder.mkdir(parents=True)
        (folder / "level").write_text(level)
        (folder / "type").write_text(kind)
        (folder / "size").write_text(size)
    assert cpu_caches(tmp_path / "cache") == {"L1d": "48K", "L1i": "32K", "L2": "2048K"}
    assert cpu_caches(tmp_path / "none") is None

    (tmp_path / "memory.max").write_text("max\n")
    assert cgroup_memory_limit(tmp_path) is None
    (tmp_path / "memory.max").write_text("1073741824\n")
    assert cgroup_memory_limit(tmp_path) == 1 << 30
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert cgroup_memory_limit(v1) is None


def test_group_notices_folds_runs_sharing_a_kind() -> None:
    a = noise.run_warnings("threads-1", [1.0, 1.01, 0.99, 1.7, 1.02])
    b = noise.run_warnings("threads-2", [1.0, 1.01, 0.99, 1.02, 1.6])
    c = noise.run_warnings("asyncio-1", [1.0, 1.3, 0.8, 1.2, 0.9])
    scenario = noise.notice("page_cache", "The corpus was cached.")
    grouped = noise.group_notices([scenario, *a, *b, *c])
    assert codes(grouped) == ["page_cache", "outliers", "high_spread"]
    assert (
        "threads-1 (repeat 4 took 1.70 s, median 1.01 s); threads-2 (repeat 5"
        in (grouped[1]["message"])
    )
    assert grouped[2] == c[0]  # alone of its kind: kept as it was
    plain(grouped[1:])


def test_background_meter(monkeypatch: pytest.MonkeyPatch) -> None:
    busy = iter([100.0, 110.0])  # the machine: 10 CPU-seconds busy over the run
    lab = iter([5.0, 6.0])  # this process and its helpers: 1
    monkeypatch.setattr(probes, "read_busy_cpu_seconds", lambda: next(busy))
    monkeypatch.setattr(probes, "read_lab_cpu_seconds", lambda: next(lab))
    clock = iter([0.0, 4.0])
    meter = probes.BackgroundMeter(clock=lambda: next(clock))
    meter.runner_cpu = 5.0  # the runner and its workers: 5
    assert meter.stop() == pytest.approx((10 - 1 - 5) / 4)
    monkeypatch.setattr(probes, "read_busy_cpu_seconds", lambda: None)
    monkeypatch.setattr(probes, "read_lab_cpu_seconds", lambda: 1.0)
    assert probes.BackgroundMeter().stop() is None  # unreadable, or the runner never said


def test_background_load_warning() -> None:
    quiet = noise.run_warnings("threads-2", [1.0, 1.01, 1.0], background=0.1, usable=2)
    assert quiet == []
    busy = noise.run_warnings("threads-2", [1.0, 1.01, 1.0], background=0.9, usable=2)
    assert codes(busy) == ["background_load"]
    assert "about 0.9 of the 2 usable CPUs" in busy[0]["message"]
    plain(busy)


def test_many_outliers_are_counted_not_listed() -> None:
    """A long run with many outlying repeats names the first few and counts the rest, so the
    warning stays one readable sentence (10,000 repeats used to list every one)."""
    walls = [1.0 + 0.001 * (i % 7) for i in range(2000)]
    for i in range(100, 2000, 19):  # 100 repeats far slower than the rest
        walls[i] = 3.0
    found = [w for w in noise.run_warnings("threads-2", walls) if w["code"] == "outliers"]
    assert len(found) == 1
    flagged = sum(1 for w in walls if w == 3.0)
    assert f"and {flagged - noise.MAX_NAMED} more" in found[0]["message"]
    assert found[0]["message"].count("repeat ") == noise.MAX_NAMED
    assert len(found[0]["message"]) < 600
