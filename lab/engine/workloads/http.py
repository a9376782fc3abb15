"""HTTP GETs at bounded concurrency; failures are counted by kind, never fatal."""

from __future__ import annotations

import asyncio
import errno
import http.client
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lab.core.histogram import Histogram
from lab.engine.cancelsafe import within
from lab.engine.workloads.base import (
    RepeatOutcome,
    ScenarioContext,
    Tally,
    TargetUnreachable,
    Workload,
    WorkloadSetupError,
)

# Pool workers import this module to run `fetch`: aiohttp and pydantic stay out of their start-up.
if TYPE_CHECKING:
    import aiohttp

    from lab.scenario.spec import HttpWorkload

HOST = "127.0.0.1"  # where lab.engine.server listens (not imported: runners need no aiohttp.web)
SERVER_START_TIMEOUT = 20.0
SERVER_STOP_TIMEOUT = 1.0
PREFLIGHT_TIMEOUT = 5.0
PREFLIGHT_TARGETS = 20

# Keep-alive connections per thread (and so per process), keyed by (scheme, host, port).
_local = threading.local()


def _errno(exc: BaseException) -> int | None:
    """The OS error number behind exc, through aiohttp's wrappers and exception chains."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current.errno
        os_error = getattr(current, "os_error", None)  # aiohttp.ClientConnectorError
        if isinstance(os_error, OSError) and os_error.errno is not None:
            return os_error.errno
        current = current.__cause__ or current.__context__
    return None


def _error_kind(exc: BaseException) -> str:
    # Out of file descriptors is this machine's limit, not the target refusing: say so.
    if _errno(exc) in (errno.EMFILE, errno.ENFILE):
        return "too_many_open_files"
    if isinstance(exc, TimeoutError | socket.timeout | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | http.client.RemoteDisconnected):
        return "reset"
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None:
        if isinstance(exc, aiohttp.ClientConnectorError):
            return "refused"
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            return "reset"
    return type(exc).__name__


def _connection(scheme: str, host: str, port: int, timeout: float) -> http.client.HTTPConnection:
    pool: dict[tuple[str, str, int], http.client.HTTPConnection] = (
        getattr(_local, "pool", None) or {}
    )
    _local.pool = pool
    key = (scheme, host, port)
    conn = pool.get(key)
    if conn is None:
        cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = cls(host, port, timeout=timeout)
        pool[key] = conn
    return conn


def fetch(task: tuple[int, str, float]) -> tuple[int, str, float, int]:
    """One GET over this thread's keep-alive connection: (index, outcome, seconds, bytes)."""
    index, url, timeout = task
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    start = time.perf_counter()
    conn = _connection(parts.scheme, parts.hostname or "", port, timeout)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        body = response.read()
        status = response.status
    except Exception as exc:
        conn.close()
        _local.pool.pop((parts.scheme, parts.hostname or "", port), None)
        return index, _error_kind(exc), time.perf_counter() - start, 0
    elapsed = time.perf_counter() - start
    return index, "ok" if status < 400 else f"http_{status}", elapsed, len(body)


class TooManyFailures(TargetUnreachable):
    """More requests failed than the scenario allows: a throughput of failures means nothing."""


