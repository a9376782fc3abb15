"""Where the built-in scenarios live, and their titles for `--list`, without pydantic.

`--list` and `--help` must start fast, so this module imports only PyYAML (its C safe loader:
the built-ins ship with the lab and the tests validate them); validating a scenario is the
loader's job.
"""

from __future__ import annotations

from pathlib import Path

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def builtin_dir() -> Path:
    """Built-in scenarios: inside the installed wheel, or the repo's scenarios/ in a checkout."""
    # The lab is always installed as files (never zipped), so its folder is what
    # importlib.resources.files("lab") would return, without that import's ~3 ms at start-up.
    lab_dir = Path(__file__).resolve().parents[1]
    packaged = lab_dir / "scenarios"
    if packaged.is_dir():
        return packaged
    return lab_dir.parent / "scenarios"


def builtin_paths() -> dict[str, Path]:
    return {p.stem: p for p in sorted(builtin_dir().glob("*.yaml"))}


def builtin_titles() -> dict[str, str]:
    """name -> title of each built-in (they ship with the lab and are validated by its tests)."""
    titles = {}
    for name, path in builtin_paths().items():
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
        titles[name] = str(data.get("title", "")) if isinstance(data, dict) else ""
    return titles
