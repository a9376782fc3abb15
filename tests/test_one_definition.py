"""Each concurrency model and workload kind is written down once: its descriptor.

A model's name (or a kind's) as a string literal anywhere else in lab/ is a second definition
that the next model would have to find and extend: charts, cells, rules, claims, the app and the
spec read the descriptors' attributes instead. Allowed: the registries, the model's own executor
module, the kind's own spec and runner modules, and a short list of strings that only look like
a name (a field that counts runner processes, the interpreter axis, the stdlib's logger).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lab.scenario import kinds, models

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lab"

REGISTRIES = {"lab/scenario/models.py", "lab/scenario/kinds.py"}
# A kind's own modules: its spec (the `kind:` discriminator is its Literal) and its runner.
KIND_MODULES = {
    "lab/scenario/workload_specs.py": set(kinds.NAMES) - {kinds.CALLABLE.name},
    "lab/scenario/callable_spec.py": {kinds.CALLABLE.name},
    **{
        f"lab/runner/workloads/{k.runner.split(':')[0].rsplit('.', 1)[1]}.py": {k.name}
        for k in kinds.KINDS
    },
    "lab/runner/workloads/httpclient.py": {kinds.HTTP.name},
}
MODEL_MODULES = {
    f"lab/{m.executor.split(':')[0].removeprefix('lab.').replace('.', '/')}.py": {m.name}
    for m in models.MODELS
}
# Strings spelled like a model that mean something else, with how many times each file writes
# them (one more is a new use to judge, not a free pass).
NOT_A_MODEL = {
    # `processes:` in a scenario and its settings: runner processes per run, not the pool.
    ("lab/engine/session.py", models.PROCESSES.name): 1,
    ("lab/engine/schedule.py", models.PROCESSES.name): 1,
    ("lab/report/cells.py", models.PROCESSES.name): 1,
    # The interpreter axis (`--python`, `interpreters:`) and a report's facts about each one.
    ("lab/scenario/loader.py", models.INTERPRETERS.name): 1,
    ("lab/report/interpreters.py", models.INTERPRETERS.name): 1,
    # The standard library's logger of that name, quietened while a cluster runs.
    ("lab/fleet/cluster.py", models.ASYNCIO.name): 1,
}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the Constant nodes that are docstrings (module, class, function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def named_literals(path: Path, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) of every string constant in the file that is exactly one of `names`,
    docstrings left out. An f-string's literal parts count: f"{x}" never names a model, but a
    part equal to a name would (prose around a name, "threads: ...", is a sentence, not one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in names
            and id(node) not in skip
        ):
            hits.append((node.lineno, node.value))
    return sorted(hits)


def _allowed(relative: str, name: str) -> bool:
    if relative in REGISTRIES:
        return True
    return name in KIND_MODULES.get(relative, set()) or name in MODEL_MODULES.get(relative, set())


def test_models_and_kinds_are_named_only_by_their_descriptors_and_own_modules() -> None:
    names = set(models.NAMES) | set(kinds.NAMES)
    found = []
    for path in sorted(LAB.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        hits = [(line, name) for line, name in named_literals(path, names)]
        for line, name in hits:
            allowance = NOT_A_MODEL.get((relative, name), 0)
            if _allowed(relative, name) or sum(n == name for _, n in hits) <= allowance:
                continue
            found.append(f"{relative}:{line}: {name!r}")
    assert found == [], (
        "a model or workload kind named as a string literal outside its descriptor "
        "(lab/scenario/models.py, kinds.py) and its own module; read the descriptor instead:\n"
        + "\n".join(found)
    )


def test_the_allowances_are_still_needed() -> None:
    """An exception nothing uses any more is removed, so the list cannot grow stale."""
    for (relative, name), count in sorted(NOT_A_MODEL.items()):
        path = ROOT / relative
        written = len(named_literals(path, {name})) if path.is_file() else 0
        assert 0 < written <= count, (
            f"{relative} writes {name!r} {written} times: lower its allowance ({count}) to that, "
            "or remove it at 0"
        )


def test_every_module_a_descriptor_names_exists() -> None:
    for relative in [*MODEL_MODULES, *KIND_MODULES]:
        assert (ROOT / relative).is_file(), relative


@pytest.mark.parametrize(
    "source, expected",
    [
        ('x = "threads"\n', [(1, "threads")]),
        ('"""threads"""\n', []),
        ('def f():\n    """threads"""\n    return "dask"\n', [(3, "dask")]),
        ('y = f"{a} threads"\n', []),
        ('y = f"{a}" + "uvloop"\n', [(1, "uvloop")]),
        ("# threads\nz = 1\n", []),
        ('d = {"numeric": 1}\n', [(1, "numeric")]),
    ],
)
def test_the_scan_finds_names_not_prose(tmp_path: Path, source: str, expected: list) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    names = set(models.NAMES) | set(kinds.NAMES)
    assert named_literals(probe, names) == expected


def test_descriptors_are_complete_and_distinct() -> None:
    assert len(set(models.NAMES)) == len(models.MODELS)
    letters = [m.letter for m in models.MODELS]
    assert len(set(letters)) == len(letters), "chart markers must tell models apart"
    assert sum(m.baseline for m in models.MODELS) == 1
    for model in models.MODELS:
        assert model.name and model.display_name and model.description and model.executor
        if model.needs_module is not None:
            assert model.missing_words, f"{model.name} needs words for a missing module"
        if model.stands_in_for is not None:
            assert model.stands_in_for in models.NAMES
    for light, heavy in models.BREAKEVEN_PAIRS:
        assert {light, heavy} <= set(models.NAMES)
    for kind in kinds.KINDS:
        spec = kind.spec_class()
        assert spec.model_fields["kind"].annotation.__args__ == (kind.name,)
        for knob in kind.size_knobs:
            assert knob in spec.model_fields, f"{kind.name}: {knob}"
        for field in kind.provisioned:
            assert field in spec.model_fields, f"{kind.name}: {field}"
        if kind.async_form_field is not None:
            assert kind.async_form_field in spec.model_fields


def test_negative_controls_follow_the_descriptors() -> None:
    """A 1-worker run is a control when its workers call the sync function, and a loop's only
    when the workload has no coroutine form; serial and any run at 2+ workers never are."""
    sync_callers = {m.name for m in models.MODELS if m.calls_sync_function}
    loops = {m.name for m in models.MODELS if m.event_loop}
    assert sync_callers == {"threads", "processes", "interpreters", "dask"}
    assert loops == {"asyncio", "uvloop"}
    for model in models.MODELS:
        assert not model.is_negative_control(2, async_form=False)
        assert model.is_negative_control(1, async_form=True) == (model.name in sync_callers)
        assert model.is_negative_control(1, async_form=False) == (
            model.name in sync_callers | loops
        )


def test_a_name_from_another_release_reads_as_a_model_without_traits() -> None:
    """A report written by a release with a model this one lacks still loads and is judged."""
    stranger = models.traits("gpu-pool")
    assert not stranger.baseline and not stranger.event_loop and stranger.own_gil is None
    assert not stranger.is_negative_control(1, async_form=False)
    assert stranger.price_per_task == models.PROCESSES.price_per_task
    assert models.traits(None) is stranger
    assert kinds.traits("fortran").user_function is False
    assert kinds.traits(None).provisioned == ()


def test_workload_kinds_async_forms() -> None:
    assert kinds.HASHING.has_async_form({"kind": "hashing"})
    assert not kinds.NUMERIC.has_async_form({"kind": "numeric"})
    assert kinds.CALLABLE.has_async_form({"kind": "callable", "async_function": "m:f"})
    assert not kinds.CALLABLE.has_async_form({"kind": "callable", "async_function": None})
