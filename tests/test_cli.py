"""The command line: headless reports, exit codes, and no Textual import in --report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab.runner.system.child_env import child_env

TINY = "title: Tiny\nworkload: {kind: dispatch, tasks: 20}\nexecutors: [serial, threads]\nworkers: [2]\nrepeats: 1\nwarmups: 0\nmin_time: 0\n"


def lab(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        capture_output=True, text=True, env=child_env(), timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_list_shows_builtins() -> None:
    out = lab("--list")
    assert out.returncode == 0
    for name in ("http_fanout", "file_hashing", "numeric_crunching", "dispatch_overhead"):
        assert name in out.stdout


def test_help_documents_exit_codes() -> None:
    out = lab("--help")
    assert out.returncode == 0
    assert "130" in out.stdout and "bad input" in out.stdout


@pytest.mark.parametrize("columns", [60, 100])
def test_help_fits_the_terminal_width(columns: int) -> None:
    """lab.cli.parser reads the width itself (not through shutil): $COLUMNS, as argparse would."""
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--help"], capture_output=True, text=True, timeout=60,
        env={**child_env(), "COLUMNS": str(columns)}, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    usage, options = done.stdout.split("\n\n")[0], done.stdout.split("options:")[1]
    laid_out = [*usage.splitlines(), *options.split("\nexit codes:")[0].splitlines()]
    assert max(len(line) for line in laid_out) <= columns
    assert max(len(line) for line in laid_out) > columns - 20  # and uses it
    # (the description and epilog are laid out by hand: RawDescriptionHelpFormatter)


@pytest.mark.slow
def test_report_json_to_stdout(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    out = lab("--report", "-", "--format", "json", str(scenario))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [r["run_id"] for r in data["scenarios"][0]["runs"]] == ["serial-1", "threads-2"]
    # Not a terminal: plain progress lines on stderr.
    assert "threads-2" in out.stderr and "\r" not in out.stderr


# The built-in run end to end here (its embedded server, its latency figures); every other
# one goes through `--check` below and a report-shape check (tests/test_builtin_reports.py says
# which session checks each).
END_TO_END_BUILTIN = "http_fanout"  # the smallest --quick plan: 9 runs


@pytest.mark.slow
def test_a_builtin_quick_report_validates_against_the_schema(tmp_path: Path) -> None:
    """A built-in, as `--report X.json --quick` writes it: the schema holds, and each run's
    summary reads back into a RunSummary that writes the same JSON."""
    import jsonschema

    from lab.report.schema import REPORT_SCHEMA
    from lab.results.summary import RunSummary

    target = tmp_path / f"{END_TO_END_BUILTIN}.json"
    # --min-time 0: one pass per repeat, the shortest run of a built-in the CLI offers.
    out = lab(
        "--report", str(target), "--quick", "--min-time", "0", END_TO_END_BUILTIN, timeout=480
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(target.read_text())
    jsonschema.validate(data, REPORT_SCHEMA)
    assert [s["name"] for s in data["scenarios"]] == [END_TO_END_BUILTIN]
    for scenario in data["scenarios"]:
        assert scenario["runs"] and "verdicts" in scenario
        for run in scenario["runs"]:
            assert run["summary"]["wall_seconds"]["n"] >= 1, run["run_id"]
            assert RunSummary.from_json(run["summary"]).to_json() == run["summary"]


def test_every_builtin_passes_check() -> None:
    from lab.scenario.builtins import builtin_paths

    names = list(builtin_paths())
    out = lab("--check", *names)
    assert out.returncode == 0, out.stderr
    for name in names:
        assert f"ok  builtin:{name}  ({name}: " in out.stdout, out.stdout


def test_bad_file_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\nworkload:\n  kind: numeric\n  taskz: 3\n")
    out = lab("--report", "-", str(bad))
    assert out.returncode == 2
    assert f"{bad}:4:3: workload.taskz: unknown key 'taskz'; did you mean 'tasks'?" in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


def test_check_validates_without_running(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(TINY)
    out = lab("--check", str(good))
    assert out.returncode == 0 and "ok" in out.stdout


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--list"], 141),
        (["--schema"], 141),
        (["--check", "numeric_crunching"], 141),
        (["--help"], 0),  # argparse ignores a failed write of its help
    ],
)
def test_a_reader_that_leaves_early_gets_no_traceback(argv: list[str], code: int) -> None:
    """`concurrency-lab --list | head -3`: the reader is gone before the lab writes, which
    ends as a shell tool killed by SIGPIPE would (141), in silence."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(60) == code, err
    assert err == ""


def test_schema_is_json() -> None:
    out = lab("--schema")
    assert out.returncode == 0
    assert json.loads(out.stdout)["title"] == "Scenario"


@pytest.mark.slow
def test_report_to_a_file_never_imports_textual(tmp_path: Path) -> None:
    """One headless run: it imports nothing of Textual, and writes its report to the file
    whole, with no temporary file left beside it."""
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    target = tmp_path / "out.md"  # Markdown: the default format, as before
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['concurrency-lab', '--report', {str(target)!r}, {str(scenario)!r}]\n"
        "try:\n    runpy.run_module('lab', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.') or m.startswith('lab.tui'))\n"
        "print('IMPORTED', bad, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "IMPORTED []" in out.stderr
    assert "## Tiny (`tiny`)" in target.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.md.")]
