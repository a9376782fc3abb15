"""The layers' import contract: imports point one way, and no module imports itself in a cycle.

core <- scenario <- results <- analysis | runner <- engine <- report <- headless | compare | fleet | tui <- cli

The runner (the child side) and analysis sit side by side and never import each other; the
runner imports only core, scenario and results, so a runner process loads no parent code.

Every `import` and `from ... import` counts, at module level and inside functions alike; only
imports under `if TYPE_CHECKING:` are left out, as they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "lab"

# A module's layer is the first entry whose prefix its dotted name starts with.
LAYERS: list[tuple[str, int]] = [
    ("lab.core", 0),
    ("lab.scenario", 1),
    ("lab.results", 2),
    ("lab.analysis", 3),
    ("lab.runner", 3),  # the child side: beside analysis, below the engine that starts it
    ("lab.engine", 4),
    ("lab.report", 5),
    ("lab.headless", 6),
    ("lab.compare", 6),
    ("lab.fleet", 6),  # fleet runs: beside headless, above engine and report
    ("lab.tui", 7),
    ("lab.cli", 8),
    ("lab.__main__", 9),
    ("lab", 0),  # lab/__init__.py: the version, nothing else
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(name: str) -> int:
    for prefix, rank in LAYERS:
        if name == prefix or name.startswith(prefix + "."):
            return rank
    raise AssertionError(f"{name} belongs to no layer")


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> set[str]:
    """Every lab module `path` imports, anywhere in the file outside TYPE_CHECKING blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "lab")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] == "lab":
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    found.add(
                        full
                        if (ROOT.parent / (full.replace(".", "/") + ".py")).exists()
                        or (ROOT.parent / full.replace(".", "/")).is_dir()
                        else base
                    )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(ROOT.rglob("*.py"))}


def test_every_module_has_a_layer() -> None:
    for name in graph():
        layer(name)


def test_imports_point_one_way() -> None:
    upward = [
        f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})"
        for name, targets in graph().items()
        for target in sorted(targets)
        if layer(target) > layer(name)
    ]
    assert upward == []


def test_runner_imports_nothing_from_the_parent_side() -> None:
    allowed = ("lab.core", "lab.scenario", "lab.results", "lab.runner")
    reaching_out = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name.startswith("lab.runner")
        for target in sorted(targets)
        if target != "lab" and not target.startswith(allowed)
    ]
    assert reaching_out == []


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            walk(node)
    # A package's __init__ importing its own submodules is not a cycle worth failing on.
    real = [c for c in cycles if not all(m.startswith(c[0]) or c[0].startswith(m) for m in c)]
    assert real == [], "\n".join(" -> ".join(c) for c in real)


def test_graph_sees_function_level_imports(tmp_path: Path) -> None:
    # The CLI imports the app only inside the functions that start it (lazy Textual).
    probe = ROOT / "cli" / "__init__.py"
    assert "lab.tui.launch" in imports_of(probe)


def _test_code_named(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and not node.level:
        names = [node.module or ""]
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        names = [str(node.args[0].value)]
    else:
        return None
    return next((n for n in names if n == "tests" or n.startswith("tests.")), None)


def test_the_package_never_imports_test_code() -> None:
    """Fault injection lives in tests/: the runner reaches it only through LAB_TEST_HOOK."""
    found = [
        f"{module_name(path)} imports {name}"
        for path in sorted(ROOT.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (name := _test_code_named(node))
    ]
    assert found == []
    assert not (ROOT / "engine" / "faults.py").exists()
