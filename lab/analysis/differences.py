"""Which task two runs disagree on, from the per-task records a workload kept (kind: callable).

Each run's first record may carry `results`: one "hash repr" per task, or one hash per group of
tasks past a cap. The run digests already say *that* two runs differ; these say *where*.
"""

from __future__ import annotations

import math

from lab.results.model import RunResult


def _records(run: RunResult) -> list[str] | None:
    for record in [*run.warmups, *run.repeats]:
        if record.results:
            return record.results
    return None


def first_difference(run: RunResult, reference: RunResult) -> str | None:
    """'task 17: threads returned 41, serial returned 42', or None when nothing says where."""
    mine, theirs = _records(run), _records(reference)
    if not mine or not theirs or len(mine) != len(theirs):
        return None
    index = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b), None)
    if index is None:
        return None
    a, b = mine[index], theirs[index]
    if " " in a and " " in b:
        return (
            f"task {index}: {run.executor} returned {a.split(' ', 1)[1]}, "
            f"{reference.executor} returned {b.split(' ', 1)[1]}"
        )
    size = max(1, math.ceil(run.tasks / len(mine)))
    last = min(run.tasks, (index + 1) * size) - 1
    return (
        f"tasks {index * size}-{last}: {run.executor}'s results differ from {reference.executor}'s"
    )
