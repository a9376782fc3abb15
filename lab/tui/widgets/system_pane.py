"""The System tab: the machine the runs execute on, and its noise warnings."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from importlib import metadata

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from lab.core.units import format_bytes
from lab.results.machine import MachineFacts
from lab.results.notices import Notice
from lab.scenario.models import ASYNCIO, PROCESSES, UVLOOP


def describe_loop() -> str:
    """The event loops in play: the app's own, and those the asyncio executors run on."""
    loop = asyncio.get_running_loop()
    app_loop = f"{type(loop).__module__}.{type(loop).__name__}"
    library = str(UVLOOP.needs_module)
    try:
        uvloop = f"{UVLOOP.name} {metadata.version(library)}"
    except metadata.PackageNotFoundError:
        uvloop = f"{UVLOOP.name} not installed"
    return f"this app: {app_loop}; runs: {ASYNCIO.name} (stdlib loop), {uvloop}"


def system_table(machine: MachineFacts, loop: str) -> Table:
    py = machine.get("python") or {}
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    usable = machine.get("cpus_usable")
    logical = machine.get("cpus_logical")
    limits = []
    if machine.get("cpus_affinity") not in (None, logical):
        limits.append(f"affinity {machine.get('cpus_affinity')}")
    if machine.get("cpu_quota"):
        limits.append(f"cgroup quota {machine.get('cpu_quota'):g}")
    cores = f"{usable} usable of {logical} logical ({machine.get('cpus_physical')} physical)"
    if limits:
        cores += "; " + ", ".join(limits)
    memory = machine.get("memory_total_bytes") or 0
    gil = "enabled" if py.get("gil_enabled", True) else "disabled (free-threaded build)"
    libraries = machine.get("libraries") or {}
    rows = [
        ("CPU", str(machine.get("cpu_model", "?"))),
        ("cores", cores),
        ("memory", f"{format_bytes(memory)} total"),
        ("Python", f"{py.get('implementation', '')} {py.get('version', '')}"),
        ("build", f"{py.get('build', '')} · {py.get('compiler', '')}"),
        ("GIL", gil),
        ("event loop", loop),
        (
            PROCESSES.name,  # the process pool's start method
            f"start method {machine.get('multiprocessing_start_method')} "
            f"(available: {', '.join(machine.get('multiprocessing_methods') or [])})",
        ),
        ("OS", str(machine.get("os", ""))),
        (
            "libraries",
            ", ".join(f"{k} {v}" for k, v in libraries.items() if v) or "–",
        ),
    ]
    for key, value in rows:
        table.add_row(key, Text(value))
    return table


def machine_warnings_text(warnings: Sequence[Notice] | None) -> Text:
    """The machine's noise warnings, as read when the latest session started."""
    text = Text()
    text.append("Warnings about the machine", style="bold")
    if warnings is None:
        text.append("\nnot read yet: each session reads them before its first run", style="dim")
        return text
    if not warnings:
        text.append(
            "\nnone when the last session started: governor, load, usable CPUs and swap "
            "looked fine",
            style="dim",
        )
        return text
    for notice in warnings:
        text.append(f"\n⚠ {notice['message']}")
    return text


class SystemPanel(Static):
    def show(
        self, machine: MachineFacts, loop: str, warnings: Sequence[Notice] | None = None
    ) -> None:
        self.update(Group(system_table(machine, loop), Text(), machine_warnings_text(warnings)))


class SystemPane(VerticalScroll):
    """The System tab: the machine's facts, and its warnings as the latest session read them."""

    def __init__(self, loop_name: str | None = None) -> None:
        super().__init__(id="system-scroll")
        self.loop_name = loop_name  # None: describe the running loop
        self.panel = SystemPanel(id="system-panel")

    def compose(self) -> ComposeResult:
        yield self.panel

    def show(self, machine: MachineFacts, warnings: Sequence[Notice] | None = None) -> None:
        self.panel.show(machine, self.loop_name or describe_loop(), warnings)
