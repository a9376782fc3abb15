"""Problems with scenario input, each at its file:line:column, rendered as one screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# One screen: each problem is one line of at most LINE_LIMIT characters, and a rendered error
# shows as many problems as fit in SCREEN_ROWS rows of an 80-column terminal (long lines wrap),
# leaving two rows of the 24 for the CLI's closing hint.
LINE_LIMIT = 200
SCREEN_ROWS = 22
SCREEN_COLUMNS = 80


def clip(text: str, limit: int) -> str:
    """Shorten text to limit characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: int | None
    key_path: str
    message: str

    def render(self) -> str:
        # The place stays whole (editors jump to file:line:column); the message gives way.
        where = self.file if len(self.file) <= 100 else "…" + self.file[-99:]
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        key = f" {clip(self.key_path, 40)}:" if self.key_path else ""
        head = f"{where}:{key} "
        return head + clip(self.message, max(40, LINE_LIMIT - len(head)))


def _rows(line: str) -> int:
    return max(1, -(-len(line) // SCREEN_COLUMNS))


class ScenarioError(Exception):
    """One or more problems with scenario input; rendered as one screen, never a traceback."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self.render())

    def render(self, rows: int = SCREEN_ROWS) -> str:
        """The problems that fit in `rows` terminal rows, then how many were left out."""
        lines: list[str] = []
        used = 1  # keep a row for the "... and N more" line
        for problem in self.problems:
            line = problem.render()
            if used + _rows(line) > rows:
                break
            lines.append(line)
            used += _rows(line)
        if len(lines) < len(self.problems):
            lines.append(f"... and {len(self.problems) - len(lines)} more problems")
        return "\n".join(lines)


def by_line(problems: list[Problem]) -> list[Problem]:
    """Problems of one file in the order they appear in it; one per place and key path."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in sorted(problems, key=lambda p: (p.line or 0, p.column or 0)):
        key = (p.line, p.column, p.key_path)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def one_problem(
    file: str, message: str, line: int | None = None, column: int | None = None
) -> ScenarioError:
    return ScenarioError([Problem(file, line, column, "", message)])
