"""Property tests: whatever text or mutated scenario the loader gets, only ScenarioError escapes,
and every error it renders fits on one screen."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lab.scenario.loader import LINE_LIMIT, ScenarioError, parse_scenario
from tests.test_bad_input import fits_one_screen

ROOT = Path(__file__).resolve().parent.parent
VALID = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "scenarios").glob("*.yaml"))] + [
    {"title": "t", "workload": {"kind": "http", "urls": ["http://127.0.0.1:1/x"], "requests": 5}},
    {"title": "t", "workload": {"kind": "hashing", "folder": "/tmp", "chunk_size": "64 KiB"}},
    {"title": "t", "workload": {"kind": "numeric", "kernel": "integrate"}, "workers": ["cpus", 3]},
]

PROFILE = settings(
    max_examples=int(os.environ.get("LAB_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["cpus", "64 KiB", "1e9", "-1", "0", "sha256", "http://x", "numeric", "hashing", "http",
         "dispatch", "fork", "~", "", " ", "null", "yes", "2024-01-01", "9" * 400, "x" * 5000]
    ),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=12), inner, max_size=4),
    ),
    max_leaves=12,
)


def check(text: str) -> None:
    """The property: a LoadedScenario, or a ScenarioError that renders within one screen."""
    try:
        parse_scenario(text, "fuzz.yaml", "fuzz")
    except ScenarioError as exc:
        rendered = exc.render()
        assert rendered, "an error must say something"
        assert fits_one_screen(rendered), rendered
        assert all(len(p.render()) <= LINE_LIMIT for p in exc.problems)
        assert "Traceback" not in rendered


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def parent_of(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated(draw: st.DrawFn) -> str:
    doc = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        spots = paths(doc)
        if not spots:
            break
        path = draw(st.sampled_from(spots))
        parent, key = parent_of(doc, path), path[-1]
        op = draw(st.sampled_from(["delete", "rename", "replace", "wrap", "add"]))
        if op == "delete":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=15))] = parent.pop(key)
        elif op == "replace":
            parent[key] = draw(values)
        elif op == "wrap":
            parent[key] = [parent[key]]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=15))] = draw(values)
    return yaml.safe_dump(doc, allow_unicode=draw(st.booleans()), sort_keys=False)


@PROFILE
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    check(text)


@PROFILE
@given(values)
def test_random_yaml_documents(doc: Any) -> None:
    check(yaml.safe_dump(doc))


@PROFILE
@given(mutated())
def test_mutated_scenarios(text: str) -> None:
    check(text)


@PROFILE
@given(
    st.sampled_from(VALID),
    st.integers(0, 10_000),
    st.text(alphabet=st.sampled_from(list("{}[],:-&*!|>'\"#%@`?\t\n x0")), max_size=8),
    st.integers(0, 6),
)
def test_mutated_text(doc: Any, at: int, insert: str, delete: int) -> None:
    text = yaml.safe_dump(doc, sort_keys=False)
    at %= len(text) + 1
    check(text[:at] + insert + text[at + delete :])


@PROFILE
@given(st.binary(max_size=300))
def test_random_bytes_decoded_leniently(raw: bytes) -> None:
    text = raw.decode("utf-8", "replace")
    assume(text)
    check(text)
