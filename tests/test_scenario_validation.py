from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lab.scenario.loader import ScenarioError, builtin_paths, load_builtins, parse_scenario, resolve
from lab.scenario.spec import DEFAULT_EXECUTORS, scenario_json_schema


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(textwrap.dedent(text), "s.yaml", "s")
    return [p.render() for p in info.value.problems]


def test_builtins_load_and_are_complete() -> None:
    names = set(builtin_paths())
    assert {"http_fanout", "file_hashing", "numeric_crunching", "dispatch_overhead"} <= names
    for item in load_builtins():
        assert item.scenario.title
        assert item.source == f"builtin:{item.name}"


def test_defaults_fill_in() -> None:
    loaded = parse_scenario("title: t\nworkload: {kind: numeric}\n", "s.yaml", "s")
    s = loaded.scenario
    assert loaded.name == "s"
    assert s.executors == list(DEFAULT_EXECUTORS)
    assert s.workers == [1, 2, 4, "cpus"]
    assert s.resolved_workers(8) == [1, 2, 4, 8]
    assert s.resolved_workers(2) == [1, 2, 4]


def test_unknown_key_names_line_and_suggests() -> None:
    out = problems(
        """\
        title: t
        workload:
          kind: numeric
          sise: 3
        """
    )
    assert out == ["s.yaml:4:3: workload.sise: unknown key 'sise'; did you mean 'size'?"]


def test_top_level_unknown_key_suggests() -> None:
    out = problems("title: t\nworkload: {kind: numeric}\nexecutor: [serial]\n")
    assert "s.yaml:3:1: executor: unknown key 'executor'; did you mean 'executors'?" in out


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (
            "title: t\nworkload: {kind: numeric}\nworkers: [0]\n",
            "s.yaml:3:11: workers[0]",
            "expected a whole number from 1 to 1024, or 'cpus' (got 0)",
        ),
        (
            "title: t\nworkload: {kind: numeric}\nworkers: [-3]\n",
            "s.yaml:3:11: workers[0]",
            "expected a whole number from 1 to 1024, or 'cpus' (got -3)",
        ),
        (
            "title: t\nworkload: {kind: numeric}\nworkers: [100000]\n",
            "workers[0]",
            "expected a whole number from 1 to 1024, or 'cpus' (got 100000)",
        ),
        (
            "title: t\nworkload: {kind: numeric, tasks: -1}\n",
            "workload.tasks",
            "must be from 1 to 1,000,000 (got -1)",
        ),
        (
            "title: t\nworkload: {kind: hashing, algorithm: md7}\n",
            "workload.algorithm",
            "unknown hash algorithm 'md7'",
        ),
        (
            "title: t\nworkload: {kind: hashing, file_size: -5}\n",
            "workload.file_size",
            "must be from 1 to 68,719,476,736 bytes (64.0 GiB) (got -5)",
        ),
        (
            "title: t\nworkload: {kind: hashing, folder: /no/such/dir}\n",
            "workload.folder",
            "does not exist",
        ),
        (
            "title: t\nworkload: {kind: http, urls: ['ftp://x']}\n",
            "workload.urls[0]",
            "not an http:// or https:// URL",
        ),
        ("title: t\nworkload: {kind: nope}\n", "workload", "unknown workload kind"),
        (
            "title: t\nworkload: {kind: numeric}\nexecutors: [serial, fibers]\n",
            "executors[1]",
            "unknown executor 'fibers'",
        ),
        ("workload: {kind: numeric}\n", "title", "required key is missing"),
    ],
)
def test_bad_values_are_located(text: str, where: str, words: str) -> None:
    out = "\n".join(problems(text))
    assert where in out
    assert words in out


def test_yaml_syntax_error_is_located() -> None:
    assert problems("title: t\nworkload: [1\n")[0].startswith("s.yaml:3:1: invalid YAML")


def test_duplicate_keys_are_refused() -> None:
    out = problems("title: t\ntitle: u\nworkload: {kind: numeric}\n")
    assert out == ["s.yaml:2:1: duplicate key 'title' (first at line 1)"]


def test_object_tags_are_refused() -> None:
    out = problems("title: !!python/object/apply:os.system ['true']\nworkload: {kind: numeric}\n")
    assert "not allowed" in out[0] and out[0].startswith("s.yaml:1:8")


def test_empty_and_non_mapping_files() -> None:
    assert "file is empty" in problems("")[0]
    assert "expected a mapping" in problems("- 1\n- 2\n")[0]


def test_sizes_accept_units() -> None:
    s = parse_scenario(
        "title: t\nworkload: {kind: hashing, chunk_size: 64 KiB, file_size: 2MB}\n", "s.yaml", "s"
    ).scenario
    assert s.workload.chunk_size == 65536  # type: ignore[union-attr]
    assert s.workload.file_size == 2_000_000  # type: ignore[union-attr]


def test_resolve_reports_every_bad_target(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\nworkload: {kind: numeric, size: 0}\n")
    with pytest.raises(ScenarioError) as info:
        resolve([str(bad), "numeric_crunchin"])
    text = info.value.render()
    assert f"{bad}:2:" in text
    assert "did you mean the built-in 'numeric_crunching'" in text


def test_resolve_folder(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("title: A\nworkload: {kind: dispatch}\n")
    (tmp_path / "b.yml").write_text("title: B\nworkload: {kind: numeric}\n")
    assert [s.name for s in resolve([str(tmp_path)])] == ["a", "b"]


def test_quick_scales_down() -> None:
    s = parse_scenario(
        "title: t\nworkload: {kind: http, requests: 5000}\nworkers: [1, 8, 64]\n", "s.yaml", "s"
    ).scenario
    q = s.quick()
    assert q.workload.requests == 32  # type: ignore[union-attr]
    # Short rounds, but enough of them for a paired test to name a winner among 5 models.
    assert q.warmups == 0 and q.repeats == 10
    assert q.workers == [1, 8]


def test_numeric_tasks_grow_with_the_largest_pool() -> None:
    from lab.engine.plan import plan_scenario

    loaded = parse_scenario(
        "title: t\nworkload: {kind: numeric, tasks: 64, tasks_per_worker: 16}\n"
        "executors: [serial, processes]\nworkers: [1, cpus]\n",
        "s.yaml",
        "s",
    )
    assert plan_scenario(loaded, usable=16).scenario.workload.tasks == 256  # type: ignore[union-attr]
    assert plan_scenario(loaded, usable=2).scenario.workload.tasks == 64  # type: ignore[union-attr]
    quick = plan_scenario(loaded, quick=True, usable=16).scenario.workload
    assert quick.tasks == 16  # type: ignore[union-attr]


def test_json_schema_lists_workload_kinds() -> None:
    schema = scenario_json_schema()
    text = str(schema)
    for kind in ("numeric", "hashing", "http", "dispatch"):
        assert kind in text
    assert schema["additionalProperties"] is False