class HttpTally(Tally):
    def __init__(
        self, deterministic: bool, max_error_share: float = 0.01, asked_errors: bool = False
    ) -> None:
        self.deterministic = deterministic
        self.max_error_share = max_error_share
        # Injected HTTP 500s (the embedded server's error_rate) are what the scenario asked for.
        self.asked_errors = asked_errors
        self.latency = Histogram()
        self.outcomes: dict[str, int] = {}
        self.bytes = 0

    def add(self, result: tuple[int, str, float, int]) -> None:
        _, outcome, seconds, size = result
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.latency.add(seconds)
        self.bytes += size

    def finish(self) -> RepeatOutcome:
        total = sum(self.outcomes.values())
        errors = {k: v for k, v in sorted(self.outcomes.items()) if k != "ok"}
        answered = sum(v for k, v in self.outcomes.items() if k == "ok" or k.startswith("http_"))
        by_count = sorted(errors.items(), key=lambda kv: -kv[1])
        if total and not answered:
            # Not one response: what was timed is how fast connections fail, not HTTP.
            kinds = ", ".join(f"{v} {k}" for k, v in by_count)
            raise TargetUnreachable(
                f"none of the {total} requests got a response ({kinds}): is the target up?"
            )
        unasked = {k: v for k, v in by_count if not (self.asked_errors and k == "http_500")}
        failed = sum(unasked.values())
        if total and failed / total > self.max_error_share:
            kinds = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in unasked.items())
            raise TooManyFailures(
                f"{failed} of {total} requests failed ({kinds}), more than the "
                f"{100 * self.max_error_share:g}% the scenario allows (max_error_share); "
                "a rate of failures is not throughput"
            )
        digest = ",".join(f"{k}={v}" for k, v in sorted(self.outcomes.items()))
        return RepeatOutcome(
            # Throughput counts answered requests only, never failures.
            amount=self.outcomes.get("ok", 0),
            tasks=total,
            digest=digest if self.deterministic else None,
            errors=errors,
            latency=self.latency,
        )


