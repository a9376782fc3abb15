"""Report paths (issue 14, item 2): what is at the path is never replaced unless it is a regular
file. Devices and FIFOs are written through, symlinks are followed to their target, folders,
block devices, symlink loops and unknown users are refused with a sentence and exit 2."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lab.report.write import ReportPathError, target_problem, write_atomic
from lab.runner.system.child_env import child_env

TINY = (
    "title: Tiny\nworkload: {kind: dispatch, tasks: 20}\nexecutors: [serial]\nworkers: [1]\n"
    "repeats: 1\nwarmups: 0\n"
)


def lab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        capture_output=True, text=True, env=child_env(), timeout=120, cwd=cwd,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("os.mknod of a device needs root")


def test_char_device_is_written_through_not_replaced(tmp_path: Path) -> None:
    needs_root()
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    write_atomic(null, "report\n")
    assert stat.S_ISCHR(null.lstat().st_mode)
    assert null.lstat().st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_block_device_is_refused(tmp_path: Path) -> None:
    needs_root()
    disk = tmp_path / "loop"
    os.mknod(disk, stat.S_IFBLK | 0o600, os.makedev(7, 250))
    with pytest.raises(ReportPathError, match="block device"):
        write_atomic(disk, "report\n")
    assert stat.S_ISBLK(disk.lstat().st_mode)
    assert "block device" in (target_problem(str(disk)) or "")


def test_fifo_with_a_reader_gets_the_report(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read)
    reader.start()
    write_atomic(fifo, "x" * 200_000)  # more than a pipe buffer: the writes must block, not fail
    reader.join(10)
    assert got == [b"x" * 200_000]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_fifo_without_a_reader_is_refused_not_hung(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ReportPathError, match="nothing read from it"):
        write_atomic(fifo, "report\n")
    assert time.monotonic() - started < 30  # refused after the short wait, never hung
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_symlink_target_is_written_atomically_and_link_stays(tmp_path: Path) -> None:
    real = tmp_path / "data" / "report.md"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "latest.md"
    link.symlink_to(real)
    write_atomic(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new\n"
    assert sorted(p.name for p in real.parent.iterdir()) == ["report.md"]


NOBODY = 65534


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A folder like /tmp: sticky, and anyone may write to it."""
    if os.geteuid() != 0:
        pytest.skip("NOT CHECKED: a symlink owned by another user needs root to make")
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    return folder


def _planted(link: Path, target: Path, uid: int = NOBODY) -> Path:
    link.symlink_to(target)
    os.lchown(link, uid, uid)
    return link


@pytest.mark.parametrize("dangling", [False, True])
def test_another_users_symlink_in_a_shared_folder_is_never_followed(
    shared: Path, tmp_path: Path, dangling: bool
) -> None:
    """Root writing `--report /tmp/r.json`, where another user made /tmp/r.json point at a
    file of root's (or at a path where root would create one): refused, whatever the sysctl
    fs.protected_symlinks says, and the file is untouched."""
    victim = tmp_path / "victim.conf"
    if not dangling:
        victim.write_text("precious\n")
    link = _planted(shared / "r.json", victim)
    expected = f"{link} is a symlink that uid {NOBODY} put in {shared}, a folder anyone can"
    assert expected in (target_problem(str(link)) or "")
    with pytest.raises(ReportPathError, match="does not follow it"):
        write_atomic(link, "report\n")
    assert victim.read_text() == "precious\n" if not dangling else not victim.exists()
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--report", str(link), "numeric_crunching"],
        capture_output=True, text=True, timeout=60, env=child_env(),
    )  # fmt: skip
    assert done.returncode == 2 and expected in done.stderr and "nothing ran" in done.stderr
    assert victim.read_text() == "precious\n" if not dangling else not victim.exists()


def test_a_shared_folders_link_on_the_way_is_refused_too(shared: Path, tmp_path: Path) -> None:
    """Your own link, whose target passes through another user's link in /tmp."""
    (tmp_path / "etc").mkdir()
    _planted(shared / "evil", tmp_path / "etc")
    mine = tmp_path / "latest.json"
    mine.symlink_to(shared / "evil" / "cron")
    with pytest.raises(ReportPathError, match=r"evil is a symlink that uid 65534"):
        write_atomic(mine, "report\n")
    assert not (tmp_path / "etc" / "cron").exists()


