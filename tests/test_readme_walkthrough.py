"""The keystroke walk-through of the README and of the app's guide, pressed in the real app: it
must land where it says.

The README once said "press ↓ three times to pick numeric_crunching"; a fifth built-in moved it
and nothing noticed. This test reads the sentence from the README and docs/guides/app.md
themselves, so the text and the app cannot drift apart again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.tui.widgets import SpeedupChart
from tests.fakerunner import FakeRunners
from tests.tui_fixtures import make_app, with_results

ROOT = Path(__file__).resolve().parent.parent
WALK_THROUGHS = [ROOT / "README.md", ROOT / "docs" / "guides" / "app.md"]
COUNTS = {"once": 1, "twice": 2, "three times": 3, "four times": 4, "five times": 5}
FIRST_TRY = re.compile(
    r"A first try: press `↓` (?P<count>[a-z ]+?) to pick `(?P<name>\w+)`, `r` to run it"
    r".*?press `g` for the chart\s+and `v` for why",
    re.S,
)


def first_try(page: Path) -> tuple[int, str]:
    found = FIRST_TRY.search(page.read_text(encoding="utf-8"))
    assert found, (
        f"{page.name}: the 'A first try' walk-through is gone or reworded; update this test"
    )
    return COUNTS[found["count"]], found["name"]


@pytest.mark.parametrize("page", WALK_THROUGHS, ids=lambda p: p.name)
async def test_the_first_try_walk_through_lands_where_the_readme_says(
    page: Path, fake_runners: FakeRunners
) -> None:
    """`r` starts a session on in-process runners: what it plans is the subject, not a run."""
    presses, name = first_try(page)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(presses):
            await pilot.press("down")
        await pilot.pause()
        assert app.state.scenarios[app.state.selected].name == name
        # `r` runs that scenario: its session plans it, and nothing else.
        await pilot.press("r")
        await pilot.pause()
        assert app.state.session is not None
        planned = [plan.name for plan in app.state.session.plans]
        assert planned == [name]
        await app.stop_session()
        # With its results in, `g` shows the chart and `v` the verdicts, as the text says.
        with_results(app, name)
        await pilot.press("g")
        await pilot.pause()
        assert app.results_pane.view == "chart"
        assert app.query_one(SpeedupChart).display
        await pilot.press("v")
        await pilot.pause()
        assert app.results_pane.view == "verdicts"
