"""Waiting with a time limit without ever swallowing a cancellation (Ctrl+C).

Before Python 3.12, `asyncio.wait_for` returns the awaited result when a cancellation arrives
in the same loop iteration as that result, and the cancellation is lost: the lab went on
running after Ctrl+C about once in 30 tries. `asyncio.timeout` tells a cancellation from
outside apart from its own, so every wait on the session's event path goes through here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def get_within(queue: asyncio.Queue[T], seconds: float) -> T:
    """The next item of `queue`; TimeoutError after `seconds`. A cancellation always propagates,
    and leaves an item that had just arrived in the queue."""
    async with asyncio.timeout(seconds):
        return await queue.get()


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """`awaitable`'s result; TimeoutError after `seconds`. A cancellation always propagates."""
    async with asyncio.timeout(seconds):
        return await awaitable
