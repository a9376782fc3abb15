"""HTTP GETs at bounded concurrency; failures are counted by kind, never fatal."""

from __future__ import annotations

import asyncio
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

from lab.histogram import Histogram
from lab.workloads.base import RepeatOutcome, Tally, Workload, WorkloadSetupError

# Pool workers import this module to run `fetch`: aiohttp and pydantic stay out of their start-up.
if TYPE_CHECKING:
    import aiohttp

    from lab.scenario import HttpWorkload

SERVER_START_TIMEOUT = 20.0

# Keep-alive connections per thread (and so per process), keyed by (scheme, host, port).
_local = threading.local()


def _error_kind(exc: BaseException) -> str:
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


class HttpTally(Tally):
    def __init__(self, deterministic: bool) -> None:
        self.deterministic = deterministic
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
        digest = ",".join(f"{k}={v}" for k, v in sorted(self.outcomes.items()))
        return RepeatOutcome(
            amount=total,
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
        return HttpTally(deterministic=self.base is not None)


@asynccontextmanager
async def embedded_server(
    latency_ms: float, payload_size: int, error_rate: float
) -> AsyncIterator[str]:
    """Start `python -m lab.server` on a random loopback port; yields its base URL."""
    from lab.runner_env import child_env

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lab.server",
        "--latency-ms", str(latency_ms),
        "--payload-size", str(payload_size),
        "--error-rate", str(error_rate),
        stdout=asyncio.subprocess.PIPE,
        env=child_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), SERVER_START_TIMEOUT)
        except TimeoutError:
            line = b""
        text = line.decode(errors="replace").strip()
        if not text.startswith("LISTENING "):
            raise WorkloadSetupError("the embedded HTTP server did not start")
        yield f"http://127.0.0.1:{int(text.split()[1])}/item/"
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()


@asynccontextmanager
async def provision(spec: HttpWorkload, workdir: Path) -> AsyncIterator[dict[str, Any]]:
    if spec.urls:
        yield {"urls": list(spec.urls)}
        return
    async with embedded_server(spec.latency_ms, spec.payload_size, spec.error_rate) as base:
        yield {"base": base, "embedded": True}
