"""The knobs form: the main settings of the selected scenario, checked as they are typed."""

from __future__ import annotations

from rich.segment import Segment
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Button, Checkbox, Input, Label, SelectionList
from textual.widgets.option_list import OptionDoesNotExist

from lab.scenario.spec import DEFAULT_EXECUTORS, Scenario
from lab.tui.knobs import FIELDS, KnobValues, field_help, size_fields, values_of

# The text inputs, with the label each starts with (the size labels follow the workload).
INPUTS = (
    ("workers", "workers"),
    ("size1", "size"),
    ("size2", "size"),
    ("repeats", "repeats"),
    ("warmups", "warmups"),
)


class CheckList(SelectionList[str]):
    """A SelectionList whose boxes differ without colour: `▐X▌` ticked, `▐ ▌` not.

    Textual draws an X in both and tells them apart by colour alone, which a 16-colour or
    monochrome terminal (TERM=screen in tmux, a serial console) may not show.
    """

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        inner = Checkbox.BUTTON_INNER  # what SelectionList draws (ToggleButton's)
        if len(segments) > 1 and segments[1].text == inner and selection.value not in self.selected:
            segments[1] = Segment(" " * len(inner), segments[1].style, segments[1].control)
            return Strip(segments, strip.cell_length)
        return strip


class KnobsForm(Vertical):
    """The form's widgets; the scenario models validate what it posts (`KnobsForm.Changed`)."""

    class Changed(Message):
        """The user changed a knob (never posted for values loaded by `load`)."""

        def __init__(self, form: KnobsForm, values: KnobValues) -> None:
            super().__init__()
            self.form = form
            self.values = values

        @property
        def control(self) -> KnobsForm:
            return self.form

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.executors = CheckList(
            *[(name, name, True) for name in DEFAULT_EXECUTORS],
            id="knob-executors",
            compact=True,
        )
        self.inputs: dict[str, Input] = {}
        self.labels: dict[str, Label] = {}
        self.errors = {
            field: Label("", id=f"error-{field}", classes="field-error", markup=False)
            for field in FIELDS
        }
        self.status = Label("", id="form-status")

    def compose(self) -> ComposeResult:
        yield Label(
            "Knobs (tab to reach them; checked as you type)",
            classes="form-title",
        )
        with Horizontal(classes="field"):
            yield Label("executors", classes="field-label")
            yield self.executors
        yield self.errors["executors"]
        for field, label in INPUTS:
            with Horizontal(classes="field"):
                self.labels[field] = Label(label, id=f"label-{field}", classes="field-label")
                yield self.labels[field]
                field_input = Input(id=f"knob-{field}", select_on_focus=False, compact=True)
                field_input.cursor_blink = False  # steady over SSH, and in snapshots
                self.inputs[field] = field_input
                yield field_input
            yield self.errors[field]
        with Horizontal(classes="field buttons"):
            yield Button("Reset to file", id="knob-reset", compact=True)
            yield self.status

    def load(self, scenario: Scenario) -> None:
        """Show a scenario's values; programmatic, so it posts no `Changed`."""
        values = values_of(scenario)
        first, second = size_fields(scenario)
        with self.executors.prevent(SelectionList.SelectedChanged):
            self.executors.deselect_all()
            for name in values.executors:
                if name in DEFAULT_EXECUTORS:  # dask stays as the file says (knobs.apply_knobs)
                    self.executors.select(name)
        for field, _ in INPUTS:
            widget = self.inputs[field]
            value = getattr(values, field)
            with widget.prevent(Input.Changed):
                widget.value = value
                widget.cursor_position = len(value)
        self.labels["size1"].update(first)
        self.labels["size2"].update(second)
        self.inputs["size1"].tooltip = field_help(scenario, first)
        self.inputs["size2"].tooltip = field_help(scenario, second)
        self.show_errors({})

    def values(self) -> KnobValues:
        return KnobValues(
            executors=tuple(str(s) for s in self.executors.selected),
            workers=self.inputs["workers"].value,
            size1=self.inputs["size1"].value,
            size2=self.inputs["size2"].value,
            repeats=self.inputs["repeats"].value,
            warmups=self.inputs["warmups"].value,
        )

    def show_errors(self, errors: dict[str, str]) -> None:
        for field, label in self.errors.items():
            message = errors.get(field, "")
            label.update(f"✗ {message}" if message else "")
            label.display = bool(message)
            if field in self.inputs:
                self.inputs[field].set_class(bool(message), "-invalid")
        if errors:
            self.status.update(f"✗ {len(errors)} problem{'s' if len(errors) > 1 else ''}")
        else:
            self.status.update("")

    @on(Input.Changed)
    @on(SelectionList.SelectedChanged)
    def _changed(self, event: Input.Changed | SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        self.post_message(self.Changed(self, self.values()))

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()
