"""Text from outside the lab, made safe for each place it goes: one sanitiser per output.

Untrusted text is everything the lab's own code did not write: reports, scenario files (names,
titles, descriptions), task exceptions, workers' stderr, interpreter probes, peers and host
names, install lines and paths. It reaches an output only through the sanitiser of that output:

- `safe_text`: the terminal (plain text). URL passwords redacted (`redact_urls`); control
  characters (Unicode Cc: ESC, BEL, CR, backspace, the C1 range), format characters (Cf: the
  bidi overrides U+202A-E and isolates U+2066-9, zero-width characters, the BOM) and the line
  and paragraph separators U+2028/9 shown as visible escapes (`\\x1b`, `\\u202e`), so a file
  cannot move the cursor, write the clipboard (OSC 52), retitle the terminal, clear it, or
  reorder what is shown. Newlines and tabs stay unless `one_line`.
- `markup_text`: text that goes inside Rich or Textual markup: `safe_text`, and every `[`
  escaped, so `[/]` or `[cluster]` is shown as written instead of read as a tag.
- `markdown_line` / `markdown_text`: Markdown text on one line (a heading, a list item) / a
  table cell: line breaks as blanks, a `<` that could open an HTML tag as `&lt;` (Markdown
  renderers pass raw HTML through), and in a cell `|` escaped, so a cell never breaks its row.
- `html_text`: HTML text and attribute values: `safe_text` and `html.escape`.
- `csv_cell`: a CSV cell: one line, and a formula start (`=`, `+`, `-`, `@`, also after
  leading spaces) neutralised with an apostrophe (CSV injection), numbers left alone.

Every function runs in linear time: the patterns have no nested or overlapping repetition
that could backtrack (tests/test_textsafe_sanitisers.py times each at 1 MB).
"""

from __future__ import annotations

import copy
import dataclasses
import html
import re
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# `://` then user info up to the first `:` then a password up to `@`; the scheme before
# `://` is left out of the pattern on purpose: matching it (`[A-Za-z][A-Za-z0-9+.-]*://`)
# retried from every letter of a long word, which took 40 s on a 200,000-letter title.
# The possessive quantifiers never give back what they took, so each `://` costs one scan
# that stops at the next `/`, blank, `@`, `?` or `#`.
_USERINFO = re.compile(r"://(?P<user>[^/\s:@?#]*+):[^/\s@?#]*+@")

# Unicode Cc (C0, DEL, C1) and Cf (format: soft hyphen, Arabic and Syriac marks, Mongolian
# vowel separator, zero-width characters, bidi embeddings, overrides and isolates, invisible
# operators, the BOM, interlinear annotation, Egyptian and shorthand format controls, musical
# symbol formats, tags), and U+2028/U+2029 (line and paragraph separators). Spelled out
# rather than built from unicodedata at import, which would cost every start-up a scan of
# 1.1 million code points; tests/test_textsafe_sanitisers.py checks it against unicodedata.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_FORMAT}]")
_UNSAFE_AND_LINES = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMAT}]")

# A `[` opens a tag in Rich and Textual markup; `\[` is a literal bracket in both.
_MARKUP_OPEN = re.compile(r"\[")
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\u2028\u2029]")
_HTML_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
# A spreadsheet takes a cell for a formula when it starts (after blanks) with one of these.
_FORMULA = re.compile(r"[ \t]*+[=+\-@]")


def redact_urls(text: str) -> str:
    """`scheme://user:password@` -> `scheme://user:***@` wherever it appears in text."""
    return _USERINFO.sub(r"://\g<user>:***@", text)


