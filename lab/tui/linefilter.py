"""The last defence between the app and the terminal (see lab.tui.shown): every line any
widget paints passes this filter (`App.get_line_filters`), so a control, bidi or format
character that reached a widget by a path that forgot `safe_text` is still shown escaped."""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from lab.core.textsafe import escape_controls


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
