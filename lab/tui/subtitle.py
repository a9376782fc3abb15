"""The app's subtitle while runs are live, set without repainting the whole screen."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Header, Static


def show_live_subtitle(app: App[Any], screen: Screen[Any], subtitle: str) -> None:
    """Name the run in flight in the header of `screen`, repainting its title line alone.

    Setting `App.sub_title` repaints every cell of the screen (an App reactive refreshes the
    whole screen), and in rounds the run in flight changes several times a second.
    """
    if subtitle == app.sub_title:
        return
    try:
        header = screen.query_one(Header)
        title = header.query_one("HeaderTitle", Static)
    except NoMatches:  # no header to repaint on its own: let Textual do it all
        app.sub_title = subtitle
        return
    app.set_reactive(App.sub_title, subtitle)  # its watchers would refresh the screen
    title.update(header.format_title(), layout=False)  # the title keeps its width
