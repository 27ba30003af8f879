"""`compute` on a Spark standalone cluster (a master and two workers on 127.0.0.1) equals DuckDB.

The cluster comes from the PySpark installation (`scripts/spark_cluster.py`); executors are
given no Python (`PYSPARK_PYTHON=/bin/false`), so the run also proves they need none. A small
generated month keeps the test to a couple of minutes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil
import pytest
from scripts.spark_cluster import ClusterError, LocalCluster, check, generate

from tests.conftest import QUICK_JVM

# One standalone cluster at a time: its tests share ports and a worker's memory.
pytestmark = pytest.mark.xdist_group("spark-cluster")


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _tree(cluster: LocalCluster) -> list[int]:
    """The cluster's processes: master, workers and the executors they forked."""
    pids = []
    for p in cluster.procs:
        pids.append(p.pid)
        with contextlib.suppress(psutil.NoSuchProcess):
            pids += [c.pid for c in psutil.Process(p.pid).children(recursive=True)]
    return pids


@pytest.mark.spark
@pytest.mark.slow
def test_compute_on_a_standalone_cluster_equals_duckdb(tmp_path: Path) -> None:
    data = generate(tmp_path / "data", "2021-04", 40_000)
    with LocalCluster(workers=2, cores=1, java_options=QUICK_JVM) as cluster:
        assert (cluster.status() or {}).get("aliveworkers") == 2
        result = check(data, "2021-04", tmp_path, cluster)
        pids = _tree(cluster)
    assert result.differences == []
    assert result.cores == 2  # the application ran on both workers
    manifest = (tmp_path / "cluster" / "manifest.json").read_text()
    assert f'"master": "{cluster.url}"' in manifest
    assert _alive(pids) == []


@pytest.mark.spark
def test_cluster_is_stopped_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), LocalCluster(workers=1) as cluster:
        pids = _tree(cluster)
        assert len(pids) >= 2
        raise RuntimeError("boom")
    assert _alive(pids) == []
    assert cluster.root is not None and not cluster.root.exists()


@pytest.mark.spark
def test_cluster_that_cannot_start_leaves_nothing_behind() -> None:
    """A worker refusing its arguments: ClusterError with its log, the master stopped too."""
    cluster = LocalCluster(workers=1, memory="not-a-size")
    with pytest.raises(ClusterError, match=r"worker-1\.log"), cluster:
        pass
    assert cluster.procs == [] and not (cluster.root and cluster.root.exists())
