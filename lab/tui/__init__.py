"""The Textual app. The only package in the lab that imports Textual.

`lab.tui.app` composes the panes of `lab.tui.widgets` and binds the keys. What the app knows
is `lab.tui.state.LabState`; it, `lab.tui.knobs`, `lab.tui.live`, `lab.tui.results` and
`lab.tui.analysis` hold the app's logic without Textual (domain state, form validation,
progress coalescing, the results grid's cells, the verdict text), so they are tested directly.
"""
