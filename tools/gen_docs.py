"""(Re)write the generated reference pages of the docs site: docs/reference/*.md.

    python tools/gen_docs.py            # rewrite the pages that changed
    python tools/gen_docs.py --check    # exit 1 listing the stale pages; writes nothing

The pages come from the lab itself, so they cannot drift from it: the command line's `--help`
(and `compare --help`, `view --help`), the scenario files' JSON Schema (`--schema`) and
those of the JSON reports (`--schema report`, `--schema fleet`). tests/test_docs.py runs the check, so a change to an
option or a field that leaves its page stale fails the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"
# --help wraps at the terminal's width: a fixed one, so the page is the same on every machine.
HELP_COLUMNS = "100"


def _schema(*which: str) -> dict[str, Any]:
    """`concurrency-lab --schema [WHICH]`: the scenario file's JSON Schema, or a report's."""
    return dict(json.loads(_lab("--schema", *which)))


def _lab(*argv: str) -> str:
    """The output of `concurrency-lab ARGV` run from this checkout, as a user would see it."""
    drop = ("PYTHONPATH", "PYTHONSAFEPATH", "FORCE_COLOR")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env |= {"COLUMNS": HELP_COLUMNS, "NO_COLOR": "1", "PYTHON_COLORS": "0"}
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from lab.cli import main; sys.exit(main())", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(
            f"concurrency-lab {' '.join(argv)} exited {done.returncode}:\n{done.stderr}"
        )
    return done.stdout


# -- schema pages: a table of fields, then the schema itself --------------------------------


def _cell(text: str) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return name.lower()


def _type_of(node: dict[str, Any]) -> str:
    """A short, readable type: `integer`, `string or null`, `NumericWorkload`, `array of number`."""
    if "$ref" in node:
        name = _ref_name(node["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "const" in node:
        return _code(json.dumps(node["const"]))
    if "enum" in node:
        return "one of " + ", ".join(_code(json.dumps(v)) for v in node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return " or ".join(_type_of(option) for option in node[key])
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(_type_of({**node, "type": k}) for k in kind)
    if kind == "array" and isinstance(node.get("items"), dict):
        items = node["items"]
        inner = "object" if _is_object(items) and "$ref" not in items else _type_of(items)
        return f"array of {inner}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return "object (any keys)"
    return str(kind) if kind else "any"


def _is_object(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" or "properties" in node


def _limits(node: dict[str, Any]) -> list[str]:
    """Bounds and defaults, from the node and its non-null options."""
    found: list[str] = []
    options = [node, *(o for k in ("anyOf", "oneOf") for o in node.get(k, []))]
    for option in options:
        for key, word in (
            ("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"),
            ("exclusiveMaximum", "<"), ("minLength", "length ≥"), ("maxLength", "length ≤"),
            ("minItems", "items ≥"), ("maxItems", "items ≤"),
        ):  # fmt: skip
            if key in option:
                found.append(f"{word} {option[key]}")
        if "pattern" in option:
            found.append(f"matches {_code(option['pattern'])}")
    if node.get("default") is not None:
        found.append(f"default {_code(json.dumps(node['default']))}")
    return found


def _rows(node: dict[str, Any], path: str, required: bool) -> Iterator[tuple[str, ...]]:
    """(path, type, required, description) for a field and, depth first, for what it holds."""
    limits = _limits(node)
    description = node.get("description", "")
    if limits:
        description += f" ({', '.join(limits)})" if description else ", ".join(limits)
    yield (_code(path), _type_of(node), "yes" if required else "", description)
    yield from _children(node, path)


def _children(node: dict[str, Any], path: str) -> Iterator[tuple[str, ...]]:
    options = [o for k in ("anyOf", "oneOf") for o in node.get(k, []) if isinstance(o, dict)]
    for option in options:  # an object among the options (`object or null`)
        if "$ref" not in option:
            yield from _children(option, path)
    kinds = node.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "properties" in node:
        needed = set(node.get("required", ()))
        for name, child in node["properties"].items():
            yield from _rows(child, f"{path}.{name}" if path else name, name in needed)
    if "array" in kinds and isinstance(node.get("items"), dict) and "$ref" not in node["items"]:
        yield from _children(node["items"], f"{path}[]")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        yield from _rows(extra, f"{path}.KEY", False)


def _table(rows: Iterator[tuple[str, ...]]) -> list[str]:
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(_cell(c) or " " for c in row) + " |" for row in rows]
    return lines


def schema_page(title: str, intro: str, schema: dict[str, Any]) -> str:
    lines = [f"# {title}", "", intro, "", "## Fields", ""]
    lines += _table(_children(schema, ""))
    for name, definition in schema.get("$defs", {}).items():
        lines += ["", f"## {name}", ""]
        if definition.get("description"):
            lines += [_cell(definition["description"]), ""]
        if "properties" in definition:
            lines += _table(_children(definition, ""))
        else:
            lines += [f"Any of: {_type_of(definition)}."]
    lines += ["", "## The JSON Schema", "", "```json", json.dumps(schema, indent=2), "```"]
    return "\n".join(lines) + "\n"


# -- the pages ---------------------------------------------------------------------------------

GENERATED = "Generated by `python tools/gen_docs.py` from {source}; edit that, not this page."


def cli_page() -> str:
    parts = [
        "# Command line",
        "",
        GENERATED.format(source="the lab's own `--help`"),
        "",
    ]
    for argv, title in (
        (("--help",), "concurrency-lab"),
        (("compare", "--help"), "concurrency-lab compare"),
        (("view", "--help"), "concurrency-lab view"),
    ):
        parts += [f"## `{title}`", "", "```text", _lab(*argv).rstrip("\n"), "```", ""]
    return "\n".join(parts)


def scenario_schema_page() -> str:
    intro = (
        GENERATED.format(source="`concurrency-lab --schema`")
        + " Every key of a scenario file: what it holds, its bounds and its default. "
        + "The [writing scenarios](../guides/scenarios.md) guide says what they do; "
        + "`workload` is one of the kinds below, chosen by its `kind`."
    )
    return schema_page("Scenario file schema", intro, _schema())


def report_schema_page() -> str:
    intro = (
        GENERATED.format(source="`concurrency-lab --schema report`")
        + " The shape of `--report out.json`, generated from the results models, the same "
        + "models `compare` and `view` validate a file with, strict on types. `KEY` stands for any key of an object (a run id, an executor); "
        + "`[]` for every item of an array. [Viewing reports](../guides/viewing-reports.md) "
        + "and the [methodology](../methodology/statistics.md) say what the figures mean."
    )
    return schema_page("Report schema", intro, _schema("report"))


def fleet_schema_page() -> str:
    intro = (
        GENERATED.format(source="`concurrency-lab --schema fleet`")
        + " The shape of a fleet report's JSON: each host's status and its whole report as the "
        + "host wrote it. [Cluster and fleet runs](../guides/cluster-and-fleet.md) says how to "
        + "make one."
    )
    return schema_page("Fleet report schema", intro, _schema("fleet"))


PAGES: dict[str, Callable[[], str]] = {
    "cli.md": cli_page,
    "scenario-schema.md": scenario_schema_page,
    "report-schema.md": report_schema_page,
    "fleet-schema.md": fleet_schema_page,
}


def stale_pages() -> dict[Path, str]:
    """Each page whose file differs from what the lab generates now, with its new text."""
    stale = {}
    for name, render in PAGES.items():
        path = REFERENCE / name
        text = render()
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale[path] = text
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="list stale pages, write nothing")
    options = parser.parse_args(argv)
    stale = stale_pages()
    if options.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run: python tools/gen_docs.py)")
        return 1 if stale else 0
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for path, text in stale.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
