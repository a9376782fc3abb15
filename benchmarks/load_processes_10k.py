"""The process pool runs 10,000 tasks, with the peak memory it reaches.

Runs the `dispatch` workload (near-empty tasks) under the process pool through the lab
itself, at 1,000 and 10,000 tasks side by side, for each pool size. Peak RSS and USS cover
the runner and every worker process (sampled from the parent every 100 ms). Tasks are
pulled lazily in chunks (at most 2 x workers + 1 chunks of at most 1,024 tasks in flight),
so ten times the tasks should not mean ten times the memory.

    python benchmarks/load_processes_10k.py
    python benchmarks/load_processes_10k.py --sizes 1000,10000,100000 --workers 2,4 --task-us 100
    python benchmarks/load_processes_10k.py --smoke     (50 and 100 tasks, 2 workers: seconds)
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from _load import SMOKE_SETTINGS, sweep_sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--workers", default="2,4")
    parser.add_argument("--task-us", type=float, default=50.0)
    parser.add_argument("--start-method", default="forkserver")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script runs")
    args = parser.parse_args()
    # A measurement's settings: 2 runner processes, 0.1 s of calibration per repeat. A smoke
    # run (its figures mean nothing) takes one pass of each: a second, not five.
    settings = "repeats: 3\nwarmups: 1\n"
    if args.smoke:
        args.sizes, args.workers = "50,100", "2"
        settings = SMOKE_SETTINGS
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"process pool, dispatch tasks of {args.task_us:g} µs busy work, "
        f"{args.start_method}, {settings.strip().replace(chr(10), ', ')}; "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    return sweep_sizes(
        sizes,
        lambda size: (
            textwrap.dedent(f"""\
            title: load
            workload: {{kind: dispatch, tasks: {size}, task_us: {args.task_us}}}
            executors: [processes]
            workers: [{args.workers}]
            timeout: 3600
            start_method: {args.start_method}
            """)
            + settings
        ),
        "tasks",
    )


if __name__ == "__main__":
    sys.exit(main())
