"""How fast `concurrency-lab` starts for the commands people type to find their way.

Prints, for --help, --version, --list and --check (a built-in and a scenario file), the median
wall time of N fresh processes next to `python -c pass` measured in the same loop
(interleaved, so drift hits both alike), the difference (the lab's own start-up), and the
median CPU time of each (user + system: on a machine shared with other work, wall time
includes waiting for a core, CPU time mostly does not). Target (issue 12): each under 150 ms.

One unmeasured round goes first, with PYTHONDONTWRITEBYTECODE removed from the children's
environment, so that an editable checkout is measured with its bytecode cached, as an
installed wheel always is.

    python benchmarks/startup.py [N]
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCENARIO_FILE = str(Path(__file__).resolve().parents[1] / "examples" / "primes_by_size.yaml")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "--help": ["--help"],
    "--version": ["--version"],
    "--list": ["--list"],
    "--check numeric_crunching": ["--check", "numeric_crunching"],
    "--check FILE.yaml": ["--check", SCENARIO_FILE],
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    exe = shutil.which("concurrency-lab")
    if exe is None:
        print("concurrency-lab is not on PATH: install the lab first (pip install .)")
        return 2
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for round_ in range(rounds + 1):
        for name, args in COMMANDS.items():
            argv = args if name.startswith("python") else [exe, *args]
            cpu_before = _children_cpu()
            began = time.perf_counter()
            subprocess.run(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env
            )
            if round_:  # the first round writes bytecode caches and warms the page cache
                times[name].append(time.perf_counter() - began)
                cpu[name].append(_children_cpu() - cpu_before)
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<28} {'median':>9} {'over python -c pass':>20} {'CPU':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<28} {1e3 * median:6.0f} ms {1e3 * (median - base):17.0f} ms "
            f"{1e3 * statistics.median(cpu[name]):6.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
