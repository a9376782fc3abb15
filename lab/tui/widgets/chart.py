"""The speedup chart: measured speedups and the fitted scaling laws, per executor."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from lab.analysis.analyse import ScenarioAnalysis
from lab.results.model import ScenarioResult
from lab.tui.results import chart_lines, speedup_series

# One letter per executor: the chart's markers, readable without colour.
MARKERS = {"serial": "s", "asyncio": "a", "uvloop": "u", "threads": "t", "processes": "p"}
COLOURS = {
    "serial": "white",
    "asyncio": "cyan",
    "uvloop": "blue",
    "threads": "yellow",
    "processes": "green",
}


class SpeedupChart(PlotextPlot):
    """Speedup against worker count per executor: measured points in capitals (`P`), the
    fitted scaling law (USL, else Amdahl) as a line of its lowercase letter (`p`).

    Letters tell the executors and measured from fitted apart without colour.
    """

    def show(self, result: ScenarioResult | None, analysis: ScenarioAnalysis | None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.title("speedup vs workers: CAPITALS measured, lowercase fitted")
        plt.xlabel("workers")
        lines = chart_lines(analysis) if analysis else []
        serial = speedup_series(result).get("serial") if result else None
        counts = sorted({int(n) for line in lines for n, _ in line.measured} | {1})
        low, high = counts[0], max(counts[-1], 2)
        if lines or serial:
            plt.plot([low, high], [low, high], marker="·", color="gray", label="ideal (= workers)")
        if serial:
            plt.plot(
                [low, high], [serial[0][1]] * 2, marker="s", color=COLOURS["serial"],
                label="serial (baseline)",
            )  # fmt: skip
        for line in lines:  # the fitted curves first: the measured capitals are drawn over them
            marker = MARKERS.get(line.executor, line.executor[0])
            colour = COLOURS.get(line.executor, "white")
            if line.curve:
                plt.plot(
                    [n for n, _ in line.curve], [y for _, y in line.curve], marker=marker,
                    color=colour, label=f"{line.executor} ({line.law} fit)",
                )  # fmt: skip
        for line in lines:
            marker = MARKERS.get(line.executor, line.executor[0])
            colour = COLOURS.get(line.executor, "white")
            plt.scatter(
                [n for n, _ in line.measured], [y for _, y in line.measured],
                marker=marker.upper(), color=colour,
                label=None if line.curve else f"{line.executor} (too few counts to fit)",
            )  # fmt: skip
        if lines or serial:
            plt.xticks([float(c) for c in counts], [str(c) for c in counts])
        self.refresh()
