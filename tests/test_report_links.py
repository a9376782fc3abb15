"""A symlink on the report path is followed only when it and every folder on its way are the
user's or root's, and so is the folder that gets the temp file (issue 21, section 5).

The real second user `nobody` owns the folder and the link; the lab runs as root.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.report.write import ReportPathError, target_problem, write_atomic
from lab.runner.system.child_env import child_env


def _nobody() -> int:
    if os.geteuid() != 0:
        pytest.skip("NOT CHECKED: folders and links of another user need root to make")
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("NOT CHECKED: this machine has no user `nobody`")


def _theirs(path: Path, uid: int) -> Path:
    os.lchown(path, uid, uid)
    return path


def _lab(report: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--report", str(report), "numeric_crunching", "--quick"],
        capture_output=True, text=True, timeout=120, env=child_env(),
    )  # fmt: skip
    return done, time.monotonic() - began


def test_root_never_writes_through_another_users_link_in_their_folder(tmp_path: Path) -> None:
    """The reproduction: /tmp/d owned by nobody (not sticky) holds nobody's r.json -> victim."""
    nobody = _nobody()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    folder = tmp_path / "d"
    folder.mkdir(mode=0o755)
    _theirs(folder, nobody)
    link = folder / "r.json"
    link.symlink_to(victim)
    _theirs(link, nobody)
    reason = f"{link} is a symlink that uid {nobody} put in {folder}; the lab does not follow it"
    assert reason in (target_problem(str(link)) or "")
    done, _ = _lab(link)
    assert done.returncode == 2, done.stderr
    assert reason in done.stderr and "nothing ran" in done.stderr
    assert "Traceback" not in done.stderr
    assert victim.read_text() == "precious\n"


def test_roots_own_link_in_another_users_folder_is_refused(tmp_path: Path) -> None:
    """Root's link, but nobody may rename another over it between the check and the write."""
    nobody = _nobody()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    folder = tmp_path / "d"
    folder.mkdir()
    _theirs(folder, nobody)
    link = folder / "r.json"
    link.symlink_to(victim)
    with pytest.raises(ReportPathError, match=rf"a folder of uid {nobody}, who can change"):
        write_atomic(link, "report\n")
    assert victim.read_text() == "precious\n"


def test_a_folder_of_theirs_higher_on_the_way_is_refused(tmp_path: Path) -> None:
    nobody = _nobody()
    outer = tmp_path / "outer"
    (outer / "inner").mkdir(parents=True)
    _theirs(outer, nobody)
    link = outer / "inner" / "r.json"
    link.symlink_to(tmp_path / "target.json")
    with pytest.raises(ReportPathError, match=rf"{outer}, a folder of uid {nobody}"):
        write_atomic(link, "report\n")
    assert not (tmp_path / "target.json").exists()


def test_the_temp_file_never_goes_in_their_folder_through_a_link(tmp_path: Path) -> None:
    """Root's own link in root's folder, pointing into a folder nobody owns: the temp file
    beside the target would be made where nobody can swap it."""
    nobody = _nobody()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    _theirs(theirs, nobody)
    link = tmp_path / "latest.json"
    link.symlink_to(theirs / "r.json")
    problem = target_problem(str(link)) or ""
    assert f"and {theirs} is a folder of uid {nobody}" in problem
    assert "does not put its temp file there" in problem
    done, _ = _lab(link)
    assert done.returncode == 2 and "its temp file" in done.stderr, done.stderr
    assert list(theirs.iterdir()) == []


def test_links_of_yours_and_roots_in_your_folders_are_followed(tmp_path: Path) -> None:
    _nobody()
    (tmp_path / "reports").mkdir()
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "reports" / "r.json")
    write_atomic(link, "report\n")
    assert link.is_symlink() and (tmp_path / "reports" / "r.json").read_text() == "report\n"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["r.json"]
