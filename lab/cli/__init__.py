"""The `concurrency-lab` command."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lab.cli.parser import build_parser as build_parser
from lab.core.exit_codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_READER_LEFT
from lab.core.textsafe import safe_text
from lab.report.formats import format_for_path

if TYPE_CHECKING:
    from lab.engine.plan import ScenarioPlan
    from lab.scenario.loader import LoadedScenario


def _looks_like_target(value: str) -> bool:
    from lab.scenario.builtins import builtin_paths

    # A folder is not guessed to be scenarios: `--report out/` is more likely a mistaken
    # output path, and the report check below says what is wrong with it.
    return value in builtin_paths() or Path(value).suffix in (".yaml", ".yml")


def _view(argv: list[str]) -> int:
    """`concurrency-lab view REPORT.json`: bad input is one line and exit 2, never a traceback."""
    if argv in (["-h"], ["--help"]):
        print(
            "usage: concurrency-lab view REPORT.json\n\nOpen a saved JSON report (or a fleet "
            "report) read-only."
        )
        return EXIT_OK
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: concurrency-lab view REPORT.json (one JSON report)", file=sys.stderr)
        return EXIT_BAD_INPUT
    # The same reader as `compare`: validated by the results models before anything is shown.
    from lab.compare.load import CompareError, load_for_view

    try:
        report = load_for_view(argv[0])
    except CompareError as exc:
        print(f"concurrency-lab view: {safe_text(str(exc), one_line=True)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from lab.results.model import Report
    from lab.tui.launch import refuse_without_terminal

    if (refused := refuse_without_terminal("concurrency-lab view")) is not None:
        return refused
    if not isinstance(report, Report):
        from lab.tui.fleetview import view_fleet

        return view_fleet(report, argv[0])
    from lab.tui.launch import view_report

    return view_report(report, argv[0])


def _list_builtins() -> int:
    from lab.scenario.builtins import builtin_titles

    for name, title in builtin_titles().items():
        print(f"{name:<20} {title}")
    from lab.scenario.models import MODELS

    print("\nexecutors:")
    for model in MODELS:
        reason = model.unavailable()
        print(f"  {model.name:<18} {'unavailable: ' + reason if reason else 'available'}")
    return EXIT_OK


def _hold_closed_std_fds() -> None:
    """Put /dev/null on fds 0, 1 and 2 where the lab was started with them closed (`>&-`).

    Otherwise the first file or pipe the lab opens takes the number, and children (runners,
    the server) would read or write it as their stdin, stdout or stderr. Python's sys.stdout
    stays None for a closed fd 1, which the report's fallback sees."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            held = os.open(os.devnull, os.O_RDWR)
            if held != fd:
                os.dup2(held, fd)
                os.close(held)


# What needs no validation: these never import pydantic (tests/test_startup.py).
_LIGHT_FLAGS = frozenset({"-h", "--help", "--version", "--list"})


