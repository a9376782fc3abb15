"""`folder:` hashing says what it left out and why a run failed (issue 14, low items):
subfolders it cannot list, symlinks (loops included), FIFOs and devices are skipped with a
warning, and a file written to while it is hashed fails the run with the reason."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.runner.main import describe
from lab.runner.system.child_env import child_env
from lab.runner.workloads.hashing import FileChanged, _folder_files, hash_file
from tests.conftest import LabSandbox


@pytest.fixture
def folder() -> Iterator[Path]:
    # Under /tmp and world-traversable, so another user can walk it too.
    root = Path(tempfile.mkdtemp(prefix="lab-hash-", dir="/tmp"))
    root.chmod(0o755)
    (root / "a.bin").write_bytes(b"a" * 1000)
    (root / "sub").mkdir(mode=0o755)
    (root / "sub" / "b.bin").write_bytes(b"b" * 1000)
    os.mkfifo(root / "pipe")
    (root / "loop").symlink_to(root / "loop")
    (root / "up").symlink_to(root)  # a directory symlink back to the top: a cycle if followed
    (root / "gone").symlink_to(root / "missing")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_folder_walk_skips_what_it_cannot_hash_and_says_so(folder: Path) -> None:
    files, skipped = _folder_files(str(folder))
    assert files == [str(folder / "a.bin"), str(folder / "sub" / "b.bin")]
    assert skipped == sorted(
        [
            f"{folder / 'gone'} (a symlink, not followed)",
            f"{folder / 'loop'} (a symlink, not followed)",
            f"{folder / 'pipe'} (not a regular file)",
            f"{folder / 'up'} (a symlink, not followed)",
        ]
    )


def test_a_subfolder_that_cannot_be_listed_is_named(folder: Path) -> None:
    """Root lists any folder, so the walk runs as `nobody`, for whom mode 000 is real."""
    try:
        nobody = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("no user 'nobody'")
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    (folder / "sub").chmod(0o000)
    # The interpreter lives in root's home: load everything as root, then become nobody.
    code = (
        "import json, os, sys; from lab.runner.workloads.hashing import _folder_files; "
        f"os.setuid({nobody}); print(json.dumps(_folder_files(sys.argv[1])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        capture_output=True, text=True, timeout=60, env=child_env(),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    files, skipped = json.loads(out.stdout)
    assert files == [str(folder / "a.bin")]
    assert f"{folder / 'sub'} (cannot list it: Permission denied)" in skipped


@pytest.mark.slow
def test_the_report_warns_about_skipped_entries(
    folder: Path, tmp_path: Path, lab_sandbox: LabSandbox
) -> None:
    scenario = tmp_path / "h.yaml"
    scenario.write_text(
        f"title: Folder\nworkload: {{kind: hashing, folder: '{folder}'}}\n"
        "executors: [serial]\nworkers: [1]\nrepeats: 1\nwarmups: 0\nmin_time: 0\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "lab", "--report", "-", "--format", "json", str(scenario)],
        capture_output=True, text=True, env=lab_sandbox.env(), timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["scenarios"][0]
    (warning,) = [w for w in result["warnings"] if w["code"] == "folder_skipped"]
    assert warning["message"].startswith(f"4 entries under {folder} were not hashed: ")
    assert f"{folder / 'pipe'} (not a regular file)" in warning["message"]


def test_a_file_written_while_hashed_fails_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "growing.bin"
    path.write_bytes(b"x" * 200_000)
    stop = threading.Event()

    def append() -> None:
        with open(path, "ab") as f:
            while not stop.is_set():
                f.write(b"y")
                f.flush()
                time.sleep(0.001)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        with pytest.raises(FileChanged) as caught:
            hash_file((0, str(path), "sha256", 1))  # a byte per read: the writer gets in
    finally:
        stop.set()
        writer.join()
    message = describe(caught.value, "tasks")
    assert message.startswith(f"wrong answer: {path} changed while it was hashed (")
    assert "hash a folder that nothing writes to while the lab runs" in message


def test_an_unchanged_file_hashes_as_before(tmp_path: Path) -> None:
    path = tmp_path / "still.bin"
    path.write_bytes(b"z" * 5000)
    import hashlib

    assert hash_file((3, str(path), "sha256", 64)) == (
        3,
        hashlib.sha256(b"z" * 5000).hexdigest(),
        5000,
    )
