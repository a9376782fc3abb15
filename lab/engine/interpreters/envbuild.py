"""Build (once) the runner environment of an interpreter, atomically, in the lab's cache.

A venv made by that interpreter (`--without-pip`: the lab's own pip installs into it with
`pip --python`), holding a copy of the lab's runner-side package and the runner's dependencies.
Installed distributions of the lab's own environment that suit the interpreter (pure Python, or
built for the same ABI) are copied instead of downloaded. Everything happens in a temp folder
beside the final one, renamed into place when complete; a lock file keeps two labs from building
the same environment at once. uvloop is installed from wheels only: an interpreter it has no wheel
for gets an environment without it, and its uvloop runs are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import os
import re
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import AsyncIterator, Callable
from importlib import metadata
from pathlib import Path

from lab.core.optional import interpreters_problem
from lab.engine.interpreters.envcache import (
    INTERPRETERS_BACKPORT,
    REQUIREMENTS,
    UVLOOP,
    CacheError,
    RunnerEnv,
    check_owned,
    env_name,
    env_python,
    lab_root,
    prepare_root,
    read_env,
    source_files,
    write_marker,
)
from lab.engine.interpreters.probe import Interpreter
from lab.runner.system.groups import kill_group
from lab.scenario.models import UVLOOP as UVLOOP_MODEL

Progress = Callable[[str], None]
# uvloop's wheel is named as its module is.
UVLOOP_MODULE = str(UVLOOP_MODEL.needs_module)
LOCK_POLL = 0.2
NOISE = re.compile(r"^(WARNING: Location|\s*$)")  # pip's chatter about index folders


class EnvError(Exception):
    """The environment could not be built; the message says why, for that interpreter's runs."""


async def _run(command: list[str], timeout: float = 900.0) -> tuple[int, str]:
    """A build step in its own process group, killed whole if the session is cancelled."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env, cwd="/", start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except BaseException:
        kill_group(proc.pid)
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(proc.wait(), 5)
        raise
    return proc.returncode or 0, out.decode(errors="replace")


def _last_words(output: str, lines: int = 3) -> str:
    said = [line.strip() for line in output.splitlines() if not NOISE.match(line)]
    return " / ".join(said[-lines:])[:400] or "no output"


@contextlib.asynccontextmanager
async def _locked(path: Path, progress: Progress, label: str) -> AsyncIterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    told = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    progress(f"{label}: another lab is building this environment; waiting")
                    told = True
                await asyncio.sleep(LOCK_POLL)
        yield
    finally:
        os.close(fd)


def _wheel_fits(dist: metadata.Distribution, interp: Interpreter) -> bool:
    """Whether an installed distribution of the lab's environment runs under `interp` as is:
    pure Python, or built for its exact ABI (or the stable ABI, which free-threaded builds lack)."""
    try:
        wheel = dist.read_text("WHEEL") or ""
    except OSError:
        return False
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    if not tags or interp.version is None or interp.implementation != "cpython":
        return False
    major, minor = interp.version[:2]
    same_platform = interp.platform == sysconfig.get_platform()
    for tag in tags:
        py, abi, plat = tag.split("-", 2)
        if abi == "none" and plat == "any" and py.startswith("py3"):
            return True
        if not same_platform:
            continue
        if abi == f"cp{major}{minor}{interp.abiflags}":
            return True
        stable = abi == "abi3" and not interp.free_threading_build and py.startswith("cp3")
        if stable and py[3:].isdigit() and int(py[3:]) <= minor:
            return True
    return False


def _requirement_name(text: str) -> str:
    found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text.strip())
    return re.sub(r"[-_.]+", "-", found.group(0)).lower() if found else ""


def _closure() -> list[metadata.Distribution]:
    """The runner's dependencies as installed for the lab, with theirs (extras left out)."""
    wanted = [_requirement_name(r) for r in (*REQUIREMENTS, UVLOOP)]
    seen: dict[str, metadata.Distribution] = {}
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for req in dist.requires or []:
            if "extra ==" not in req:
                wanted.append(_requirement_name(req))
    return list(seen.values())


def _copy_tree_files(files: list[tuple[Path, Path]]) -> None:
    for source, target in files:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def reuse_installed(site: Path, interp: Interpreter) -> list[str]:
    """Copy the lab's installed distributions that suit `interp` into `site`; their names."""
    copied = []
    for dist in _closure():
        if not _wheel_fits(dist, interp):
            continue
        pairs = []
        for rel in dist.files or []:
            if rel.parts[0] == ".." or "__pycache__" in rel.parts:
                continue  # scripts in bin/, compiled caches: the target compiles its own
            source = Path(str(dist.locate_file(rel)))
            if source.is_file():
                pairs.append((source, site / Path(str(rel))))
        if pairs:
            _copy_tree_files(pairs)
            copied.append(dist.metadata["Name"])
    return copied


def copy_lab(site: Path) -> None:
    root = lab_root()
    _copy_tree_files([(p, site / "lab" / p.relative_to(root)) for p in source_files()])


