"""The Run tab repaints only what a person would see change (issue 23, part 3).

In a real terminal every repaint is CPU taken from the measured runs and bytes written to the
pty, so: a progress bar is touched only when its whole percent moves, a row's live figures
(ETA, throughput) at most once a second while its phase and repeat show at once, the CPU
meters only when a printed percent or colour moves, and no row keeps a timer of its own.
Real widgets in a real (headless) app; the spies count calls and then call the real method.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from textual.widget import Widget
from textual.widgets import Label, ProgressBar, Static

from lab.engine.events import CpuSample, RunProgress, RunStarted
from lab.tui.app import LabApp
from lab.tui.widgets import CpuMeters, RunRow
from tests.tui_fixtures import make_app, with_live_runs


@pytest.fixture(autouse=True)
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lab.engine.plan.usable_cpus", lambda: 2)


def spy(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> Counter[int]:
    """Count `cls.name` calls per instance (by id), still running the real method."""
    calls: Counter[int] = Counter()
    real: Callable[..., Any] = getattr(cls, name)

    def counting(self: object, *args: Any, **kwargs: Any) -> Any:
        calls[id(self)] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, counting)
    return calls


def current_row(app: LabApp) -> RunRow:
    current = app.state.live.current
    assert current is not None
    return app.run_pane.rows[current]


def progress(app: LabApp, fraction: float, repeat: int = 1, throughput: float = 31.5) -> None:
    assert app.state.live.current is not None
    run_id = app.state.live.current[1]
    app.state.live.apply(
        RunProgress(
            "numeric_crunching", run_id, "repeat", repeat, 32, 64, fraction, 3.0, throughput
        )
    )


async def test_run_rows_wake_no_timers_while_nothing_happens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual's ProgressBar updates itself once a second for an ETA the rows never show."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        updates = spy(monkeypatch, ProgressBar, "update")  # before the bars bind it to a timer
        await with_live_runs(app)
        await pilot.pause()
        updates.clear()
        await pilot.pause(2.5)  # no event arrives: nothing on the Run tab has news
        assert not updates, f"{sum(updates.values())} bar updates with no progress at all"


async def test_a_bar_is_touched_only_when_its_whole_percent_moves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await with_live_runs(app)  # the current run at 50%
        await pilot.pause()
        row = current_row(app)
        updates = spy(monkeypatch, ProgressBar, "update")
        for fraction in (0.501, 0.503, 0.5049):  # the bar and its label still read 50%
            progress(app, fraction)
            app.run_pane.paint("status", now=100.0)
        assert updates[id(row._bar)] == 0
        progress(app, 0.512)
        app.run_pane.paint("status", now=100.0)
        assert updates[id(row._bar)] > 0  # (ProgressBar's own watcher calls update again)
        await pilot.pause()
        assert row._bar.percentage == pytest.approx(0.512)


async def test_live_figures_repaint_once_a_second_and_a_new_repeat_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await with_live_runs(app)
        await pilot.pause()
        row = current_row(app)
        status = row._status_label
        shown = str(status.render())
        start = time.monotonic() + 10  # the rows were first painted on the real clock
        progress(app, 0.52, throughput=40.0)
        app.run_pane.paint("status", now=start)  # a new figure: painted, the clock starts
        labels = spy(monkeypatch, Label, "update")
        for step, throughput in enumerate((41.0, 42.0, 43.0)):  # three paints within a second
            progress(app, 0.52, throughput=throughput)
            app.run_pane.paint("status", now=start + 0.25 + 0.25 * step)
        assert labels[id(status)] == 0, "figures repainted more than once a second"
        app.run_pane.paint("status", now=start + 1.0)  # a second on: the latest figures, unasked
        assert labels[id(status)] == 1
        assert "43" in str(status.render()) and str(status.render()) != shown
        progress(app, 0.6, repeat=2, throughput=44.0)  # a new repeat shows at the next paint
        app.run_pane.paint("status", now=start + 1.1)
        assert labels[id(status)] == 2
        assert "repeat 3/3" in str(status.render())


async def test_cpu_meters_repaint_only_when_a_printed_percent_moves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await with_live_runs(app)  # meters at 97, 12, 3 and 55%
        await pilot.pause()
        meters = app.run_pane.cpu
        refreshes = spy(monkeypatch, Widget, "refresh")
        meters.set_sample((97.2, 11.8, 3.4, 54.6))  # prints the same: 97 12 3 55
        assert refreshes[id(meters)] == 0
        meters.set_sample((97.2, 13.0, 3.4, 54.6))
        assert refreshes[id(meters)] == 1
        assert "13%" in str(meters.render())
        meters.set_sample((97.2, 13.0, 3.4, 50.4))
        assert refreshes[id(meters)] == 2
        meters.set_sample((97.2, 13.0, 3.4, 49.6))  # 50% either way, but yellow turns green
        assert refreshes[id(meters)] == 3


async def test_the_meters_still_follow_samples_through_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The state's samples reach the meters on the app's timer (no regression of the skip)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await with_live_runs(app)
        await pilot.pause()
        assert app.state.live.current is not None
        app.state.live.apply(CpuSample((10.0, 20.0, 30.0, 40.0), app.state.live.current[1]))
        app.run_pane.paint("status", now=time.monotonic() + 10)
        assert isinstance(app.run_pane.cpu, CpuMeters)
        assert app.run_pane.cpu.per_core == (10.0, 20.0, 30.0, 40.0)


async def test_naming_the_next_run_repaints_the_header_not_the_screen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In rounds the run in flight changes several times a second; the subtitle names it."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await with_live_runs(app)  # uvloop-2 in flight
        await pilot.pause()
        screen = app.screen
        nxt = app.state.live.runs[(0, "threads-1")]
        refreshes = spy(monkeypatch, Widget, "refresh")
        layouts: list[Widget] = []
        real_refresh = Widget.refresh  # the spy, which counts and then refreshes

        def noting_layouts(self: Widget, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("layout"):
                layouts.append(self)
            return real_refresh(self, *args, **kwargs)

        monkeypatch.setattr(Widget, "refresh", noting_layouts)
        app.state.live.apply(
            RunStarted("numeric_crunching", "threads-1", nxt.executor, nxt.workers, 64, 0, 3)
        )
        app._paint()
        assert refreshes[id(screen)] == 0, "the whole screen repainted to change one line"
        assert not layouts, f"a new run laid out {layouts} again"
        await pilot.pause()
        assert app.sub_title == "running threads-1"
        title = screen.query_one("HeaderTitle", Static)
        assert "running threads-1" in str(title.render())
