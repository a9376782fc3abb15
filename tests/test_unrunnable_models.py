"""A model that cannot run here is said at the top of the plan and of the results; a scenario
none of whose models can run stops before anything runs, with exit 2 and that sentence.

Dask's absence is made real in a child interpreter (`sys.modules[name] = None` makes the import
fail), since the lab now installs Dask distributed by default.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import LabSandbox

WITHOUT_DASK = "import sys; sys.modules['distributed'] = sys.modules['dask'] = None\n"


def lab_without_dask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    probe = WITHOUT_DASK + f"from lab.cli import main; raise SystemExit(main({list(args)!r}))"
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env
    )


def test_a_scenario_of_dask_alone_stops_with_exit_2(
    tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    path = tmp_path / "only_dask.yaml"
    path.write_text("title: t\nworkload: {kind: numeric, tasks: 4}\nexecutors: [dask]\n")
    done = lab_without_dask("--report", "-", str(path), env=lab_sandbox.env())
    assert done.returncode == 2, done.stderr
    assert (
        "only_dask: none of its models can run here (dask: Dask distributed is not installed"
        in (done.stderr)
    )
    assert "nothing ran" in done.stderr
    assert done.stdout == ""


def test_the_models_that_cannot_run_are_said_first(tmp_path: Path, lab_sandbox: LabSandbox) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            title: t
            workload: {kind: numeric, tasks: 4, size: 500}
            executors: [serial, threads, dask]
            workers: [2]
            repeats: 1
            warmups: 0
            processes: 1
            min_time: 0
            """
        )
    )
    done = lab_without_dask("--report", "-", "--format", "md", str(path), env=lab_sandbox.env())
    assert done.returncode == 0, done.stderr
    # Progress: the scenario's first lines say it, not a line among the runs.
    lines = done.stderr.splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("== mixed"))
    assert lines[heading + 1].startswith("   dask cannot run here: Dask distributed is not")
    # The report: above the results table.
    report = done.stdout
    said = report.index("- `dask` cannot run here, so it was not measured: Dask distributed")
    assert said < report.index("| executor")
