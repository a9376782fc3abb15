"""`compare` reads its inputs like the scenario loader (issue 14, item 3): regular files only,
a size cap, strict JSON, every field checked against the report schema; anything else is
exit 2 with one line, never a traceback (which a CI gate would read as "slower")."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lab.report.formats import render
from lab.report.schema import REPORT_SCHEMA, ReportFile
from lab.results.codec import adapter
from lab.results.reading import MAX_REPORT_BYTES, first_problem
from lab.runner.system.child_env import child_env
from tests import synthetic


def good_report() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render(synthetic.report(synthetic.numeric()), "json"))
    return data


def compare(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", "compare", *args],
        capture_output=True, text=True, env=child_env(), timeout=timeout,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def compare_here(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    """`concurrency-lab compare ARGS` as the command runs it from its argument list on
    (lab.cli.main), in this process: the malformed-content cases, without a Python start-up
    each. The command itself and the file-type boundaries keep their subprocess tests above."""
    from lab.cli import main

    capsys.readouterr()
    try:
        code = main(["compare", *args])
    except SystemExit as exit_:  # argparse's refusals
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return Outcome(code, out, err)


def assert_refused(out: subprocess.CompletedProcess[str] | Outcome, *words: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def good(tmp_path: Path) -> str:
    path = tmp_path / "good.json"
    path.write_text(json.dumps(good_report()))
    return str(path)


def test_a_good_report_compares_with_itself(good: str) -> None:
    out = compare(good, good)
    assert out.returncode == 0, out.stderr


def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path, good: str) -> None:
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    assert_refused(compare(good, str(fifo)), "not a regular file")


def test_symlink_to_dev_zero_is_refused(tmp_path: Path, good: str) -> None:
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    assert_refused(compare(str(zero), good), "not a regular file")


def test_huge_file_is_refused_before_reading(tmp_path: Path, good: str) -> None:
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:
        f.truncate(MAX_REPORT_BYTES + 1)  # sparse: no disk used, but stat says it is huge
    assert_refused(compare(good, str(huge)), "reports are at most")


def test_folder_and_symlink_loop_are_refused(tmp_path: Path, good: str) -> None:
    assert_refused(compare(good, str(tmp_path)), "a folder")
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    assert_refused(compare(good, str(loop)), "symlink loop")


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


RUN = ("scenarios", 0, "runs", 0)
BROKEN: dict[str, Callable[[dict[str, Any]], None]] = {
    "wall is a word": _set((*RUN, "repeats", 0, "wall_seconds"), "fast"),
    "workers is a word": _set((*RUN, "workers"), "two"),
    "workload is null": _set(("scenarios", 0, "workload"), None),
    "workers is a boolean": _set((*RUN, "workers"), True),
    "repeats is not a list": _set((*RUN, "repeats"), {"0": 1}),
    "status unknown": _set((*RUN, "status"), "great"),
    "negative wall": _set((*RUN, "repeats", 0, "wall_seconds"), -1.0),
    "no settings key": _drop(("scenarios", 0, "settings")),
    "no run_id": _drop((*RUN, "run_id")),
    "no wall_seconds": _drop((*RUN, "repeats", 0, "wall_seconds")),
    "scenarios is null": _set(("scenarios",), None),
    "machine is a list": _set(("machine",), []),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_fields_are_one_line_and_exit_2(
    tmp_path: Path, good: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = good_report()
    BROKEN[name](data)
    # The lab's own check and jsonschema agree that this is not a valid report.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, REPORT_SCHEMA)
    assert first_problem(data) is not None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert_refused(compare_here(capsys, good, str(bad)), str(bad), "malformed report")


def test_the_lab_check_accepts_what_jsonschema_accepts() -> None:
    data = good_report()
    jsonschema.validate(data, REPORT_SCHEMA)
    assert first_problem(data) is None


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"schema": NaN}', ["NaN is not a number JSON allows"]),
        ("REPLACE_WALL Infinity", ["Infinity is not a number JSON allows"]),
        ("REPLACE_WALL -Infinity", ["-Infinity is not a number JSON allows"]),
        ("REPLACE_WALL 1e999", ["1e999 is too large for a float"]),
        ("[1, 2, 3]", ["not a concurrency-lab report"]),
        ('{"schema": "concurrency-lab/report", "schema_version": 99}', ["schema version 99"]),
        ("[" * 100_000, ["nested too deeply"]),
    ],
)
def test_non_json_numbers_and_other_documents_are_refused(
    tmp_path: Path, good: str, text: str, words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    if text.startswith("REPLACE_WALL"):
        constant = text.split()[1]
        data = good_report()
        data["scenarios"][0]["runs"][0]["repeats"][0]["wall_seconds"] = 12345.678
        text = json.dumps(data).replace("12345.678", constant)
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    assert_refused(compare_here(capsys, good, str(bad)), *words)


def test_non_utf8_bytes_are_refused(tmp_path: Path, good: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"schema": "concurrency-lab/report", "x": "\xff\xfe"}')
    assert_refused(compare(good, str(bad)), "0xff", "not UTF-8")


@pytest.mark.parametrize("pct", ["nan", "inf", "-inf", "-5", "five"])
def test_fail_if_slower_needs_a_finite_non_negative_percentage(
    good: str, pct: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = compare_here(capsys, good, good, f"--fail-if-slower={pct}")
    assert out.returncode == 2, out.stderr
    assert "--fail-if-slower" in out.stderr and "Traceback" not in out.stderr


def test_every_mutation_of_a_field_type_is_caught_like_jsonschema() -> None:
    """Swap each scalar of a run for a value of another JSON type: the lab's check and
    jsonschema give the same yes/no every time. The schema is the models' schema of what they
    read (validation mode): the published one (serialization mode) also lists the derived
    cpu_seconds and throughput of a repeat, which a reader recomputes rather than reads."""
    reading = adapter(ReportFile).json_schema(mode="validation")
    base = good_report()
    run = base["scenarios"][0]["runs"][0]
    fields = [k for k, v in run.items() if not isinstance(v, dict | list)]
    fields += [f"repeats.0.{k}" for k in run["repeats"][0]]
    for field in fields:
        values: list[Any] = ["x", 1, 1.5, None, True, [], {}]
        for value in values:
            data = copy.deepcopy(base)
            target = data["scenarios"][0]["runs"][0]
            *parents, last = field.split(".")
            for p in parents:
                target = target[int(p)] if p.isdigit() else target[p]
            target[last] = value
            ours = first_problem(data) is None
            theirs = jsonschema.Draft202012Validator(reading).is_valid(data)
            assert ours == theirs, (field, value)
