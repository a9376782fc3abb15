"""How fast `concurrency-lab` starts for the commands people type to find their way.

Prints, for --help, --version, --list and --check (a built-in and a scenario file), the median
wall time of N fresh processes next to `python -c pass` measured in the same loop
(interleaved, so drift hits both alike), the difference (the lab's own start-up), and the
median CPU time of each (user + system: on a machine shared with other work, wall time
includes waiting for a core, CPU time mostly does not). Target (issue 12): each under 150 ms.

One unmeasured round goes first, with PYTHONDONTWRITEBYTECODE removed from the children's
environment, so that an editable checkout is measured with its bytecode cached, as an
installed wheel always is.

    python benchmarks/startup.py [N] [--against DIR]
    python benchmarks/startup.py --smoke     (one measured round: checks the script runs)

--against DIR also runs each lab command from another checkout (DIR, its lab/ first on
PYTHONPATH; `git worktree add DIR REV`), in the same loop, and prints this one's time as a
ratio of that one's: a before/after measured side by side.
"""

from __future__ import annotations

import argparse
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rounds", nargs="?", type=int, default=15)
    parser.add_argument("--against", metavar="DIR", help="another checkout to compare with")
    parser.add_argument("--smoke", action="store_true", help="one round: checks the script runs")
    options = parser.parse_args()
    if options.smoke:
        options.rounds = 1
    exe = shutil.which("concurrency-lab")
    if exe is None:
        print("concurrency-lab is not on PATH: install the lab first (pip install .)")
        return 2
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    trees = {"": env}
    if options.against:
        trees["against"] = {**env, "PYTHONPATH": str(Path(options.against).resolve())}
    times: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for round_ in range(options.rounds + 1):
        for name, args in COMMANDS.items():
            for tree, tree_env in trees.items():
                if tree and name.startswith("python"):
                    continue
                argv = args if name.startswith("python") else [exe, *args]
                cpu_before = _children_cpu()
                began = time.perf_counter()
                done = subprocess.run(
                    argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
                    env=tree_env, cwd="/",
                )  # fmt: skip
                if done.returncode != 0:  # the time of a failing command means nothing
                    print(f"{name} ({tree or 'this checkout'}) exited {done.returncode}:")
                    print(done.stderr.decode(errors="replace"))
                    return 1
                if round_:  # the first round writes bytecode caches and warms the page cache
                    times.setdefault((name, tree), []).append(time.perf_counter() - began)
                    cpu.setdefault((name, tree), []).append(_children_cpu() - cpu_before)
    base = statistics.median(times["python -c pass", ""])
    header = f"{'command':<28} {'median':>9} {'over python -c pass':>20} {'CPU':>9}"
    print(header + (f" {'against':>9} {'ratio':>6}" if options.against else ""))
    for name in COMMANDS:
        median = statistics.median(times[name, ""])
        line = (
            f"{name:<28} {1e3 * median:6.0f} ms {1e3 * (median - base):17.0f} ms "
            f"{1e3 * statistics.median(cpu[name, '']):6.0f} ms"
        )
        if (name, "against") in times:
            other = statistics.median(times[name, "against"])
            line += f" {1e3 * other:6.0f} ms {median / other:6.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
