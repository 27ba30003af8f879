"""Spark: local mode in tests, a cluster URL (`--spark-master`) for real use.

Reading: the contract layer hands over the exact list of Parquet files to read. For a table
partitioned by day, that list already holds only the partitions that may hold rows of the month
(partition pruning is done once, in `contract.partitions`, for both engines and for the
manifest's file hashes). Spark is given those files, not their folder: each file's own folder
is its base path, so no `date` column is inferred and nothing else is listed. `_metadata.file_path` and
`_metadata.row_index` give every row its provenance; local `file:` URIs are turned back into
the plain paths DuckDB reports, so both engines quarantine rows with the same source.

The driver only ever receives aggregates, per-value lookups and capped quarantine rows: its
memory does not grow with the input. The restricted extract of failed requests is written by
the executors (`write_parquet_dataset`); a result that must reach the driver in full (DUIS
ingest) streams one range partition at a time (`to_arrow_batches`).
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from opmetrics.contract.schema import FILE_COLUMN, ROW_COLUMN
from opmetrics.contract.sources import TableSource
from opmetrics.engine.base import (
    Engine,
    EngineOptions,
    conformed_parts,
    dataset_rows,
    local_sha256,
    parquet_paths,
)
from opmetrics.errors import EngineError


@ibis.udf.scalar.builtin(name="xxhash64")
def _spark_xxhash64(value: str) -> int:  # type: ignore[empty-body]
    """Spark's 64-bit `xxhash64()`."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(value: datetime) -> int:  # type: ignore[empty-body]
    """Spark's `unix_micros()`: microseconds since the epoch."""


