"""--help, --version and --list start fast: they never import pydantic, the engine or a renderer.

Timing lives in benchmarks/startup.py; this checks the cause (what gets imported), which
does not depend on how busy the machine is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pydantic", "psutil", "aiohttp", "textual", "lab.scenario.loader", "lab.engine",
         "lab.analysis", "lab.report.markdown", "lab.results", "dask", "distributed",
         # stdlib modules a start-up can pull in without needing (builtins, pydantic's plugins).
         # shutil is not here: argparse imports it to read the terminal's width (~2-3 ms), and
         # the lab no longer reimplements that to avoid it (issue 20).
         "importlib.resources", "importlib.metadata")  # fmt: skip

PROBE = """
import contextlib, io, json, sys
from lab.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {h.split('.')[0] for h in HEAVY}
               and any(m == h or m.startswith(h + '.') for h in HEAVY))
print(json.dumps({"code": code, "heavy": heavy, "out": out.getvalue()}))
"""


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["--list"]])
def test_quick_commands_import_nothing_heavy(argv: list[str]) -> None:
    import json

    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", *argv],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None)
    assert result["heavy"] == []
    if argv == ["--list"]:
        assert "numeric_crunching" in result["out"] and "crunching" in result["out"].lower()


def test_list_titles_match_the_validated_scenarios() -> None:
    from lab.scenario.builtins import builtin_titles
    from lab.scenario.loader import load_builtins

    assert builtin_titles() == {s.name: s.scenario.title for s in load_builtins()}


# --check needs pydantic and the loader, and nothing that runs, reports or draws; the wording of
# validation errors (lab.scenario.messages) loads only when a file has an error.
CHECK_EXTRA = ("lab.scenario.messages", "lab.scenario.builtins", "lab.scenario.yamlsource")


def _probe(argv: list[str]) -> dict[str, object]:
    import json

    heavy = (*HEAVY, *CHECK_EXTRA)
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {heavy!r}\n{PROBE}", *argv],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_check_imports_only_the_validator() -> None:
    result = _probe(["--check", "numeric_crunching"])
    assert result["code"] == 0
    assert "ok  builtin:numeric_crunching" in str(result["out"])
    heavy = result["heavy"]
    assert isinstance(heavy, list)
    assert "lab.scenario.loader" in heavy and "pydantic" in heavy
    assert "lab.scenario.messages" not in heavy
    # pydantic and lab.scenario.* only: no engine, analysis, results, renderer, psutil, Textual.
    # importlib.metadata (and importlib.resources, which it imports through importlib.abc) is
    # pydantic's own: its plugin loader imports it when it builds the first validator (~12 ms
    # measured on the 2-core VM). The lab once stood in for that private loader to save it;
    # issue 20 dropped the stand-in (a pydantic release could break it). --list still keeps
    # importlib.resources out (test_quick_commands_import_nothing_heavy).
    pydantics_plugin_loader = ("importlib.metadata", "importlib.resources")
    others = [
        m
        for m in heavy
        if m.split(".")[0] != "pydantic"
        and not m.startswith("lab.scenario.")
        and not any(m == p or m.startswith(p + ".") for p in pydantics_plugin_loader)
    ]
    assert others == []


def test_check_of_a_bad_file_still_words_its_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\nworkload: {kind: numeric, tasks: 0}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--check", str(bad)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        f"{bad}:2:" in done.stderr and "workload.tasks: must be from 1 to 1,000,000" in done.stderr
    )


# Optional packages: a run without the dask executor never imports them, in the lab's process
# or in what a runner imports for the other executors.
RUN_PROBE = """
import contextlib, io, json, sys
from lab.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
from lab.runner.executors import executor_class
from lab.runner.workloads import workload_class
for name in ("serial", "asyncio", "threads", "processes"):
    executor_class(name)
workload_class("dispatch")
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules
                  if m.split(".")[0] in ("dask", "distributed"))}))
"""


@pytest.mark.slow
def test_a_run_without_dask_imports_no_dask(tmp_path: Path) -> None:
    import json

    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "title: t\nworkload: {kind: dispatch, tasks: 20}\nexecutors: [serial, threads]\n"
        "workers: [2]\nrepeats: 1\nwarmups: 0\nprocesses: 1\nmin_time: 0\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", RUN_PROBE, "--report", "-", str(scenario)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "loaded": []}


# sys.modules[name] = None makes `import name` raise ImportError: Dask's absence, for real.
WITHOUT_DASK = "import sys; sys.modules['distributed'] = sys.modules['dask'] = None\n"


def test_without_distributed_list_gives_the_install_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_DASK + "from lab.cli import main; main(['--list'])"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert (
        "  dask               unavailable: Dask distributed is not installed: "
        "pip install 'concurrency-lab[cluster]'\n"
    ) in done.stdout
    assert "  processes          available\n" in done.stdout


def test_with_distributed_list_says_dask_is_available() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--list"], capture_output=True, text=True, timeout=60
    )
    assert "  dask               available\n" in done.stdout


def test_without_distributed_a_dask_run_is_skipped_with_the_install_line() -> None:
    probe = WITHOUT_DASK + (
        "from lab.scenario.loader import parse_scenario\n"
        "from lab.engine.plan import plan_scenario\n"
        "s = parse_scenario('title: t\\nworkload: {kind: numeric}\\n"
        "executors: [serial, processes, dask]\\nworkers: [2]\\n', 's.yaml', 's')\n"
        "plan = plan_scenario(s)\n"
        "print([r.run_id for r in plan.runs], plan.skipped)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == (
        "['serial-1', 'processes-2'] {'dask': \"Dask distributed is not installed: "
        "pip install 'concurrency-lab[cluster]'\"}\n"
    )
