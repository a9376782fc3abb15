"""json round-trips of a generated document: pure-Python-bound work, so threads should not scale.

The json module's C accelerator does the parsing and encoding, but it holds the GIL throughout.
"""

from __future__ import annotations

import json
import random
from typing import Any

_DOC: dict[str, Any] = {}


def prepare() -> None:
    """Once per process, before timing: a document of 400 records, the same everywhere."""
    global _DOC
    rng = random.Random(7)
    _DOC = {
        "records": [
            {
                "id": i,
                "name": f"item-{rng.randrange(10**6)}",
                "price": round(rng.uniform(1, 500), 2),
                "tags": [rng.choice(["red", "green", "blue", "big", "small"]) for _ in range(4)],
                "stock": {"warehouse": rng.randrange(100), "shop": rng.randrange(20)},
            }
            for i in range(400)
        ]
    }


def roundtrip(index: int) -> tuple[int, float]:
    """Encode and decode the document, touched by the task index so tasks differ."""
    doc = dict(_DOC, task=index)
    back = json.loads(json.dumps(doc))
    return len(back["records"]) + back["task"], back["records"][index % 400]["price"]
