"""Find an interpreter named in a scenario or by `--python`, and ask it what it is.

The probe is a few lines both Python 2 and 3 run, so an interpreter too old for the lab is
refused in words ("python2.7 is Python 2.7; ...") instead of failing on a syntax error. It runs
from `/` with `-E -s` (Python 2 knows no `-P`): no folder the lab was started from, no
PYTHONPATH and no user site can put a module ahead of the standard library.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

MIN_VERSION = (3, 11)
PROBE_TIMEOUT = 30.0
PROBE_OUTPUT_LIMIT = 2**20  # bytes: the answer is one line of JSON

PROBE = """\
import json, sys, sysconfig
impl = getattr(sys, 'implementation', None)
print(json.dumps({
    'version': list(sys.version_info[:3]),
    'implementation': impl.name if impl else 'cpython',
    'cache_tag': impl.cache_tag if impl else None,
    'abiflags': getattr(sys, 'abiflags', ''),
    'free_threading_build': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),
    'executable': sys.executable,
    'prefix': sys.prefix,
    'platform': sysconfig.get_platform(),
}))
"""


@dataclass(frozen=True)
class Interpreter:
    """One interpreter of the axis: what it is, or why it cannot run the lab (`problem`)."""

    name: str  # as the scenario or --python wrote it
    label: str  # in run ids: py3.13, py3.13t (free-threaded), pypy3.11
    path: str | None = None  # the executable found
    version: tuple[int, int, int] | None = None
    implementation: str = ""
    cache_tag: str = ""
    abiflags: str = ""
    free_threading_build: bool = False
    prefix: str = ""
    platform: str = ""
    problem: str | None = None  # why none of its runs can happen

    @property
    def short_version(self) -> str:
        return ".".join(map(str, self.version[:2])) if self.version else "?"

    @property
    def is_lab_python(self) -> bool:
        """The interpreter and environment the lab itself runs in: no runner env needed."""
        return bool(self.prefix) and os.path.realpath(self.prefix) == os.path.realpath(sys.prefix)

    def facts(self) -> dict[str, Any]:
        """What the probe found, for the report (the runner adds what it sees at run time)."""
        return {
            "name": self.name,
            "executable": self.path,
            "implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(
                self.implementation, self.implementation
            ),
            "version": ".".join(map(str, self.version)) if self.version else None,
            "abiflags": self.abiflags,
            "cache_tag": self.cache_tag,
            "free_threading_build": self.free_threading_build,
            "problem": self.problem,
        }


def _version_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.-]", folder.name))


def _pyenv_lookup(name: str, shims: Path | None) -> str | None:
    """`python3.12` from pyenv's versions: a shim runs only the versions `pyenv` selects, so a
    name the user asks for is found in every installed version, the newest first."""
    roots = [shims.parent] if shims is not None else []
    roots.append(Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv"))
    for root in roots:
        versions = root / "versions"
        if not versions.is_dir():
            continue
        for folder in sorted(versions.iterdir(), key=_version_key, reverse=True):
            candidate = folder / "bin" / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def find(name: str) -> str | None:
    """A path as given (relative to the current folder), else a name looked up on PATH, where a
    pyenv shim stands for that name in pyenv's installed versions."""
    if os.sep in name:
        path = os.path.abspath(os.path.expanduser(name))
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    # Absolute PATH entries only: "." or an empty entry means the current folder, which on a
    # shared server may be another user's; a bare name must never run a file planted there.
    search = [p for p in os.environ.get("PATH", os.defpath).split(os.pathsep) if os.path.isabs(p)]
    found = shutil.which(name, path=os.pathsep.join(search))
    if found is None or Path(found).parent.name == "shims":
        shims = Path(found).parent if found else None
        return _pyenv_lookup(name, shims) or found
    return found


def _label(implementation: str, version: tuple[int, int, int], free: bool) -> str:
    prefix = "py" if implementation == "cpython" else re.sub(r"[^a-z0-9]", "", implementation)
    return f"{prefix}{version[0]}.{version[1]}{'t' if free else ''}"


def _fallback_label(name: str) -> str:
    """A label for an interpreter that could not be asked: its file name, made id-safe."""
    base = os.path.basename(name.rstrip(os.sep)) or name
    return re.sub(r"[^A-Za-z0-9._+-]", "_", base)[:40] or "python"


