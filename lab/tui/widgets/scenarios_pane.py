"""The Scenarios tab: the list, the selected scenario's description and plan, its knobs."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from lab.core.units import plural
from lab.engine.plan import plan_scenario
from lab.scenario.loader import LoadedScenario
from lab.scenario.models import is_baseline
from lab.scenario.spec import Scenario
from lab.tui.state import LabState
from lab.tui.widgets.knobs_form import KnobsForm


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def scenario_text(loaded: LoadedScenario, scenario: Scenario, quick: bool) -> Text:
    """Title, description, every parameter, and what the next run will execute."""
    text = Text()
    text.append(scenario.title + "\n", style="bold")
    source = "built-in" if loaded.source.startswith("builtin:") else loaded.source
    text.append(f"{loaded.name} · {source}\n", style="dim")
    if scenario.description.strip():
        text.append("\n" + " ".join(scenario.description.split()) + "\n")
    text.append("\n")
    workload = scenario.workload.model_dump(mode="json", exclude_none=True)
    params = ", ".join(f"{k}={_plain(v)}" for k, v in workload.items())
    text.append("workload  ", style="bold")
    text.append(params + "\n")
    text.append("settings  ", style="bold")
    text.append(
        f"repeats={scenario.repeats}, warmups={scenario.warmups}, timeout={scenario.timeout:g}s,"
        f" start method {scenario.resolved_start_method()}\n"
    )
    plan = plan_scenario(LoadedScenario(loaded.name, loaded.source, scenario))  # quick already
    executors = list(dict.fromkeys(r.executor for r in plan.runs))
    counts = sorted({r.workers for r in plan.runs if not is_baseline(r.executor)})
    text.append("plan      ", style="bold")
    what = ", ".join(executors) or "nothing to run"
    if counts:
        what += f" × workers {', '.join(map(str, counts))}"
    text.append(f"{plural(len(plan.runs), 'run')}{' (--quick)' if quick else ''}: {what}\n")
    if quick:
        text.append(
            "--quick: scaled down from the file; the knobs hold what will run\n", style="dim"
        )
    for name, reason in plan.skipped.items():
        text.append(f"          {name} skipped: {reason}\n", style="dim")
    text.rstrip()
    return text


class ScenariosPane(Horizontal):
    """Pick a scenario, read it, adjust its knobs; the edits are kept in `LabState`."""

    # Leaves the form (escape in the list itself changes nothing).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "focus_list", "Back to list", show=False)
    ]

    class Selected(Message):
        """A scenario was selected (the app shows its results, if it has some)."""

        def __init__(self, show_results: bool) -> None:
            super().__init__()
            self.show_results = show_results

    def __init__(self, state: LabState) -> None:
        super().__init__()
        self.state = state
        self.scenario_list = OptionList(
            *[
                Option(
                    s.name if s.source.startswith("builtin:") else f"{s.name} (file)",
                    id=str(i),
                )
                for i, s in enumerate(state.scenarios)
            ],
            id="scenario-list",
            markup=False,  # names come from scenario files
        )
        # The list highlights its first option as it is made; each highlight is posted, in
        # order, and selects: this one comes last.
        self.scenario_list.highlighted = state.selected
        self.info = Static(id="scenario-info")
        self.form = KnobsForm(id="knobs")

    def compose(self) -> ComposeResult:
        yield self.scenario_list
        with VerticalScroll(id="scenario-detail", can_focus=False):
            yield self.info
            yield self.form

    def select(self, index: int) -> None:
        """Show a scenario and its knobs (their edits, if any)."""
        show_results = self.state.select(index)
        self.form.load(self.state.scenario(index))
        self._show_info()
        self.post_message(self.Selected(show_results))

    def _show_info(self) -> None:
        index = self.state.selected
        loaded = self.state.scenarios[index]
        self.info.update(scenario_text(loaded, self.state.scenario(index), self.state.quick))

    def action_focus_list(self) -> None:
        self.scenario_list.focus()

    @on(OptionList.OptionHighlighted, "#scenario-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self.select(int(event.option.id))

    @on(OptionList.OptionSelected, "#scenario-list")
    def _chosen(self) -> None:
        self.form.executors.focus()

    @on(KnobsForm.Changed)
    def _edited(self) -> None:
        # The form as it is now, not as posted: if another scenario was selected meanwhile, the
        # form holds that one's values, which are what the state's selection must be checked with.
        errors = self.state.edit(self.form.values())
        if not errors:
            self._show_info()
        self.form.show_errors(errors)

    @on(Button.Pressed, "#knob-reset")
    def _reset(self) -> None:
        self.state.reset_knobs()
        self.select(self.state.selected)
        self.notify("knobs reset to the scenario file", timeout=2)
