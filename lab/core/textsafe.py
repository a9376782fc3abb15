"""Text from scenario files and targets, made safe to print and to save.

- `redact_urls`: the password of a URL's user info (`http://user:secret@host/`) becomes
  `***`: reports are shared and terminals are recorded, and the password is in them only
  because the URL was.
- `escape_controls`: control characters (ESC, BEL, CR, backspace, the C1 range, ...) from
  titles, names and keys become visible escapes (`\\x1b`), so a scenario file cannot move the
  cursor, retitle the terminal or hide text. Newlines and tabs stay unless `one_line`.
- `safe_text`: both, for whole outputs (a rendered report, a progress line).
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/\s:@?#]*):[^/\s@?#]*@")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_AND_LINES = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def redact_urls(text: str) -> str:
    """`scheme://user:password@` -> `scheme://user:***@` wherever it appears in text."""
    return _USERINFO.sub(r"\g<scheme>\g<user>:***@", text)


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def escape_controls(text: str, one_line: bool = False) -> str:
    """Control characters as `\\xNN`; newlines and tabs too when one_line."""
    return (_CONTROLS_AND_LINES if one_line else _CONTROLS).sub(_escape, text)


def safe_text(text: str, one_line: bool = False) -> str:
    return escape_controls(redact_urls(text), one_line)
