"""The docs stay true: generated pages current, the site builds, and what they show runs.

- docs/reference/*.md are generated from the lab (tools/gen_docs.py): a stale page fails here;
- `mkdocs build --strict` fails on a broken link or anchor, a page left out of the nav;
- every `concurrency-lab ...` command in the README and the docs parses with the lab's own
  parsers (a renamed option or built-in fails here), and every scenario shown validates.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from lab.cli.parser import build_parser
from lab.compare.main import build_parser as build_compare_parser
from lab.scenario.builtins import builtin_paths
from lab.scenario.loader import parse_scenario
from tools import gen_docs

ROOT = Path(__file__).resolve().parent.parent
# The pages people write; the generated reference quotes --help's own usage lines.
WRITTEN = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
WRITTEN = [p for p in WRITTEN if "reference" not in p.relative_to(ROOT).parts]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`(concurrency-lab [^`]+)`")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_generated_reference_pages_are_current() -> None:
    done = subprocess.run(
        [sys.executable, "tools/gen_docs.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_check_names_a_stale_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for page in gen_docs.PAGES:
        (tmp_path / page).write_text("# an old version\n", encoding="utf-8")
    monkeypatch.setattr(gen_docs, "REFERENCE", tmp_path)
    monkeypatch.setattr(gen_docs, "ROOT", tmp_path.parent)
    assert gen_docs.main(["--check"]) == 1
    out = capsys.readouterr().out
    for page in gen_docs.PAGES:
        assert f"stale: {tmp_path.name}/{page} (run: python tools/gen_docs.py)" in out


def test_the_scenario_schema_page_is_a_table_of_every_key() -> None:
    page = (ROOT / "docs" / "reference" / "scenario-schema.md").read_text(encoding="utf-8")
    assert "| `repeats` | integer |   | rounds: each takes one measured repeat" in page
    assert "(≥ 1, ≤ 1000, default `10`)" in page
    assert "| `workload` | [NumericWorkload](#numericworkload) or" in page
    assert "## HttpWorkload" in page and "| `max_error_share` | number |" in page


def test_the_site_builds_strict(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "methodology" / "statistics" / "index.html").is_file()


def _commands() -> list[tuple[str, str]]:
    """(page, command) for every `concurrency-lab ...` line of a code block or code span."""
    found = []
    for path in WRITTEN:
        text = path.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            if block[1] in ("", "sh", "bash", "console", "text"):
                for line in block[2].splitlines():
                    if line.startswith("concurrency-lab "):
                        found.append((_name(path), line.split(" #")[0].strip()))
        for span in INLINE.finditer(FENCE.sub("", text)):
            command = " ".join(span[1].split())
            if command not in ("concurrency-lab compare", "concurrency-lab view"):  # a name
                found.append((_name(path), command))
    return found


COMMANDS = _commands()


def test_the_docs_show_commands() -> None:
    pages = {page for page, _ in COMMANDS}
    assert {"README.md", "docs/guides/headless.md", "docs/guides/compare.md"} <= pages


@pytest.mark.parametrize(("page", "command"), COMMANDS, ids=[c for _, c in COMMANDS])
def test_every_command_shown_parses(page: str, command: str) -> None:
    argv = shlex.split(command)[1:]
    parser, compare_parser = build_parser(), build_compare_parser()
    # The docs spell options in full: an abbreviation that parses today may not tomorrow.
    parser.allow_abbrev = compare_parser.allow_abbrev = False
    try:
        if argv[:1] == ["compare"]:
            compare_parser.parse_args(argv[1:])
            return
        if argv[:1] == ["view"]:
            assert len(argv) == 2 and argv[1].endswith(".json"), f"{page}: {command}"
            return
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code == 0:  # --help, --version
            return
        raise AssertionError(f"{page}: `{command}` does not parse") from None
    builtins = set(builtin_paths())
    for target in args.targets:
        # A bare word names a built-in: one renamed or gone fails here.
        if re.fullmatch(r"[a-z_]+", target):
            assert target in builtins, f"{page}: `{command}` names no built-in {target!r}"


def _scenarios() -> list[tuple[str, str]]:
    found = []
    for path in WRITTEN:
        for block in FENCE.finditer(path.read_text(encoding="utf-8")):
            if block[1] == "yaml":
                found.append((_name(path), block[2]))
    return found


SCENARIOS = _scenarios()


def test_the_docs_show_scenarios() -> None:
    assert len(SCENARIOS) >= 4


def _stand_ins(data: dict[str, object], folder: Path) -> None:
    """Modules with the functions a callable example names, so that its check can find them."""
    workload = data.get("workload")
    assert isinstance(workload, dict)
    functions: dict[str, list[str]] = {}
    for key in ("function", "async_function", "setup"):
        if isinstance(ref := workload.get(key), str):
            module, name = ref.split(":")
            prefix = "async " if key == "async_function" else ""
            arg = "" if key == "setup" else "arg"
            functions.setdefault(module, []).append(f"{prefix}def {name}({arg}):\n    return 0\n")
    for module, bodies in functions.items():
        (folder / f"{module}.py").write_text("\n\n".join(bodies), encoding="utf-8")


@pytest.mark.parametrize(
    ("page", "text"), SCENARIOS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(SCENARIOS)]
)
def test_every_scenario_shown_validates(page: str, text: str, tmp_path: Path) -> None:
    data = yaml.safe_load(text)
    assert isinstance(data, dict), f"{page}: a yaml block that is not a scenario"
    _stand_ins(data, tmp_path)
    loaded = parse_scenario(textwrap.dedent(text), f"{page} (example)", "example", tmp_path)
    assert loaded.scenario.title == data["title"]
