"""The round schedule: which run measures when, reproducible from a seed.

Each round takes one measured repeat of every run in a freshly shuffled order, so slow drift of
the machine (neighbours, frequency, cache) lands on every model alike instead of on whichever
ran last. The rounds are split into one block per runner process: block b uses every run's
b-th runner, so a run's repeats come from several processes.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from typing import Any


def new_seed() -> int:
    return secrets.randbelow(2**31)


def round_orders(run_ids: list[str], rounds: int, seed: int) -> list[list[str]]:
    """One shuffled order of `run_ids` per round; the same seed gives the same orders."""
    rng = random.Random(seed)
    orders = []
    for _ in range(rounds):
        order = list(run_ids)
        rng.shuffle(order)
        orders.append(order)
    return orders


def blocks(rounds: int, processes: int) -> list[range]:
    """Consecutive rounds per runner process, as even as they divide (5 over 2: 3 and 2)."""
    processes = max(1, min(processes, rounds))
    bounds = [round(i * rounds / processes) for i in range(processes + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(processes)]


@dataclass(frozen=True)
class Schedule:
    seed: int
    processes: int  # runner processes per run (at most one per round)
    orders: list[list[str]]

    @classmethod
    def make(cls, run_ids: list[str], rounds: int, processes: int, seed: int) -> Schedule:
        return cls(seed, max(1, min(processes, rounds)), round_orders(run_ids, rounds, seed))

    @property
    def blocks(self) -> list[range]:
        return blocks(len(self.orders), self.processes)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "processes": self.processes,
            "count": len(self.orders),
            "order": self.orders,
        }
