"""Find, read and validate scenario files, turning every problem into a located message."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import ValidationError

from lab.core.units import format_bytes
from lab.scenario.builtins import builtin_paths
from lab.scenario.callable_spec import CallableWorkload, resolve_callable
from lab.scenario.problems import LINE_LIMIT as LINE_LIMIT
from lab.scenario.problems import Problem as Problem
from lab.scenario.problems import ScenarioError as ScenarioError
from lab.scenario.problems import by_line, clip, one_problem
from lab.scenario.spec import Scenario
from lab.scenario.yamlsource import SourceMap, YamlSourceError, load_yaml

MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LoadedScenario:
    name: str
    source: str  # file path, or "builtin:NAME"
    scenario: Scenario

    def with_interpreters(self, pythons: list[str]) -> LoadedScenario:
        """This scenario under these Pythons (--python replaces its `interpreters:`)."""
        scenario = self.scenario.model_copy(update={"interpreters": list(pythons)})
        return replace(self, scenario=scenario)

    def with_cluster(self, address: str) -> LoadedScenario:
        """This scenario's dask runs on that scheduler (--cluster replaces its `cluster:`)."""
        return replace(self, scenario=self.scenario.model_copy(update={"cluster": address}))


def parse_scenario(
    text: str, file: str, default_name: str, base: Path | None = None
) -> LoadedScenario:
    """Validate YAML text as a scenario; raises ScenarioError with located problems.

    Nothing else escapes, whatever the text: the property tests feed it random documents.
    `base` is the folder a callable workload's `path` is relative to (default: the file's).
    """
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise one_problem(
            file,
            f"file is larger than {MAX_FILE_BYTES // 1024} KiB; a scenario is a short YAML document",
        )
    try:
        data, source_map = load_yaml(text)
    except YamlSourceError as exc:
        from lab.scenario.messages import format_path

        pos = exc.position
        raise ScenarioError(
            [
                Problem(
                    file,
                    pos.line if pos else None,
                    pos.column if pos else None,
                    format_path(exc.path),
                    exc.message,
                )
            ]
        ) from None
    if data is None:
        raise one_problem(
            file, "file is empty; expected a scenario mapping with 'title' and 'workload'"
        )
    if not isinstance(data, dict):
        from lab.scenario.messages import show_value

        raise one_problem(
            file,
            f"expected a mapping with 'title' and 'workload', got {show_value(data)}",
            1,
            1,
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        # The wording of errors is imported only when there is one: --check must start fast.
        from lab.scenario.messages import format_path, problems_from_errors

        try:
            problems = problems_from_errors(file, exc.errors(), data, source_map)
        except Exception:  # never hide the problems behind a bug in the wording
            problems = [
                Problem(file, None, None, format_path(tuple(e["loc"])), clip(str(e["msg"]), 80))
                for e in exc.errors()
            ]
        raise ScenarioError(by_line(problems)) from None
    except Exception as exc:  # a validator tripped on something odd: still no traceback
        raise one_problem(
            file, f"invalid scenario: {clip(str(exc) or type(exc).__name__, 80)}"
        ) from None
    if isinstance(scenario.workload, CallableWorkload):
        # Read, never run: the module is found and its names are read from the file.
        scenario, found = resolve_callable(scenario, base or Path(file).parent)
        if found:
            raise ScenarioError(by_line([_located(file, source_map, k, m) for k, m in found]))
    return LoadedScenario(scenario.name or default_name, file, scenario)


def _located(file: str, source_map: SourceMap, key: str, message: str) -> Problem:
    loc = ("workload", key)
    pos = source_map.values.get(loc) or source_map.locate(loc)
    return Problem(
        file, pos.line if pos else None, pos.column if pos else None, f"workload.{key}", message
    )


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise one_problem(
            file,
            f"byte 0x{raw[exc.start]:02x} is not UTF-8 text; save the file as UTF-8",
            line,
            column,
        ) from None


def load_file(path: Path) -> LoadedScenario:
    file = str(path)
    try:
        if not path.is_file():
            raise one_problem(file, "not a regular file (a scenario is a YAML file)")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise one_problem(
                file,
                f"file is {format_bytes(size)}; a scenario is a short YAML document "
                f"(limit {MAX_FILE_BYTES // 1024} KiB)",
            )
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise one_problem(file, f"cannot read file: {exc.strerror or exc}") from None
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
                import difflib

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
