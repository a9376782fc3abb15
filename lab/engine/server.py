"""The embedded HTTP server: loopback only, configurable latency, payload and error rate.

Run as its own process (`python -m lab.engine.server`) so that serving never shares a GIL or a core
budget with the runner being measured. It prints `LISTENING <port>` once it accepts requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import signal
import sys
import threading

from aiohttp import web

HOST = "127.0.0.1"


def is_error(index: int, error_rate: float) -> bool:
    """Deterministic per request, so every executor sees the same failures."""
    if error_rate <= 0:
        return False
    h = int.from_bytes(hashlib.blake2b(str(index).encode(), digest_size=4).digest(), "big")
    return h / 2**32 < error_rate


def make_app(latency_ms: float, payload_size: int, error_rate: float) -> web.Application:
    body = (b"concurrency-lab " * (payload_size // 16 + 1))[:payload_size]
    delay = latency_ms / 1000

    async def item(request: web.Request) -> web.Response:
        try:
            index = int(request.match_info["index"])
        except ValueError:
            return web.Response(status=400, text="index must be an integer")
        if delay:
            await asyncio.sleep(delay)
        if is_error(index, error_rate):
            return web.Response(status=500, text="injected error")
        return web.Response(body=body, content_type="application/octet-stream")

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/item/{index}", item)
    app.router.add_get("/health", health)
    return app


def _stop_at_end_of_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """The lab keeps a pipe to our stdin open; when it dies, even by SIGKILL, we follow."""

    def wait() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdin.buffer.read()
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait, name="stdin-watch", daemon=True).start()


async def serve(
    latency_ms: float, payload_size: int, error_rate: float, port: int, with_parent: bool = False
) -> None:
    runner = web.AppRunner(make_app(latency_ms, payload_size, error_rate), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"LISTENING {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if with_parent:
        _stop_at_end_of_stdin(loop, stop)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.engine.server")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--payload-size", type=int, default=1024)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="exit when stdin reaches end of file"
    )
    args = parser.parse_args(argv)
    coro = serve(
        args.latency_ms, args.payload_size, args.error_rate, args.port, args.exit_with_parent
    )
    try:
        import uvloop

        uvloop.run(coro)
    except ImportError:
        asyncio.run(coro)
    return 0


if __name__ == "__main__":
    sys.exit(main())
