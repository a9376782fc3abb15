"""A big sweep asks before it starts in the app, as headless mode asks for --yes."""

from __future__ import annotations

from pathlib import Path

from lab.scenario.loader import resolve
from lab.tui.app import LabApp
from lab.tui.screens import ConfirmScreen
from tests.fakerunner import FakeRunners
from tests.tui_fixtures import MACHINE

BIG_SWEEP = (
    "title: Big sweep\n"
    "workload: {kind: numeric, tasks: 2, size: 1000}\n"
    "executors: [serial]\nworkers: [1]\nrepeats: 1\nwarmups: 0\nmin_time: 0\n"
    "sweep: {size: [1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000]}\n"
)


async def test_a_big_sweep_asks_first_and_no_runs_nothing(
    tmp_path: Path, fake_runners: FakeRunners
) -> None:
    """y starts the session (on in-process runners: the dialog is the subject)."""
    path = tmp_path / "big.yaml"
    path.write_text(BIG_SWEEP)
    app = LabApp(resolve([str(path)]), machine=MACHINE, loop_name="test loop")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "11 values" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert not app.running and app.state.session is None and app._worker is None

        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        # y started the session (its worker); on in-process runners it may be over already.
        assert app._worker is not None
        await pilot.press("x")  # stop all: the test only needs to see it start
        for _ in range(100):
            if not app.running:
                break
            await pilot.pause(0.05)
        assert not app.running
