"""The speedup chart: measured speedups and the fitted scaling laws, per executor, with the
legend and the measured values in a table beside the plot, never over it."""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static
from textual_plotext import PlotextPlot

from lab.analysis.analyse import ScenarioAnalysis
from lab.analysis.sweep import SweepSeries, SweepVerdict, spans_decades, sweep_series
from lab.core.units import format_number
from lab.results.model import ScenarioResult
from lab.scenario.models import BASELINE, MODELS
from lab.tui.results import ChartLine, chart_lines, speedup_series

# One letter per executor: the chart's markers, readable without colour.
MARKERS = {model.name: model.letter for model in MODELS}
COLOURS = {model.name: model.terminal_colour for model in MODELS}


def marker(executor: str) -> str:
    return MARKERS.get(executor, executor[0])


def y_range(lines: list[ChartLine], serial: list[tuple[int, float]] | None) -> tuple[float, float]:
    """The measured speedups' range, padded by a tenth: the ideal line and the fitted curves
    are clipped to it rather than allowed to squash the measurements into one row."""
    values = [y for line in lines for _, y in line.measured] + [y for _, y in serial or []]
    if not values:
        return 0.0, 2.0
    low, high = min(values), max(values)
    pad = max(0.1 * (high - low), 0.05 * max(abs(high), 1e-9), 0.05)
    return max(0.0, low - pad), high + pad


def clipped(
    points: list[tuple[float, float]], low: float, high: float
) -> list[tuple[float, float]]:
    return [(x, y) for x, y in points if low <= y <= high]


