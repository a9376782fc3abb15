"""The embedded HTTP server: loopback only, configurable latency, payload and error rate.

Run as its own process (`python -m lab.runner.server`) so that serving never shares a GIL or a core
budget with the runner being measured. It prints `LISTENING <port>` once it accepts requests.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import sys

from aiohttp import web

from lab.runner.system import parent_death

HOST = "127.0.0.1"


def is_error(index: int, error_rate: float) -> bool:
    """Deterministic per request, so every executor sees the same failures."""
    if error_rate <= 0:
        return False
    h = int.from_bytes(hashlib.blake2b(str(index).encode(), digest_size=4).digest(), "big")
    return h / 2**32 < error_rate


class Stall:
    """Holds every answer for `seconds` once, from the arrival of request `index` on: a known
    slow period, against which an open loop's corrected latencies are checked."""

    def __init__(self, index: int | None, seconds: float) -> None:
        self.index = index
        self.seconds = seconds
        self.until: float | None = None

    def arrived(self, index: int, now: float) -> None:
        if index == self.index and self.until is None:
            self.until = now + self.seconds

    async def hold(self) -> None:
        if self.until is None:
            return
        left = self.until - asyncio.get_running_loop().time()
        if left > 0:
            await asyncio.sleep(left)


def make_app(
    latency_ms: float, payload_size: int, error_rate: float, stall: Stall | None = None
) -> web.Application:
    body = (b"concurrency-lab " * (payload_size // 16 + 1))[:payload_size]
    delay = latency_ms / 1000
    stall = stall or Stall(None, 0.0)

    async def item(request: web.Request) -> web.Response:
        try:
            index = int(request.match_info["index"])
        except ValueError:
            return web.Response(status=400, text="index must be an integer")
        stall.arrived(index, asyncio.get_running_loop().time())
        if delay:
            await asyncio.sleep(delay)
        await stall.hold()
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
    """The lab keeps a pipe to our stdin open; when it dies, even by SIGKILL, we follow.

    Watched by the loop, not by a thread blocked in sys.stdin: a daemon thread holding the
    buffered stdin's lock at exit aborts the interpreter ("_enter_buffered_busy")."""
    fd = sys.stdin.fileno()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


async def serve(
    latency_ms: float,
    payload_size: int,
    error_rate: float,
    port: int,
    with_parent: bool = False,
    stall: Stall | None = None,
) -> None:
    # No grace for requests in flight: the lab stops the server only between runs, or when
    # it goes away itself.
    runner = web.AppRunner(
        make_app(latency_ms, payload_size, error_rate, stall), access_log=None, shutdown_timeout=0
    )
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    if with_parent:
        _stop_at_end_of_stdin(loop, stop)
    print(f"LISTENING {bound}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.runner.server")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--payload-size", type=int, default=1024)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="exit when stdin reaches end of file"
    )
    parser.add_argument(
        "--stall-at",
        type=int,
        default=None,
        metavar="INDEX",
        help="once request INDEX arrives, hold every answer for --stall-ms (tests)",
    )
    parser.add_argument("--stall-ms", type=float, default=200.0)
    args = parser.parse_args(argv)
    parent_death.arm_from_env()
    stall = Stall(args.stall_at, args.stall_ms / 1000)
    coro = serve(
        args.latency_ms,
        args.payload_size,
        args.error_rate,
        args.port,
        args.exit_with_parent,
        stall,
    )
    try:
        import uvloop

        uvloop.run(coro)
    except ImportError:
        asyncio.run(coro)
    return 0


if __name__ == "__main__":
    code = main()
    # The sockets are closed and stdout flushed: nothing is left to release that the kernel
    # does not. Tearing down aiohttp's and uvloop's modules takes longer than serving did to
    # stop (100-200 ms on a busy machine), and the lab waits for this process between runs.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
