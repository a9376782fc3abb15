"""Find, read and validate scenario files, turning every problem into a located message."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic.fields import FieldInfo

from lab.core.units import format_bytes, parse_size
from lab.scenario.builtins import builtin_paths
from lab.scenario.spec import (
    MAX_WORKERS,
    DispatchWorkload,
    HashingWorkload,
    HttpWorkload,
    NumericWorkload,
    Scenario,
)
from lab.scenario.yamlsource import Path_, SourceMap, YamlSourceError, load_yaml

MAX_FILE_BYTES = 1024 * 1024
_WORKLOAD_MODELS: dict[str, type[BaseModel]] = {
    "numeric": NumericWorkload,
    "hashing": HashingWorkload,
    "http": HttpWorkload,
    "dispatch": DispatchWorkload,
}


# One screen: each problem is one line of at most LINE_LIMIT characters, and a rendered error
# shows as many problems as fit in SCREEN_ROWS rows of an 80-column terminal (long lines wrap),
# leaving two rows of the 24 for the CLI's closing hint.
LINE_LIMIT = 200
SCREEN_ROWS = 22
SCREEN_COLUMNS = 80


def clip(text: str, limit: int) -> str:
    """Shorten text to limit characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: int | None
    key_path: str
    message: str

    def render(self) -> str:
        # The place stays whole (editors jump to file:line:column); the message gives way.
        where = self.file if len(self.file) <= 100 else "…" + self.file[-99:]
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        key = f" {clip(self.key_path, 40)}:" if self.key_path else ""
        head = f"{where}:{key} "
        return head + clip(self.message, max(40, LINE_LIMIT - len(head)))


