"""Bad scenario input: one screen naming file:line:column and the key path, exit 2, no traceback."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from lab.runner.system.child_env import child_env
from lab.scenario.kinds import NAMES as KIND_NAMES
from lab.scenario.loader import LINE_LIMIT, ScenarioError, load_file, parse_scenario, resolve
from lab.scenario.spec import scenario_json_schema

TRAILER_LINES = 2  # the CLI's blank line and "nothing ran; see `concurrency-lab --schema` ..."


def fits_one_screen(text: str, rows: int = 24, columns: int = 80) -> bool:
    """Rows the text takes on an 80x24 terminal, with the CLI's trailer, wrapping long lines."""
    used = sum(max(1, math.ceil(len(line) / columns)) for line in text.splitlines())
    return used + TRAILER_LINES <= rows


def problems(text: str, file: str = "s.yaml") -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file, "s")
    assert fits_one_screen(info.value.render())
    return [p.render() for p in info.value.problems]


def lab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        capture_output=True, text=True, env=child_env(), timeout=60, cwd=cwd,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


GOOD = "title: t\nworkload: {kind: numeric}\n"

# (file text, the exact first problem line for a file named s.yaml)
CASES = [
    (
        "title: t\nworkload: {kind: numeric}\nworkers: [foo]\n",
        "s.yaml:3:11: workers[0]: expected a whole number from 1 to 1024, or 'cpus' (got 'foo')",
    ),
    (
        "title: t\nworkload: {kind: numeric}\nworkers: [1, cpu]\n",
        "s.yaml:3:14: workers[1]: expected a whole number from 1 to 1024, or 'cpus' (got 'cpu'); "
        "did you mean 'cpus'?",
    ),
    (
        "title: t\nworkload: {kind: numeric}\nworkers: [0]\n",
        "s.yaml:3:11: workers[0]: expected a whole number from 1 to 1024, or 'cpus' (got 0)",
    ),
    (
        "title: t\nworkload: {kind: numeric}\nworkers: 4\n",
        "s.yaml:3:10: workers: expected a list; for a single value write [4]",
    ),
    (
        "title: t\nworkload: {kind: numeric, tasks: many}\n",
        "s.yaml:2:34: workload.tasks: expected a whole number from 1 to 1,000,000 (got 'many')",
    ),
    (
        "title: t\nworkload: {kind: numeric}\nrepeats: 2.5\n",
        "s.yaml:3:10: repeats: expected a whole number from 1 to 1000 (got 2.5)",
    ),
    (
        "title: t\nworkload: {kind: numeric}\ntimeout: 0\n",
        "s.yaml:3:10: timeout: must be more than 0 and at most 86,400 (got 0)",
    ),
    (
        "title: t\nworkload: {kind: hashing, file_size: -4 KiB}\n",
        "s.yaml:2:38: workload.file_size: '-4 KiB' is not a size: use bytes or a unit such as "
        "'64 KiB', '1 MB'",
    ),
    (
        "title: t\nworkload: {kind: hashing, algorithm: sha257}\n",
        "s.yaml:2:38: workload.algorithm: unknown hash algorithm 'sha257'; choose one of "
        "blake2b, blake2s, md5, sha1, sha224, sha256, sha384, sha3_224, sha3_256, sha3_384, "
        "sha3_512, sha512",
    ),
    (
        "title: t\nworkload: {kind: hashing, folder: /no/such/folder}\n",
        "s.yaml:2:35: workload.folder: folder '/no/such/folder' does not exist or is not a "
        "directory",
    ),
    (
        "title: t\nworkload: {kind: http, urls: ['localhost:8080/x']}\n",
        "s.yaml:2:31: workload.urls[0]: 'localhost:8080/x' is not an http:// or https:// URL "
        "with a host",
    ),
    (
        "title: t\nworkload: {kind: http, urls: ['http://h:70000/']}\n",
        "s.yaml:2:31: workload.urls[0]: 'http://h:70000/' has a port outside 1-65535",
    ),
    (
        "title: t\nworkload: {kind: numeric, kernel: prime}\n",
        "s.yaml:2:35: workload.kernel: expected one of 'primes' or 'integrate' (got 'prime'); "
        "did you mean 'primes'?",
    ),
    (
        "title: t\nworkload: {kind: numerc}\n",
        "s.yaml:2:18: workload.kind: unknown workload kind; expected one of numeric, hashing, "
        "http, dispatch, callable (got 'numerc'); did you mean 'numeric'?",
    ),
    (
        "title: t\nworkload: {kind: numeric}\nwarmup: 1\n",
        "s.yaml:3:1: warmup: unknown key 'warmup'; did you mean 'warmups'?",
    ),
    ("workload: {kind: numeric}\n", "s.yaml:1:1: title: required key is missing"),
    ("title: t\ntitle: u\nworkload: {kind: numeric}\n", "s.yaml:2:1: duplicate key 'title'"),
    ("title: t\nworkload: {kind: numeric\n", "s.yaml:3:1: invalid YAML: expected ',' or '}'"),
    ("", "s.yaml: file is empty; expected a scenario mapping with 'title' and 'workload'"),
    ("just words\n", "s.yaml:1:1: expected a mapping with 'title' and 'workload', got 'just"),
    (
        "title: t\nworkload: {kind: numeric}\n---\ntitle: u\n",
        "s.yaml:3:1: invalid YAML: a scenario file holds one document, but a second one",
    ),
    (
        "title: t\x07\nworkload: {kind: numeric}\n",
        "s.yaml:1:9: character #x0007 is not allowed in YAML",
    ),
    (
        "title: t\nworkload: {kind: numeric, size: " + "9" * 5000 + "}\n",
        "s.yaml:2:33: workload.size: cannot read the value '99999999999999999999…'",
    ),
]