async def _pip(python: Path) -> list[str]:
    """How to run pip on `python`'s environment: the lab's own pip, else ensurepip's."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip", "--python", str(python)]
    code, out = await _run([str(python), "-m", "ensurepip", "--default-pip"])
    if code:
        raise EnvError(f"neither the lab nor this interpreter has pip: {_last_words(out)}")
    return [str(python), "-m", "pip"]


PIP_FLAGS = ["install", "--disable-pip-version-check", "--no-input", "--no-warn-script-location"]


async def _build(tmp: Path, interp: Interpreter, progress: Progress, reuse: bool) -> RunnerEnv:
    label = interp.label
    assert interp.path is not None
    code, out = await _run([interp.path, "-E", "-s", "-m", "venv", "--without-pip", str(tmp)])
    if code:
        raise EnvError(f"{interp.name} could not create a venv: {_last_words(out)}")
    python = env_python(tmp)
    code, out = await _run(
        [str(python), "-E", "-s", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    )
    site = Path(out.strip().splitlines()[-1]) if code == 0 and out.strip() else None
    if site is None or not site.is_relative_to(tmp):
        raise EnvError(f"{interp.name}'s venv has no site-packages folder: {_last_words(out)}")
    copy_lab(site)
    if reuse:
        copied = await asyncio.to_thread(reuse_installed, site, interp)
        if copied:
            progress(f"{label}: reused {len(copied)} installed packages ({', '.join(copied)})")
    pip = await _pip(python)
    names = ", ".join(_requirement_name(r) for r in (*REQUIREMENTS, UVLOOP))
    progress(f"{label}: installing {names} with pip")
    # One pip run when uvloop has a wheel (the common case); without one, a second run
    # installs the rest, and uvloop's runs are skipped for this interpreter.
    code, out = await _run([*pip, *PIP_FLAGS, "--prefer-binary", "--only-binary", UVLOOP_MODULE,
                            *REQUIREMENTS, UVLOOP])  # fmt: skip
    uvloop_problem = None
    if code:
        progress(f"{label}: pip failed with uvloop; installing the rest without it")
        code, rest = await _run([*pip, *PIP_FLAGS, "--prefer-binary", *REQUIREMENTS])
        if code:
            raise EnvError(f"pip could not install the runner's dependencies: {_last_words(rest)}")
        uvloop_problem = (
            f"uvloop could not be installed for {label} (no wheel for it?): "
            f"{_last_words(out, 1)}; its uvloop runs are skipped"
        )
    pool_problem = await _interpreter_pool(pip, interp, progress)
    write_marker(tmp, interp, site, uvloop_problem, pool_problem)
    return RunnerEnv(tmp, python, uvloop_problem, pool_problem)


async def _interpreter_pool(pip: list[str], interp: Interpreter, progress: Progress) -> str | None:
    """The backport of the sub-interpreter pool where the interpreter needs it (3.13); why the
    environment's interpreters runs cannot run, or None."""
    version = tuple(interp.version[:2]) if interp.version else None
    if version is None or interp.implementation != "cpython":
        return f"{interp.label}: sub-interpreter pools need CPython 3.13 or later"
    if version != (3, 13):  # too old (said why), or the standard library's pool (3.14+)
        problem = interpreters_problem((version[0], version[1]))
        return f"{interp.label}: {problem}; its interpreters runs are skipped" if problem else None
    progress(f"{interp.label}: installing {_requirement_name(INTERPRETERS_BACKPORT)} with pip")
    code, out = await _run([*pip, *PIP_FLAGS, "--prefer-binary", INTERPRETERS_BACKPORT])
    if code:
        return (
            f"{interp.label}: the interpreters-pep-734 backport could not be installed: "
            f"{_last_words(out, 1)}; its interpreters runs are skipped"
        )
    return None


def _remove_broken(final: Path, root: Path) -> None:
    """Move a broken environment aside, then remove it: only a plain folder of our own."""
    check_owned(final)
    aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.broken-", dir=root))
    os.rename(final, aside / "env")
    shutil.rmtree(aside, ignore_errors=True)


async def ensure_env(interp: Interpreter, progress: Progress) -> RunnerEnv:
    """The interpreter's runner environment: the cached one when sound, else built now.

    Raises CacheError (the cache cannot be trusted) or EnvError (the build failed), whose
    message says why, for that interpreter's runs only.
    """
    root = prepare_root()
    final = root / env_name(interp)
    found = read_env(final, interp)
    if found is not None:
        return _trusted(found)
    async with _locked(root / f".{final.name}.lock", progress, interp.label):
        found = read_env(final, interp)  # another lab may have built it while we waited
        if found is not None:
            return _trusted(found)
        if os.path.lexists(final):
            progress(f"{interp.label}: the cached environment {final} is broken; rebuilding it")
            try:
                _remove_broken(final, root)
            except OSError as exc:
                raise CacheError(f"cannot remove {final}: {exc.strerror or exc}") from None
        progress(f"{interp.label}: building its runner environment in {final} (once)")
        for reuse in (True, False):
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.build-", dir=root))
            try:
                env = await _build(tmp, interp, progress, reuse)
                os.rename(tmp, final)
                return RunnerEnv(
                    final, env_python(final), env.uvloop_problem, env.interpreters_problem
                )
            except EnvError:
                if not reuse:
                    raise
                progress(f"{interp.label}: retrying without the reused packages")
            except OSError as exc:
                raise EnvError(f"could not build the environment: {exc.strerror or exc}") from None
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
    raise AssertionError("unreachable")


def _trusted(env: RunnerEnv) -> RunnerEnv:
    """A cached environment whose python the runners may start: a plain folder of ours that no
    one else can write to. The cache folder is checked the same way, but an environment made
    before it was (while it was open to others, or by another user) could still be theirs."""
    check_owned(env.path)
    return env


def describe_problem(exc: CacheError | EnvError, interp: Interpreter) -> str:
    return f"{interp.name}: {exc}"
