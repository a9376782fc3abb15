"""The child side: what runs inside a runner process (`python -m lab.runner`).

The parent side (lab.engine) starts runners, sends them a RunSpec and commands, and reads their
events; everything here runs in the runner, its pool workers, its sub-interpreters or the
embedded server, and imports nothing from the parent side (tests/test_layers.py).
"""