class Http(Workload):
    kind = "http"
    unit = "requests"
    spec: HttpWorkload

    def __init__(self, spec: HttpWorkload, context: dict[str, Any]) -> None:
        super().__init__(spec, context)
        self.base: str | None = context.get("base")
        self.urls: list[str] = context.get("urls") or []
        self.session: aiohttp.ClientSession | None = None

    def task_count(self) -> int:
        return self.spec.requests

    def tasks(self) -> Iterator[tuple[int, str, float]]:
        timeout = self.spec.request_timeout
        for i in range(self.spec.requests):
            url = f"{self.base}{i}" if self.base else self.urls[i % len(self.urls)]
            yield (i, url, timeout)

    @property
    def sync_function(self) -> Callable[[Any], Any]:
        return fetch

    @asynccontextmanager
    async def async_session(self, concurrency: int) -> AsyncIterator[None]:
        import aiohttp

        # aiohttp caps a connector at 100 connections by default; size it to the sweep instead.
        connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
        timeout = aiohttp.ClientTimeout(total=self.spec.request_timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            self.session = session
            try:
                yield
            finally:
                self.session = None

    async def run_async(self, task: Any) -> Any:
        index, url, _ = task
        assert self.session is not None
        start = time.perf_counter()
        try:
            async with self.session.get(url) as response:
                body = await response.read()
                status = response.status
        except Exception as exc:
            return index, _error_kind(exc), time.perf_counter() - start, 0
        elapsed = time.perf_counter() - start
        return index, "ok" if status < 400 else f"http_{status}", elapsed, len(body)

    def new_tally(self) -> Tally:
        embedded = self.base is not None
        return HttpTally(
            deterministic=embedded,
            max_error_share=self.spec.max_error_share,
            asked_errors=embedded and self.spec.error_rate > 0,
        )


class EmbeddedServer:
    """`python -m lab.engine.server` on a random loopback port, in its own process.

    It exits by itself if the lab dies without stopping it (its stdin, a pipe from the lab,
    reaches end of file).
    """

    def __init__(self, latency_ms: float, payload_size: int, error_rate: float) -> None:
        self.args = [
            "--latency-ms", str(latency_ms),
            "--payload-size", str(payload_size),
            "--error-rate", str(error_rate),
            "--exit-with-parent",
        ]  # fmt: skip
        self.proc: asyncio.subprocess.Process | None = None
        self.base = ""

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc is not None else None

    async def start(self) -> str:
        """Start the server and wait for it to listen; returns its base URL."""
        from lab.engine.system.child_env import child_env, python_command

        self.proc = await asyncio.create_subprocess_exec(
            *python_command("lab.engine.server", *self.args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=child_env(),
            # Its own session: a Ctrl+C meant for the lab reaches the lab, which stops it.
            start_new_session=True,
        )  # fmt: skip
        try:
            assert self.proc.stdout is not None
            line = b""
            with suppress(TimeoutError):  # never asyncio.wait_for: see lab.engine.cancelsafe
                line = await within(self.proc.stdout.readline(), SERVER_START_TIMEOUT)
            text = line.decode(errors="replace").strip()
            if not text.startswith("LISTENING "):
                from lab.engine.system.groups import describe_exit

                raise WorkloadSetupError(
                    "the embedded HTTP server did not start"
                    + (
                        f" (it {describe_exit(self.returncode)})"
                        if self.returncode is not None
                        else ""
                    )
                )
        except BaseException:
            await self.stop()
            raise
        self.base = f"http://{HOST}:{int(text.split()[1])}/item/"
        return self.base

    async def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.returncode is None:
                with suppress(ProcessLookupError):
                    proc.terminate()
                with suppress(TimeoutError):
                    await within(proc.wait(), SERVER_STOP_TIMEOUT)
        finally:
            # Cancelled while it stops (a second Ctrl+C) or too slow: it is killed all the same.
            if proc.returncode is None:
                with suppress(ProcessLookupError):
                    proc.kill()
            if proc.stdin is not None:
                proc.stdin.close()
        await proc.wait()


class ServerContext(ScenarioContext):
    """The context runners get ({"base": URL, "embedded": True}), watching the server."""

    def __init__(self, server: EmbeddedServer) -> None:
        super().__init__(base=server.base, embedded=True)
        self.server = server

    def problem(self) -> str | None:
        from lab.engine.system.groups import describe_exit

        code = self.server.returncode
        return None if code is None else f"the embedded HTTP server {describe_exit(code)}"

    async def recover(self) -> None:
        """A server that died during one run is restarted (on a new port) for the next."""
        await self.server.stop()
        self["base"] = await self.server.start()


@asynccontextmanager
async def embedded_server(
    latency_ms: float, payload_size: int, error_rate: float
) -> AsyncIterator[str]:
    """Start `python -m lab.engine.server` on a random loopback port; yields its base URL."""
    server = EmbeddedServer(latency_ms, payload_size, error_rate)
    try:
        yield await server.start()
    finally:
        await server.stop()


async def check_reachable(urls: list[str], timeout: float) -> None:
    """Connect once to each distinct host:port before any run, so a dead target is one clear
    setup error instead of a matrix of runs full of refused requests."""
    seen: set[tuple[str, int]] = set()
    for url in urls:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (host, port) in seen or len(seen) >= PREFLIGHT_TARGETS:
            continue
        seen.add((host, port))
        try:
            _, writer = await within(asyncio.open_connection(host, port), timeout)
        except ConnectionRefusedError:
            raise WorkloadSetupError(
                f"{url} refused the connection: nothing listens on {host}:{port} "
                "(is the server running?)"
            ) from None
        except socket.gaierror as exc:
            raise WorkloadSetupError(f"cannot resolve the host of {url}: {exc.strerror}") from None
        except TimeoutError:
            raise WorkloadSetupError(
                f"{url} did not accept a connection within {timeout:g} s"
            ) from None
        except OSError as exc:
            raise WorkloadSetupError(f"cannot connect to {url}: {exc.strerror or exc}") from None
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()


@asynccontextmanager
async def provision(spec: HttpWorkload, workdir: Path) -> AsyncIterator[dict[str, Any]]:
    if spec.urls:
        await check_reachable(list(spec.urls), min(spec.request_timeout, PREFLIGHT_TIMEOUT))
        yield {"urls": list(spec.urls)}
        return
    server = EmbeddedServer(spec.latency_ms, spec.payload_size, spec.error_rate)
    try:
        await server.start()
        yield ServerContext(server)
    finally:
        await server.stop()
