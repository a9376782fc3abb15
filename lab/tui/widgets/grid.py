"""The results grid: a row per run, the report's cells, sortable, updated in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widgets import DataTable

from lab.results.model import ScenarioResult
from lab.tui.results import BEST_MARK, CellValue, columns_for, grid_cells


@dataclass(frozen=True)
class SortCell:
    """A grid cell: formatted text for display, the raw value to sort by."""

    value: CellValue
    status: bool = False

    def __rich__(self) -> Text:
        text = self.value.text + (BEST_MARK if self.value.best else "")
        style = "bold" if self.value.best else ""
        if self.status and self.value.text not in ("ok", "queued"):
            style = "bold" if self.value.text == "running" else "red"
        return Text(text, style=style, no_wrap=True)


class _Descending:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


# Columns whose best values are high: sorted descending on the first press.
HIGH_FIRST = {"throughput", "speedup", "efficiency"}


class ResultsGrid(DataTable[SortCell]):
    """A row per executor x workers; cells change in place, rows are never rebuilt mid-run."""

    # Not in the footer (full at 80 columns): the legend under the grid names it.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("s", "sort_column", "Sort", show=False)]

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="cell", zebra_stripes=True)
        self.fixed_columns = 2
        self._shape: tuple[Any, ...] = ()
        self._cells: dict[str, dict[str, CellValue]] = {}
        self.sorted_by: tuple[str, bool] | None = None  # (column, descending)
        self.result: ScenarioResult | None = None
        self.compact = False  # the columns that fit 80 terminal columns (f: all of them)

    def show(
        self, identity: Any, result: ScenarioResult, live_status: dict[str, str] | None = None
    ) -> None:
        self.result = result
        columns = columns_for(result, self.compact, live=bool(live_status))
        shape = (identity, tuple(r.run_id for r in result.runs), tuple(columns))
        cells = grid_cells(result, live_status, self.compact)
        with self.app.batch_update():
            if shape != self._shape:
                self._shape = shape
                self.clear(columns=True)
                self.sorted_by = None
                for key, header in columns:
                    self.add_column(Text(header), key=key)  # a sweep names its own columns
                for run_id, row in cells.items():
                    self.add_row(*[SortCell(v, c == "status") for c, v in row.items()], key=run_id)
            else:
                for run_id, row in cells.items():
                    old = self._cells.get(run_id, {})
                    for column, value in row.items():
                        if old.get(column) != value:
                            self.update_cell(
                                run_id,
                                column,
                                SortCell(value, column == "status"),
                                update_width=True,
                            )
            self._cells = cells
            if self.sorted_by:
                self._apply_sort()

    # Sideways, the grid moves by whole columns (issue 12): a column cut at either edge of the
    # screen showed ".8 tasks/s". executor and workers stay fixed at the left.

    def column_edges(self) -> list[int]:
        """Scroll offsets at which each scrollable column starts, then where the last one ends."""
        edges = [0]
        for column in self.ordered_columns[self.fixed_columns :]:
            edges.append(edges[-1] + column.get_render_width(self))
        return edges

    def fixed_width(self) -> int:
        return sum(c.get_render_width(self) for c in self.ordered_columns[: self.fixed_columns])

    @property
    def max_scroll_x(self) -> int:
        # Far enough for the last column to start the view whole, not cut at its left edge.
        furthest = super().max_scroll_x
        return next((e for e in self.column_edges() if e >= furthest), furthest) if furthest else 0

    def _scroll_cursor_into_view(self, animate: bool = False) -> None:
        # DataTable scrolls just far enough to show the cursor's cell, which leaves the column
        # at the left edge cut: round that to a column start, onwards when it scrolled right
        # (but never past the cursor's column), back otherwise. Never animated: an animation
        # passes through cut positions.
        before = self.scroll_x
        super()._scroll_cursor_into_view(animate=False)
        after = round(self.scroll_x)
        edges = self.column_edges()
        x = max(e for e in edges if e <= after)
        column = self.cursor_coordinate.column - self.fixed_columns
        if after > before and x < after:
            x = next((e for e in edges if e >= after), after)
            if 0 <= column < len(edges) - 1:
                x = min(x, edges[column])
        x = min(x, self.max_scroll_x)
        if x != self.scroll_x:
            self.scroll_to(x=x, animate=False, force=True)

    def render_line(self, y: int) -> Strip:
        """DataTable's line, with any column the screen's edges cut shown as blank instead.

        Keys always scroll to a column start; a mouse wheel or the scroll bar can stop between.
        """
        strip = super().render_line(y)
        fixed = self.fixed_width()
        width = self.size.width
        x = round(self.scroll_x)
        edges = self.column_edges()
        first = next((e for e in edges if e >= x), x)
        # A column whose right padding alone is off screen still shows its text whole.
        last = max((e for e in edges if e - self.cell_padding <= x + width - fixed), default=x)
        left = fixed + first - x  # where the first whole column starts on screen
        right = width if last >= edges[-1] else min(width, fixed + last - x)
        if left == fixed and right >= width:
            return strip
        style = self.rich_style
        return Strip.join(
            [
                strip.crop(0, fixed),
                Strip.blank(left - fixed, style),
                strip.crop(left, max(left, right)),
                Strip.blank(max(0, width - max(left, right)), style),
            ]
        )

    def clear_results(self) -> None:
        self._shape = ()
        self._cells = {}
        self.result = None
        self.clear(columns=True)

    def sort_by(self, column: str) -> None:
        if self.sorted_by and self.sorted_by[0] == column:
            self.sorted_by = (column, not self.sorted_by[1])
        else:
            self.sorted_by = (column, column in HIGH_FIRST)
        self._apply_sort()

    def _apply_sort(self) -> None:
        assert self.sorted_by is not None
        column, descending = self.sorted_by

        def key(cell: SortCell) -> Any:
            value = cell.value.sort
            if value is None:
                return (1, 0)
            return (0, _Descending(value) if descending else value)

        self.sort(column, key=key)

    def action_sort_column(self) -> None:
        if not self.columns:
            return
        column = self.coordinate_to_cell_key(self.cursor_coordinate).column_key.value
        if column:
            self.sort_by(column)
            arrow = "descending" if self.sorted_by and self.sorted_by[1] else "ascending"
            self.notify(f"sorted by {column}, {arrow}", timeout=2)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value:
            self.sort_by(event.column_key.value)

    def run_id_at_cursor(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
