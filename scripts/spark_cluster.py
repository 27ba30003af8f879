"""A Spark standalone cluster on 127.0.0.1 (one master, two workers), and `compute` checked on it.

The cluster is started from the PySpark installation itself (`bin/spark-class` with the
Master and Worker classes; nothing is downloaded), in a temporary folder that holds its
configuration, logs, work and shuffle directories. `LocalCluster` is a context manager: the
workers and the master are stopped (their whole process groups, executors included) when the
block ends, whatever the reason, and also if this process is terminated by a signal.

    uv run python scripts/spark_cluster.py                  # generate a small month, compare
    uv run python scripts/spark_cluster.py --data DATA_DIR --month 2021-04 --keep OUT

`check` runs `opmetrics compute` once with DuckDB and once with `--engine spark
--spark-master spark://127.0.0.1:PORT`, then compares every results table, the restricted
party failures and the manifest's input accounting; any difference is reported by table.
Exit status: 0 identical, 1 different, 2 the cluster or a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

HOST = "127.0.0.1"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
# Log4j 2 for the cluster's JVMs: warnings and errors only, into each process's log file.
LOG4J = """rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


class ClusterError(RuntimeError):
    """The cluster did not start, or a run on it failed."""


def spark_home() -> Path:
    """The PySpark installation: its `bin/spark-class` and `jars/` are a complete Spark."""
    import pyspark

    home = Path(pyspark.__file__).parent
    if not (home / "bin" / "spark-class").is_file() or not (home / "jars").is_dir():
        raise ClusterError(f"{home} is not a PySpark installation with bin/ and jars/")
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class LocalCluster:
    """A master and `workers` workers on 127.0.0.1, each worker with `cores` and `memory`."""

    workers: int = 2
    cores: int = 1
    memory: str = "1536m"
    root: Path | None = None  # scratch folder; a temporary one by default
    conf: dict[str, str] = field(default_factory=dict)  # spark-defaults.conf of its drivers
    # JVM options of every process: master, workers, and the drivers' and executors' (e.g. C1
    # only for a short check on a small month); the JVM's defaults when empty.
    java_options: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    port: int = 0
    ui_port: int = 0
    _own_root: bool = False

    @property
    def url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for the cluster's processes and for a driver that joins it."""
        assert self.root is not None
        home = spark_home()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
        env.update(
            SPARK_HOME=str(home),
            SPARK_CONF_DIR=str(self.root / "conf"),
            SPARK_LOCAL_IP=HOST,  # every JVM, the driver's included, binds and advertises loopback
            SPARK_LOCAL_DIRS=str(self.root / "local"),
            SPARK_LOG_DIR=str(self.root / "logs"),
            # Executors run JVM code only; a Python worker would fail loudly here.
            PYSPARK_PYTHON="/bin/false",
        )
        if self.java_options:
            env["SPARK_DAEMON_JAVA_OPTS"] = self.java_options
        return env

    def start(self) -> LocalCluster:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="opmetrics-spark-cluster-"))
            self._own_root = True
        for sub in ("conf", "local", "logs", "work"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "conf" / "log4j2.properties").write_text(LOG4J)
        conf = dict(self.conf)
        if self.java_options:
            for k in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
                conf.setdefault(k, self.java_options)
        (self.root / "conf" / "spark-defaults.conf").write_text(
            "".join(f"{k} {v}\n" for k, v in conf.items())
        )
        self.port, self.ui_port = free_port(), free_port()
        self._spawn(
            "master",
            "org.apache.spark.deploy.master.Master",
            ["--host", HOST, "--port", str(self.port), "--webui-port", str(self.ui_port)],
        )
        self._wait(lambda: self.status() is not None, "the master to listen")
        for i in range(self.workers):
            self._spawn(
                f"worker-{i + 1}",
                "org.apache.spark.deploy.worker.Worker",
                [
                    "--host",
                    HOST,
                    "--port",
                    str(free_port()),
                    "--webui-port",
                    str(free_port()),
                    "--cores",
                    str(self.cores),
                    "--memory",
                    self.memory,
                    "--work-dir",
                    str(self.root / "work" / f"worker-{i + 1}"),
                    self.url,
                ],
            )
        self._wait(
            lambda: (self.status() or {}).get("aliveworkers", 0) >= self.workers,
            f"{self.workers} workers to register",
        )
        return self

    def _spawn(self, name: str, cls: str, args: list[str]) -> None:
        assert self.root is not None
        log = (self.root / "logs" / f"{name}.log").open("wb")
        cmd = [str(spark_home() / "bin" / "spark-class"), cls, *args]
        # A session of its own: stopping the process group also stops the executors a worker
        # forked, and nothing else.
        self.procs.append(
            subprocess.Popen(
                cmd,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        log.close()

    def _wait(self, ready: Any, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready():
            dead = [p for p in self.procs if p.poll() is not None]
            if dead:
                raise ClusterError(
                    f"a cluster process exited (status {dead[0].returncode}) while waiting for "
                    f"{what}\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"timed out after {START_TIMEOUT_S:.0f} s waiting for {what}\n{self.log_tail()}"
                )
            time.sleep(0.5)

    def status(self) -> dict[str, Any] | None:
        """The master's JSON status (workers, applications); None while it is not up."""
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.ui_port}/json/", timeout=5) as r:
                return dict(json.load(r))
        except (OSError, ValueError):
            return None

    def log_tail(self, lines: int = 15) -> str:
        if self.root is None:
            return ""
        out = []
        for f in sorted((self.root / "logs").glob("*.log")):
            tail = f.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {f.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self) -> None:
        """Stop the workers (and their executors), then the master; remove the scratch folder."""
        for p in reversed(self.procs):  # workers first
            _stop_group(p)
        self.procs.clear()
        if self._own_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop_group(p: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group `p` leads, SIGKILL it if it lingers."""
    if p.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            p.wait(timeout=STOP_TIMEOUT_S)
    with suppress(ProcessLookupError, PermissionError):  # executors left in the worker's group
        os.killpg(p.pid, signal.SIGKILL)
    if p.poll() is None:
        p.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def signals_raise() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit for the block, so `finally` clauses stop the cluster."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# -- compute on the cluster, compare with DuckDB -----------------------------------------------


def opmetrics_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "opmetrics", "--quiet", *args]


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 1800) -> float:
    """Run a command to completion; its wall time, or ClusterError with its error output."""
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"{' '.join(cmd[2:5])}... timed out after {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise ClusterError(
            f"{' '.join(cmd)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    return time.perf_counter() - t0


def compute(
    data: Path, month: str, out: Path, *extra: str, env: dict[str, str] | None = None
) -> float:
    args = ["compute", str(data), "--month", month, "--out", str(out), "--anon-key", "cluster"]
    return run(opmetrics_cmd(*args, *extra), env=env)


def differences(a: Path, b: Path) -> list[str]:
    """What differs between two results folders: every table, party failures, input counts."""
    from opmetrics.results.io import read_results
    from opmetrics.results.schema import RESULT_TABLES

    ra, rb = read_results(a), read_results(b)
    out = []
    for name in RESULT_TABLES:
        if ra.has(name) != rb.has(name):
            out.append(f"{name}: present in only one of the two results")
            continue
        ta, tb = ra.table(name), rb.table(name)
        if not ta.equals(tb):
            out.append(f"{name}: {ta.num_rows} rows vs {tb.num_rows} rows, contents differ")
    if not ra.restricted("party_failures").equals(rb.restricted("party_failures")):
        out.append("restricted/party_failures differ")
    for key in ("inputs", "reportability", "tables"):
        if ra.manifest.to_json().get(key) != rb.manifest.to_json().get(key):
            out.append(f"manifest {key} differ")
    return out


def generate(out: Path, month: str, requests: int, seed: int = 7) -> Path:
    run(
        opmetrics_cmd(
            "generate",
            "--month",
            month,
            "--requests",
            str(requests),
            "--seed",
            str(seed),
            "--dirty",
            "0.01",
            "--partition-by-day",
            "--out",
            str(out),
        )
    )
    return out


@dataclass
class Check:
    differences: list[str]
    duckdb_s: float
    cluster_s: float
    cores: int  # cores the application was given on the cluster


def check(data: Path, month: str, work: Path, cluster: LocalCluster) -> Check:
    """Compute `month` of `data` with DuckDB and on `cluster`; compare the results."""
    duck_s = compute(data, month, work / "duckdb")
    cluster_s = compute(
        data,
        month,
        work / "cluster",
        "--engine",
        "spark",
        "--spark-master",
        cluster.url,
        env=cluster.env(),
    )
    status = cluster.status() or {}
    apps = [a for a in status.get("completedapps", []) if a.get("name") == "opmetrics"]
    cores = int(apps[-1].get("cores", 0)) if apps else 0
    return Check(differences(work / "duckdb", work / "cluster"), duck_s, cluster_s, cores)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="data dir (default: generate a month)")
    ap.add_argument("--month", default="2021-04")
    ap.add_argument("--requests", type=int, default=100_000, help="size of the generated month")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="keep both results folders here")
    args = ap.parse_args()
    with signals_raise(), tempfile.TemporaryDirectory(prefix="opmetrics-cluster-check-") as tmp:
        work = args.keep or Path(tmp)
        data = args.data or generate(Path(tmp) / "data", args.month, args.requests)
        try:
            with LocalCluster(workers=args.workers) as cluster:
                print(f"cluster up at {cluster.url} with {args.workers} workers", flush=True)
                result = check(data, args.month, work, cluster)
        except ClusterError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(
        f"DuckDB {result.duckdb_s:.1f} s; cluster ({result.cores} executor cores) "
        f"{result.cluster_s:.1f} s"
    )
    for d in result.differences:
        print(f"DIFFERENT {d}")
    if not result.differences:
        print("every results table is identical")
    return 1 if result.differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
