"""Answers checked as each run ends, so its own progress line can say when they are wrong.

`lab.analysis.summarise.check_agreement` checks every run of a scenario once all have
finished; by then the runs' lines have been printed and the app has shown them `ok`. This
module applies the same rule as early as it can: a run whose repeats disagree with each other,
or whose answer differs from the serial run's (the reference, when it has already finished),
is failed with the same words before its RunFinished event goes out. What only shows later
(serial finishing after the run it contradicts) is still caught by check_agreement, and
headless mode then prints a correction line for that run.
"""

from __future__ import annotations

from lab.analysis.differences import first_difference
from lab.results.model import Report, RunError, RunResult
from lab.scenario.models import is_baseline


def _digests(run: RunResult) -> set[str]:
    return {r.digest for r in [*run.warmups, *run.repeats] if r.digest is not None}


def mark_disagreement(run: RunResult, report: Report, scenario: str) -> None:
    """Fail run (status and error) if its answers disagree; see the module docstring."""
    if run.status != "ok":
        return
    own = _digests(run)
    if len(own) > 1:
        run.status = "failed"
        run.error = RunError("mismatch", "repeats of this run computed different results")
        return
    if not own or is_baseline(run.executor):
        return
    result = next((s for s in report.scenarios if s.name == scenario), None)
    runs = result.runs if result is not None else []
    serial = next(
        (
            r
            for r in runs
            if is_baseline(r.executor)
            and r.params == run.params
            and r.interpreter == run.interpreter
            and r.status == "ok"
        ),
        None,
    )
    reference = _digests(serial) if serial is not None else set()
    if len(reference) != 1:
        return
    (digest,), (expected,) = own, reference
    if digest != expected:
        assert serial is not None
        run.status = "failed"
        run.error = RunError(
            "mismatch",
            # Which task, where the workload kept per-task results (kind: callable).
            first_difference(run, serial)
            or f"results differ from the other executors ({digest} vs {expected})",
        )