def _rows(line: str) -> int:
    return max(1, -(-len(line) // SCREEN_COLUMNS))


class ScenarioError(Exception):
    """One or more problems with scenario input; rendered as one screen, never a traceback."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self.render())

    def render(self, rows: int = SCREEN_ROWS) -> str:
        """The problems that fit in `rows` terminal rows, then how many were left out."""
        lines: list[str] = []
        used = 1  # keep a row for the "... and N more" line
        for problem in self.problems:
            line = problem.render()
            if used + _rows(line) > rows:
                break
            lines.append(line)
            used += _rows(line)
        if len(lines) < len(self.problems):
            lines.append(f"... and {len(self.problems) - len(lines)} more problems")
        return "\n".join(lines)


@dataclass(frozen=True)
class LoadedScenario:
    name: str
    source: str  # file path, or "builtin:NAME"
    scenario: Scenario


def _format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _workload_model(data: Any) -> type[BaseModel] | None:
    node = data.get("workload") if isinstance(data, dict) else None
    kind = node.get("kind") if isinstance(node, dict) else None
    return _WORKLOAD_MODELS.get(kind) if isinstance(kind, str) else None


def _workload_kind(data: Any) -> Any:
    node = data.get("workload") if isinstance(data, dict) else None
    return node.get("kind") if isinstance(node, dict) else None


def _fields_at(path: Path_, data: Any) -> list[str]:
    """Valid key names of the mapping at path, for 'did you mean' suggestions."""
    if path == ():
        return list(Scenario.model_fields)
    if path == ("workload",):
        model = _workload_model(data)
        return list(model.model_fields) if model else ["kind"]
    return []


def _field(loc: Path_, data: Any) -> FieldInfo | None:
    """The model field a location points at (top-level or workload keys)."""
    if len(loc) == 1 and isinstance(loc[0], str):
        return Scenario.model_fields.get(loc[0])
    if len(loc) == 2 and loc[0] == "workload" and isinstance(loc[1], str):
        model = _workload_model(data)
        return model.model_fields.get(loc[1]) if model else None
    return None


def _number(value: Any, sizes: bool) -> str:
    if sizes and isinstance(value, int) and value >= 1024:
        return f"{value:,} bytes ({format_bytes(value)})"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def _range(field: FieldInfo | None) -> str:
    """'from 1 to 1000', 'more than 0 and at most 600', '' when the field has no bounds."""
    if field is None:
        return ""
    sizes = any(isinstance(m, BeforeValidator) and m.func is parse_size for m in field.metadata)
    low: Any = None
    high: Any = None
    low_open = high_open = False
    for m in field.metadata:
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Gt):
            low, low_open = m.gt, True
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.Lt):
            high, high_open = m.lt, True
    if low is not None and high is not None and not low_open and not high_open:
        return f"from {_number(low, sizes)} to {_number(high, sizes)}"
    parts = []
    if low is not None:
        parts.append(f"{'more than' if low_open else 'at least'} {_number(low, sizes)}")
    if high is not None:
        parts.append(f"{'less than' if high_open else 'at most'} {_number(high, sizes)}")
    return " and ".join(parts)


def show_value(value: Any) -> str:
    """A value as the user wrote it in YAML, short enough for one line."""
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() < 64 else "a very large number"
    if isinstance(value, float):
        return repr(value).replace("inf", ".inf").replace("nan", ".nan")
    if isinstance(value, str):
        return repr(clip(value, 40))
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "int_parsing_size": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list such as [a, b]",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}
_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _expected(err: Any, field: FieldInfo | None) -> str | None:
    """What the value should have been, in plain words; None when the error says it better."""
    kind = err["type"]
    if kind in _TYPE_WORDS:
        words = _TYPE_WORDS[kind]
        if field is not None and field.annotation is int and "number" in words:
            words = "a whole number"
        bounds = _range(field) if words in ("a whole number", "a number") else ""
        return f"{words} {bounds}".strip()
    if kind in _BOUND_ERRORS:
        return _range(field) or err["msg"].removeprefix("Input should be ")
    if kind == "literal_error":
        return f"one of {err.get('ctx', {}).get('expected', '?')}"
    return None


def _message(err: Any, field: FieldInfo | None) -> str:
    """Plain words for one pydantic error, without the value (added by the caller)."""
    kind = err["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        return f"unknown workload kind; expected one of {', '.join(_WORKLOAD_MODELS)}"
    if kind == "union_tag_not_found":
        return f"workload needs a 'kind': one of {', '.join(_WORKLOAD_MODELS)}"
    if kind in ("too_short", "string_too_short"):
        n = err.get("ctx", {}).get("min_length", 1)
        return "must not be empty" if n == 1 else f"needs at least {n} items"
    if kind in ("too_long", "string_too_long"):
        return f"is too long (at most {err.get('ctx', {}).get('max_length', '?')})"
    if kind in _BOUND_ERRORS:
        return f"must be {_expected(err, field)}"
    if kind == "list_type" and isinstance(err.get("input"), str | int | float):
        value = err["input"]
        single = clip(value, 30) if isinstance(value, str) else show_value(value)
        return f"expected a list; for a single value write [{single}]"
    expected = _expected(err, field)
    if expected is not None:
        return f"expected {expected}"
    return str(err["msg"]).removeprefix("Value error, ")


def _with_value(message: str, value: Any) -> str:
    """Append '(got X)' unless the message already shows the value."""
    shown = show_value(value)
    if "for a single value write [" in message or (isinstance(value, str) and shown in message):
        return message
    return f"{message} (got {shown})"


def _suggest(value: Any, choices: list[str]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _strip_branches(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """The key path of an error, without the union branch names pydantic adds to it."""
    # Discriminated unions put the tag into the location: workload.numeric.size -> workload.size
    if len(loc) >= 2 and loc[0] == "workload" and loc[1] in _WORKLOAD_MODELS:
        loc = (loc[0], *loc[2:])
    # int | 'cpus' adds the branch: workers[0].constrained-int -> workers[0]
    if len(loc) == 3 and loc[0] == "workers" and isinstance(loc[1], int):
        loc = loc[:2]
    return loc


def _problems_from_errors(
    file: str, errors: list[Any], data: Any, source_map: SourceMap
) -> list[Problem]:
    grouped: dict[tuple[str | int, ...], list[Any]] = {}
    for err in errors:
        loc = _strip_branches(tuple(err["loc"]))
        if err["type"] == "union_tag_invalid" and loc == ("workload",):
            loc = ("workload", "kind")
        grouped.setdefault(loc, []).append(err)
    problems = []
    for loc, errs in grouped.items():
        err = errs[0]
        kind = err["type"]
        field = _field(loc, data)
        if kind == "extra_forbidden":
            key = loc[-1]
            choices = _fields_at(loc[:-1], data)
            close = difflib.get_close_matches(str(key), choices, n=1, cutoff=0.5)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else (f"; valid keys: {', '.join(choices)}" if choices else "")
            )
            message = f"unknown key {clip(str(key), 40)!r}{hint}"
            position = source_map.keys.get(loc) or source_map.locate(loc)
        else:
            value = err.get("input")
            hint = ""
            if loc[:1] == ("workers",) and len(loc) == 2:
                # int | 'cpus': one error per branch; say both at once.
                message = f"expected a whole number from 1 to {MAX_WORKERS}, or 'cpus'"
                hint = _suggest(value, ["cpus"])
            elif len(errs) > 1 and all(_expected(e, None) for e in errs):
                message = "expected " + " or ".join(
                    dict.fromkeys(str(_expected(e, None)) for e in errs)
                )
            else:
                message = _message(err, field)
                if isinstance(value, str) and len(value) > 40:
                    # Validators quote the value in full; a screen wants the start of it.
                    message = message.replace(repr(value), show_value(value))
            if kind == "literal_error":
                options = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
                hint = _suggest(value, options)
            elif kind == "union_tag_invalid":
                value = _workload_kind(data)
                hint = _suggest(value, list(_WORKLOAD_MODELS))
            if kind not in ("missing", "union_tag_not_found") and ("input" in err or hint):
                message = _with_value(message, value)
            message += hint
            position = source_map.values.get(loc) or source_map.locate(loc)
        problems.append(
            Problem(
                file,
                position.line if position else None,
                position.column if position else None,
                _format_path(loc),
                message,
            )
        )
    return problems


def _by_line(problems: list[Problem]) -> list[Problem]:
    """Problems of one file in the order they appear in it; one per place and key path."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in sorted(problems, key=lambda p: (p.line or 0, p.column or 0)):
        key = (p.line, p.column, p.key_path)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _one(
    file: str, message: str, line: int | None = None, column: int | None = None
) -> ScenarioError:
    return ScenarioError([Problem(file, line, column, "", message)])


def parse_scenario(text: str, file: str, default_name: str) -> LoadedScenario:
    """Validate YAML text as a scenario; raises ScenarioError with located problems.

    Nothing else escapes, whatever the text: the property tests feed it random documents.
    """
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise _one(
            file,
            f"file is larger than {MAX_FILE_BYTES // 1024} KiB; a scenario is a short YAML document",
        )
    try:
        data, source_map = load_yaml(text)
    except YamlSourceError as exc:
        pos = exc.position
        raise ScenarioError(
            [
                Problem(
                    file,
                    pos.line if pos else None,
                    pos.column if pos else None,
                    _format_path(exc.path),
                    exc.message,
                )
            ]
        ) from None
    if data is None:
        raise _one(file, "file is empty; expected a scenario mapping with 'title' and 'workload'")
    if not isinstance(data, dict):
        raise _one(
            file,
            f"expected a mapping with 'title' and 'workload', got {show_value(data)}",
            1,
            1,
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        try:
            problems = _problems_from_errors(file, exc.errors(), data, source_map)
        except Exception:  # never hide the problems behind a bug in the wording
            problems = [
                Problem(file, None, None, _format_path(tuple(e["loc"])), clip(str(e["msg"]), 80))
                for e in exc.errors()
            ]
        raise ScenarioError(_by_line(problems)) from None
    except Exception as exc:  # a validator tripped on something odd: still no traceback
        raise _one(file, f"invalid scenario: {clip(str(exc) or type(exc).__name__, 80)}") from None
    return LoadedScenario(scenario.name or default_name, file, scenario)


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _one(
            file,
            f"byte 0x{raw[exc.start]:02x} is not UTF-8 text; save the file as UTF-8",
            line,
            column,
        ) from None


def load_file(path: Path) -> LoadedScenario:
    file = str(path)
    try:
        if not path.is_file():
            raise _one(file, "not a regular file (a scenario is a YAML file)")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _one(
                file,
                f"file is {format_bytes(size)}; a scenario is a short YAML document "
                f"(limit {MAX_FILE_BYTES // 1024} KiB)",
            )
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _one(file, f"cannot read file: {exc.strerror or exc}") from None
    return parse_scenario(_decode(raw, file), file, path.stem)


def _expand(target: str) -> Path:
    try:
        return Path(target).expanduser()
    except RuntimeError:  # "~nosuchuser/x.yaml"
        return Path(target)


def _folder_files(folder: Path, target: str) -> tuple[list[Path], Problem | None]:
    try:
        paths = sorted(p for p in [*folder.glob("*.yaml"), *folder.glob("*.yml")] if p.is_file())
    except OSError as exc:
        return [], Problem(target, None, None, "", f"cannot read folder: {exc.strerror or exc}")
    if not paths:
        if not os.access(folder, os.R_OK | os.X_OK):
            return [], Problem(target, None, None, "", "cannot read folder: permission denied")
        return [], Problem(target, None, None, "", "folder holds no .yaml or .yml scenario files")
    return paths, None


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
            path = _expand(target)
            if path.is_dir():
                paths, problem = _folder_files(path, target)
                if problem:
                    problems.append(problem)
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
