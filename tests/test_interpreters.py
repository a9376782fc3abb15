"""The interpreter axis without a second interpreter: finding and refusing interpreters, the
runner environment cache (built for the lab's own Python, which needs no download), runs of a
missing interpreter failing alone, uvloop skipped where it has no wheel, and the claims on
facts of a free-threaded build (tests/fixtures/free_threaded_report.json: a report in the shape
a CPython 3.14t run records, written by hand, as no free-threaded build is installed here)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab.analysis.analyse import analyse_report
from lab.analysis.summarise import finalise_scenario
from lab.engine.events import RunFinished, RunSkipped, ScenarioStarted
from lab.engine.interpreters import envcache
from lab.engine.interpreters.envbuild import _requirement_name, ensure_env
from lab.engine.interpreters.envcache import REQUIREMENTS, UVLOOP, CacheError, RunnerEnv
from lab.engine.interpreters.prepare import Interpreters
from lab.engine.interpreters.probe import probe, probe_all
from lab.engine.plan import make_plan, plan_scenario
from lab.engine.session import LabSession, scenario_result
from lab.report.formats import render
from lab.results.model import Report
from lab.scenario.loader import LoadedScenario

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "free_threaded_report.json"

TINY = """\
title: tiny
workload: {kind: numeric, kernel: primes, tasks: 4, tasks_per_worker: 1, size: 300}
executors: [serial, threads]
workers: [2]
repeats: 2
warmups: 0
processes: 1
min_time: 0
"""

# What `python -E -s -c PROBE` prints under CPython 2.7.18 (the probe is Python-2-clean, so a
# Python 2 answers it rather than failing on syntax) and under a CPython 3.10.
FAKE = """#!/bin/sh
echo '{{"version": [{v}], "implementation": "cpython", "cache_tag": {tag}, "abiflags": "", \
"free_threading_build": false, "executable": "'"$0"'", "prefix": "/usr", "platform": "linux-x86_64"}}'
"""


def fake_python(folder: Path, name: str, version: str, tag: str) -> Path:
    path = folder / name
    path.write_text(FAKE.format(v=version, tag=tag))
    path.chmod(0o755)
    return path


def test_missing_interpreter_is_named() -> None:
    assert probe("no-such-python3.99").problem == "no-such-python3.99: not found on PATH"
    assert probe("/nonexistent/bin/python3").problem == "/nonexistent/bin/python3: no such file"


@pytest.mark.parametrize(
    ("name", "version", "tag", "said"),
    [
        ("python2.7", "2, 7, 18", "null", "python2.7 is Python 2.7; the lab needs 3.11 or newer"),
        (
            "python3.10",
            "3, 10, 13",
            '"cpython-310"',
            "python3.10 is Python 3.10; the lab needs 3.11 or newer",
        ),
    ],
)
def test_too_old_interpreter_is_refused_in_words(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    version: str,
    tag: str,
    said: str,
) -> None:
    """No real Python 2 need exist: a tiny script named python2.7 on PATH answers the probe's
    question exactly as CPython 2.7.18 does (its output was taken from one). A real python2.7
    found on this machine, if any, is asked too."""
    fake_python(tmp_path, name, version, tag)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    found = probe(name)
    assert found.problem == said
    assert found.label == f"py{version.split(', ')[0]}.{version.split(', ')[1]}"
    real = Path.home() / ".pyenv" / "versions" / "2.7.18" / "bin" / "python2.7"
    if name == "python2.7" and real.exists():
        assert probe(str(real)).problem == f"{real} is Python 2.7; the lab needs 3.11 or newer"


@pytest.mark.parametrize("entry", [".", ""])
def test_a_bare_name_never_runs_a_file_planted_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    """Root with "." (or an empty entry) in PATH, in a folder someone else owns: a planted
    python3.77 there is not found; named by its path, it is what was asked for."""
    planted = fake_python(tmp_path, "python3.77", "3, 77, 0", '"cpython-377"')
    ran = tmp_path / "ran"
    planted.write_text(f"#!/bin/sh\ntouch {ran}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f"{entry}{os.pathsep}{os.environ.get('PATH', '')}")
    assert probe("python3.77").problem == "python3.77: not found on PATH"
    assert not ran.exists()
    probe("./python3.77")  # a path: the user named this very file
    assert ran.exists()


def test_labels_from_versions_and_made_unique(tmp_path: Path) -> None:
    own = probe_all([sys.executable])[0]
    assert own.problem is None and own.is_lab_python
    major, minor = sys.version_info[:2]
    assert own.label == f"py{major}.{minor}" + ("t" if own.free_threading_build else "")
    # Two builds of one version: the second gets a suffix. The same one named twice: once.
    twin = fake_python(tmp_path, "python-twin", f"{major}, {minor}, 0", f'"cpython-{major}{minor}"')
    labels = [i.label for i in probe_all([sys.executable, str(twin), sys.executable])]
    assert labels == [own.label, f"{own.label}-2"]


def test_runs_gain_the_interpreter_and_python_overrides_the_field(
    make_scenario: Callable[..., LoadedScenario],
) -> None:
    plain = plan_scenario(make_scenario(TINY), usable=2)
    assert [r.run_id for r in plain.runs] == ["serial-1", "threads-2"]  # no axis: unchanged
    named = make_scenario(TINY + "interpreters: [no-such-python3.99]\n")
    label = probe(sys.executable).label
    plan = plan_scenario(named.with_interpreters([sys.executable]), usable=2)
    assert [(r.run_id, r.interpreter) for r in plan.runs] == [
        (f"serial-1@{label}", label),
        (f"threads-2@{label}", label),
    ]
    both = plan_scenario(named.with_interpreters([sys.executable, "no-such-python3.99"]), usable=2)
    assert [r.run_id for r in both.runs][2:] == [
        "serial-1@no-such-python3.99",
        "threads-2@no-such-python3.99",
    ]


def test_the_runner_requirements_are_the_labs_own() -> None:
    """The environment installs what pyproject declares for the lab, and never Textual."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    by_name = {_requirement_name(d): d.split(";")[0].strip() for d in declared}
    for requirement in (*REQUIREMENTS, UVLOOP):
        assert by_name[_requirement_name(requirement)] == requirement
    assert not any("textual" in r for r in (*REQUIREMENTS, UVLOOP))


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "concurrency-lab"


