"""The command line's options, and how --help lays them out.

--help, --version and --list import no more than this module's: pydantic, the engine and the
renderers load only for the commands that use them (each costs tens of milliseconds).
"""

from __future__ import annotations

import argparse

from lab import __version__
from lab.report.formats import FORMATS

EPILOG = """\
exit codes:
  0    every run finished and its results were checked
  1    at least one run failed, timed out or computed a wrong answer (or the report
       could not be written where asked: it went to stdout instead)
  2    bad input: a scenario file, a name or an option is wrong (nothing ran)
  130  interrupted (Ctrl+C; 143 for SIGTERM, 129 for SIGHUP); a partial report marks what
       did not run
  141  stdout was closed before everything was written (`--list | head -3`)

compare reports (a CI gate):
  concurrency-lab compare A.json B.json [...] [--fail-if-slower PCT [--strict]] [--format md|json]
      side by side per scenario, executor and worker count, with ratios and significance
      (Mann-Whitney U); exit 1 when a run is significantly slower than A by more than PCT%,
      3 when a run cannot be judged (unless --allow-inconclusive), 2 when nothing matched.
      `concurrency-lab compare --help` for more.

view a saved report (read-only; from --report, another machine, a fleet):
  concurrency-lab view REPORT.json
      the app's Results, verdicts and chart for a JSON report; nothing runs. A fleet
      report shows its hosts and which host wins which model.

fleet runs (every host of a Dask cluster, the lab installed on each):
  concurrency-lab --report fleet.md --fleet tcp://scheduler:8786 [SCENARIO ...]
      one complete lab session per host, hosts in parallel; the report puts the hosts side
      by side and says which host wins which model. Exit 2 when the scheduler cannot be
      reached, has no workers, or a worker runs another lab version.

examples:
  concurrency-lab                                  open the app on the built-in scenarios
  concurrency-lab my_scenarios/                    open the app with your scenarios loaded too
  concurrency-lab --report - --format md --quick   run every built-in, Markdown to stdout
  concurrency-lab --report out.json numeric_crunching my.yaml
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="concurrency-lab",
        description="asyncio, threads or processes? Measure each concurrency model on your "
        "workload, on this machine.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="SCENARIO",
        help="built-in scenario names, YAML files or folders of them (default: all built-ins)",
    )
    parser.add_argument(
        "--report",
        nargs="?",
        const="-",
        metavar="OUT",
        help="run headless (no TTY needed) and write a report to OUT, or '-' for stdout",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="report format (default: from OUT's extension, else md)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="scale every scenario down to a few seconds"
    )
    parser.add_argument(
        "--min-time",
        type=_seconds,
        metavar="SECONDS",
        help="calibrate: pass over the tasks as often as it takes for every warmup and repeat to "
        "last this long (times are per pass); overrides the scenarios' min_time "
        "(default 0.1, 0 = off)",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="run sweeps past 10 values or an estimated 10 minutes without asking",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        metavar="N",
        help="seed of the rounds' shuffled orders (recorded in every report): the same seed "
        "measures the runs in the same orders again (default: a fresh one)",
    )
    parser.add_argument(
        "--fleet",
        metavar="ADDRESS",
        help="run the whole lab on every host of a Dask cluster (its scheduler, e.g. "
        "tcp://scheduler:8786), one session per host in parallel, and write one fleet report "
        "(needs `pip install 'concurrency-lab[cluster]'` here and on every host)",
    )
    parser.add_argument(
        "--cluster",
        type=_cluster_address,
        metavar="ADDRESS",
        help="dask runs use the existing Dask scheduler at ADDRESS (tcp://host:8786) and its "
        "first workers, instead of a LocalCluster per run",
    )
    parser.add_argument(
        "--python",
        action="append",
        metavar="PATH",
        help="run every scenario under this Python (a name on PATH or a path; repeat it for "
        "several, each one more axis: threads-4@py3.13); overrides `interpreters:` in files",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the built-in scenarios and the executors available here, and exit",
    )
    parser.add_argument(
        "--check", action="store_true", help="validate the given scenario files without running"
    )
    parser.add_argument(
        "--schema",
        nargs="?",
        const="scenario",
        choices=("scenario", "report", "fleet"),
        help="print the JSON Schema of scenario files (or of report or fleet report files) "
        "and exit",
    )
    parser.add_argument("--version", action="version", version=f"concurrency-lab {__version__}")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return value


def _cluster_address(text: str) -> str:
    from lab.scenario.cluster import check_cluster_address

    try:
        return check_cluster_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{value} is outside 0 to 2**63-1")
    return value
