"""The open-loop sender's own overhead: the lab's asyncio open loop against a raw aiohttp client
sending the same schedule, both against nginx on loopback (issue 24).

For each rate of a ladder, both senders send the same constant schedule for `--duration`
seconds (alternating which goes first, so drift hits both alike). A sender *held* a rate when
it achieved at least 99% of it: the achieved rate is computed the same way for both (the target
scaled by how far behind the end of the schedule was sent: lab.runner.workloads.openloop). The
figure that matters is the highest rate each held, and their ratio lab/raw (the issue asks for
at least 0.90).

    python benchmarks/open_loop_overhead.py                   # nginx-light, the default ladder
    python benchmarks/open_loop_overhead.py --rates 1000 2000 3000 --duration 3
    python benchmarks/open_loop_overhead.py --smoke           # the embedded server, tiny: seconds

nginx: the `nginx` binary on PATH or in /usr/sbin; when it is missing and this runs as root on
Debian or Ubuntu, `apt-get install -y nginx-light` installs it (the benchmark only; tests never
do). It listens on 127.0.0.1 on a free port with a temporary configuration, serving a 1 KiB
body, and is stopped at the end. `--smoke` uses the lab's embedded server instead, so that a
test can run this script anywhere; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import TypeAdapter

from lab.analysis.openloop import HELD_SHARE as HELD  # what the lab's verdicts call held
from lab.runner.executors import executor_class
from lab.runner.workloads import workload_class
from lab.runner.workloads.http import EmbeddedServer, TooManyFailures
from lab.runner.workloads.openloop import OpenLoopMeter, schedule_offsets
from lab.scenario.spec import WorkloadSpec

TARGET = 0.90  # the issue: the lab holds at least 90% of the rate the raw client holds
DEFAULT_RATES = [500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000]
NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ root {tmp}/www; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("nginx is not installed; install nginx-light (or run as root on Debian)")
    print("installing nginx-light (apt-get) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", "nginx-light"], check=True, env=env)
    # The package starts its own service on port 80: this benchmark uses its own instance only.
    subprocess.run(["service", "nginx", "stop"], check=False, capture_output=True)
    return shutil.which("nginx") or "/usr/sbin/nginx"


@contextmanager
def nginx() -> Iterator[str]:
    """nginx on a free loopback port with a temporary configuration; yields its item URL."""
    binary = nginx_binary()
    with tempfile.TemporaryDirectory(prefix="concurrency-lab-nginx-") as tmp:
        port = free_port()
        # Started as root, nginx's workers serve as an unprivileged user: they must read these.
        os.chmod(tmp, 0o755)
        (Path(tmp) / "www").mkdir(mode=0o755)
        (Path(tmp) / "www" / "item").write_bytes(b"x" * 1024)
        os.chmod(Path(tmp) / "www" / "item", 0o644)
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port))
        proc = subprocess.Popen([binary, "-c", str(conf), "-p", tmp])
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("nginx did not start") from None
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}/item"
        finally:
            proc.send_signal(signal.SIGQUIT)  # graceful stop
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def lab_sender(url: str, rate: float, duration: float) -> float:
    """The lab's own path: the http workload's open loop under the asyncio executor."""
    spec = TypeAdapter(WorkloadSpec).validate_python(
        {"kind": "http", "urls": [url], "rate": rate, "duration": duration}
    )
    workload = workload_class("http")(spec, {"urls": [url]})
    executor = executor_class("asyncio")(4, "forkserver")
    executor.start(workload)
    try:
        tally = workload.new_tally()
        executor.run(workload, workload.tasks(), tally)
        try:
            record = tally.finish().open_loop
        except TooManyFailures:
            return 0.0  # so far behind that requests timed out: not held
    finally:
        executor.close()
    assert record is not None
    return record.achieved_rate


def raw_sender(url: str, rate: float, duration: float) -> float:
    """A plain aiohttp client: one session, a task per request started at its time."""
    import aiohttp

    offsets = schedule_offsets(rate, duration, "constant")
    meter = OpenLoopMeter(rate, duration, "constant")
    failed = 0

    async def main() -> None:
        nonlocal failed
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=10.0)  # the lab's default request_timeout
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def one(due: float) -> None:
                nonlocal failed
                sent = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        failed += response.status >= 400
                except (aiohttp.ClientError, TimeoutError):
                    failed += 1
                meter.add(due, sent, time.perf_counter() - sent)

            start = time.perf_counter() + 0.02
            async with asyncio.TaskGroup() as group:
                for offset in offsets:
                    due = start + offset
                    wait = due - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    group.create_task(one(due))

    asyncio.run(main())
    # As the lab's tally does: more than 1% failed requests is no rate held.
    return 0.0 if failed > 0.01 * len(offsets) else meter.achieved_rate()


def held_rate(results: dict[float, list[float]]) -> float | None:
    held = [rate for rate, got in results.items() if statistics.median(got) >= HELD * rate]
    return max(held) if held else None


def run(url: str, rates: list[float], duration: float, repeats: int) -> tuple[float, float]:
    lab: dict[float, list[float]] = {}
    raw: dict[float, list[float]] = {}
    print(f"{'rate':>8} {'lab achieved':>14} {'raw achieved':>14}", flush=True)
    for rate in rates:
        lab[rate], raw[rate] = [], []
        for i in range(repeats):
            order = [("lab", lab_sender), ("raw", raw_sender)]
            for name, sender in order if i % 2 == 0 else order[::-1]:
                (lab if name == "lab" else raw)[rate].append(sender(url, rate, duration))
        print(
            f"{rate:>8,.0f} {statistics.median(lab[rate]):>14,.0f} "
            f"{statistics.median(raw[rate]):>14,.0f}",
            flush=True,
        )
        if all(statistics.median(got[rate]) < HELD * rate for got in (lab, raw)):
            break  # neither held this rate: higher ones only take longer to fail
    return held_rate(lab) or 0.0, held_rate(raw) or 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rates", type=float, nargs="+", default=DEFAULT_RATES)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="embedded server, tiny: seconds")
    args = parser.parse_args(argv)
    # A SIGTERM unwinds like Ctrl+C, so that nginx is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
    if args.smoke:

        async def embedded() -> tuple[float, float]:
            server = EmbeddedServer(0, 1024, 0.0)
            base = await server.start()
            try:
                # Two rates (the ladder's stop rule runs), a quarter second each: 25 and 50
                # requests per sender. Its figures mean nothing; the paths are the full run's.
                return await asyncio.to_thread(run, f"{base}0", [100.0, 200.0], 0.25, 1)
            finally:
                await server.stop()

        lab_held, raw_held = asyncio.run(embedded())
    else:
        with nginx() as url:
            lab_held, raw_held = run(url, sorted(args.rates), args.duration, args.repeats)
    print(
        f"highest rate held (achieved >= {HELD:.0%}): lab {lab_held:,.0f}/s, raw {raw_held:,.0f}/s"
    )
    if not raw_held:
        print("lab/raw held-rate ratio n/a: the raw client held none of the rates")
        return 0
    ratio = lab_held / raw_held
    verdict = "meets" if ratio >= TARGET else "misses"
    print(f"lab/raw held-rate ratio {ratio:.2f} ({verdict} the {TARGET:.0%} target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
