"""Negative controls and physical limits, measured the way a user runs the lab.

    python benchmarks/negative_controls.py idle [SCENARIO]        # default file_hashing
    python benchmarks/negative_controls.py transient [--sessions 5] [SCENARIO]
    python benchmarks/negative_controls.py --smoke                # seconds: both modes, tiny

`idle` runs one full session of a built-in with `concurrency-lab --report` and prints every run's
speedup over serial, its significance, cores busy and page faults per pass, with the warnings
the lab's own checks raised (issue 26: on an idle 2-core machine every 1-worker run of the serial
function must lie within 0.9-1.1 of serial, and no run beyond 2.2x on CPU-bound work).

`transient` runs SESSIONS full sessions; in each, a busy loop (one core, pure Python) starts
partway through and stops before the end. For each session it prints the controls' figures,
the disturbed and dropped rounds, and every thread or event-loop run reported significantly
faster than serial, with whether its doubt mark (`!`) is beside it. Its last line counts the
violations: such runs without the mark (there must be none).

Reports are kept under --out (default: a temporary folder, printed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

LAB = [sys.executable, "-m", "lab"]
BUSY_LOOP = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"
THREADS_AND_LOOPS = {"threads", "asyncio", "uvloop"}
CHECK_CODES = (
    "control_failed",
    "control_band",
    "baseline_disturbed",
    "physical_limit",
    "disturbed_rounds",
)

SMOKE_SCENARIO = """\
title: smoke
workload: {kind: numeric, kernel: primes, tasks: 4, size: 1000}
executors: [serial, threads]
workers: [1, 2]
repeats: 6
warmups: 0
processes: 1
min_time: 0
"""


def run_lab(target: str, out: Path, extra: list[str] | None = None) -> tuple[int, float]:
    started = time.monotonic()
    done = subprocess.run(
        [*LAB, "--report", str(out), *(extra or []), target],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return done.returncode, time.monotonic() - started


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def table(report: dict[str, Any]) -> str:
    lines = []
    for scenario in report["scenarios"]:
        lines.append(f"## {scenario['name']}")
        rounds = scenario.get("rounds") or {}
        lines.append(
            f"rounds: load {rounds.get('load')}, disturbed {rounds.get('disturbed')}, "
            f"dropped {rounds.get('dropped')}"
        )
        lines.append(
            "| run | speedup over serial | significant | median | cores | minor faults/pass "
            "| doubts |"
        )
        lines.append("|---|---|---|---|---|---|---|")
        for run in scenario["runs"]:
            s = run.get("summary") or {}
            test = s.get("versus_baseline") or {}
            median = (s.get("wall_seconds") or {}).get("median")
            cores = s.get("cpu_cores")
            faults = s.get("minor_faults")
            lines.append(
                f"| {run['run_id']} | {(s.get('speedup') or 0):.2f} "
                f"| {'yes' if test.get('significant') else 'no' if test else '–'} "
                f"| {1e3 * median:.1f} ms | {cores or 0:.2f} "
                f"| {'–' if faults is None else f'{faults:,.0f}'} "
                f"| {'; '.join(s.get('doubts') or []) or '–'} |"
                if median
                else f"| {run['run_id']} | {run['status']} | | | | | |"
            )
        warnings = [w for w in all_warnings(scenario) if w["code"] in CHECK_CODES]
        for w in warnings:
            lines.append(f"- `{w['code']}`: {w['message']}")
        if not warnings:
            lines.append("- the lab's checks raised no warning")
    return "\n".join(lines)


def all_warnings(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(scenario.get("warnings") or [])
    for run in scenario["runs"]:
        found += (run.get("summary") or {}).get("warnings") or []
    return found


def unmarked(report: dict[str, Any]) -> list[str]:
    """Thread and event-loop runs significantly faster than serial with no doubt beside them."""
    found = []
    for scenario in report["scenarios"]:
        for run in scenario["runs"]:
            s = run.get("summary") or {}
            test = s.get("versus_baseline") or {}
            if (
                run["executor"] in THREADS_AND_LOOPS
                and test.get("significant")
                and (s.get("speedup") or 0) > 1
                and not s.get("doubts")
            ):
                found.append(f"{scenario['name']}: {run['run_id']} {s['speedup']:.2f}x")
    return found


def idle(target: str, out: Path) -> int:
    path = out / f"idle-{Path(target).stem}.json"
    code, seconds = run_lab(target, path)
    print(f"$ concurrency-lab --report {path} {target}\nexit {code} after {seconds:.0f} s\n")
    print(table(load(path)))
    return code


def transient(target: str, out: Path, sessions: int, after: float, duration: float) -> int:
    violations: list[str] = []
    for session in range(1, sessions + 1):
        path = out / f"transient-{session}-{Path(target).stem}.json"
        lab = subprocess.Popen(
            [*LAB, "--report", str(path), "--seed", str(session), target],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(after)
        loop = subprocess.Popen([sys.executable, "-c", BUSY_LOOP.format(seconds=duration)])
        loop.wait()
        code = lab.wait()
        report = load(path)
        found = unmarked(report)
        violations += found
        print(
            f"\n# session {session}: exit {code}; busy loop from {after:.0f} s for "
            f"{duration:.0f} s\n"
        )
        print(table(report))
        print(f"\nsignificantly faster than serial without a doubt mark: {found or 'none'}")
    print(f"\nviolations over {sessions} sessions: {len(violations)} {violations or ''}")
    return 1 if violations else 0


def smoke() -> int:
    with tempfile.TemporaryDirectory(prefix="controls-smoke-") as folder:
        out = Path(folder)
        scenario = out / "smoke.yaml"
        scenario.write_text(textwrap.dedent(SMOKE_SCENARIO))
        code = idle(str(scenario), out)
        if code != 0:
            return code
        transient(str(scenario), out, sessions=1, after=0.5, duration=1.0)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["idle", "transient"], default="idle")
    parser.add_argument("scenario", nargs="?")
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--load-after", type=float, default=15.0, help="seconds into a session")
    parser.add_argument("--load-for", type=float, default=25.0, help="seconds of busy loop")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds")
    args = parser.parse_args()
    if args.smoke:
        return smoke()
    out = args.out or Path(tempfile.mkdtemp(prefix="controls-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"reports in {out}")
    if shutil.which("nproc"):
        print(f"cores: {os.cpu_count()}, load average {os.getloadavg()}")
    if args.mode == "idle":
        return idle(args.scenario or "file_hashing", out)
    return transient(
        args.scenario or "numeric_crunching", out, args.sessions, args.load_after, args.load_for
    )


if __name__ == "__main__":
    sys.exit(main())
