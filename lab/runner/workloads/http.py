"""HTTP GETs at bounded concurrency; failures are counted by kind, never fatal."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lab.core.histogram import Histogram
from lab.core.units import format_bytes
from lab.runner.cancelsafe import within
from lab.runner.workloads.base import (
    RepeatOutcome,
    ScenarioContext,
    Tally,
    TargetUnreachable,
    Workload,
    WorkloadSetupError,
)
from lab.runner.workloads.httpclient import (
    BODY_TOO_LARGE,
    READ_SIZE,
    error_kind,
    fetch,
    fetch_on_schedule,
)
from lab.runner.workloads.openloop import (
    LEAD_SECONDS,
    OpenLoopMeter,
    open_loop_result,
    schedule_offsets,
    with_open_loop,
)

# Pool workers import this module to run `fetch`: aiohttp and pydantic stay out of their start-up.
if TYPE_CHECKING:
    import aiohttp

    from lab.scenario.spec import HttpWorkload

HOST = "127.0.0.1"  # where lab.runner.server listens (not imported: runners need no aiohttp.web)
SERVER_START_TIMEOUT = 20.0
SERVER_STOP_TIMEOUT = 1.0
PREFLIGHT_TIMEOUT = 5.0
PREFLIGHT_TARGETS = 20


class TooManyFailures(TargetUnreachable):
    """More requests failed than the scenario allows: a throughput of failures means nothing."""


class HttpTally(Tally):
    def __init__(
        self,
        deterministic: bool,
        max_error_share: float = 0.01,
        asked_errors: bool = False,
        cap: int = 4 * 1024**2,
    ) -> None:
        self.deterministic = deterministic
        self.cap = cap  # max_body_size, for the message
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
        answered = sum(
            v
            for k, v in self.outcomes.items()
            if k in ("ok", BODY_TOO_LARGE) or k.startswith("http_")
        )
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
            too_large = (
                f"; a response body was larger than max_body_size ({format_bytes(self.cap)}):"
                " raise it in the scenario if the target really sends that much"
                if BODY_TOO_LARGE in unasked
                else ""
            )
            raise TooManyFailures(
                f"{failed} of {total} requests failed ({kinds}), more than the "
                f"{100 * self.max_error_share:g}% the scenario allows (max_error_share); "
                f"a rate of failures is not throughput{too_large}"
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


class OpenLoopTally(HttpTally):
    """HttpTally's checks and counts, plus the open loop's corrected and service latencies.

    The closed loop's latency histogram holds the corrected latencies here: what a caller
    arriving on schedule waited, the figure every latency column shows."""

    def __init__(self, meter: OpenLoopMeter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.meter = meter

    def add(self, result: Any) -> None:
        (_, outcome, service, size), due, sent = open_loop_result(result)
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.bytes += size
        self.meter.add(due, sent, service)
        self.latency.add(max(0.0, sent - due) + service)

    def finish(self) -> RepeatOutcome:
        return with_open_loop(super().finish(), self.meter)


class Http(Workload):
    kind = "http"
    unit = "requests"
    spec: HttpWorkload

    def __init__(self, spec: HttpWorkload, context: dict[str, Any]) -> None:
        super().__init__(spec, context)
        self.base: str | None = context.get("base")
        self.urls: list[str] = context.get("urls") or []
        self.session: aiohttp.ClientSession | None = None

    @property
    def open_loop(self) -> bool:
        return self.spec.rate is not None

    def task_count(self) -> int:
        return self.spec.scheduled_requests()

    def scheduled_at(self, task: Any) -> float:
        due: float = task[4]
        return due

    @property
    def body_cap(self) -> int:
        """max_body_size; the embedded server's payload always fits (it is the lab's own)."""
        cap = self.spec.max_body_size
        return max(cap, self.spec.payload_size) if self.base else cap

    def tasks(self) -> Iterator[tuple[Any, ...]]:
        timeout, cap = self.spec.request_timeout, self.body_cap
        if self.spec.rate is None:
            for i in range(self.spec.requests):
                yield (i, self._url(i), timeout, cap)
            return
        offsets = schedule_offsets(self.spec.rate, self.spec.duration, self.spec.arrival)
        # The schedule starts when the executor asks for its first request.
        start = time.perf_counter() + LEAD_SECONDS
        for i, offset in enumerate(offsets):
            yield (i, self._url(i), timeout, cap, start + offset)

    def _url(self, index: int) -> str:
        return f"{self.base}{index}" if self.base else self.urls[index % len(self.urls)]

    @property
    def sync_function(self) -> Callable[[Any], Any]:
        return fetch if self.spec.rate is None else fetch_on_schedule

    @asynccontextmanager
    async def async_session(self, concurrency: int) -> AsyncIterator[None]:
        import aiohttp

        # aiohttp caps a connector at 100 connections by default; size it to the sweep instead.
        # An open loop starts a task per request at its time: as many connections as
        # requests in flight (0: no limit), or the connector would be what falls behind.
        limit = 0 if self.open_loop else concurrency
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit)
        timeout = aiohttp.ClientTimeout(total=self.spec.request_timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            self.session = session
            try:
                yield
            finally:
                self.session = None

    async def run_async(self, task: Any) -> Any:
        """One GET: (index, outcome, seconds, bytes), and for an open-loop task (which carries
        its scheduled time) that time and the actual send, the start of this coroutine."""
        index, url, _, cap = task[:4]
        assert self.session is not None
        start = time.perf_counter()
        # An open-loop task's result carries its scheduled and actual send times.
        times = (task[4], start) if len(task) == 5 else ()
        size: int | None = 0
        try:
            async with self.session.get(url) as response:
                status = response.status
                length = response.content_length
                if length is not None and length > cap:
                    size = None  # said up front: not one byte is read
                    response.close()
                else:
                    async for chunk in response.content.iter_chunked(READ_SIZE):
                        size = (size or 0) + len(chunk)
                        if size > cap:
                            size = None
                            response.close()  # the rest is never read
                            break
        except Exception as exc:
            return (index, error_kind(exc), time.perf_counter() - start, 0, *times)
        elapsed = time.perf_counter() - start
        if size is None:
            return (index, BODY_TOO_LARGE, elapsed, 0, *times)
        return (index, "ok" if status < 400 else f"http_{status}", elapsed, size, *times)

    def new_tally(self) -> Tally:
        embedded = self.base is not None
        checks: dict[str, Any] = {
            "deterministic": embedded,
            "max_error_share": self.spec.max_error_share,
            "asked_errors": embedded and self.spec.error_rate > 0,
            "cap": self.body_cap,
        }
        if self.spec.rate is None:
            return HttpTally(**checks)
        meter = OpenLoopMeter(self.spec.rate, self.spec.duration, self.spec.arrival)
        return OpenLoopTally(meter, **checks)


class EmbeddedServer:
    """`python -m lab.runner.server` on a random loopback port, in its own process.

    It exits by itself if the lab dies without stopping it (its stdin, a pipe from the lab,
    reaches end of file).
    """

    def __init__(
        self,
        latency_ms: float,
        payload_size: int,
        error_rate: float,
        stall_at: int | None = None,
        stall_ms: float = 200.0,
    ) -> None:
        self.args = [
            "--latency-ms", str(latency_ms),
            "--payload-size", str(payload_size),
            "--error-rate", str(error_rate),
            "--exit-with-parent",
        ]  # fmt: skip
        if stall_at is not None:  # a known slow period (tests of the open loop)
            self.args += ["--stall-at", str(stall_at), "--stall-ms", str(stall_ms)]
        self.proc: asyncio.subprocess.Process | None = None
        self.base = ""

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc is not None else None

    async def start(self) -> str:
        """Start the server and wait for it to listen; returns its base URL."""
        from lab.runner.system.child_env import child_env, python_command

        self.proc = await asyncio.create_subprocess_exec(
            *python_command("lab.runner.server", *self.args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=child_env(),
            # Its own session: a Ctrl+C meant for the lab reaches the lab, which stops it.
            start_new_session=True,
        )  # fmt: skip
        try:
            assert self.proc.stdout is not None
            line = b""
            with suppress(TimeoutError):  # never asyncio.wait_for: see lab.runner.cancelsafe
                line = await within(self.proc.stdout.readline(), SERVER_START_TIMEOUT)
            text = line.decode(errors="replace").strip()
            if not text.startswith("LISTENING "):
                from lab.runner.system.groups import describe_exit

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
        from lab.runner.system.groups import describe_exit

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
    """Start `python -m lab.runner.server` on a random loopback port; yields its base URL."""
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
