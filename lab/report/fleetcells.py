"""The fleet report's tables as text, shared by every format and the app: one row per host
(its machine facts and how its session ended), one row per model of a scenario (each host's
best configuration side by side, and which host wins it)."""

from __future__ import annotations

from lab.analysis.fleet import ModelAcrossHosts, ScenarioAcrossHosts
from lab.core.stats import TEST_NAME
from lab.core.units import format_p, format_rate, format_ratio, format_seconds, plural
from lab.results.fleet import FleetReport, HostRun
from lab.results.machine import MachineFacts

# Status last: a failed host's reason is long, and the facts must stay in view at 80 columns.
HOST_HEADERS = ["host", "CPU", "usable cores", "Python", "GIL", "session", "status"]
FLEET_TEST = f"{TEST_NAME} (hosts share no rounds: unpaired), Holm-adjusted over the scenario"


def machine_cells(m: MachineFacts) -> list[str]:
    """CPU model, usable cores, Python, GIL: the facts that most often explain a host's lead."""
    py = m.get("python") or {}
    return [
        str(m.get("cpu_model") or "?"),
        str(m.get("cpus_usable") or "?"),
        f"{py.get('implementation', '')} {py.get('version', '')}".strip() or "?",
        "on" if py.get("gil_enabled", True) else "off",
    ]


def host_row(run: HostRun) -> list[str]:
    facts = machine_cells(run.report.machine) if run.report else ["–", "–", "–", "–"]
    status = run.status if run.status == "ok" else f"{run.status}: {run.message or ''}"
    return [run.name, *facts, format_seconds(run.seconds), status]


def host_rows(fleet: FleetReport) -> list[list[str]]:
    """The hosts table, header first."""
    return [HOST_HEADERS, *(host_row(h) for h in fleet.hosts)]


def best_cell(model: ModelAcrossHosts, host: str) -> str:
    """A host's best configuration of a model: `threads-4 · 12.3 ms · 1,234 tasks/s`, with how
    much slower than the fastest host it is (and the test) for the others."""
    run = model.best.get(host)
    if run is None:
        return "–"
    wall = run.summary.wall_seconds.median
    tp = run.summary.throughput.value
    text = f"{run.run_id} · {format_seconds(wall)}"
    if tp:
        text += f" · {format_rate(tp, run.unit)}"
    if host == model.fastest:
        return text + (" (fastest)" if model.winner == host else " (lowest median)")
    test = model.versus.get(host)
    if test is not None and test.ratio is not None:
        adjusted = getattr(test, "p_adjusted", None)
        p = test.p_value if adjusted is None else float(adjusted)
        ns = "" if test.significant else ", n.s."
        text += (
            f" ({format_ratio(test.ratio)} slower{', ' + format_p(p) if p is not None else ''}{ns})"
        )
    return text


def winner_cell(model: ModelAcrossHosts) -> str:
    if model.winner:
        return model.winner
    if len(model.best) < 2:
        return "– (one host)"
    return "tie"


def model_headers(scenario: ScenarioAcrossHosts) -> list[str]:
    # The winner next to the model: the answer stays in view however many hosts follow.
    return ["model", "winner", *scenario.hosts]


def model_rows(scenario: ScenarioAcrossHosts) -> list[list[str]]:
    """The per-model table of a scenario, header first."""
    rows = [model_headers(scenario)]
    for model in scenario.models:
        rows.append(
            [model.executor, winner_cell(model), *(best_cell(model, h) for h in scenario.hosts)]
        )
    return rows


def winners_sentence(scenario: ScenarioAcrossHosts) -> str:
    """Which host wins which model, in words; ties named as ties."""
    if scenario.note:
        return scenario.note[0].upper() + scenario.note[1:] + "."
    by_host: dict[str, list[str]] = {}
    for m in scenario.models:
        if m.winner:
            by_host.setdefault(m.winner, []).append(m.executor)
    won = [f"{host} wins {', '.join(models)}" for host, models in by_host.items()]
    tied = [m.executor for m in scenario.models if not m.winner and len(m.best) > 1]
    parts = []
    if won:
        parts.append("; ".join(won))
    if tied:
        parts.append(f"{', '.join(tied)}: a tie, no host is significantly faster than every other")
    family = sum(len(m.versus) for m in scenario.models)
    if not parts:
        return ""
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]} ({FLEET_TEST}, {plural(family, 'comparison')})."


def fleet_summary(fleet: FleetReport) -> str:
    """One line: the scheduler, how many hosts, how they ended."""
    counts: dict[str, int] = {}
    for h in fleet.hosts:
        counts[h.status] = counts.get(h.status, 0) + 1
    ended = ", ".join(f"{n} {status}" for status, n in counts.items())
    text = f"{plural(len(fleet.hosts), 'host')} of the Dask cluster at {fleet.scheduler}"
    return f"{text} ({ended}) · {fleet.created}" if ended else f"{text} · {fleet.created}"
