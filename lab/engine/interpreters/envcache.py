"""Where runner environments live, what makes one valid, and the checks that keep a shared cache
safe: `$XDG_CACHE_HOME/concurrency-lab/` (else `~/.cache/concurrency-lab/`).

An environment is keyed by the interpreter (executable, version, implementation, cache tag,
ABI flags, free-threaded or not) and by the lab (its version and a hash of the runner's source),
so editing the lab or upgrading an interpreter builds a new one and never runs stale code. Its
marker file, written last, says it is complete; a folder without a sound marker, or whose python
is gone, is broken and is rebuilt.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lab
from lab.engine.interpreters.probe import Interpreter

MARKER = "concurrency-lab-env.json"
# The runner imports these (lab.runner.main and every workload and executor); never Textual.
# tests/test_interpreters.py checks each against pyproject's dependencies.
REQUIREMENTS = (
    "pydantic>=2.12",
    "typing-extensions>=4.12",
    "psutil>=5.9",
    "aiohttp>=3.10",
    "aiofiles>=23.2",
)
UVLOOP = "uvloop>=0.19"
# The sub-interpreter pool's backport, for 3.13 only (3.14+ has it in the standard library).
INTERPRETERS_BACKPORT = "interpreters-pep-734>=0.5"
# The lab's subpackages a runner never imports: the app (Textual) stays out of every env.
LEFT_OUT = ("tui",)


class CacheError(Exception):
    """The cache folder cannot be trusted or used; the message says why and what to do."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):  # the XDG spec: a relative value is invalid, ignore it
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "concurrency-lab"


def check_owned(path: Path) -> None:
    """Refuse a folder someone else could have put code in: the lab runs what it finds there."""
    try:
        info = path.lstat()
    except OSError as exc:
        raise CacheError(f"cannot read the cache folder {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise CacheError(f"the cache folder {path} is not a plain folder (a symlink?); remove it")
    if info.st_uid != os.geteuid():
        raise CacheError(
            f"the cache folder {path} belongs to uid {info.st_uid}, not to you "
            f"(uid {os.geteuid()}): the lab will not run code from it; remove it, or set "
            "XDG_CACHE_HOME to a folder of your own"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheError(
            f"the cache folder {path} is writable by other users: the lab will not run code "
            f"from it; run `chmod go-w {path}` or remove it"
        )


def prepare_root() -> Path:
    """The cache folder, created (private) when missing, checked either way."""
    root = cache_root()
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        root.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"cannot create the cache folder {root}: {exc.strerror or exc}") from None
    check_owned(root)
    return root


def lab_root() -> Path:
    return Path(lab.__file__).resolve().parent


def source_files() -> list[Path]:
    """The lab's files a runner environment gets: the package, less the app."""
    root = lab_root()
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in LEFT_OUT or "__pycache__" in rel.parts or not path.is_file():
            continue
        if path.suffix in (".py", ".typed"):
            files.append(path)
    return files


@functools.cache
def source_hash() -> str:
    digest = hashlib.sha256()
    root = lab_root()
    for path in source_files():
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def env_key(interp: Interpreter) -> dict[str, Any]:
    return {
        "executable": interp.path,
        "implementation": interp.implementation,
        "version": list(interp.version or ()),
        "cache_tag": interp.cache_tag,
        "abiflags": interp.abiflags,
        "free_threading_build": interp.free_threading_build,
        "platform": interp.platform,
        "lab_version": lab.__version__,
        "lab_source": source_hash(),
        "requirements": [*REQUIREMENTS, UVLOOP, INTERPRETERS_BACKPORT],
    }


def env_name(interp: Interpreter) -> str:
    key = json.dumps(env_key(interp), sort_keys=True).encode()
    tag = interp.cache_tag or f"{interp.implementation}-{interp.short_version}"
    free = "t" if interp.free_threading_build and not tag.endswith("t") else ""
    return f"runner-{tag}{free}-{hashlib.sha256(key).hexdigest()[:12]}"


def env_python(env: Path) -> Path:
    return env / "bin" / "python"


@dataclass(frozen=True)
class RunnerEnv:
    """A complete environment: the python to start runners with, and whether uvloop and the
    interpreter pool can run in it."""

    path: Path
    python: Path
    uvloop_problem: str | None  # why uvloop could not be installed there; None: it is
    interpreters_problem: str | None = None  # why its interpreters runs cannot run; None: they can


def read_env(env: Path, interp: Interpreter) -> RunnerEnv | None:
    """The environment at `env` when it is complete and sound, else None (missing or broken)."""
    try:
        marker = json.loads((env / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("key") != env_key(interp):
        return None
    python = env_python(env)
    site = env / str(marker.get("site", ""))
    if not os.access(python, os.X_OK) or not (site / "lab" / "runner" / "main.py").is_file():
        return None
    problem = marker.get("uvloop_problem")
    pool = marker.get("interpreters_problem")
    return RunnerEnv(env, python, str(problem) if problem else None, str(pool) if pool else None)


def write_marker(
    env: Path,
    interp: Interpreter,
    site: Path,
    uvloop_problem: str | None,
    interpreters_problem: str | None = None,
) -> None:
    relative = str(site.relative_to(env))  # the folder is renamed once complete
    data = {
        "key": env_key(interp),
        "site": relative,
        "uvloop_problem": uvloop_problem,
        "interpreters_problem": interpreters_problem,
    }
    path = env / MARKER
    with path.open("w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
