"""The Textual app. The only package in the lab that imports Textual.

`lab.tui.knobs`, `lab.tui.live` and `lab.tui.results` hold the app's logic without Textual
(form validation, progress coalescing, the results grid's cells), so they are tested directly.
"""
