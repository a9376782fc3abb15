"""How an interpreter of the axis changes what the claims expect (the machine's own notes:
`lab.analysis.facts.machine_notes`)."""

from __future__ import annotations

from lab.analysis.facts import Machine


def interpreter_notes(machine: Machine) -> list[str]:
    """How one interpreter of an axis changes what the claims expect."""
    label = machine.interpreter
    if machine.free_threaded and not machine.gil:
        return [
            f"{label} is a free-threaded build with the GIL off: threads can run Python "
            "bytecode in parallel, so the GIL claim is expected to be refuted there"
        ]
    if machine.free_threaded:
        return [
            f"{label} is a free-threaded build, but the GIL was on in its threads runs (an "
            "extension module turned it back on; see the warnings): they behave as with a GIL"
        ]
    return []