class SparkEngine(Engine):
    name = "spark"
    HASH_FUNCTION = "xxhash64"
    HASH_TYPE = "int64"
    # Jobs from several threads share the executors (FIFO: the first submitted takes the free
    # cores first, the others fill what it leaves idle); see engine/side_by_side.py.
    SIDE_BY_SIDE = 4
    # A cached frame is filled by the first action that reads it: freeing one early could make
    # Spark compute it again for a table kept from it, not yet computed (`Engine.release`).
    KEEPS_EAGERLY = False

    def __init__(self, options: EngineOptions) -> None:
        super().__init__(options)
        self._frames: dict[tuple[tuple[Any, ...], bool], Any] = {}  # files read → DataFrame
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineError(
                "PySpark is not installed; install opmetrics with the 'spark' extra", engine="spark"
            ) from None
        master = options.spark_master or (f"local[{options.threads}]" if options.threads else None)
        if master and master.startswith("spark://"):
            _check_reachable(master)
        # Correctness settings are always forced; the others are defaults that spark-submit
        # --conf, spark-defaults.conf or EngineOptions.spark_conf may override. Without a
        # master here, Spark's own (spark-submit --master, spark-defaults.conf) or local[*].
        builder = SparkSession.builder.appName("opmetrics")
        if master:
            builder = builder.master(master)
        forced = {
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.ansi.enabled": "false",
            "spark.ui.showConsoleProgress": "false",  # library code never prints
        }
        defaults = {
            "spark.ui.enabled": "false",
            # Input splits of up to 512 MiB (Spark: 128): a quarter of the tasks for the driver
            # to schedule on a large month. Spark still splits smaller when the input is small
            # for the cores it has (input bytes / cores), so no core is left without a task.
            "spark.sql.files.maxPartitionBytes": "512m",
        }
        if options.memory_limit:
            forced["spark.driver.memory"] = options.memory_limit
        if options.temp_dir:
            forced["spark.local.dir"] = options.temp_dir
        launch = {**forced, **dict(options.spark_conf)}
        if java_options := _driver_java_options(
            launch, local=not master or master.startswith("local")
        ):
            launch[DRIVER_JAVA_OPTIONS] = java_options
        try:
            given = _configured(launch)
            for k, v in {**{k: v for k, v in defaults.items() if k not in given}, **forced}.items():
                builder = builder.config(k, v)
            for k, v in options.spark_conf:
                builder = builder.config(k, v)
            self.session = builder.getOrCreate()
            self.session.sparkContext.setLogLevel("ERROR")
            if (self.session.sparkContext.master or "").startswith("spark://"):
                _wait_for_executors(self.session)
            for key, value in _per_core_settings(self.session).items():
                if key not in given:
                    self.session.conf.set(key, str(value))
            self.con = ibis.pyspark.connect(self.session)
        except EngineError:
            raise
        except Exception as exc:  # py4j / Java start-up failures carry no common base class
            where = f" at {master}" if master else ""
            raise EngineError(
                f"cannot start Spark{where}: {(str(exc).strip() or type(exc).__name__).splitlines()[0]}",
                engine="spark",
            ) from None

    def _read_parquet(self, source: TableSource) -> ir.Table:
        """Each table's files are read into one DataFrame, once per engine, however many
        queries read them (each read gets a view of its own, so a query may read a table twice
        as two tables): Spark lists the files of every new read, with a job of one task per
        file once there are more than 32 of them (`parallelPartitionDiscovery`), which made the
        driver's work grow with the month (413 listing tasks at 40M requests, 13 at 10M)."""
        paths = parquet_paths(source)
        key = (tuple(_stamp(p) for p in paths), bool(source.staged))  # a file rewritten: new
        with self._names:
            df = self._frames.get(key)
        if df is None:
            df = self._frame(source, paths)
            with self._names:
                df = self._frames.setdefault(key, df)
        name = self.table_name(source.name)
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def _frame(self, source: TableSource, paths: list[str]) -> Any:
        from pyspark.sql import functions as F

        df = self.session.read.option("mergeSchema", "false").parquet(*paths)
        if not source.staged:
            uri = F.col("_metadata.file_path")
            # file:/a%20b/x.parquet -> /a b/x.parquet ('+' is literal in a URI path)
            local = F.url_decode(
                F.replace(F.regexp_replace(uri, "^file:(//)?", ""), F.lit("+"), F.lit("%2B"))
            )
            df = df.select(
                "*",
                F.when(uri.startswith("file:"), local).otherwise(uri).alias(FILE_COLUMN),
                (F.col("_metadata.row_index") + 1).alias(ROW_COLUMN),
            )
        return df

    def _read_own_parquet(self, path: Path, stem: str) -> ir.Table:
        """A file this process wrote: a local path, so Spark in local mode, or a scratch folder
        every executor sees (e.g. TMPDIR on shared storage). A UTC timestamp comes back without
        its zone: `read_parquet` restores the file's types."""
        name = self.table_name(stem)
        self.session.read.option("mergeSchema", "false").parquet(str(path)).createOrReplaceTempView(
            name
        )
        return self.con.table(name)

    def memtable(self, table: pa.Table) -> ir.Table:
        """A small client-side table as a Spark view, built from Arrow directly, and marked to
        be broadcast in every join.

        Going through pandas (Ibis' memtable) would turn null strings into the text "NaN".
        The table is in the driver's memory already, so sending it to each executor is cheap;
        left to Spark's size threshold (10 MB), a lookup that grows past it with the month
        (the categorical combinations of 40M requests) turned its join into a shuffle of every
        request on the join key: 138.5 bytes a request, against 51.0 at 10M.
        """
        from pyspark.sql.functions import broadcast

        name = self.table_name("mem")
        broadcast(self.session.createDataFrame(table)).createOrReplaceTempView(name)
        return self.con.table(name)

    def file_sha256(self, paths: Sequence[Path]) -> dict[Path, str]:
        """Hashed by the executors: each task reads whole files (`binaryFile`) and returns their
        hashes alone, so the driver reads no input byte (at 2 billion requests about 100 GB,
        which this process would read and hash alone). A file of 2 GiB or more, beyond a Spark
        byte array, is hashed here, and so is an empty one (Spark lists no empty file)."""
        from pyspark.sql import functions as F

        here = [p for p in paths if not 0 < p.stat().st_size < BINARY_FILE_LIMIT]
        out = local_sha256(here, self.options.threads)
        skip = set(here)
        rest = {str(Path(p).absolute()): p for p in paths if p not in skip}
        if rest:
            rows = (
                self.session.read.format("binaryFile")
                .load(list(rest))
                .select("path", F.sha2("content", 256).alias("sha256"))
                .collect()
            )
            got = {}
            for r in rows:
                given, decoded = _local_paths(r["path"])
                got[given if given in rest else decoded] = r["sha256"]
            missing = sorted(set(rest) - set(got))
            if missing:
                raise EngineError(f"Spark did not read {missing[0]} to hash it", engine="spark")
            out.update({p: got[a] for a, p in rest.items()})
        return out

    def cancel_queries(self) -> None:
        self.session.sparkContext.cancelAllJobs()

    def hash64(self, value: ir.StringValue) -> ir.IntegerValue:
        return _spark_xxhash64(value)

    def epoch_us(self, value: ir.TimestampValue) -> ir.IntegerValue:
        return _spark_unix_micros(value)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        """Collect a (small) result as Arrow; Ibis's PySpark backend goes through pandas rows."""
        schema: pa.Schema = expr.schema().to_pyarrow()
        return self.session.sql(self.con.compile(expr)).toArrow().cast(schema)

    def to_arrow_batches(
        self,
        expr: ir.Table,
        order_by: Sequence[str],
        rows: int | None = None,
        chunk_size: int = 500_000,
    ) -> Iterator[pa.RecordBatch]:
        """Stream a result through the driver one range partition at a time, as Arrow.

        (Ibis's PySpark backend would collect the whole result into pandas first.) The rows are
        range partitioned on the sort keys into partitions of at most `STREAM_PARTITION_ROWS`,
        each sorted; executors encode a partition as Arrow IPC (JVM code: they need no Python)
        and the driver fetches one partition per job, in order, so it holds one partition
        whatever the result's size. Batches are merged up to `chunk_size` rows.
        """
        from pyspark.serializers import NoOpSerializer
        from pyspark.sql.pandas.types import to_arrow_schema
        from pyspark.util import _local_iterator_from_socket

        schema: pa.Schema = expr.schema().to_pyarrow()
        df = self.stream_frame(expr, order_by, rows)
        wire = to_arrow_schema(
            df.schema, prefers_large_types=self.session._jconf.arrowUseLargeVarTypes()
        )
        # PySpark internals, as `toLocalIterator` and `toArrow` use them (Spark 3.0 to 4.0):
        # the JVM's RDD of Arrow IPC record batch messages, served one partition per job.
        jvm = self.session.sparkContext._jvm
        assert jvm is not None
        served = jvm.PythonRDD.toLocalIteratorAndServe(df._jdf.toArrowBatchRdd(), False)
        buffered: list[pa.RecordBatch] = []
        held = 0
        for message in _local_iterator_from_socket(served, NoOpSerializer()):
            batch = pa.ipc.read_record_batch(pa.py_buffer(message), wire)
            buffered.append(batch)
            held += batch.num_rows
            if held >= chunk_size:
                yield _merged(buffered, schema)
                buffered, held = [], 0
        if buffered:
            yield _merged(buffered, schema)

    def stream_frame(self, expr: ir.Table, order_by: Sequence[str], rows: int | None) -> Any:
        """The DataFrame `to_arrow_batches` fetches: range partitions of bounded size, each
        sorted (`rows`, when known, saves counting them first)."""
        from pyspark.sql import functions as F

        df = self.session.sql(self.con.compile(expr))
        if rows is None:
            rows = df.count()
        parts = max(1, -(-rows // STREAM_PARTITION_ROWS))
        keys = [F.col(k).asc_nulls_last() for k in order_by]  # Ibis's (and DuckDB's) order
        return df.repartitionByRange(parts, *keys).sortWithinPartitions(*keys)

    def write_parquet_dataset(
        self,
        parts: ir.Table | Sequence[ir.Table],
        folder: Path,
        partition_by: str,
        order_by: Sequence[str],
        schema: pa.Schema,
        rows: int | None = None,
        spread_by: str | None = None,
    ) -> int:
        """The executors write the files (`DataFrame.write.partitionBy`); the driver receives
        no row, and afterwards names the files and reads their footers for the count.

        The rows are hash partitioned on the value and the date of `spread_by` into tasks of
        about `WRITE_PARTITION_ROWS` rows, each sorted on the value then `order_by`: one value's
        rows are written by as many tasks as it has dates (a large party's month by up to 31,
        in parallel), each task writes one file per value it holds, and the same rows always
        reach the same task in the same order, so the same files come out. `folder` must be
        a path every executor can write (on a cluster: shared storage, the same path). Parts
        are written as their union, in one job (this engine sorts any size: `SORT_ROWS`).
        """
        from pyspark.sql import functions as F

        tables = conformed_parts(parts, schema)
        expr = tables[0] if len(tables) == 1 else ibis.union(*tables, distinct=False)
        df = self.session.sql(self.con.compile(expr))
        if rows is None:
            rows = df.count()
        tasks = max(1, -(-rows // WRITE_PARTITION_ROWS))
        spread = [F.col(partition_by)] + ([F.to_date(F.col(spread_by))] if spread_by else [])
        keys = [F.col(k).asc_nulls_last() for k in (partition_by, *order_by)]
        out = df.repartition(tasks, *spread).sortWithinPartitions(*keys)
        conf = self.session.conf
        before = conf.get(TIMESTAMP_TYPE, None)
        conf.set(TIMESTAMP_TYPE, "TIMESTAMP_MICROS")  # not INT96: a UTC instant, as DuckDB's
        try:
            out.write.partitionBy(partition_by).option("compression", "zstd").parquet(str(folder))
        finally:
            if before is None:
                conf.unset(TIMESTAMP_TYPE)
            else:
                conf.set(TIMESTAMP_TYPE, before)
        return _tidy_dataset(folder)

    def versions(self) -> dict[str, str]:
        import pyspark

        return {
            "engine": "spark",
            "pyspark": pyspark.__version__,
            "spark": self.session.version,
            "ibis": ibis.__version__,
            "master": self.session.sparkContext.master,
        }

    def close(self) -> None:
        # The session is process-wide and slow to start; keep it for the next engine in this
        # process, without the frames this engine cached.
        self.release_kept()
        self._close_local()


def _stamp(path: str) -> tuple[str, int, int]:
    """A file as last written: its path, size and modification time."""
    st = os.stat(path)
    return path, st.st_size, st.st_mtime_ns


# A file Spark reads whole (`binaryFile`) must fit one byte array.
BINARY_FILE_LIMIT = 2**31 - 1


def _local_paths(uri: str) -> tuple[str, str]:
    """The local path a `binaryFile` row names, as given (Spark 4: file:/a b/x.parquet) and
    URI-decoded (file:/a%20b/x.parquet, as `_metadata.file_path` gives it; '+' is literal)."""
    if not uri.startswith("file:"):
        return uri, uri
    path = re.sub(r"^file:(//)?", "", uri)
    return path, unquote(path)


# Rows per range partition when a result streams through the driver (~100 MB of rows).
STREAM_PARTITION_ROWS = 500_000


# Rows per task when the executors write a dataset (`write_parquet_dataset`).
WRITE_PARTITION_ROWS = 2_000_000
TIMESTAMP_TYPE = "spark.sql.parquet.outputTimestampType"
_PART = re.compile(r"^part-(\d+)-.*\.parquet$")


def _tidy_dataset(folder: Path) -> int:
    """A dataset as Spark wrote it, in the layout of `Engine.write_parquet_dataset`: its
    bookkeeping files (`_SUCCESS`, checksums) removed and each value's files renamed
    `part-NNNNN.parquet` in the order of the tasks that wrote them (Spark's names carry a
    random job id); the rows written."""
    for p in sorted(folder.rglob("*")):
        if p.is_file() and (p.name.startswith((".", "_")) or not p.name.endswith(".parquet")):
            p.unlink()
    for part in sorted(p for p in folder.iterdir() if p.is_dir()):
        written = sorted(
            (int(m.group(1)), p.name)
            for p in part.iterdir()
            if (m := _PART.match(p.name)) is not None
        )
        for i, (_, name) in enumerate(written):
            (part / name).rename(part / f"part-{i:05d}.parquet")
    return dataset_rows(folder)


def _merged(batches: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    """One batch of `schema` (nullability and all) from consecutive batches."""
    table = pa.Table.from_batches(batches).cast(schema).combine_chunks()
    return table.to_batches()[0] if table.num_rows else pa.RecordBatch.from_pylist([], schema)


EXECUTOR_WAIT_S = 60.0
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"


LISTING_TASKS = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


def _application_cores(session: Any) -> int:
    """The cores the application asked for (`spark.cores.max`, or executors x cores each),
    else those it has now."""
    conf = session.sparkContext.getConf()
    cores = conf.get("spark.cores.max", None)
    if cores is None and conf.get("spark.executor.instances", None) is not None:
        cores = int(conf.get("spark.executor.instances")) * int(
            conf.get("spark.executor.cores", "1")
        )
    return int(cores or session.sparkContext.defaultParallelism)


def _per_core_settings(session: Any) -> dict[str, int]:
    """Settings sized by the application's cores, each at least 8.

    - Shuffle partitions, four per core (adaptive execution merges small ones). Spark's own
      default (200, whatever the cluster) under-uses a cluster of more than 200 cores, and
      leaves a few rows per task on a small one.
    - The tasks of a job that lists input files, one per core. Spark lists more than 32 paths
      with a job of one task per path, up to 10,000: opmetrics names every input file, so a
      month in 4,000 files of requests cost the driver that many tasks to schedule for each
      read of them, and as many again to hash them, each costing it 6-23 ms of CPU.
    """
    cores = _application_cores(session)
    return {SHUFFLE_PARTITIONS: max(8, 4 * cores), LISTING_TASKS: max(8, cores)}


def _configured(launch: dict[str, str]) -> set[str]:
    """Start the JVM with `launch` (driver memory must be known then); return the keys set
    outside this module (spark-submit --conf, spark-defaults.conf), which our defaults yield to."""
    from pyspark import SparkConf, SparkContext

    conf = SparkConf(loadDefaults=False)
    for k, v in launch.items():
        conf.set(k, v)
    SparkContext._ensure_initialized(conf=conf)  # no-op when this process already runs one
    return {k for k, _ in SparkConf().getAll()}


DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"


LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")


def _driver_java_options(launch: dict[str, str], *, local: bool) -> str | None:
    """The driver JVM's options opmetrics sets, or None when they are set elsewhere (ours would
    replace them).

    - Logging: errors only (`LOG_CONFIG`), unless a log4j2 configuration is given
      ($SPARK_CONF_DIR/log4j2.*, $LOG4J_CONFIGURATION_FILE).
    - On a cluster, the first-tier compiler only: a driver that only plans, schedules and
      collects halves its CPU with it (62.4 to 33.5 s at 10M requests) and no task runs in it.
      In local mode the tasks run in the driver's JVM, which then keeps both compilers.
    """
    if _driver_java_options_given(launch):
        return None
    options = []
    if not any(_spark_conf_dir().glob("log4j2.*")) and not os.environ.get(
        "LOG4J_CONFIGURATION_FILE"
    ):
        options.append(f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}")
    if not local:
        options.append("-XX:TieredStopAtLevel=1")
    return " ".join(options) or None


def _driver_java_options_given(launch: dict[str, str]) -> bool:
    """Whether the driver's JVM options are set anywhere this process can see before the JVM
    starts: the settings given, PYSPARK_SUBMIT_ARGS, or spark-defaults.conf."""
    if DRIVER_JAVA_OPTIONS in launch:
        return True
    submit = os.environ.get("PYSPARK_SUBMIT_ARGS", "")
    if "--driver-java-options" in submit or DRIVER_JAVA_OPTIONS in submit:
        return True
    defaults = _spark_conf_dir() / "spark-defaults.conf"
    return defaults.is_file() and DRIVER_JAVA_OPTIONS in defaults.read_text(errors="replace")


def _spark_conf_dir() -> Path:
    """Where Spark reads spark-defaults.conf and log4j2.properties: SPARK_CONF_DIR, else
    SPARK_HOME/conf."""
    conf_dir = os.environ.get("SPARK_CONF_DIR")
    if conf_dir is None:
        from pyspark.find_spark_home import _find_spark_home

        conf_dir = str(Path(_find_spark_home()) / "conf")
    return Path(conf_dir)


def _check_reachable(master: str) -> None:
    """Fail at once, in one line, when no master of a spark:// URL accepts a connection.

    (Spark itself retries for about a minute, then leaves a stopped context behind.)
    """
    errors = []
    for hostport in master.removeprefix("spark://").split(","):
        parts = urlsplit(f"spark://{hostport}")
        host, port = parts.hostname or "", parts.port or 7077
        try:
            with socket.create_connection((host, port), timeout=10):
                return
        except OSError as exc:
            errors.append(f"{host}:{port}: {exc.strerror or exc}")
    raise EngineError(
        f"cannot reach the Spark master {master} ({'; '.join(errors)})", engine="spark"
    )


def _wait_for_executors(session: object, timeout_s: float = EXECUTOR_WAIT_S) -> None:
    """A standalone cluster with no free worker accepts the application and then waits forever."""
    sc = session.sparkContext  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout_s
    while sc._jsc.sc().getExecutorMemoryStatus().size() < 2:  # the driver counts as one
        if time.monotonic() > deadline:
            master = sc.master
            sc.stop()
            raise EngineError(
                f"the Spark cluster at {master} gave no executor within {timeout_s:.0f} s "
                "(no worker alive, or none with the cores and memory asked)",
                engine="spark",
            )
        time.sleep(0.5)