@pytest.mark.parametrize(("text", "first"), CASES, ids=[c[1][:50] for c in CASES])
def test_bad_input_is_one_located_line(text: str, first: str) -> None:
    out = problems(text)
    assert out[0].startswith(first), out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("title: t\nworkload: {kind: numeric}\nworkers: [foo]\n", "foo"),
        ("title: t\nworkload: {kind: hashing, algorithm: md7}\n", "md7"),
        ("title: t\nworkload: {kind: hashing, chunk_size: 3 parsecs}\n", "3 parsecs"),
        ("title: t\nworkload: {kind: hashing, folder: /nope/x}\n", "/nope/x"),
        ("title: t\nworkload: {kind: http, urls: [notaurl]}\n", "notaurl"),
        ("title: t\nworkload: {kind: http, urls: ['http://[::1']}\n", "http://[::1"),
        ("title: t\nworkload: {kind: numeric}\nexecutors: [fibers]\n", "fibers"),
        ("title: t\nworkload: {kind: numeric}\nstart_method: forx\n", "forx"),
        ("title: t\nworkload: {kind: numeric}\nexecutors: serial\n", "serial"),
        ("title: t\nworkload: {kind: numeric}\nworkers: 3\n", "3"),
        ("title: t\nworkload: {kind: numeric, tasks: 12345678}\n", "12345678"),
    ],
)
def test_value_is_shown_once(text: str, value: str) -> None:
    (out,) = problems(text)
    message = out.split(": ", 2)[2]
    assert message.count(value) == 1, message


def test_problems_are_sorted_by_line() -> None:
    text = (
        "title: [t]\n"
        "timeout: -1\n"
        "workload: {kind: numeric, tasks: x}\n"
        "repeats: 0\n"
        "executors: [serial, fibers]\n"
    )
    out = problems(text)
    lines = [int(p.split(":")[1]) for p in out]
    assert lines == sorted(lines) == [1, 2, 3, 4, 5]


def test_many_problems_still_fit_one_screen() -> None:
    text = "title: t\nworkload: {kind: numeric}\n" + "".join(f"bad{i}: {i}\n" for i in range(300))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml", "s")
    rendered = info.value.render()
    assert len(info.value.problems) == 300
    assert rendered.splitlines()[-1].startswith("... and 2")
    assert fits_one_screen(rendered)