def values_table(lines: list[ChartLine], serial: list[tuple[int, float]] | None) -> Table:
    """The legend and every measured speedup, by worker count: series that overlap on the
    plot still read apart here."""
    counts = sorted({int(n) for line in lines for n, _ in line.measured})
    table = Table(box=None, padding=(0, 1, 0, 0), show_edge=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    for count in counts:
        table.add_column(f"{count}w", justify="right", no_wrap=True)
    if serial:
        table.add_row(
            Text("S serial", style="bold"), f"{serial[0][1]:.2f}", *[""] * (len(counts) - 1)
        )
    for line in lines:
        by_count = {int(n): y for n, y in line.measured}
        name = Text(f"{marker(line.executor).upper()} {line.executor}", style="bold")
        table.add_row(name, *[f"{by_count[c]:.2f}" if c in by_count else "–" for c in counts])
    return table


def legend_text(lines: list[ChartLine]) -> Text:
    laws = sorted({line.law for line in lines if line.law})
    fitted = f"lowercase: {' or '.join(laws)} fit" if laws else "too few counts to fit"
    return Text(f"speedup ×, serial = 1\nCAPITAL: measured\n{fitted}\n· ideal (= workers)")


class SpeedupChart(PlotextPlot):
    """Speedup against worker count: measured points in capitals (`P`), the fitted scaling
    law (USL, else Amdahl) as a line of its lowercase letter (`p`); no legend inside."""

    def show(self, lines: list[ChartLine], serial: list[tuple[int, float]] | None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.title("speedup vs workers")
        plt.xlabel("workers")
        counts = sorted({int(n) for line in lines for n, _ in line.measured} | {1})
        low_x, high_x = counts[0], max(counts[-1], 2)
        low, high = y_range(lines, serial)
        if lines or serial:
            plt.ylim(low, high)
            step = (high_x - low_x) / 48  # dotted, so the measured letters show through
            ideal = [(low_x + i * step, low_x + i * step) for i in range(49)]
            ideal = clipped(ideal, low, high)
            if ideal:
                plt.scatter([x for x, _ in ideal], [y for _, y in ideal], marker="·", color="gray")
        if serial:
            plt.plot([low_x, high_x], [serial[0][1]] * 2, marker="s", color=COLOURS[BASELINE])
        for line in lines:  # the fitted curves first: the measured capitals are drawn over them
            curve = clipped(line.curve, low, high)
            if curve:
                plt.plot(
                    [n for n, _ in curve], [y for _, y in curve],
                    marker=marker(line.executor), color=COLOURS.get(line.executor, "white"),
                )  # fmt: skip
        for line in lines:
            plt.scatter(
                [n for n, _ in line.measured], [y for _, y in line.measured],
                marker=marker(line.executor).upper(), color=COLOURS.get(line.executor, "white"),
            )  # fmt: skip
        if lines or serial:
            plt.xticks([float(c) for c in counts], [str(c) for c in counts])
        self.refresh()


class SweepChart:
    """A sweep's chart, drawn on the same plot: speedup over serial against the swept value
    (log axis when the values span a decade or more), one line per model at its best worker
    count, serial as the line at 1, and the crossing as a column of `|`."""

    @staticmethod
    def draw(plot: SpeedupChart, sweep: SweepVerdict, series: list[SweepSeries]) -> None:
        plt = plot.plt
        plt.clear_data()
        values = [v.value for v in sweep.values]
        log_x = spans_decades(values)

        def at(x: float) -> float:
            return math.log10(x) if log_x else x

        plt.title(f"speedup vs {sweep.param}{' (log scale)' if log_x else ''}")
        plt.xlabel(sweep.param)
        ys = [y for line in series for _, y in line.points] + [1.0]
        low, high = min(ys), max(ys)
        pad = max(0.1 * (high - low), 0.05)
        low, high = max(0.0, low - pad), high + pad
        plt.ylim(low, high)
        plt.plot([at(values[0]), at(values[-1])], [1.0, 1.0], marker="s", color=COLOURS[BASELINE])
        for line in series:
            plt.plot(
                [at(x) for x, _ in line.points], [y for _, y in line.points],
                marker=marker(line.executor).upper(),
                color=COLOURS.get(line.executor, "white"),
            )  # fmt: skip
        if sweep.crossing is not None:
            steps = [low + (high - low) * i / 12 for i in range(13)]
            plt.scatter([at(sweep.crossing)] * len(steps), steps, marker="|", color="red")
        plt.xticks([at(v) for v in values], [format_number(v) for v in values])
        plot.refresh()


def sweep_side(sweep: SweepVerdict, series: list[SweepSeries], several: bool) -> Table:
    """The legend and every plotted speedup, by swept value; the crossing; the winners."""
    table = Table(box=None, padding=(0, 1, 0, 0), show_edge=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    for value in sweep.values:
        table.add_column(format_number(value.value), justify="right", no_wrap=True)
    table.add_row(Text("S serial", style="bold"), *["1.00"] * len(sweep.values))
    for line in series:
        by_value = dict(line.points)
        name = Text(f"{marker(line.executor).upper()} {line.executor}", style="bold")
        table.add_row(
            name,
            *[f"{by_value[v.value]:.2f}" if v.value in by_value else "–" for v in sweep.values],
        )
    # The tested winner at each value, by its letter; = for a tie.
    winners = [marker(v.winner).upper() if v.winner else "=" for v in sweep.values]
    table.add_row(Text("wins", style="bold"), *winners)
    notes = "speedup ×, serial = 1\nwins: the tested winner (= tie)"
    if several:
        best = ", ".join(f"{line.executor} {line.workers}" for line in series)
        notes += f"\neach model at its best worker count: {best}"
    if sweep.crossing is not None:
        notes += f"\n| crossing: {sweep.param} ≈ {format_number(sweep.crossing)}"
    grid = Table.grid()
    grid.add_row(table)
    grid.add_row("")
    grid.add_row(Text(notes))
    return grid


class ChartView(Horizontal):
    """The plot, and beside it the legend and the measured values."""

    DEFAULT_CSS = """
    ChartView SpeedupChart { width: 1fr; }
    ChartView #chart-side { width: auto; max-width: 45%; padding: 0 1; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.plot = SpeedupChart()
        self.side = Static(id="chart-side")

    def compose(self) -> ComposeResult:
        yield self.plot
        yield self.side

    def show(self, result: ScenarioResult | None, analysis: ScenarioAnalysis | None) -> None:
        if result is not None and analysis is not None and analysis.sweep is not None:
            series, several = sweep_series(result, analysis.sweep.param)
            if series:
                SweepChart.draw(self.plot, analysis.sweep, series)
                self.side.update(sweep_side(analysis.sweep, series, several))
                return
        lines = chart_lines(analysis) if analysis else []
        serial = speedup_series(result).get(BASELINE) if result else None
        self.plot.show(lines, serial)
        if not lines and not serial:
            self.side.update(Text("no speedups yet", style="dim"))
            return
        table = Table.grid()
        table.add_row(values_table(lines, serial))
        table.add_row("")
        table.add_row(legend_text(lines))
        self.side.update(table)
