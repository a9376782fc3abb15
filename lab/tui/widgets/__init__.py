"""The app's widgets, one module per tab or per widget a tab holds.

- `scenarios_pane`: the Scenarios tab (list, description, plan) and `knobs_form`, its form;
- `run_pane`: the Run tab, a progress row per run (`RunRow`) and the `CpuMeters`;
- `results_pane`: the Results tab, switching between `grid`, `chart` and the verdicts;
- `system_pane`: the System tab.
"""

from lab.tui.widgets.chart import ChartView, SpeedupChart
from lab.tui.widgets.grid import ResultsGrid, SortCell
from lab.tui.widgets.knobs_form import KnobsForm
from lab.tui.widgets.results_pane import AnalysisView, ResultsPane
from lab.tui.widgets.run_pane import CpuMeters, RunPane, RunRow
from lab.tui.widgets.scenarios_pane import ScenariosPane, scenario_text
from lab.tui.widgets.system_pane import SystemPane, SystemPanel, describe_loop

__all__ = [
    "AnalysisView",
    "ChartView",
    "CpuMeters",
    "KnobsForm",
    "ResultsGrid",
    "ResultsPane",
    "RunPane",
    "RunRow",
    "ScenariosPane",
    "SortCell",
    "SpeedupChart",
    "SystemPane",
    "SystemPanel",
    "describe_loop",
    "scenario_text",
]