def _ask(path: str) -> tuple[int | None, str, str, str | None]:
    """Run the probe: exit code, stdout and stderr (decoded, any bytes), and what went wrong
    (it hung, it printed without end) in words, or None. Bounded in time and in bytes."""
    proc = subprocess.Popen(
        [path, "-E", "-s", "-c", PROBE], cwd="/", stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    streams = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    deadline = time.monotonic() + PROBE_TIMEOUT
    what: str | None = None
    with selectors.DefaultSelector() as selector:
        for stream in streams:
            selector.register(stream, selectors.EVENT_READ)  # type: ignore[arg-type]
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                what = f"did not answer within {PROBE_TIMEOUT:g} s"
                break
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                streams[key.fileobj].extend(chunk)  # type: ignore[index]
            if sum(map(len, streams.values())) > PROBE_OUTPUT_LIMIT:
                what = f"printed more than {PROBE_OUTPUT_LIMIT // 1024} KiB instead of answering"
                break
    if what is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    try:
        code: int | None = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        code = None
    for stream in streams:
        assert stream is not None
        stream.close()
    out, err = (bytes(b).decode("utf-8", errors="replace") for b in streams.values())
    return code, out, err, what


def probe(name: str) -> Interpreter:
    """Find and ask one interpreter; a problem in words when it cannot run the lab."""
    fallback = _fallback_label(name)
    path = find(name)
    if path is None:
        where = "no such file" if os.sep in name else "not found on PATH"
        return Interpreter(name, fallback, problem=f"{name}: {where}")
    try:
        code, out, err, what = _ask(path)
    except OSError as exc:
        return Interpreter(
            name, fallback, path, problem=f"{name} ({path}) could not run: {exc.strerror or exc}"
        )
    if what is not None:
        return Interpreter(name, fallback, path, problem=f"{name} ({path}) {what}")
    try:
        data = json.loads(out.strip().splitlines()[-1])
        version = (int(data["version"][0]), int(data["version"][1]), int(data["version"][2]))
    except (ValueError, KeyError, IndexError, TypeError):
        said = [line for line in (err if err.strip() else out).splitlines() if line.strip()]
        last = f"; its last output: {said[-1].strip()[:120]}" if said else ""
        problem = f"{name} ({path}) did not answer as Python (exit status {code}{last})"
        return Interpreter(name, fallback, path, problem=problem)
    found = Interpreter(
        name=name,
        label=_label(str(data.get("implementation") or "cpython"), version,
                     bool(data.get("free_threading_build"))),
        path=path,
        version=version,
        implementation=str(data.get("implementation") or "cpython"),
        cache_tag=str(data.get("cache_tag") or ""),
        abiflags=str(data.get("abiflags") or ""),
        free_threading_build=bool(data.get("free_threading_build")),
        prefix=str(data.get("prefix") or ""),
        platform=str(data.get("platform") or ""),
    )  # fmt: skip
    if version[:2] < MIN_VERSION:
        major, minor = version[:2]
        needed = ".".join(map(str, MIN_VERSION))
        problem = f"{name} is Python {major}.{minor}; the lab needs {needed} or newer"
        return replace(found, problem=problem)
    return found


_PROBED: dict[tuple[str, str], Interpreter] = {}


def probe_cached(name: str) -> Interpreter:
    """`probe`, once per name and current folder in this process: plans are made often (the
    app plans a scenario as its knobs change) and an interpreter does not change under the lab."""
    key = (name, os.getcwd() if os.sep in name else "")
    if key not in _PROBED:
        _PROBED[key] = probe(name)
    return _PROBED[key]


def probe_all(names: list[str]) -> list[Interpreter]:
    """Every interpreter named, once each (the same executable named twice counts once), with
    labels made unique: two builds of one version get `-2`, `-3` after the second's label."""
    found: list[Interpreter] = []
    seen: set[str] = set()
    for name in names:
        one = probe_cached(name)
        # A venv's python links to its base interpreter: the same file, another environment.
        key = f"{os.path.realpath(one.path)}|{one.prefix}" if one.path else name
        if key in seen:
            continue
        seen.add(key)
        found.append(one)
    labels: dict[str, int] = {}
    unique = []
    for one in found:
        count = labels.get(one.label, 0) + 1
        labels[one.label] = count
        unique.append(one if count == 1 else replace(one, label=f"{one.label}-{count}"))
    return unique
