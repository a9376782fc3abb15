"""HTTP fan-out at 100,000 requests: memory stays bounded.

Runs the `http` workload against the embedded loopback server through the lab itself
(a fresh runner process per run, memory of the runner's process tree sampled from the
parent), at 10,000 and at 100,000 requests side by side. Tasks are generated lazily and
latencies go into a log-bucketed histogram, so ten times the requests should cost about
the same peak memory, not ten times as much.

    python benchmarks/load_http_100k.py
    python benchmarks/load_http_100k.py --sizes 10000,100000 --executors asyncio,threads --workers 64
    python benchmarks/load_http_100k.py --smoke     (100 and 200 requests, 4 workers: seconds)

All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from _load import SMOKE_SETTINGS, sweep_sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--executors", default="asyncio,threads")
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=1.0)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script runs")
    args = parser.parse_args()
    settings = "repeats: 1\nwarmups: 0\n"
    if args.smoke:
        args.sizes, args.workers = "100,200", 4
        settings = SMOKE_SETTINGS
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"HTTP fan-out, embedded server on 127.0.0.1, {args.latency_ms:g} ms latency, 64 B "
        f"bodies, {args.workers} workers, 1 repeat; Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    return sweep_sizes(
        sizes,
        lambda size: (
            textwrap.dedent(f"""\
            title: load
            workload: {{kind: http, requests: {size}, latency_ms: {args.latency_ms},
                        payload_size: 64, request_timeout: 30}}
            executors: [{args.executors}]
            workers: [{args.workers}]
            timeout: 3600
            """)
            + settings
        ),
        "requests",
    )


if __name__ == "__main__":
    sys.exit(main())
