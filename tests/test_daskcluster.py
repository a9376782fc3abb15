"""The test helper that starts real Dask processes: workers land on the hosts asked for, and
nothing outlives the cluster (the executor and fleet tests rely on both)."""

from __future__ import annotations

from pathlib import Path

import psutil

from tests.daskcluster import dask_cluster


def test_workers_bind_to_their_loopback_hosts_and_stop_without_leftovers(tmp_path: Path) -> None:
    with dask_cluster(tmp_path / "cluster", ("127.0.0.2", "127.0.0.3"), nanny=True) as cluster:
        addresses = cluster.wait_for_workers(2)
        hosts = sorted(a.removeprefix("tcp://").rsplit(":", 1)[0] for a in addresses)
        assert hosts == ["127.0.0.2", "127.0.0.3"]
        from distributed import Client

        with Client(cluster.address) as client:
            assert client.submit(sum, [1, 2], pure=False).result() == 3
        pids = [proc.pid for worker in cluster.workers for proc in worker.tree()]
        assert len(pids) >= 4  # two nannies, their workers (and multiprocessing helpers)
    assert not [pid for pid in pids if psutil.pid_exists(pid)]
