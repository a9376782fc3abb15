"""Hangs, tracebacks and lost reports at the command line (issue 21, section 4).

Real `concurrency-lab` processes: a closed stdout, a closed stdin, no terminal, a deleted
working folder, `--python` pointing at programs that print bytes that are not UTF-8, hang or
print without end, and scenario files whose messages misled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from lab.engine.interpreters import probe as interpreter_probe
from lab.runner.system.child_env import child_env

TINY = """\
title: tiny
workload: {kind: dispatch, tasks: 20}
executors: [serial]
workers: [1]
repeats: 1
warmups: 0
processes: 1
min_time: 0
"""
LAB = [sys.executable, "-m", "lab"]


def _scenario(folder: Path, text: str = TINY, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def _run(
    args: list[str], shell_redirect: str = "", timeout: float = 120, **kwargs: object
) -> tuple[subprocess.CompletedProcess[str], float]:
    """The lab with `shell_redirect` applied by a real shell (`>&-` closes stdout)."""
    command = ["sh", "-c", f'exec "$@" {shell_redirect}', "sh", *args] if shell_redirect else args
    kwargs.setdefault("env", child_env())
    began = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    return done, time.monotonic() - began


def test_report_to_a_closed_stdout_lands_in_the_fallback_file(tmp_path: Path) -> None:
    env = child_env() | {"TMPDIR": str(tmp_path)}
    done, _ = _run([*LAB, "--report", "-", str(_scenario(tmp_path))], ">&-", env=env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot write the report to -: stdout is closed; saved it as " in done.stderr
    saved = Path(done.stderr.split("saved it as ")[1].split(" instead")[0])
    assert saved.parent == tmp_path and saved.name.startswith("concurrency-lab-report-")
    assert "serial-1" in saved.read_text()


@pytest.fixture(scope="module")
def saved_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    out = folder / "r.json"
    done, _ = _run([*LAB, "--report", str(out), str(_scenario(folder))])
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize(
    ("redirect", "role"),
    [("<&-", "stdin (its keys)"), ("</dev/null", "stdin (its keys)"), ("", "stdin (its keys)")],
)
def test_view_without_a_terminal_is_one_sentence(
    saved_report: Path, redirect: str, role: str
) -> None:
    done, seconds = _run([*LAB, "view", str(saved_report)], redirect, timeout=60)
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert f"concurrency-lab view needs a terminal, and {role} is not one" in done.stderr
    assert seconds < 30


def test_view_with_keys_but_no_screen_is_refused_too(saved_report: Path) -> None:
    keys, terminal = os.openpty()
    try:
        done = subprocess.run(
            [*LAB, "view", str(saved_report)], stdin=terminal, capture_output=True, text=True,
            timeout=60, env=child_env(),
        )  # fmt: skip
    finally:
        os.close(keys)
        os.close(terminal)
    assert done.returncode == 2 and done.stdout == ""
    assert "and stdout (its screen) is not one" in done.stderr


def test_the_app_without_a_terminal_is_one_sentence(tmp_path: Path) -> None:
    """Without the check, Textual wrote escape codes to the pipe forever."""
    done, seconds = _run([*LAB, str(_scenario(tmp_path))], "</dev/null", timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert "concurrency-lab (the app) needs a terminal" in done.stderr
    assert seconds < 30


def test_a_relative_report_from_a_deleted_folder_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    scenario = _scenario(tmp_path)
    command = ["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "$@"', "sh", *LAB]
    began = time.monotonic()
    done = subprocess.run(
        [*command, "--report", "r.json", str(scenario)],
        capture_output=True, text=True, timeout=60, env=child_env(),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert (
        "cannot write the report to r.json: it is relative to the current folder, which "
        "no longer exists; give an absolute path"
    ) in done.stderr
    assert "nothing ran" in done.stderr and "serial-1" not in done.stderr
    assert time.monotonic() - began < 30


def _program(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_a_python_that_prints_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    bad = _program(tmp_path, "badbytes", r"printf '\377\376 not json \351\n'; exit 3")
    done, _ = _run([*LAB, "--report", str(tmp_path / "r.json"), "--python", str(bad),
                    str(_scenario(tmp_path))])  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "UnicodeDecodeError" not in done.stderr
    expected = f"{bad} ({bad}) did not answer as Python (exit status 3; its last output: "
    assert expected in done.stderr
    assert "sysconfig" not in done.stderr  # never the probe's source


def _running(argument: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["cmdline"] == ["sleep", argument] and proc.info["status"] != "zombie":
            found.append(proc)
    return found


def test_a_python_that_hangs_or_floods_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interpreter_probe, "PROBE_TIMEOUT", 1.0)
    hangs = _program(tmp_path, "hangs", "sleep 987654")
    began = time.monotonic()
    found = interpreter_probe.probe(str(hangs))
    assert found.problem == f"{hangs} ({hangs}) did not answer within 1 s"
    assert time.monotonic() - began < 8
    deadline = time.monotonic() + 10  # SIGKILL is quick, but a loaded machine may be slow
    while (left := _running("987654")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, "the hanging program's child was left running"
    floods = _program(tmp_path, "floods", "yes 'not python'")
    flooded = interpreter_probe.probe(str(floods))
    assert flooded.problem == f"{floods} ({floods}) printed more than 1024 KiB instead of answering"


@pytest.mark.parametrize(
    ("text", "expected", "not_expected"),
    [
        (
            "title: t\nworkload: {kind: numeric}\nsweep:\n  size: [100, 1e308]\n",
            "s.yaml:4:15: sweep.size[1]: sweep: size = 1e+308: Input should be less than or equal",
            "got a mapping",
        ),
        (
            "title: t\nworkload: {kind: numeric}\nsweep: {kernel: [1, 2]}\n",
            "s.yaml:3:17: sweep.kernel: sweep: 'kernel' is not a parameter a sweep can vary",
            "got a mapping",
        ),
        (
            'title: t\nworkload: {kind: callable, function: "not a ref"}\n',
            "workload.function: expected module:function (names of letters, digits and _, "
            "joined by dots) (got 'not a ref')",
            "[A-Za-z",
        ),
    ],
)
def test_messages_that_misled(tmp_path: Path, text: str, expected: str, not_expected: str) -> None:
    done, _ = _run([*LAB, "--check", str(_scenario(tmp_path, text))])
    assert done.returncode == 2
    assert expected in done.stderr, done.stderr
    assert not_expected not in done.stderr


def test_the_fallback_report_is_json_when_asked(tmp_path: Path) -> None:
    env = child_env() | {"TMPDIR": str(tmp_path)}
    done, _ = _run(
        [*LAB, "--report", "-", "--format", "json", str(_scenario(tmp_path))], ">&-", env=env
    )
    saved = Path(done.stderr.split("saved it as ")[1].split(" instead")[0])
    assert json.loads(saved.read_text())["scenarios"][0]["runs"][0]["status"] == "ok"


# A Ctrl+C raised from inside the import of `module`, made deterministic by a finder that sends
# SIGINT when the import begins; the lab is entered as the console script enters it.
_CTRL_C_INSIDE_AN_IMPORT = """\
import os, signal, sys