def test_an_unsafe_cache_folder_is_refused(cache_home: Path) -> None:
    cache_home.mkdir(parents=True)
    cache_home.chmod(0o777)
    with pytest.raises(CacheError, match=r"writable by other users.*chmod go-w"):
        envcache.prepare_root()
    cache_home.chmod(0o700)
    assert envcache.prepare_root() == cache_home
    cache_home.rmdir()
    (cache_home.parent / "elsewhere").mkdir()
    cache_home.symlink_to(cache_home.parent / "elsewhere")
    with pytest.raises(CacheError, match="not a plain folder"):
        envcache.prepare_root()


@pytest.mark.parametrize("how", ["another user's", "writable by others", "a symlink"])
def test_a_cached_environment_someone_else_could_have_written_is_never_used(
    cache_home: Path, tmp_path: Path, how: str
) -> None:
    """A complete environment, sound by its marker, whose python must not run: it is refused
    before any runner starts, with the reason."""
    interp = probe(sys.executable)
    envcache.prepare_root()
    final = cache_home / envcache.env_name(interp)
    made = tmp_path / "planted" if how == "a symlink" else final
    site = made / "lib" / "site-packages"
    (site / "lab" / "runner").mkdir(parents=True)
    (site / "lab" / "runner" / "main.py").write_text("", encoding="utf-8")
    ran = tmp_path / "ran"
    python = envcache.env_python(made)
    python.parent.mkdir()
    python.write_text(f"#!/bin/sh\ntouch {ran}\n", encoding="utf-8")
    python.chmod(0o755)
    envcache.write_marker(made, interp, site, None)
    if how == "another user's":
        if os.geteuid() != 0:
            pytest.skip("NOT CHECKED: giving a folder to another user needs root")
        os.chown(final, 65534, 65534)
        expected = r"belongs to uid 65534, not to you"
    elif how == "writable by others":
        final.chmod(0o777)
        expected = r"writable by other users"
    else:
        final.symlink_to(made)
        expected = r"not a plain folder"
    assert envcache.read_env(final, interp) is not None  # sound, so only the check stands
    with pytest.raises(CacheError, match=expected):
        asyncio.run(ensure_env(interp, lambda _: None))
    assert not ran.exists()


