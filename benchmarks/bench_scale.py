"""Scale figures: DuckDB from 10M to 300M requests; Spark local and on a standalone cluster.

    uv run python benchmarks/bench_scale.py duckdb --requests 10000000 100000000 300000000
    uv run python benchmarks/bench_scale.py spark --requests 10000000
    uv run python benchmarks/bench_scale.py cluster --requests 1000000 10000000
    uv run python benchmarks/bench_scale.py cluster --requests 10000000 --src OLD/src
    uv run python benchmarks/bench_scale.py cluster --requests 1000000 --driver-core-apart
    uv run python benchmarks/bench_scale.py stream --requests 1000000 4000000

Every run is a whole `opmetrics compute` of a generated month (`measure.generated_month`) in a
fresh process: wall time and peak RSS of its process tree (for Spark local mode that is the
driver with its in-process executor; on the cluster it is the driver alone, and the cluster's
own processes - master, workers, executors - are sampled separately). Spark runs write an
event log, from which the bytes read and shuffled per input row are summed; their results are
compared with the DuckDB results of the same month, table by table.

`stream` measures streaming a result through the driver (`to_arrow_batches`) into a Parquet
file, for N synthetic rows of the restricted extract's shape: how compute wrote that extract
on Spark until the executors wrote it (`write_parquet_dataset`); DUIS ingest still streams.

The machine is shared: before each run the script waits (up to `--wait` seconds) for the
one-minute load average to fall below `--max-load`, and reports the load at start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import (
    ROOT,
    Measured,
    TreeSampler,
    generated_month,
    machine,
    measure,
    opmetrics_cmd,
)

sys.path.insert(0, str(ROOT))
from scripts.spark_cluster import LocalCluster, differences

MONTH = "2021-04"
RESULTS = ROOT / "benchmarks" / "data" / "results"


def wait_quiet(max_load: float, wait_s: float) -> float:
    """Wait until the 1-minute load average is below `max_load` (or `wait_s` passed)."""
    deadline = time.monotonic() + wait_s
    while os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        time.sleep(30)
    return os.getloadavg()[0]


@dataclass
class Run:
    label: str
    requests: int
    measured: Measured
    load_start: float
    load_end: float
    out: Path
    extra: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.requests / self.measured.seconds

    def row(self) -> dict[str, Any]:
        return {
            "run": self.label,
            "requests": self.requests,
            "seconds": round(self.measured.seconds, 1),
            "cpu_seconds": round(self.measured.cpu_seconds, 1),
            "tree_cpu_seconds": round(self.measured.tree_cpu_seconds, 1),
            "disk_read_gib": round(self.measured.disk_read_bytes / 2**30, 2),
            "disk_written_gib": round(self.measured.disk_written_bytes / 2**30, 2),
            "page_cache": "dropped" if self.measured.page_cache_dropped else "as found",
            "peak_rss_gib": round(self.measured.peak_rss_gib, 2),
            "requests_per_s": round(self.rate),
            "load": f"{self.load_start:.1f}-{self.load_end:.1f}",
            **self.extra,
        }


def compute(
    label: str,
    n: int,
    args: argparse.Namespace,
    *extra: str,
    env: dict[str, str] | None = None,
) -> Run:
    wait_quiet(args.max_load, args.wait)  # generating a big month is heavy work too
    data = generated_month(n)
    out = RESULTS / f"{label}-{n}"
    load0 = wait_quiet(args.max_load, args.wait)
    cmd = opmetrics_cmd(
        "compute", str(data), "--month", MONTH, "--out", str(out), "--anon-key", "bench", *extra
    )
    if args.src:  # another checkout's code (e.g. an older commit's), in a paired comparison
        env = {**(env if env is not None else os.environ), "PYTHONPATH": str(args.src)}
    if args.driver_core_apart and label.startswith("spark"):
        cmd = ["taskset", "-c", "0", *cmd]
    m = measure_env(cmd, env)
    if m.returncode != 0:
        raise SystemExit(f"{label} {n}: exit {m.returncode}\n{m.stderr[-3000:]}")
    return Run(label, n, m, load0, os.getloadavg()[0], out, {})


def measure_env(cmd: list[str], env: dict[str, str] | None) -> Measured:
    """`measure` with exactly `env` as the environment (`env -i` execs: same process)."""
    if env is None:
        return measure(cmd)
    return measure(["env", "-i", *[f"{k}={v}" for k, v in env.items()], *cmd])


def events(folder: Path) -> Iterator[dict[str, Any]]:
    """Every event of the event log(s) in `folder`. Spark 4 rolls its logs: events_<n>_<app>
    files beside an empty status file and the checksum files of both (.crc, binary)."""
    for f in sorted(p for p in folder.rglob("events_*") if p.is_file()):
        for line in f.open():
            if line.strip():
                yield json.loads(line)


def stage_executions(evs: list[dict[str, Any]]) -> dict[int, int]:
    """Each stage's SQL execution (query), from the jobs that ran it."""
    out: dict[int, int] = {}
    for ev in evs:
        if ev.get("Event") == "SparkListenerJobStart":
            eid = (ev.get("Properties") or {}).get("spark.sql.execution.id")
            if eid is not None:
                for sid in ev.get("Stage IDs", []):
                    out[sid] = int(eid)
    return out


