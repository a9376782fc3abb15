"""Safe YAML reading that remembers where every value came from.

The scenario loader needs file:line:column for any key path, must refuse duplicate keys and
must never construct objects from tags, so it walks PyYAML's node tree itself instead of
using a constructor.
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


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


class YamlSourceError(Exception):
    """A problem in the YAML text itself, with the place it was found."""

    def __init__(self, message: str, position: Position | None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


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


class _Builder:
    def __init__(self) -> None:
        self.source_map = SourceMap()
        self._scalar = yaml.SafeLoader("")  # only used to resolve plain scalars safely

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.source_map.values[path] = _pos(node.start_mark) or Position(1, 1)
        if node.tag not in _PLAIN_TAGS:
            raise YamlSourceError(
                f"YAML tag {node.tag!r} is not allowed: scenario files are data, not code",
                _pos(node.start_mark),
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlSourceError(
                    "YAML merge keys (<<) are not supported", _pos(key_node.start_mark)
                )
            key = self.build(key_node, (*path, "<key>"))
            if not isinstance(key, str | int | float | bool) or key is None:
                raise YamlSourceError("mapping keys must be plain words", _pos(key_node.start_mark))
            name = str(key)
            if name in result:
                first = self.source_map.keys.get((*path, name))
                where = f" (first at line {first.line})" if first else ""
                raise YamlSourceError(f"duplicate key {name!r}{where}", _pos(key_node.start_mark))
            self.source_map.keys[(*path, name)] = _pos(key_node.start_mark) or Position(1, 1)
            result[name] = self.build(value_node, (*path, name))
        self.source_map.values.pop((*path, "<key>"), None)
        return result


def load_yaml(text: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain Python values and a map of their positions."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSourceError(f"invalid YAML: {problem}", _pos(mark)) from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(f"invalid YAML: {exc}", None) from None
    if node is None:
        return None, SourceMap()
    builder = _Builder()
    try:
        value = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        raise YamlSourceError(f"invalid value: {exc.problem}", _pos(exc.problem_mark)) from None
    return value, builder.source_map