@pytest.fixture(scope="module")
def own_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, RunnerEnv]]:
    """The runner environment of the lab's own Python: every package is copied from the lab's
    environment (same ABI), so pip has nothing to download."""
    home = tmp_path_factory.mktemp("xdg")
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(home)
    messages: list[str] = []
    try:
        env = asyncio.run(ensure_env(probe(sys.executable), messages.append))
        assert any("building its runner environment" in m for m in messages)
        yield home, env
    finally:
        if old is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = old


@pytest.mark.slow
def test_environment_is_complete_private_and_reused(own_env: tuple[Path, RunnerEnv]) -> None:
    _, env = own_env
    assert env.uvloop_problem is None
    assert env.path.parent.stat().st_mode & 0o077 == 0  # the cache folder is private
    site = next(env.path.glob("lib/python*/site-packages"))
    assert (site / "lab" / "runner" / "main.py").is_file()
    assert not (site / "lab" / "tui").exists()
    assert not list(site.glob("textual*")) and list(site.glob("pydantic*"))
    messages: list[str] = []
    again = asyncio.run(ensure_env(probe(sys.executable), messages.append))
    assert again == env and messages == []  # reused as it is: nothing built, nothing said
    leftovers = [p.name for p in env.path.parent.iterdir() if ".build-" in p.name]
    assert leftovers == []


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["python", "marker"])
def test_a_broken_environment_is_rebuilt(own_env: tuple[Path, RunnerEnv], damage: str) -> None:
    _, env = own_env
    if damage == "python":
        (env.path / "bin" / "python").unlink()
    else:
        (env.path / envcache.MARKER).write_text('{"key": ')
    messages: list[str] = []
    rebuilt = asyncio.run(ensure_env(probe(sys.executable), messages.append))
    assert any("is broken; rebuilding it" in m for m in messages), messages
    assert rebuilt.path == env.path and os.access(rebuilt.python, os.X_OK)
    assert json.loads((rebuilt.path / envcache.MARKER).read_text())["key"]
    assert not any(".broken-" in p.name for p in env.path.parent.iterdir())


@pytest.mark.slow
def test_missing_interpreter_fails_its_runs_only(
    make_scenario: Callable[..., LoadedScenario], cache_home: Path
) -> None:
    """The lab's own Python needs no environment; the missing one's runs fail with the reason,
    and the others are measured."""
    loaded = make_scenario(TINY).with_interpreters(["no-such-python3.99", sys.executable])
    session = LabSession(make_plan([loaded]))

    async def consume() -> list[object]:
        return [event async for event in session.events()]

    events = asyncio.run(consume())
    runs = {r.run_id: r for r in session.report.scenarios[0].runs}
    own = probe(sys.executable).label
    for run_id in ("serial-1@no-such-python3.99", "threads-2@no-such-python3.99"):
        assert runs[run_id].status == "failed"
        assert runs[run_id].error is not None
        assert runs[run_id].error.message == "no-such-python3.99: not found on PATH"
    for run_id in (f"serial-1@{own}", f"threads-2@{own}"):
        assert runs[run_id].status == "ok", runs[run_id].error
        assert runs[run_id].gil_enabled is not None  # the runner said
    finished = [e.run_id for e in events if isinstance(e, RunFinished)]
    assert sorted(finished) == sorted(runs)
    text = render(session.report, "md")
    assert f"## tiny ({own}) (`test@{own}`)" in text
    assert "no-such-python3.99: not found on PATH" in text
    assert not cache_home.exists()  # nothing needed building


