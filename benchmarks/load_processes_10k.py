"""The process pool runs 10,000 tasks, with the peak memory it reaches.

Runs the `dispatch` workload (near-empty tasks) under the process pool through the lab
itself, at 1,000 and 10,000 tasks side by side, for each pool size. Peak RSS and USS cover
the runner and every worker process (sampled from the parent every 100 ms). Tasks are
pulled lazily in chunks (at most 2 x workers + 1 chunks of at most 1,024 tasks in flight),
so ten times the tasks should not mean ten times the memory.

    python benchmarks/load_processes_10k.py
    python benchmarks/load_processes_10k.py --sizes 1000,10000,100000 --workers 2,4 --task-us 100
"""

from __future__ import annotations

import argparse
import os
import sys

from _load import HEADER, lab_rss, row, run_scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--workers", default="2,4")
    parser.add_argument("--task-us", type=float, default=50.0)
    parser.add_argument("--start-method", default="forkserver")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"process pool, dispatch tasks of {args.task_us:g} µs busy work, "
        f"{args.start_method}, 1 warmup + 3 repeats; Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    print(HEADER)
    peaks: dict[str, list[int]] = {}
    for size in sizes:
        runs = run_scenario(
            f"""\
            title: load
            workload: {{kind: dispatch, tasks: {size}, task_us: {args.task_us}}}
            executors: [processes]
            workers: [{args.workers}]
            repeats: 3
            warmups: 1
            timeout: 3600
            start_method: {args.start_method}
            """
        )
        for run in runs:
            print(row(size, run), flush=True)
            peaks.setdefault(run.run_id, []).append(run.peak_rss_bytes or 0)
    for run_id, values in peaks.items():
        if len(values) >= 2 and values[0]:
            print(
                f"{run_id}: peak RSS at {sizes[-1]:,} tasks is {values[-1] / values[0]:.2f}x "
                f"the peak at {sizes[0]:,} ({sizes[-1] / sizes[0]:.0f}x the tasks)"
            )
    print(f"orchestrator (this process) peak RSS: {lab_rss()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
