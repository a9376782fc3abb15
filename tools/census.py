"""Layout and typing census of the `lab` package, for before/after notes on refactors.

    python tools/census.py [ROOT]        # ROOT holds lab/ (default: this checkout)
    git archive REV lab | tar -x -C /tmp/rev && python tools/census.py /tmp/rev

Prints the modules per folder, the largest module, the `type: ignore` comments, and the
`dict[str, Any]` annotations that cross a module boundary: parameters, returns and class
fields of a top-level function or class that another lab module names (imports or uses),
methods of such a class included unless their name starts with an underscore. The count is
given twice: all of them, and those outside `to_json`/`from_json`, where JSON is the point.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

LOOSE = "dict[str, Any]"


def _loose(node: ast.expr | None) -> bool:
    return node is not None and LOOSE in ast.unparse(node)


def _signature_hits(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
    args += [a for a in (fn.args.vararg, fn.args.kwarg) if a is not None]
    return sum(_loose(a.annotation) for a in args) + _loose(fn.returns)


def _names_used(tree: ast.Module) -> set[str]:
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            used.update(a.name for a in node.names)
        elif isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
    return used


def census(root: Path) -> None:
    files = sorted((root / "lab").rglob("*.py"))
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in files}
    per_folder = Counter(str(p.parent.relative_to(root)) for p in files)
    print("modules per folder:")
    for folder, count in sorted(per_folder.items()):
        print(f"  {folder:<28} {count}")
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in files}
    largest = max(sizes, key=lambda p: sizes[p])
    print(f"modules: {len(files)}; largest: {largest.relative_to(root)} ({sizes[largest]} lines)")
    over = sorted((p for p in files if sizes[p] > 400), key=lambda p: -sizes[p])
    print(
        "over 400 lines: "
        + (", ".join(f"{p.relative_to(root)} ({sizes[p]})" for p in over) or "none")
    )
    ignores = sum(p.read_text(encoding="utf-8").count("type: ignore") for p in files)
    print(f"type: ignore in lab/: {ignores}")

    crossing = serialisers = 0
    where: Counter[str] = Counter()
    for path, tree in trees.items():
        elsewhere: set[str] = set()
        for other, other_tree in trees.items():
            if other != path:
                elsewhere |= _names_used(other_tree)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in elsewhere:
                hits = _signature_hits(node)
            elif isinstance(node, ast.ClassDef) and node.name in elsewhere:
                hits = 0
                for item in node.body:
                    if isinstance(item, ast.AnnAssign):
                        hits += _loose(item.annotation)
                    elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and (
                        not item.name.startswith("_") or item.name == "__init__"
                    ):
                        found = _signature_hits(item)
                        hits += found
                        if item.name in ("to_json", "from_json"):
                            serialisers += found
            else:
                continue
            if hits:
                crossing += hits
                where[str(path.relative_to(root))] += hits
    print(
        f"{LOOSE} crossing a module boundary: {crossing} "
        f"({crossing - serialisers} outside to_json/from_json)"
    )
    for module, count in where.most_common():
        print(f"  {module:<36} {count}")


if __name__ == "__main__":
    census(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