def test_uvloop_without_a_wheel_is_skipped_for_that_interpreter(
    make_scenario: Callable[..., LoadedScenario], tmp_path: Path
) -> None:
    loaded = make_scenario(TINY.replace("[serial, threads]", "[serial, uvloop]")).with_interpreters(
        [sys.executable]
    )
    plan = plan_scenario(loaded, usable=2)
    label = plan.interpreters[0].label
    report = Report(machine={})
    result = scenario_result(plan)
    report.scenarios = [result]
    interpreters = Interpreters(report)
    why = f"uvloop has no wheel for {label} (no matching distribution): its uvloop runs are skipped"
    interpreters.outcomes[label] = RunnerEnv(tmp_path, tmp_path / "bin" / "python", why)

    async def consume() -> list[object]:
        return [e async for e in interpreters.prepare(plan, result)]

    skipped_id = next(r.run_id for r in plan.runs if r.executor == "uvloop")
    assert asyncio.run(consume()) == [RunSkipped(plan.name, skipped_id, why)]
    prepared = interpreters.prepared
    assert prepared is not None
    assert [r.run_id for r in prepared.plan.runs] == [f"serial-1@{label}"]
    assert [r.run_id for r in result.runs] == [f"serial-1@{label}"]
    assert result.skipped == {f"uvloop@{label}": why}
    assert prepared.pythons == {label: tmp_path / "bin" / "python"}


def test_a_skipped_run_completes_the_counts_of_headless_and_the_app(
    make_scenario: Callable[..., LoadedScenario],
) -> None:
    """Planned, then skipped when its interpreter's environment turns out to lack uvloop: the
    `[n/total]` counters must still end at their total."""
    import io

    from lab.headless import Progress
    from lab.tui.live import LiveState, describe

    loaded = make_scenario(TINY.replace("[serial, threads]", "[serial, uvloop]"))
    plan = plan_scenario(loaded.with_interpreters([sys.executable]), usable=2)
    uvloop_id = next(r.run_id for r in plan.runs if r.executor == "uvloop")
    events = [
        ScenarioStarted(plan.name, "tiny", tuple(plan.runs)),
        RunSkipped(plan.name, uvloop_id, "uvloop has no wheel for it"),
    ]
    stderr = io.StringIO()
    progress = Progress(stderr, len(plan.runs))
    live = LiveState.for_plans([plan])
    for event in events:
        progress.handle(event)
        live.apply(event)
    assert progress.total_runs == len(plan.runs) - 1
    assert f"{uvloop_id} skipped   uvloop has no wheel for it" in stderr.getvalue()
    run = live.runs[(0, uvloop_id)]
    assert live.runs_done == 1 and run.finished
    assert describe(run) == "skipped: uvloop has no wheel for it"


def _free_threaded() -> Report:
    report = Report.from_json(json.loads(FIXTURE.read_text()))
    for result in report.scenarios:  # a loaded report keeps its summaries: derive them
        finalise_scenario(result, 4)
    return report


def test_threads_claim_refuted_on_a_free_threaded_build() -> None:
    """A 3.14t run's facts (the fixture): threads scale, and the claim says why."""
    analysis = analyse_report(_free_threaded())
    claim = next(c for c in analysis.scenarios[0].claims if c.id == "threads_cpu")
    assert claim.status == "refuted"
    assert claim.figures == (
        "threads 1.92x at 2 workers, 1.90 of 4 cores busy: py3.14t is a free-threaded build "
        "with the GIL off, so threads run bytecode in parallel"
    )
    assert claim.note.startswith("py3.14t has no GIL")
    assert any(
        n.startswith("py3.14t is a free-threaded build with the GIL off") for n in analysis.notes
    )
    # The lab's own Python (with a GIL) ran no workload: no note about it.
    assert not any("this Python build has no GIL" in n for n in analysis.notes)


def test_gil_turned_back_on_reads_as_a_gil() -> None:
    """The same build where an extension turned the GIL on in the threads runs (and they did
    not scale): the claim holds, and the note says the build is free-threaded but the GIL was on."""
    data = json.loads(FIXTURE.read_text())
    runs = data["scenarios"][0]["runs"]
    serial = runs[0]["repeats"]
    for run in runs[1:]:
        run["gil_enabled"] = True
        run["repeats"] = [dict(r) for r in serial]  # no faster than serial
    data["interpreters"]["py3.14t"].update(gil_enabled=True, gil_enabled_by=["uvloop.loop"])
    report = Report.from_json(data)
    finalise_scenario(report.scenarios[0], 4)
    analysis = analyse_report(report)
    claim = next(c for c in analysis.scenarios[0].claims if c.id == "threads_cpu")
    assert claim.status == "confirmed", claim
    assert any("GIL was on in its threads runs" in n for n in analysis.notes)
    text = render(report, "md")
    assert "| py3.14t | CPython 3.14.0 | free-threaded | on (turned on by uvloop.loop) |" in text


