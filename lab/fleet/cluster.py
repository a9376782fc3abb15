"""The cluster a fleet run uses: reach its scheduler, group its workers by host, check that
every worker runs this very version of the lab. Every refusal is a FleetError in one sentence."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import Any

from lab import __version__
from lab.fleet.worker import worker_facts
from lab.runner.executors import daskprobe
from lab.scenario.models import DASK

CONNECT_TIMEOUT = 5.0  # seconds: a scheduler that does not answer by then is not there
INSTALL = DASK.install_line


class FleetError(Exception):
    """A fleet run that cannot start; str() is one sentence."""


@dataclass
class Host:
    host: str  # the host part of its workers' addresses
    workers: list[str]

    @property
    def launcher(self) -> str:
        """The worker that runs the host's session: the first by address, so reruns agree."""
        return self.workers[0]


def _distributed(module: str = "distributed") -> Any:
    """Dask, imported only by a fleet run (and untyped: its objects are Any here)."""
    return importlib.import_module(module)


def connect(address: str) -> Any:
    """A client of the scheduler at address, or FleetError within CONNECT_TIMEOUT seconds."""
    if importlib.util.find_spec("distributed") is None:
        raise FleetError(f"--fleet needs Dask distributed on this machine: {INSTALL}")
    dask = _distributed()
    address_problem(address)
    # Dask logs its retries, closing comms and a lost scheduler with tracebacks: the user gets
    # our sentences instead. After the import, which sets Dask's configured levels.
    # Dask's config gives some of its loggers their own levels (distributed.client, tornado's).
    quiet = ("distributed", "tornado", "asyncio")
    for name in [n for n in logging.root.manager.loggerDict if n.startswith(quiet)] + [*quiet]:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        # Dask's handshake has no timeout of its own: a port that accepts and never answers,
        # or answers garbage, is told apart first.
        daskprobe.probe(address, CONNECT_TIMEOUT)
    except daskprobe.NoScheduler as exc:
        raise FleetError(
            f"cannot reach the Dask scheduler at {address}: {exc}; start it with "
            "`dask scheduler` and give its tcp://HOST:PORT"
        ) from None
    try:
        return dask.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise FleetError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT:g} s "
            f"({_reason(exc)}); start it with `dask scheduler` and give its tcp://HOST:PORT"
        ) from None
    except (ValueError, TypeError) as exc:
        raise FleetError(_not_an_address(address, exc)) from None


def _not_an_address(address: str, exc: BaseException) -> str:
    return (
        f"{address!r} is not a Dask scheduler address such as tcp://scheduler:8786 ({_reason(exc)})"
    )


def address_problem(address: str) -> None:
    """FleetError for an address no scheduler can have, checked before a Client exists (one
    made with a bad address hangs for seconds when it is collected)."""
    comm = _distributed("distributed.comm")
    try:
        scheme, location = comm.parse_address(address)
        _distributed("distributed.comm.registry").get_backend(scheme)
        _, port = comm.parse_host_port(location)
        if not 0 < int(port) < 65536:
            raise ValueError(f"port {port} is not between 1 and 65535")
    except (ValueError, TypeError) as exc:
        raise FleetError(_not_an_address(address, exc)) from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 120:
        text = text[:117] + "..."
    return text or type(exc).__name__


def host_of(address: str) -> str:
    return str(_distributed("distributed.comm").get_address_host(address))


def hosts(client: Any, address: str) -> list[Host]:
    """The cluster's workers grouped by host, hosts in address order; FleetError when none."""
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if not workers:
        raise FleetError(
            f"the Dask scheduler at {address} has no workers: start `dask worker {address}` "
            "on each host (with the lab installed there)"
        )
    grouped: dict[str, list[str]] = {}
    for worker in workers:
        grouped.setdefault(host_of(worker), []).append(worker)
    return [Host(host, addresses) for host, addresses in sorted(grouped.items())]


def check_versions(client: Any, found: list[Host]) -> None:
    """FleetError unless every worker imports this version of the lab."""
    addresses = [w for h in found for w in h.workers]
    answers: dict[str, Any] = client.run(worker_facts, workers=addresses, on_error="return")
    for worker in addresses:
        answer = answers.get(worker)
        if answer is None:
            raise FleetError(f"worker {worker} left the cluster before it answered")
        if isinstance(answer, BaseException):
            raise FleetError(
                f"worker {worker} cannot run the lab ({_reason(answer)}): install "
                f"concurrency-lab {__version__} in the interpreter its `dask worker` runs"
            )
        version = answer.get("version")
        if version != __version__:
            raise FleetError(
                f"worker {worker} runs concurrency-lab {version}, this one is {__version__}: "
                "install the same version on every host"
            )