def _import_pydantic_uninterrupted() -> None:
    """Import pydantic with SIGINT held back, so that a Ctrl+C during it arrives just after.

    pydantic_core's native module imports `datetime` and others while it initialises; a
    KeyboardInterrupt raised inside those imports makes it panic (PyO3's PanicException, a
    BaseException: a traceback and exit 1, not the 130 of an interrupted lab). Held for these
    few tens of milliseconds, the signal is delivered when they end, as a plain KeyboardInterrupt.
    """
    if "pydantic_core" in sys.modules:
        return
    import signal

    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        import pydantic  # noqa: F401
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def main(argv: list[str] | None = None) -> int:
    _hold_closed_std_fds()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if not _LIGHT_FLAGS.intersection(args):
            _import_pydantic_uninterrupted()
        return _main(args)
    except KeyboardInterrupt:  # Ctrl+C while loading, before any handler is in place
        print("interrupted; nothing ran", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout's reader left (`--list | head -3`): it had what it wanted. Exit as a shell
        # tool killed by SIGPIPE would, and point stdout at /dev/null so that the flush at
        # exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_READER_LEFT


def _main(argv: list[str]) -> int:
    if argv[:1] == ["compare"]:
        from lab.compare import main as compare_main

        return compare_main(argv[1:])
    if argv[:1] == ["view"]:
        return _view(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.schema == "scenario":
        import json

        from lab.scenario.spec import scenario_json_schema

        print(json.dumps(scenario_json_schema(), indent=2))
        return EXIT_OK
    if args.schema is not None:
        from lab.report.schema import generate, text

        print(text(generate(args.schema)), end="")
        return EXIT_OK
    if args.list:
        return _list_builtins()

    # `--report numeric_crunching` means "that scenario, report to stdout", never "write over it".
    if args.report is not None and _looks_like_target(args.report):
        args.targets.insert(0, args.report)
        args.report = "-"

    if args.check:
        # --check validates and exits (issue 12: start-up under 150 ms). What it builds, the
        # modules and pydantic's schemas, lives until exit, so a collection frees nothing and
        # costs ~10 ms. No child is started.
        gc.disable()
    from lab.scenario.callable_spec import check_note as callable_note
    from lab.scenario.loader import ScenarioError, load_builtins, resolve

    try:
        if args.check:
            if not args.targets:
                parser.error("--check needs at least one scenario file")
            checked = resolve(args.targets)
            for item in checked:
                line = f"ok  {item.source}  ({item.name}: {item.scenario.title})"
                print(safe_text(line, one_line=True))
                note = callable_note(item.scenario.workload)
                if note:
                    print("    " + safe_text(note, one_line=True))
            return EXIT_OK
        scenarios = resolve(args.targets) if args.targets else load_builtins()
        # The app and headless mode alike plan from the scenarios' own fields.
        if args.python:
            scenarios = [s.with_interpreters(args.python) for s in scenarios]
        if args.cluster:
            scenarios = [s.with_cluster(args.cluster) for s in scenarios]
    except ScenarioError as exc:
        print(safe_text(exc.render()), file=sys.stderr)
        print("\nnothing ran; see `concurrency-lab --schema` for every valid key", file=sys.stderr)
        return EXIT_BAD_INPUT

    if args.fleet is not None:
        return _fleet(args, argv, scenarios)

    if args.report is not None:
        from lab.engine.plan import make_plan, sweep_confirmation, unrunnable
        from lab.headless import report_path_problem, run_headless

        problem = report_path_problem(args.report)
        if problem:
            if problem.endswith("it is a folder"):
                problem += (
                    f"; give a file such as {Path(args.report) / 'report.json'}, or name the "
                    f"folder as a scenario folder: --report - {args.report}"
                )
            print(f"{safe_text(problem, one_line=True)}\n\nnothing ran", file=sys.stderr)
            return EXIT_BAD_INPUT
        from lab.engine.system.limits import plan_problems

        plans = make_plan(scenarios, quick=args.quick, min_time=args.min_time)
        too_big = plan_problems(plans) or _cluster_problems(plans) or unrunnable(plans)
        if too_big:
            print(safe_text("\n".join(too_big)) + "\n\nnothing ran", file=sys.stderr)
            return EXIT_BAD_INPUT
        big = None if args.yes else sweep_confirmation(plans)
        if big:
            print(safe_text(big) + "\n\nnothing ran", file=sys.stderr)
            return EXIT_BAD_INPUT
        fmt = args.format or format_for_path(args.report)
        return run_headless(
            plans,
            args.report,
            fmt,
            ["concurrency-lab", *argv],
            seed=args.seed,
        )

    from lab.tui.launch import run_app

    offered, selected = app_scenarios(scenarios, bool(args.targets))
    return int(run_app(offered, quick=args.quick, selected=selected))


def _fleet(args: argparse.Namespace, argv: list[str], scenarios: list[LoadedScenario]) -> int:
    """`--fleet ADDRESS`: checked here as a local run would be, then run on every host."""
    from lab.engine.plan import make_plan, sweep_confirmation
    from lab.headless import report_path_problem

    output = "-" if args.report is None else args.report
    problem = report_path_problem(output)
    if problem:
        print(f"{safe_text(problem, one_line=True)}\n\nnothing ran", file=sys.stderr)
        return EXIT_BAD_INPUT
    big = None if args.yes else sweep_confirmation(make_plan(scenarios, quick=args.quick))
    if big:
        print(safe_text(big) + "\n\nnothing ran", file=sys.stderr)
        return EXIT_BAD_INPUT
    from lab.fleet.output import remote_targets, write_fleet
    from lab.fleet.run import run_fleet

    # Every host runs the same command; a sweep is confirmed once, here, for all of them.
    remote = ["--report", "-", "--format", "json", "--yes"]
    remote += ["--quick"] * args.quick
    remote += ["--min-time", repr(args.min_time)] if args.min_time is not None else []
    remote += ["--seed", str(args.seed)] if args.seed is not None else []
    remote += [
        arg for python in args.python or [] for arg in ("--python", python)
    ]  # each host's own
    remote += remote_targets(args.targets)
    code, report = run_fleet(args.fleet, remote, ["concurrency-lab", *argv])
    if report is None:
        return code
    written = write_fleet(report, output, args.format or format_for_path(output), sys.stderr)
    return code if written or code else 1


def _cluster_problems(plans: list[ScenarioPlan]) -> list[str]:
    """An existing Dask cluster that cannot run what the plans ask of it: one sentence each."""
    from lab.engine.plan import dask_clusters

    clusters = dask_clusters(plans)
    if not clusters:
        return []  # no dask run on a given cluster: distributed is not even imported
    from lab.runner.executors.dask_cluster import cluster_problem

    found = (cluster_problem(address, workers) for address, workers in clusters.items())
    return [p for p in found if p]


def app_scenarios(loaded: list[LoadedScenario], targeted: bool) -> tuple[list[LoadedScenario], int]:
    """The app always offers the built-ins, then the scenarios named on the command line.

    A target that is a built-in (by name or by its path) is not listed twice. Returns the list
    and the index of the first scenario named, which the app selects.
    """
    if not targeted:
        return loaded, 0
    from lab.scenario.builtins import builtin_paths
    from lab.scenario.loader import load_builtins

    builtins = load_builtins()
    by_path = {str(p.resolve()): f"builtin:{name}" for name, p in builtin_paths().items()}

    def identity(item: LoadedScenario) -> str:
        return by_path.get(str(Path(item.source).resolve()), item.source)

    known = {b.source for b in builtins}
    offered = builtins + [item for item in loaded if identity(item) not in known]
    first = identity(loaded[0]) if loaded else None
    selected = next((i for i, item in enumerate(offered) if identity(item) == first), 0)
    return offered, selected