def _shown(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _table(pattern: re.Pattern[str]) -> dict[int, str]:
    """Every character of the pattern's one class, mapped to its visible escape (for
    str.translate, which escapes a megabyte of them in C where a callback per match took
    seconds)."""
    table: dict[int, str] = {}
    body = pattern.pattern[1:-1]
    i = 0
    while i < len(body):
        first = last = ord(body[i])
        if i + 2 < len(body) and body[i + 1] == "-":
            last = ord(body[i + 2])
            i += 2
        table.update((code, _shown(code)) for code in range(first, last + 1))
        i += 1
    return table


_ESCAPES = _table(_UNSAFE)
_ESCAPES_AND_LINES = _table(_UNSAFE_AND_LINES)


def escape_controls(text: str, one_line: bool = False) -> str:
    """Control, format and separator characters as `\\xNN`/`\\uNNNN`; newlines and tabs too
    when one_line."""
    pattern, table = (_UNSAFE_AND_LINES, _ESCAPES_AND_LINES) if one_line else (_UNSAFE, _ESCAPES)
    return text.translate(table) if pattern.search(text) else text


def safe_text(text: str, one_line: bool = False) -> str:
    """The terminal's sanitiser: URL passwords redacted, control and format characters
    escaped. Idempotent: what it returns passes through it unchanged."""
    return escape_controls(redact_urls(text), one_line)


def markup_text(text: str, one_line: bool = True) -> str:
    """Untrusted text to put inside Rich or Textual markup: shown as written, never a tag.
    (A backslash that ends the text must not be followed by a tag in the markup around it.)"""
    return _MARKUP_OPEN.sub(r"\\[", safe_text(text, one_line))


def markdown_line(text: str) -> str:
    """Untrusted text on one Markdown line: line breaks as blanks (a description's lines
    join up, as Markdown itself would join them), every other control or format character
    escaped, and a `<` that could open an HTML tag as `&lt;` (renderers pass raw HTML on);
    `p < 0.05` stays as written."""
    return _HTML_TAG_START.sub("&lt;", safe_text(_LINE_BREAKS.sub(" ", text), one_line=True))


def markdown_text(text: str) -> str:
    """Untrusted text for a Markdown table cell: `markdown_line`, and `|` escaped so a cell
    never splits its row (GFM reads `\\|` as a pipe, whatever precedes it)."""
    return markdown_line(text).replace("|", "\\|")


def html_text(text: object) -> str:
    """Untrusted text for HTML (element text or a quoted attribute value)."""
    return html.escape(safe_text(str(text)), quote=True)


def csv_cell(value: Any) -> Any:
    """A CSV cell: text on one line with a formula start neutralised by a leading apostrophe
    (shown as text, OWASP's advice); numbers, negative ones included, stay numbers."""
    if not isinstance(value, str):
        return value
    text = safe_text(value, one_line=True)
    return "'" + text if _FORMULA.match(text) else text


def map_strings(value: T, sanitise: Callable[[str], str]) -> T:
    """A copy of value (dataclasses, lists, tuples, dicts, nested) with every string in it,
    dictionary keys included, passed through sanitise: a whole report made safe for one
    output before a renderer picks its fields, so no field can be forgotten. What holds no
    string (numbers, None) is shared, not copied."""
    result: Any = _map(value, sanitise)
    return result  # type: ignore[no-any-return]


_SCALARS = frozenset({int, float, bool, type(None)})


def _map(value: Any, sanitise: Callable[[str], str]) -> Any:
    # Exact type checks first: a report of 10,000 runs holds about half a million values.
    cls = type(value)
    if cls is str:
        return sanitise(value)
    if cls in _SCALARS:
        return value
    if cls is list:
        return [_map(item, sanitise) for item in value]
    if cls is dict:
        return {_map(key, sanitise): _map(item, sanitise) for key, item in value.items()}
    if isinstance(value, tuple):
        items = [_map(item, sanitise) for item in value]
        return cls(*items) if hasattr(value, "_fields") else tuple(items)
    names = _field_names(cls)
    if names is None or isinstance(value, type):
        return value
    result = copy.copy(value)
    for name in names:
        object.__setattr__(result, name, _map(getattr(value, name), sanitise))
    return result


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names (None for anything else), looked up once per class."""
    if cls not in _FIELD_NAMES:
        is_dataclass = dataclasses.is_dataclass(cls)
        _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls)) if is_dataclass else None
    return _FIELD_NAMES[cls]
