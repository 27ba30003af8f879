"""Spark: local mode in tests, a cluster URL (`--spark-master`) for real use."""

from __future__ import annotations

import os
from datetime import datetime

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from opmetrics.contract.schema import FILE_COLUMN, ROW_COLUMN
from opmetrics.contract.sources import TableSource
from opmetrics.engine.base import Engine, EngineOptions, parquet_paths
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

    def __init__(self, options: EngineOptions) -> None:
        super().__init__(options)
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineError(
                "PySpark is not installed; install opmetrics with the 'spark' extra", engine="spark"
            ) from None
        master = options.spark_master or (
            f"local[{options.threads}]" if options.threads else "local[*]"
        )
        builder = (
            SparkSession.builder.master(master)
            .appName("opmetrics")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(max(8, 4 * (os.cpu_count() or 2))))
            .config("spark.ui.enabled", "false")
            .config("spark.sql.ansi.enabled", "false")
        )
        if options.memory_limit:
            builder = builder.config("spark.driver.memory", options.memory_limit)
        if options.temp_dir:
            builder = builder.config("spark.local.dir", options.temp_dir)
        for k, v in options.spark_conf:
            builder = builder.config(k, v)
        try:
            self.session = builder.getOrCreate()
            self.session.sparkContext.setLogLevel("ERROR")
            self.con = ibis.pyspark.connect(self.session)
        except Exception as exc:  # py4j / Java start-up failures carry no common base class
            raise EngineError(
                f"cannot start Spark at {master}: {str(exc).splitlines()[0]}", engine="spark"
            ) from None

    def _read_parquet(self, source: TableSource) -> ir.Table:
        from pyspark.sql import functions as F

        df = self.session.read.option("mergeSchema", "false").parquet(*parquet_paths(source))
        if not source.staged:
            df = df.select(
                "*",
                F.col("_metadata.file_path").alias(FILE_COLUMN),
                (F.col("_metadata.row_index") + 1).alias(ROW_COLUMN),
            )
        name = self.table_name(source.name)
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def memtable(self, table: pa.Table) -> ir.Table:
        """A small client-side table as a Spark view, built from Arrow directly.

        Going through pandas (Ibis' memtable) would turn null strings into the text "NaN".
        """
        name = self.table_name("mem")
        self.session.createDataFrame(table).createOrReplaceTempView(name)
        return self.con.table(name)

    def hash64(self, value: ir.StringValue) -> ir.IntegerValue:
        return _spark_xxhash64(value)

    def epoch_us(self, value: ir.TimestampValue) -> ir.IntegerValue:
        return _spark_unix_micros(value)

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
        # The session is process-wide and slow to start; keep it for the next engine in this process.
        pass
