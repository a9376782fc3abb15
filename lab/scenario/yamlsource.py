"""Safe YAML reading that remembers where every value came from.

The scenario loader needs file:line:column for any key path, must refuse duplicate keys and
must never construct objects from tags, so it walks PyYAML's node tree itself instead of
using a constructor. Whatever the text, `load_yaml` either returns plain values or raises
`YamlSourceError`: alias bombs, self-referencing aliases, absurd nesting, huge numbers and
control characters are refused with a position, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:timestamp",
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

# A scenario is a few dozen values. Aliases can make a small file expand exponentially
# ("billion laughs"), so the number of values built is capped, and so is nesting.
MAX_VALUES = 10_000
MAX_DEPTH = 50


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


class YamlSourceError(Exception):
    """A problem in the YAML text itself, with the place and key path where it was found."""

    def __init__(self, message: str, position: Position | None, path: Path_ = ()) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.path = path


@dataclass
class SourceMap:
    """Positions of every key and value, by key path."""

    keys: dict[Path_, Position] = field(default_factory=dict)
    values: dict[Path_, Position] = field(default_factory=dict)

    def locate(self, path: Path_) -> Position | None:
        """The most precise known position for path, walking up to the nearest known parent."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return None


def _pos(mark: yaml.Mark | None) -> Position | None:
    return Position(mark.line + 1, mark.column + 1) if mark is not None else None


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


class _Builder:
    def __init__(self) -> None:
        self.source_map = SourceMap()
        self._scalar = yaml.SafeLoader("")  # only used to resolve plain scalars safely
        self._built = 0
        self._active: set[int] = set()  # nodes being built: an alias back to one is a loop

    def build(self, node: yaml.Node, path: Path_) -> Any:
        start = _pos(node.start_mark)
        self.source_map.values.setdefault(path, start or Position(1, 1))
        self._built += 1
        if self._built > MAX_VALUES:
            raise YamlSourceError(
                f"the document expands to more than {MAX_VALUES:,} values (aliases?); "
                "a scenario is a short document",
                start,
                path,
            )
        if len(path) > MAX_DEPTH:
            raise YamlSourceError(f"values nested more than {MAX_DEPTH} levels deep", start, path)
        if node.tag not in _PLAIN_TAGS:
            raise YamlSourceError(
                f"YAML tag {_short_tag(node.tag)!r} is not allowed: scenario files are data, "
                "not code",
                start,
                path,
            )
        if isinstance(node, yaml.ScalarNode):
            return self._scalar_value(node, path)
        if id(node) in self._active:
            raise YamlSourceError("an alias refers to the value that contains it", start, path)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            assert isinstance(node, yaml.SequenceNode)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self._active.discard(id(node))

    def _scalar_value(self, node: yaml.ScalarNode, path: Path_) -> Any:
        if node.tag == _TIMESTAMP:
            # No scenario field is a date; keep "2024-01-01" as the text the user wrote.
            return node.value
        try:
            return self._scalar.construct_object(node, deep=True)
        except (ValueError, ArithmeticError, yaml.YAMLError):
            # e.g. an integer with more digits than Python converts (sys.int_info)
            text = node.value if len(node.value) <= 20 else node.value[:20] + "…"
            raise YamlSourceError(
                f"cannot read the value {text!r}", _pos(node.start_mark), path
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlSourceError(
                    "YAML merge keys (<<) are not supported", _pos(key_node.start_mark), path
                )
            if key_node.tag not in _PLAIN_TAGS or not isinstance(key_node, yaml.ScalarNode):
                self.build(key_node, (*path, "<key>"))  # a tag is reported as such
                raise YamlSourceError(
                    "mapping keys must be plain words", _pos(key_node.start_mark), path
                )
            key = self.build(key_node, (*path, "<key>"))
            if key is None:
                raise YamlSourceError(
                    "mapping keys must be plain words", _pos(key_node.start_mark), path
                )
            name = str(key) if not isinstance(key, bool) else str(key).lower()
            if name in result:
                first = self.source_map.keys.get((*path, name))
                where = f" (first at line {first.line})" if first else ""
                raise YamlSourceError(
                    f"duplicate key {_clip(name)!r}{where}", _pos(key_node.start_mark), path
                )
            self.source_map.keys[(*path, name)] = _pos(key_node.start_mark) or Position(1, 1)
            result[name] = self.build(value_node, (*path, name))
        self.source_map.values.pop((*path, "<key>"), None)
        return result


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _position_of_offset(text: str, offset: int) -> Position:
    before = text[:offset]
    line = before.count("\n") + 1
    return Position(line, offset - (before.rfind("\n") + 1) + 1)


def load_yaml(text: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain Python values and a map of their positions."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        char = exc.character
        code = ord(char) if isinstance(char, str) else char
        raise YamlSourceError(
            f"character #x{code:04x} is not allowed in YAML (control characters must be "
            "written as escapes inside double quotes)",
            _position_of_offset(text, exc.position),
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "found another document" in problem:
            problem = "a scenario file holds one document, but a second one ('---') starts here"
        raise YamlSourceError(f"invalid YAML: {_clip(problem, 100)}", _pos(mark)) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise YamlSourceError(f"invalid YAML: {_clip(first, 100)}", None) from None
    except RecursionError:
        raise YamlSourceError(
            f"values nested too deeply (a scenario needs at most {MAX_DEPTH} levels)", None
        ) from None
    if node is None:
        return None, SourceMap()
    builder = _Builder()
    try:
        value = builder.build(node, ())
    except RecursionError:
        raise YamlSourceError(
            f"values nested too deeply (a scenario needs at most {MAX_DEPTH} levels)", None
        ) from None
    return value, builder.source_map
