"""`kind: callable`: a scenario's own function, and the checks that never run it.

The model only validates the text of the references. Whether the module exists and defines the
names is checked by `check_references` from the files alone (the import machinery's finders,
which locate a module without executing it, and `ast` for its top-level names): a scenario
file is checked without running anything it names.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

# module.sub:attr or module:Class.attr, identifiers only
REF_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
DEFAULT_TASKS = 100
MAX_ARGS = 10_000  # the args travel in every runner's spec and in the report


class CallableWorkload(BaseModel):
    """Your own function, called once per task with the task's argument."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["callable"]
    function: str = Field(
        ...,
        pattern=REF_PATTERN,
        description="module:function, a plain function taking one argument (the task's)",
    )
    async_function: str | None = Field(
        None,
        pattern=REF_PATTERN,
        description="module:function, a coroutine function asyncio and uvloop await instead",
    )
    path: str = Field(
        ".", description="folder to import the module from, relative to this file's folder"
    )
    tasks: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description=f"task count; task i gets the argument i (default {DEFAULT_TASKS})",
    )
    args: list[JsonValue] | None = Field(
        None,
        min_length=1,
        max_length=MAX_ARGS,
        description="one argument per task, instead of tasks",
    )
    setup: str | None = Field(
        None,
        pattern=REF_PATTERN,
        description="module:function called with no argument once per process before timing",
    )
    check: Literal["equal", "none"] = Field(
        "equal", description="equal: every executor's results must equal serial's, task by task"
    )
    unit: str = Field(
        "tasks",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$",
        description="throughput unit; other than tasks, the function returns (result, amount)",
    )

    @model_validator(mode="before")
    @classmethod
    def _tasks_or_args(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        tasks, args = data.get("tasks"), data.get("args")
        if isinstance(args, list):
            # A spec sent back from a plan carries both; a file that disagrees with itself fails.
            try:  # the app's form sends numbers as text
                same = tasks is None or int(tasks) == len(args)
            except (TypeError, ValueError):
                same = False
            if not same:
                raise ValueError("give either tasks (a count) or args (a list), not both")
            return {**data, "tasks": len(args)}
        if tasks is None:
            return {**data, "tasks": DEFAULT_TASKS}
        return data

    def quick(self) -> CallableWorkload:
        if self.args is not None:
            return self.model_copy(
                update={"args": self.args[:20], "tasks": min(len(self.args), 20)}
            )
        return self.model_copy(update={"tasks": min(self.tasks or DEFAULT_TASKS, 20)})


@dataclass(frozen=True)
class RefProblem:
    field: str  # "function", "async_function", "setup" or "path"
    message: str


def find_module_file(module: str, root: Path) -> tuple[Path | None, str | None]:
    """The file that `import module` would load from root, found without executing anything.

    importlib.util.find_spec would import a dotted name's parent packages (running their
    __init__.py); walking the path finder level by level only reads directories.
    """
    locations: list[str] = [str(root)]
    spec = None
    parts = module.split(".")
    for depth in range(len(parts)):
        name = ".".join(parts[: depth + 1])
        spec = PathFinder.find_spec(name, locations)
        if spec is None:
            return None, f"no module {name!r} in {root} (looked for {name.replace('.', '/')}.py)"
        if depth < len(parts) - 1:
            if not spec.submodule_search_locations:
                return None, f"{name} is a module, not a package, so it has no {parts[depth + 1]!r}"
            locations = list(spec.submodule_search_locations)
    assert spec is not None
    return (Path(spec.origin) if spec.origin and spec.has_location else None), None


def _top_level(tree: ast.Module) -> tuple[dict[str, str], bool]:
    """Names a module defines at top level (name -> 'def', 'async def', 'class', 'value'), and
    whether it may define others dynamically (`from x import *`, module `__getattr__`)."""
    names: dict[str, str] = {}
    dynamic = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = "def"
            dynamic |= node.name == "__getattr__"
        elif isinstance(node, ast.AsyncFunctionDef):
            names[node.name] = "async def"
        elif isinstance(node, ast.ClassDef):
            names[node.name] = "class"
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.setdefault(sub.id, "value")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    dynamic = True
                else:
                    names.setdefault(alias.asname or alias.name.split(".")[0], "value")
        elif isinstance(node, ast.If | ast.Try | ast.With):
            dynamic = True  # conditional definitions: do not claim a name is missing
    return names, dynamic


def check_reference(
    field: str, ref: str, root: Path, want: Literal["def", "async def", "any"]
) -> tuple[RefProblem | None, str]:
    """A problem with `module:attr`, or None and how it was checked (for --check's ok line)."""
    module, _, attr = ref.partition(":")
    if module.split(".")[0] in sys.stdlib_module_names:
        return RefProblem(
            field, f"{module!r} is the name of a standard library module; rename your module"
        ), ""
    file, why = find_module_file(module, root)
    if why:
        return RefProblem(field, why), ""
    if file is None or file.suffix != ".py":
        return None, f"{ref}: module found ({file or 'namespace package'}), names not readable"
    try:
        tree = ast.parse(file.read_bytes(), str(file))
    except (OSError, SyntaxError, ValueError) as exc:
        return RefProblem(field, f"cannot read {file}: {exc}"), ""
    names, dynamic = _top_level(tree)
    head = attr.split(".")[0]
    kind = names.get(head)
    if kind is None:
        if dynamic:
            return None, f"{ref}: {file.name} found, {head!r} may be defined at run time"
        import difflib

        defined = sorted(n for n, k in names.items() if k in ("def", "async def"))
        close = difflib.get_close_matches(head, defined, n=1)
        hint = (
            f"; did you mean {close[0]!r}?"
            if close
            else f"; it defines {', '.join(defined[:8])}"
            if defined
            else ""
        )
        return RefProblem(field, f"{file.name} defines no {head!r} at top level{hint}"), ""
    if "." not in attr and want != "any" and kind in ("def", "async def") and kind != want:
        if want == "def":
            message = f"{ref} is a coroutine function (async def); name it in async_function"
        else:
            message = f"{ref} is a plain function (def); async_function needs an async def"
        return RefProblem(field, message), ""
    return None, f"{ref}: {kind} {head} found in {file}"


def check_references(spec: CallableWorkload, base: Path) -> tuple[list[RefProblem], list[str]]:
    """Check every reference of the spec, reading files only: problems, and what was found."""
    root = (base / spec.path).resolve()
    if not root.is_dir():
        return [RefProblem("path", f"{root} is not a folder")], []
    problems: list[RefProblem] = []
    found: list[str] = []
    wanted: list[tuple[str, str | None, Literal["def", "async def", "any"]]] = [
        ("function", spec.function, "def"),
        ("async_function", spec.async_function, "async def"),
        ("setup", spec.setup, "any"),
    ]
    for field, ref, want in wanted:
        if ref is None:
            continue
        problem, note = check_reference(field, ref, root, want)
        if problem:
            problems.append(problem)
        else:
            found.append(note)
    return problems, found


def resolve_callable(scenario: Any, base: Path) -> tuple[Any, list[tuple[str, str]]]:
    """The scenario with its callable workload's `path` made absolute (runners import from it
    whatever their working directory), and the problems with its references as (key, message)."""
    spec = scenario.workload
    problems, _ = check_references(spec, base)
    root = str((base / spec.path).resolve())
    workload = spec.model_copy(update={"path": root})
    return scenario.model_copy(update={"workload": workload}), [
        (p.field, p.message) for p in problems
    ]


def check_note(workload: Any) -> str | None:
    """For --check: what was verified about a callable workload's references, and how."""
    if not isinstance(workload, CallableWorkload):
        return None
    _, found = check_references(workload, Path(workload.path))
    return "; ".join(found) + " (read from the files; nothing was imported or run)"