def event_log_totals(evs: list[dict[str, Any]]) -> dict[str, float]:
    """Input and shuffle bytes and records over every task of an event log."""
    tot = {"input_bytes": 0.0, "input_records": 0.0, "shuffle_write_bytes": 0.0, "tasks": 0.0}
    for ev in evs:
        if ev.get("Event") != "SparkListenerTaskEnd":
            continue
        tm = ev.get("Task Metrics") or {}
        tot["tasks"] += 1
        tot["input_bytes"] += tm.get("Input Metrics", {}).get("Bytes Read", 0)
        tot["input_records"] += tm.get("Input Metrics", {}).get("Records Read", 0)
        tot["shuffle_write_bytes"] += tm.get("Shuffle Write Metrics", {}).get(
            "Shuffle Bytes Written", 0
        )
    return tot


def shuffle_by_query(evs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Shuffle bytes written per SQL query of an event log, largest first, each with what
    its exchanges partition on (`hashpartitioning(...)` of the physical plan): which step of
    compute moves the bytes (the device join partitions on `target_id`)."""
    stage_exec = stage_executions(evs)
    plans: dict[int, str] = {}
    written: dict[int, float] = {}
    for ev in evs:
        kind = ev.get("Event", "")
        if kind.endswith("SparkListenerSQLExecutionStart"):
            plans[int(ev["executionId"])] = ev.get("physicalPlanDescription", "")
        elif kind == "SparkListenerTaskEnd":
            b = (ev.get("Task Metrics") or {}).get("Shuffle Write Metrics", {})
            sid = ev.get("Stage ID", -1)
            written[sid] = written.get(sid, 0.0) + b.get("Shuffle Bytes Written", 0)
    per_exec: dict[int, float] = {}
    for sid, b in written.items():
        if b:
            eid = stage_exec.get(sid, -1)
            per_exec[eid] = per_exec.get(eid, 0.0) + b
    rows = []
    for eid, b in sorted(per_exec.items(), key=lambda kv: -kv[1]):
        keys = sorted(set(re.findall(r"hashpartitioning\(([^#,)]+)", plans.get(eid, ""))))
        rows.append({"query": eid, "shuffle_bytes": int(b), "partitioned_on": keys})
    return rows


def time_by_query(evs: list[dict[str, Any]], top: int = 8) -> dict[str, Any]:
    """Where the application's wall time went, from the event log: the SQL queries' own time
    (start to end of each execution), the time between them (the driver's Python: planning in
    Ibis, footers, collecting results), the time before the first and after the last, and the
    longest queries with their task counts and the tables they scan."""
    app: dict[str, int] = {}
    runs: dict[int, dict[str, Any]] = {}
    stage_exec = stage_executions(evs)
    for ev in evs:
        kind = ev.get("Event", "")
        if kind == "SparkListenerApplicationStart":
            app["start"] = ev["Timestamp"]
        elif kind == "SparkListenerApplicationEnd":
            app["end"] = ev["Timestamp"]
        elif kind.endswith("SparkListenerSQLExecutionStart"):
            plan = ev.get("physicalPlanDescription", "")
            tables = sorted(
                {
                    Path(m).parent.name if "part-" in m else Path(m).stem
                    for m in re.findall(r"Location: \w+ \[([^\],]*)", plan)
                }
            )
            runs[int(ev["executionId"])] = {
                "start": ev["time"],
                "end": ev["time"],
                "tasks": 0,
                "tables": tables,
            }
        elif kind.endswith("SparkListenerSQLExecutionEnd"):
            runs[int(ev["executionId"])]["end"] = ev["time"]
        elif kind == "SparkListenerTaskEnd":
            eid = stage_exec.get(ev.get("Stage ID", -1))
            if eid in runs:
                runs[eid]["tasks"] += 1
    ordered = [runs[k] for k in sorted(runs)]
    if not ordered or "start" not in app:
        return {}
    in_queries = sum(r["end"] - r["start"] for r in ordered) / 1000
    # the union of the queries' spans: where queries run side by side it is less than their sum
    busy, reach = 0, ordered[0]["start"]
    for r in ordered:
        busy += max(0, r["end"] - max(reach, r["start"]))
        reach = max(reach, r["end"])
    between = (reach - ordered[0]["start"] - busy) / 1000
    longest = sorted(ordered, key=lambda r: r["start"] - r["end"])[:top]
    return {
        "queries": sum(1 for r in ordered if r["tasks"]),
        "in_queries_s": round(in_queries, 1),
        "some_query_running_s": round(busy / 1000, 1),
        "between_queries_s": round(between, 1),
        "before_first_query_s": round((ordered[0]["start"] - app["start"]) / 1000, 1),
        "after_last_query_s": round((app.get("end", reach) - reach) / 1000, 1),
        "longest_queries": [
            {
                "s": round((r["end"] - r["start"]) / 1000, 1),
                "tasks": r["tasks"],
                "tables": r["tables"],
            }
            for r in longest
        ],
    }


def spark_conf_dir(tmp: Path, conf: dict[str, str]) -> Path:
    d = tmp / "conf"
    d.mkdir(parents=True, exist_ok=True)
    (d / "spark-defaults.conf").write_text("".join(f"{k} {v}\n" for k, v in conf.items()))
    return d


def event_log_conf(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": f"file://{folder}",
        "spark.eventLog.compress": "false",
    }


def with_spark_figures(run: Run, log: Path, duck: Path) -> Run:
    evs = list(events(log))  # read once for the three summaries
    tot = event_log_totals(evs)
    run.extra.update(
        {
            "tasks": int(tot["tasks"]),
            "input_gib": round(tot["input_bytes"] / 2**30, 2),
            "shuffle_gib": round(tot["shuffle_write_bytes"] / 2**30, 2),
            "shuffle_bytes_per_request": round(tot["shuffle_write_bytes"] / run.requests, 1),
            "shuffle_bytes_per_request_by_query": [
                {**q, "shuffle_bytes": round(q["shuffle_bytes"] / run.requests, 1)}
                for q in shuffle_by_query(evs)
            ],
            "time_by_query": time_by_query(evs),
            "differences_from_duckdb": differences(duck, run.out),
        }
    )
    return run


STREAM = r"""
import sys, time
import pyarrow.parquet as pq
from opmetrics.engine import EngineOptions, connect
n, out = int(sys.argv[1]), sys.argv[2]
e = connect(EngineOptions(name="spark", threads=2, memory_limit="2g"))
e.session.sql(
    "SELECT concat('P-', lpad(hex(id % 300), 6, '0')) AS party_label,"
    " concat('90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-9A-BC:', cast(id * 7919 AS string))"
    "   AS request_id,"
    " element_at(array('2.2', '4.8.1', '1.1.1', '8.1.1'), cast(id % 4 AS int) + 1) AS srv,"
    " concat('00-DB-12-34-', lpad(hex(id % 65536), 8, '0')) AS target_id,"
    " 'ESME' AS device_type, 'CH-9' AS comms_hub_model, 'Acme M1' AS meter_model,"
    " '1.2' AS firmware_version, 'North' AS region, 'E21' AS response_code,"
    " cast(id % 97 AS double) / 3 AS rtt_s,"
    " timestamp_micros(1617235200000000 + id * 1000003 % 2592000000000) AS received_at"
    f" FROM range({n})"
).createOrReplaceTempView("failures")
t = e.con.table("failures")
t0 = time.perf_counter()
rows, writer = 0, None
for b in e.to_arrow_batches(t, ["party_label", "received_at", "request_id"], rows=n):
    writer = writer or pq.ParquetWriter(out, b.schema, compression="zstd")
    writer.write_batch(b)
    rows += b.num_rows
writer.close()
print(rows, time.perf_counter() - t0)
"""


def stream(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """Rows per second through the driver for the restricted extract's shape, and its RSS."""
    load0 = wait_quiet(args.max_load, args.wait)
    with tempfile.TemporaryDirectory(prefix="opmetrics-bench-stream-") as tmp:
        m = measure([sys.executable, "-c", STREAM, str(n), str(Path(tmp) / "f.parquet")])
    if m.returncode != 0:
        raise SystemExit(m.stderr[-3000:])
    rows, seconds = m.stdout.split()[-2:]
    return {
        "run": "spark-stream",
        "requests": int(rows),
        "seconds": round(float(seconds), 1),
        "peak_rss_gib": round(m.peak_rss_gib, 2),
        "requests_per_s": round(int(rows) / float(seconds)),
        "load": f"{load0:.1f}-{os.getloadavg()[0]:.1f}",
    }


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(json.dumps(rows, indent=1, default=str), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["duckdb", "spark", "cluster", "stream"])
    ap.add_argument("--requests", type=int, nargs="+", default=[10_000_000])
    ap.add_argument("--max-load", type=float, default=1.5)
    ap.add_argument("--wait", type=float, default=3600, help="longest wait for a quiet machine, s")
    ap.add_argument("--driver-memory", default="4g", help="Spark driver memory (local mode: all)")
    ap.add_argument("--executor-memory", default="3g", help="per executor on the cluster")
    ap.add_argument(
        "--reuse-duckdb", action="store_true", help="compare Spark with the last DuckDB results"
    )
    ap.add_argument("--memory-limit", help="DuckDB's --memory-limit (default: opmetrics' own)")
    ap.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting"
    )
    ap.add_argument(
        "--src", type=Path, help="run opmetrics from this src folder (e.g. an older commit's)"
    )
    ap.add_argument(
        "--driver-core-apart",
        action="store_true",
        help="cluster: one executor core on the last CPU, the driver alone on CPU 0",
    )
    ap.add_argument(
        "--keep-events", type=Path, help="keep each Spark run's event log below this folder"
    )
    args = ap.parse_args()
    print(f"machine: {machine()}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.requests:
        if args.mode == "stream":
            rows.append(stream(n, args))
            print_rows(rows[-1:])
            continue
        if args.mode == "duckdb" or not args.reuse_duckdb:  # next to Spark: the same load
            limit = ("--memory-limit", args.memory_limit) if args.memory_limit else ()
            duck = compute("duckdb", n, args, *limit)
            if args.memory_limit:
                duck.extra["memory_limit"] = args.memory_limit
            rows.append(duck.row())
            print_rows([duck.row()])
        if args.mode == "duckdb":
            continue
        duck_out = RESULTS / f"duckdb-{n}"
        with tempfile.TemporaryDirectory(prefix="opmetrics-bench-spark-") as tmp:
            events = Path(tmp) / "events"
            if args.keep_events:
                events = args.keep_events / f"{args.mode}-{n}-{time.strftime('%H%M%S')}"
            conf = {
                "spark.driver.memory": args.driver_memory,
                **event_log_conf(events),
                **dict(kv.split("=", 1) for kv in args.conf),
            }
            if args.mode == "spark":
                env = {**os.environ, "SPARK_CONF_DIR": str(spark_conf_dir(Path(tmp), conf))}
                run = compute(
                    "spark-local", n, args, "--engine", "spark", "--threads", "2", env=env
                )
                rows.append(with_spark_figures(run, events, duck_out).row())
            else:
                conf["spark.executor.memory"] = args.executor_memory
                memory = f"{int(args.executor_memory.rstrip('g')) + 1}g"
                workers = 1 if args.driver_core_apart else 2
                with LocalCluster(workers=workers, cores=1, memory=memory, conf=conf) as cluster:
                    if args.driver_core_apart:  # the cluster on the last core, the driver on 0
                        last = str((os.cpu_count() or 2) - 1)
                        for proc in cluster.procs:
                            subprocess.run(
                                ["taskset", "-a", "-c", "-p", last, str(proc.pid)],
                                check=True,
                                capture_output=True,
                            )
                    with TreeSampler([p.pid for p in cluster.procs]) as sampler:
                        run = compute(
                            "spark-cluster",
                            n,
                            args,
                            "--engine",
                            "spark",
                            "--spark-master",
                            cluster.url,
                            env=cluster.env(),
                        )
                    run.extra["cluster_peak_rss_gib"] = round(sampler.peak / 2**30, 2)
                    run.extra["cluster_cpu_seconds"] = round(sampler.cpu_seconds, 1)
                    run.extra["executor_cores"] = workers
                rows.append(with_spark_figures(run, events, duck_out).row())
            for key in ("conf", "src", "driver_core_apart"):
                if getattr(args, key):
                    rows[-1][key] = str(getattr(args, key))
            print_rows(rows[-1:])
    print(
        "| run | requests | s | CPU s | disk read GiB | disk written GiB | peak RSS GiB | requests/s | load |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['run']} | {r['requests']:,} | {r['seconds']} | {r.get('cpu_seconds', '-')} | "
            f"{r.get('disk_read_gib', '-')} | {r.get('disk_written_gib', '-')} | "
            f"{r['peak_rss_gib']} | "
            f"{r['requests_per_s']:,} | {r['load']} |"
        )


if __name__ == "__main__":
    main()