def test_huge_values_and_keys_are_clipped() -> None:
    long = "x" * 50_000
    for text in (
        f"title: t\nworkload: {{kind: numeric, {long}: 1}}\n",
        f"title: t\nworkload: {{kind: numeric, kernel: {long}}}\n",
        f"title: t\nworkload: {{kind: http, urls: [http://{long}:99999/]}}\n",
        f"{long}: 1\n",
    ):
        out = problems(text)
        assert all(len(line) <= LINE_LIMIT for line in out)


def test_alias_bomb_and_loops_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, prev in zip("bcdefghij", "abcdefghi", strict=True):
        bomb += f"{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    assert "expands to more than 10,000 values" in problems(bomb)[0]
    assert "an alias refers to the value that contains it" in problems("a: &a [1, *a]\n")[0]


def test_deep_nesting_is_refused() -> None:
    assert "nested" in problems("title: " + "[" * 20_000 + "\n")[0]
    assert "nested more than 50 levels" in problems("title: " + "[" * 60 + "]" * 60 + "\n")[0]


def test_dates_stay_text() -> None:
    loaded = parse_scenario("title: 2024-05-01\nworkload: {kind: numeric}\n", "s.yaml", "s")
    assert loaded.scenario.title == "2024-05-01"


# --- Files, folders and what is not a file ------------------------------------------------


