"""How fast `concurrency-lab` starts for the commands people type to find their way.

Prints, for --help, --version, --list and --check, the median wall time of N fresh processes
next to `python -c pass` measured in the same loop (interleaved, so drift hits both alike),
and the difference: the lab's own start-up. Target (issue 12): each under 150 ms here.

    python benchmarks/startup.py [N]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "--help": ["--help"],
    "--version": ["--version"],
    "--list": ["--list"],
    "--check numeric_crunching": ["--check", "numeric_crunching"],
}


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    exe = shutil.which("concurrency-lab")
    if exe is None:
        print("concurrency-lab is not on PATH: install the lab first (pip install .)")
        return 2
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, args in COMMANDS.items():
            argv = args if name.startswith("python") else [exe, *args]
            began = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times[name].append(time.perf_counter() - began)
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<28} {'median':>9} {'over python -c pass':>20}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<28} {1e3 * median:7.0f} ms {1e3 * (median - base):17.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