def test_links_of_yours_or_roots_are_followed(shared: Path, tmp_path: Path) -> None:
    """Yours in a shared folder of root's; another user's anywhere is refused
    (tests/test_report_links.py)."""
    own = _planted(shared / "own.json", tmp_path / "own.json", uid=os.geteuid())
    write_atomic(own, "report\n")
    assert (tmp_path / "own.json").read_text() == "report\n"
    os.chown(shared, NOBODY, NOBODY)  # the folder's owner made this one
    owners = _planted(shared / "owners.json", tmp_path / "owners.json")
    with pytest.raises(ReportPathError, match="does not follow it"):
        write_atomic(owners, "report\n")
    assert not (tmp_path / "owners.json").exists()


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "latest.md"
    link.symlink_to(tmp_path / "new.md")
    write_atomic(link, "new\n")
    assert link.is_symlink() and (tmp_path / "new.md").read_text() == "new\n"


def test_symlink_loop_and_folder_are_refused(tmp_path: Path) -> None:
    loop = tmp_path / "a"
    loop.symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(loop)
    with pytest.raises(ReportPathError, match="symlink loop"):
        write_atomic(loop, "x")
    assert "symlink loop" in (target_problem(str(loop)) or "")
    with pytest.raises(ReportPathError, match="a folder"):
        write_atomic(tmp_path, "x")
    assert loop.is_symlink()


def test_unknown_user_is_a_sentence() -> None:
    with pytest.raises(ReportPathError, match="no such user"):
        write_atomic(Path("~nosuchuser-lab/x.json"), "x")


@pytest.mark.parametrize(
    "target, expected",
    [
        ("~nosuchuser-lab/x.json", "no such user"),
        ("DIR", "it is a folder"),
        ("LOOP", "symlink loop"),
        ("missing/x.json", "does not exist"),
    ],
)
def test_cli_refuses_bad_report_paths_with_exit_2(
    tmp_path: Path, target: str, expected: str
) -> None:
    (tmp_path / "DIR").mkdir()
    (tmp_path / "LOOP").symlink_to("LOOP")
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    out = lab("--report", target, str(scenario), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert expected in out.stderr and "nothing ran" in out.stderr
    assert "Traceback" not in out.stderr
    assert (tmp_path / "DIR").is_dir() and list((tmp_path / "DIR").iterdir()) == []


@pytest.mark.slow
def test_cli_report_through_a_device_and_a_symlink(tmp_path: Path) -> None:
    needs_root()
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    out = lab("--report", str(null), "--format", "json", str(scenario))
    assert out.returncode == 0, out.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    out = lab("--report", str(link), str(scenario))
    assert out.returncode == 0, out.stderr
    assert link.is_symlink() and real.read_text().startswith("{")


@pytest.mark.slow
def test_report_that_cannot_be_written_anywhere_says_where_it_went(tmp_path: Path) -> None:
    """The target is a FIFO nobody reads and stdout is /dev/full: the report lands in a file
    of the temp folder, the lab says which, and exits 1."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    env = {**child_env(), "TMPDIR": str(tmp_path)}
    with open("/dev/full", "w") as full:
        out = subprocess.run(
            [sys.executable, "-m", "lab", "--report", str(fifo), "--format", "json", str(scenario)],
            stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=120,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert "nothing read from it" in out.stderr
    saved = list(tmp_path.glob("concurrency-lab-report-*.json"))
    assert len(saved) == 1 and f"saved it as {saved[0]}" in out.stderr
    assert saved[0].read_text().startswith("{")


def test_dev_stdout_appends_through_the_open_descriptor(tmp_path: Path) -> None:
    """`--report /dev/stdout >> log`: the log keeps what it had and gets the report after it;
    it is neither overwritten from byte 0 nor replaced by a rename."""
    log = tmp_path / "ci.log"
    log.write_text("earlier build output\n")
    inode = log.stat().st_ino
    code = "from pathlib import Path; from lab.report.write import write_atomic; " + (
        "write_atomic(Path('/dev/stdout'), 'the report\\n')"
    )
    with open(log, "a") as out:
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=out, env=child_env(), timeout=60, check=False
        )
    assert done.returncode == 0
    assert log.read_text() == "earlier build output\nthe report\n"
    assert log.stat().st_ino == inode
    assert target_problem("/dev/stdout") is None
