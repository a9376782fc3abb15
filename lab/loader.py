"""Find, read and validate scenario files, turning every problem into a located message."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lab.scenario import (
    DispatchWorkload,
    HashingWorkload,
    HttpWorkload,
    NumericWorkload,
    Scenario,
)
from lab.yamlsource import Path_, SourceMap, YamlSourceError, load_yaml

MAX_FILE_BYTES = 1024 * 1024
_WORKLOAD_MODELS: dict[str, type[BaseModel]] = {
    "numeric": NumericWorkload,
    "hashing": HashingWorkload,
    "http": HttpWorkload,
    "dispatch": DispatchWorkload,
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: int | None
    key_path: str
    message: str

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        key = f" {self.key_path}:" if self.key_path else ""
        return f"{where}:{key} {self.message}"


class ScenarioError(Exception):
    """One or more problems with scenario input; rendered as one screen, never a traceback."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(p.render() for p in problems))
        self.problems = problems

    def render(self, limit: int = 15) -> str:
        lines = [p.render() for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problems")
        return "\n".join(lines)


@dataclass(frozen=True)
class LoadedScenario:
    name: str
    source: str  # file path, or "builtin:NAME"
    scenario: Scenario


def builtin_dir() -> Path:
    """Built-in scenarios: inside the installed wheel, or the repo's scenarios/ in a checkout."""
    packaged = Path(str(resources.files("lab"))) / "scenarios"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "scenarios"


def builtin_paths() -> dict[str, Path]:
    return {p.stem: p for p in sorted(builtin_dir().glob("*.yaml"))}


def _format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(path: Path_, data: Any) -> list[str]:
    """Valid key names of the mapping at path, for 'did you mean' suggestions."""
    model: type[BaseModel] | None = Scenario
    node = data
    for part in path:
        if model is None:
            return []
        if part == "workload" and model is Scenario:
            node = node.get("workload") if isinstance(node, dict) else None
            kind = node.get("kind") if isinstance(node, dict) else None
            model = _WORKLOAD_MODELS.get(kind) if isinstance(kind, str) else None
            if model is None:
                return ["kind"]
            continue
        return []
    return list(model.model_fields) if model else []


def _problem_from_error(file: str, err: Any, data: Any, source_map: SourceMap) -> Problem:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    # Discriminated unions put the tag into the location: workload.numeric.size -> workload.size
    if len(loc) >= 2 and loc[0] == "workload" and loc[1] in _WORKLOAD_MODELS:
        loc = (loc[0], *loc[2:])
    # Literal-or-int unions add branch names such as "int" or "literal['cpus']"
    loc = tuple(
        p
        for p in loc
        if not (
            isinstance(p, str)
            and (p in ("int", "str") or p.startswith(("literal[", "constrained-")))
        )
    )
    kind = err["type"]
    message = err["msg"]
    if kind == "extra_forbidden":
        key = loc[-1]
        choices = _fields_at(loc[:-1], data)
        close = difflib.get_close_matches(str(key), choices, n=1, cutoff=0.5)
        hint = (
            f"; did you mean {close[0]!r}?"
            if close
            else (f"; valid keys: {', '.join(choices)}" if choices else "")
        )
        message = f"unknown key {key!r}{hint}"
        position = source_map.keys.get(loc) or source_map.locate(loc)
    else:
        if kind == "missing":
            message = "required key is missing"
        elif kind == "union_tag_invalid":
            message = f"unknown workload kind; expected one of {', '.join(_WORKLOAD_MODELS)}"
        elif kind == "union_tag_not_found":
            message = f"workload needs a 'kind': one of {', '.join(_WORKLOAD_MODELS)}"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if (
            "input" in err
            and kind not in ("missing",)
            and not isinstance(err["input"], dict | list)
        ):
            message += f" (got {err['input']!r})"
        position = source_map.values.get(loc) or source_map.locate(loc)
    return Problem(
        file,
        position.line if position else None,
        position.column if position else None,
        _format_path(loc),
        message,
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    # A union (int | 'cpus') reports one error per branch at the same place; keep the first.
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in problems:
        key = (p.line, p.column, p.key_path)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def parse_scenario(text: str, file: str, default_name: str) -> LoadedScenario:
    """Validate YAML text as a scenario; raises ScenarioError with located problems."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise ScenarioError(
            [
                Problem(
                    file,
                    None,
                    None,
                    "",
                    f"file is larger than {MAX_FILE_BYTES // 1024} KiB; a scenario is a short YAML document",
                )
            ]
        )
    try:
        data, source_map = load_yaml(text)
    except YamlSourceError as exc:
        pos = exc.position
        raise ScenarioError(
            [Problem(file, pos.line if pos else None, pos.column if pos else None, "", exc.message)]
        ) from None
    if data is None:
        raise ScenarioError(
            [
                Problem(
                    file,
                    None,
                    None,
                    "",
                    "file is empty; expected a scenario mapping with 'title' and 'workload'",
                )
            ]
        )
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                Problem(
                    file,
                    1,
                    1,
                    "",
                    f"expected a mapping with 'title' and 'workload', got a {type(data).__name__}",
                )
            ]
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [_problem_from_error(file, e, data, source_map) for e in exc.errors()]
        raise ScenarioError(_dedupe(problems)) from None
    return LoadedScenario(scenario.name or default_name, file, scenario)


def load_file(path: Path) -> LoadedScenario:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                [
                    Problem(
                        str(path),
                        None,
                        None,
                        "",
                        f"file is {size} bytes; a scenario is a short YAML document (limit {MAX_FILE_BYTES // 1024} KiB)",
                    )
                ]
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(
            [Problem(str(path), None, None, "", "file is not UTF-8 text")]
        ) from None
    except OSError as exc:
        raise ScenarioError(
            [Problem(str(path), None, None, "", f"cannot read file: {exc.strerror}")]
        ) from None
    return parse_scenario(text, str(path), path.stem)


def resolve(targets: list[str]) -> list[LoadedScenario]:
    """Built-in names, YAML files and folders of YAML files, in the order given.

    Every target is checked before any problem is raised, so one run reports all bad files.
    """
    builtins = builtin_paths()
    loaded: list[LoadedScenario] = []
    problems: list[Problem] = []
    for target in targets:
        paths: list[Path]
        if target in builtins:
            paths = [builtins[target]]
        else:
            path = Path(target).expanduser()
            if path.is_dir():
                paths = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
                if not paths:
                    problems.append(
                        Problem(
                            target, None, None, "", "folder holds no .yaml or .yml scenario files"
                        )
                    )
            elif path.exists():
                paths = [path]
            else:
                close = difflib.get_close_matches(target, list(builtins), n=1)
                hint = (
                    f"; did you mean the built-in {close[0]!r}?"
                    if close
                    else f"; built-ins are: {', '.join(builtins)}"
                )
                problems.append(
                    Problem(
                        target, None, None, "", f"no such file, folder or built-in scenario{hint}"
                    )
                )
                continue
        for p in paths:
            try:
                item = load_file(p)
            except ScenarioError as exc:
                problems.extend(exc.problems)
                continue
            if target in builtins:
                item = LoadedScenario(item.name, f"builtin:{target}", item.scenario)
            loaded.append(item)
    if problems:
        raise ScenarioError(problems)
    return loaded


def load_builtins() -> list[LoadedScenario]:
    return resolve(list(builtin_paths()))