def test_huge_file(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(GOOD + "# padding\n" * 200_000)
    with pytest.raises(ScenarioError) as info:
        load_file(big)
    assert info.value.render() == (
        f"{big}: file is 1.9 MiB; a scenario is a short YAML document (limit 1024 KiB)"
    )


def test_non_utf8_file_names_the_byte(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("title: caf\u00e9\nworkload: {kind: numeric}\n".encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_file(bad)
    assert info.value.render() == f"{bad}:1:11: byte 0xe9 is not UTF-8 text; save the file as UTF-8"
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes(GOOD.encode("utf-16"))
    with pytest.raises(ScenarioError, match="is not UTF-8 text"):
        load_file(utf16)


def test_folder_named_like_a_yaml_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD)
    (tmp_path / "sub.yaml").mkdir()
    assert [s.name for s in resolve([str(tmp_path)])] == ["ok"]
    with pytest.raises(ScenarioError, match=r"folder holds no \.yaml or \.yml scenario files"):
        resolve([str(tmp_path / "sub.yaml")])


def test_device_and_fifo_are_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(ScenarioError, match="not a regular file"):
        resolve([str(fifo)])
    with pytest.raises(ScenarioError, match="not a regular file"):
        resolve(["/dev/zero"])  # reading it would never end


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "secret.yaml"
    target.write_text(GOOD)
    if os.geteuid() != 0:
        target.chmod(0)
    else:  # root reads anything: make the open fail the way it would for a user

        def denied(self: Path, *args: object, **kwargs: object) -> object:
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(ScenarioError) as info:
        resolve([str(target)])
    assert info.value.render() == f"{target}: cannot read file: Permission denied"


def test_unknown_home_directory_is_not_a_crash() -> None:
    with pytest.raises(ScenarioError, match="no such file, folder or built-in"):
        resolve(["~no-such-user-here/x.yaml"])
    out = problems("title: t\nworkload: {kind: hashing, folder: ~no-such-user-here/data}\n")
    assert "does not exist" in out[0]


# --- The command line --------------------------------------------------------------------


def test_check_reports_every_bad_file_and_exits_2(tmp_path: Path) -> None:
    files = []
    for i, (text, _) in enumerate(CASES):
        path = tmp_path / f"case{i:02d}.yaml"
        path.write_text(text)
        files.append(path.name)
    (tmp_path / "good.yaml").write_text(GOOD)
    out = lab("--check", "good.yaml", *files, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    assert fits_one_screen(out.stderr.rsplit("\n\n", 1)[0])
    assert out.stderr.startswith("case00.yaml:3:11: workers[0]: expected a whole number")
    assert "nothing ran" in out.stderr


@pytest.mark.parametrize("option", ["--check", "--report"])
def test_bad_files_exit_2_before_anything_runs(tmp_path: Path, option: str) -> None:
    (tmp_path / "bad.yaml").write_text("title: t\nworkload: !!python/object/apply:os.getcwd []\n")
    (tmp_path / "nonutf8.yaml").write_bytes(b"title: \xff\n")
    args = [option, "-"] if option == "--report" else [option]
    out = lab(*args, "bad.yaml", "nonutf8.yaml", "missing.yaml", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    assert "bad.yaml:2:11: workload: YAML tag '!!python/object/apply:os.getcwd' is not allowed" in (
        out.stderr
    )
    assert "nonutf8.yaml:1:8: byte 0xff is not UTF-8 text" in out.stderr
    assert "missing.yaml: no such file, folder or built-in scenario" in out.stderr


def test_check_accepts_builtins_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    out = lab("--check", "http_fanout", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "ok  builtin:http_fanout  (http_fanout: HTTP fan-out (GETs against the embedded loopback "
        "server))",
        f"ok  {tmp_path / 'a.yaml'}  (a: t)",
    ]


# --- Safety: data, never code ------------------------------------------------------------

TAGS = [
    "!!python/object/apply:os.system ['touch {canary}']",
    "!!python/object/new:subprocess.Popen [['touch', '{canary}']]",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!binary aGVsbG8=",
    "!!set {{a, b}}",
    "!!omap [a: 1]",
    "!custom {{path: '{canary}'}}",
    "!<tag:example.com,2024:thing> x",
]


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("where", ["value", "key", "item", "document"])
def test_yaml_tags_never_construct_anything(tmp_path: Path, tag: str, where: str) -> None:
    canary = tmp_path / "canary"
    value = tag.format(canary=canary)
    text = {
        "value": f"title: t\nworkload: {value}\n",
        "key": f"title: t\nworkload: {{kind: numeric}}\n? {value}\n: 1\n",
        "item": f"title: t\nworkload: {{kind: numeric}}\nworkers:\n  - 1\n  - {value}\n",
        "document": f"--- {value}\n",
    }[where]
    out = problems(text)
    assert len(out) == 1
    assert "is not allowed: scenario files are data, not code" in out[0]
    assert not canary.exists()


def test_workload_kinds_come_from_a_fixed_registry() -> None:
    schema = scenario_json_schema()
    kinds = {
        d["properties"]["kind"]["const"]
        for d in schema["$defs"].values()
        if "kind" in d.get("properties", {})
    }
    assert kinds == set(KIND_NAMES) == {"numeric", "hashing", "http", "dispatch", "callable"}
    for kind in ("os.system", "lab.runner.workloads.numeric", "fault", "../numeric", "__import__"):
        out = problems(f"title: t\nworkload: {{kind: '{kind}'}}\n")
        assert "unknown workload kind" in out[0]


# --- --schema ----------------------------------------------------------------------------


def test_schema_validates_what_the_loader_accepts() -> None:
    out = lab("--schema")
    assert out.returncode == 0
    import json

    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    root = Path(__file__).resolve().parent.parent / "scenarios"
    for path in sorted(root.glob("*.yaml")):
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert not errors, (path.name, [e.message for e in errors])
    sized = {
        "title": "t",
        "workload": {"kind": "hashing", "chunk_size": "64 KiB", "file_size": 4096},
    }
    assert validator.is_valid(sized)
    for bad in (
        {"title": "t", "workload": {"kind": "numeric"}, "workers": ["foo"]},
        {"title": "t", "workload": {"kind": "numeric", "taskz": 3}},
        {"title": "t", "workload": {"kind": "hashing", "chunk_size": "12 parsecs"}},
        {"title": "t", "workload": {"kind": "nope"}},
        {"workload": {"kind": "numeric"}},
        {"title": "t", "workload": {"kind": "numeric"}, "executors": ["fibers"]},
    ):
        assert not validator.is_valid(bad), bad