def test_an_axis_report_round_trips_through_json_and_validates() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from lab.report.schema import REPORT_SCHEMA

    data = json.loads(render(_free_threaded(), "json"))
    jsonschema.validate(data, REPORT_SCHEMA)
    again = Report.from_json(data)
    assert again.interpreters["py3.14t"]["free_threading_build"] is True
    assert again.scenarios[0].interpreter == "py3.14t"
    assert {r.interpreter for r in again.scenarios[0].runs} == {"py3.14t"}
    assert render(again, "md") == render(_free_threaded(), "md")


def _two_interpreters() -> Report:
    """The fixture's free-threaded scenario as a session holds it in memory: one result with
    the runs of two interpreters (the second a copy relabelled py3.13, its GIL on)."""
    data = json.loads(FIXTURE.read_text())
    scenario = data["scenarios"][0]
    del scenario["interpreter"]
    scenario["name"] = "numeric_crunching"
    copies = json.loads(json.dumps(scenario["runs"]))
    for run in copies:
        run.update(interpreter="py3.13", gil_enabled=True)
        run["run_id"] = run["run_id"].replace("py3.14t", "py3.13")
    scenario["runs"] += copies
    data["interpreters"]["py3.13"] = {"name": "python3.13", "version": "3.13.0"}
    return Report.from_json(data)


def test_the_app_shows_one_interpreter_at_a_time() -> None:
    from lab.tui.state import LabState

    state = LabState.for_report(_two_interpreters())
    seen = []
    for _ in range(3):
        result, _ = state.shown_result()
        assert result is not None
        seen.append((result.name, result.runs[0].run_id))
        state.cycle_results(1)
    assert seen == [
        ("numeric_crunching@py3.14t", "serial-1@py3.14t"),
        ("numeric_crunching@py3.13", "serial-1@py3.13"),
        ("numeric_crunching@py3.14t", "serial-1@py3.14t"),
    ]
    result, _ = state.shown_result()
    assert result is not None
    analysis = state.analysis(0, result)
    assert analysis is not None
    claim = next(c for c in analysis.claims if c.id == "threads_cpu")
    assert claim.status == "refuted"  # read with py3.14t's facts, not the lab's own Python


def test_compare_matches_runs_by_interpreter() -> None:
    from lab.compare.matching import compare_reports

    saved = Report.from_json(json.loads(render(_two_interpreters(), "json")))
    pair = compare_reports(saved, saved)
    assert not pair.unmatched
    assert sorted(m.a.run_id for m in pair.matched) == sorted(
        f"{run}@{label}"
        for run in ("serial-1", "threads-2", "threads-4")
        for label in ("py3.13", "py3.14t")
    )
    assert all(m.a.interpreter == m.b.interpreter for m in pair.matched)
    text = render(_two_interpreters(), "md")
    assert "| numeric_crunching | threads-4 | py3.13 vs py3.14t | 1.00× |" in text


def test_the_module_that_turned_the_gil_on_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No free-threaded build here: a module warns at import exactly as CPython 3.13t does when
    it turns the GIL on for an extension, and the runner's search names it (ahead of the
    module after whose import the GIL was merely found on)."""
    from lab.runner.system.pyfacts import gil_enabled_by

    (tmp_path / "gil_trap.py").write_text(
        "import warnings\n"
        'warnings.warn("The global interpreter lock (GIL) has been enabled to load module '
        "'gil_trap', which has not declared that it can run safely without the GIL. To "
        "override this behavior and keep the GIL disabled (at your own risk), run with "
        'PYTHON_GIL=0 or -Xgil=0.", RuntimeWarning)\n'
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    assert gil_enabled_by(["json", "gil_trap"]) == ["gil_trap"]