MODULE = {module!r}


class KillOnImport:
    def find_spec(self, name, path=None, target=None):
        if name == MODULE:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None


assert MODULE not in sys.modules
sys.meta_path.insert(0, KillOnImport())
from lab.__main__ import main
sys.exit(main())
"""


def _ctrl_c_inside_the_import_of(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CTRL_C_INSIDE_AN_IMPORT.format(module=module), *args],
        capture_output=True, text=True, timeout=60, env=child_env(),
    )  # fmt: skip


def test_ctrl_c_while_the_cli_loads_is_an_interrupt_not_a_traceback() -> None:
    # Before main() runs: the CLI's own modules, as the console script (lab.__main__:main) and
    # `python -m lab` load them.
    done = _ctrl_c_inside_the_import_of("lab.cli.parser", "--list")
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "interrupted; nothing ran"


# pydantic_core's native module imports `datetime` as it initialises, and a KeyboardInterrupt
# raised inside that import made PyO3 panic (a PanicException traceback, exit 1). Seen once in a
# full run as `--fleet` at 0.2 s.
@pytest.mark.parametrize(
    "args",
    [["--check", "numeric_crunching"], ["--fleet", "tcp://127.0.0.1:9", "numeric_crunching"]],
)
def test_ctrl_c_inside_the_pydantic_import_is_an_interrupt_not_a_panic(args: list[str]) -> None:
    done = _ctrl_c_inside_the_import_of("datetime", *args)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "PanicException" not in done.stderr
    assert "interrupted; nothing ran" in done.stderr
