"""How the statistics scale with the number of repeats (issue 14, item 9).

    python benchmarks/stats_scaling.py [N ...]        (default: 100 1000 10000 100000)
    python benchmarks/stats_scaling.py --smoke        (N = 100 only: checks the script runs)

For each N it builds one scenario of three runs (serial-1, threads-2, processes-2) with N
repeats each, and prints the seconds taken by
- describe(): the summary of one run's N wall times (median, MAD, CI of the median);
- finalise_scenario(): every summary of the scenario (each run's, the speedups against the
  baseline with their Mann-Whitney tests and ratio intervals, the fastest run's comparisons);
- compare: `lab.compare` of the report with itself (reading, checking and re-summarising
  both files, then matching and testing every run).
The target is O(n log n): 100,000 repeats summarised in under 2 s.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.analysis.summarise import finalise_scenario
from lab.compare import compare_reports, load_report
from lab.core.stats import describe
from lab.report.formats import render
from lab.results.model import Report, RunResult, ScenarioResult
from lab.results.repeat import RepeatRecord
from tests.synthetic import machine


def scenario(n: int, rng: random.Random) -> ScenarioResult:
    runs = []
    for executor, workers, centre in (
        ("serial", 1, 1.0),
        ("threads", 2, 0.6),
        ("processes", 2, 0.55),
    ):
        run = RunResult(f"{executor}-{workers}", executor, workers, "tasks", 10, status="ok")
        for i in range(n):
            wall = centre * rng.lognormvariate(0, 0.05)
            run.repeats.append(RepeatRecord("repeat", i, wall, wall, 0.0, 10, 10, digest="d"))
        runs.append(run)
    return ScenarioResult(
        name="scaling", source="scaling.yaml", title="scaling", description="",
        workload={"kind": "numeric", "tasks": 10}, runs=runs,
        settings={"repeats": n, "warmups": 0, "timeout": 60, "workers": [1, 2]},
    )  # fmt: skip


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def compare_file(path: Path) -> None:
    a, b = load_report(str(path)), load_report(str(path))
    json.dumps([m.to_json() for m in compare_reports(a, b).matched])


def measure(n: int, rng: random.Random) -> tuple[float, float, float]:
    result = scenario(n, rng)
    walls = [r.wall_seconds for r in result.runs[0].repeats]
    t_describe = timed(partial(describe, walls))
    t_summary = timed(partial(finalise_scenario, result, 2))
    report = Report(machine=machine(), scenarios=[result])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.json"
        path.write_text(render(report, "json"))
        t_compare = timed(partial(compare_file, path))
    return t_describe, t_summary, t_compare


def main(sizes: list[int]) -> None:
    rng = random.Random(14)
    print(f"{'repeats':>8} {'describe':>10} {'summarise':>10} {'compare':>10}")
    for n in sizes:
        t_describe, t_summary, t_compare = measure(n, rng)
        print(f"{n:>8} {t_describe:>9.3f}s {t_summary:>9.3f}s {t_compare:>9.3f}s", flush=True)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments == ["--smoke"]:
        main([100])
    else:
        main([int(a) for a in arguments] or [100, 1000, 10000, 100000])
