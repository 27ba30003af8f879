"""DuckDB, in process: the embedded default.

Reading: the contract layer hands over the exact list of Parquet files to read. For a table
partitioned by day, that list already holds only the partitions of the month's dates (partition
pruning is done once, in `contract.sources`, for both engines and for the manifest's file
hashes), so DuckDB never opens another month's files. Hive partitioning is off: the `date=`
folder names add no column, and `filename` / `file_row_number` give every row its provenance.
"""

from __future__ import annotations

import os
from datetime import datetime

import duckdb
import ibis
import ibis.expr.types as ir

from opmetrics.contract.schema import FILE_COLUMN, ROW_COLUMN
from opmetrics.contract.sources import TableSource
from opmetrics.engine.base import Engine, EngineOptions, parquet_paths
from opmetrics.errors import EngineError


@ibis.udf.scalar.builtin(name="hash")
def _duckdb_hash(value: str) -> int:  # type: ignore[empty-body]
    """DuckDB's 64-bit `hash()`."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(value: datetime) -> int:  # type: ignore[empty-body]
    """DuckDB's `epoch_us()`: microseconds since the epoch."""


class DuckDBEngine(Engine):
    name = "duckdb"
    HASH_FUNCTION = "hash"
    HASH_TYPE = "uint64"

    def __init__(self, options: EngineOptions) -> None:
        super().__init__(options)
        config: dict[str, str | int] = {}
        if options.threads:
            config["threads"] = options.threads
        if options.memory_limit:
            config["memory_limit"] = options.memory_limit
        if options.temp_dir:
            config["temp_directory"] = options.temp_dir
        try:
            self.con = ibis.duckdb.connect(**config)
            self.con.raw_sql("SET TimeZone = 'UTC'")
            self.con.raw_sql("SET preserve_insertion_order = false")
            self.con.raw_sql("SET enable_progress_bar = false")  # progress is the caller's to show
        except duckdb.Error as exc:
            raise EngineError(str(exc).splitlines()[0], engine="duckdb") from None

    def _read_parquet(self, source: TableSource) -> ir.Table:
        paths = parquet_paths(source)
        staged = bool(source.staged)
        t = self.con.read_parquet(
            paths,
            table_name=self.table_name(source.name),
            **({} if staged else {"filename": True, "file_row_number": True}),
            **({"hive_partitioning": False} if not staged else {}),
        )
        if staged:
            return t
        return (
            t.rename({FILE_COLUMN: "filename"})
            .mutate(**{ROW_COLUMN: ibis._["file_row_number"] + 1})
            .drop("file_row_number")
        )

    def hash64(self, value: ir.StringValue) -> ir.IntegerValue:
        return _duckdb_hash(value).cast("uint64")

    def epoch_us(self, value: ir.TimestampValue) -> ir.IntegerValue:
        return _duckdb_epoch_us(value)

    def versions(self) -> dict[str, str]:
        return {
            "engine": "duckdb",
            "duckdb": duckdb.__version__,
            "ibis": ibis.__version__,
            "cpus": str(os.cpu_count()),
        }
