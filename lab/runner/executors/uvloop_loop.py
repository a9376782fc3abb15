"""asyncio on uvloop (libuv), where it is installed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from lab.runner.executors.asyncio_loop import AsyncioExecutor
from lab.scenario.models import UVLOOP


class UvloopExecutor(AsyncioExecutor):
    name = UVLOOP.name

    def loop_factory(self) -> Callable[[], asyncio.AbstractEventLoop] | None:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return factory
