"""The last defence between the app and the terminal (see lab.tui.shown): every line any
widget paints passes `UnsafeCharacters` (`App.get_line_filters`), so a control, bidi or format
character that reached a widget by a path that forgot `safe_text` is still shown escaped; and
notifications, which name runs, paths and exceptions, are plain escaped text, never markup.
`SafeTerminalApp` is the base of both apps (the lab's and the fleet view)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from textual.app import App
from textual.color import Color
from textual.filter import LineFilter
from textual.notifications import SeverityLevel

from lab.core.textsafe import escape_controls, safe_text


class UnsafeCharacters(LineFilter):
    """Control, format (bidi) and separator characters in a painted line, as visible escapes:
    the last defence, for text that reached a widget without passing `safe_text`."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        shown = []
        for segment in segments:
            text = segment.text
            escaped = escape_controls(text, one_line=True) if text else text
            shown.append(segment if escaped == text else segment._replace(text=escaped))
        return shown


UNSAFE_CHARACTERS = UnsafeCharacters()


class SafeTerminalApp(App[int]):
    def get_line_filters(self) -> Sequence[LineFilter]:
        return [*super().get_line_filters(), UNSAFE_CHARACTERS]

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Widgets' own `notify` comes here too, with markup=True: it is ignored."""
        super().notify(
            safe_text(message),
            title=safe_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )
