"""The address of an existing Dask scheduler, as a scenario's `cluster:` and `--cluster` give it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from pydantic import AfterValidator

CLUSTER_SCHEMES = ("tcp", "tls")


def check_cluster_address(address: str) -> str:
    """'tcp://host:8786': a Dask scheduler address with a scheme, a host and a port."""
    scheme, sep, rest = address.partition("://")
    if not sep or scheme not in CLUSTER_SCHEMES:
        raise ValueError(
            f"{address!r} is not a Dask scheduler address such as tcp://127.0.0.1:8786 "
            f"(scheme {' or '.join(s + '://' for s in CLUSTER_SCHEMES)})"
        )
    try:
        parsed = urlparse(f"{scheme}://{rest}")
        port = parsed.port
    except ValueError:
        raise ValueError(f"{address!r} has a port outside 1-65535") from None
    if not parsed.hostname or port is None or parsed.path not in ("", "/"):
        raise ValueError(f"{address!r} needs a host and a port, as in tcp://127.0.0.1:8786")
    return address


ClusterAddress = Annotated[str, AfterValidator(check_cluster_address)]
