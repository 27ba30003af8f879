"""DuckDB, in process: the embedded default.

Reading: the contract layer hands over the exact list of Parquet files to read. For a table
partitioned by day, that list already holds only the partitions that may hold rows of the month
(partition pruning is done once, in `contract.partitions`, for both engines and for the
manifest's file hashes), so DuckDB opens no partition proven to lie outside the month. Hive
partitioning is off: the `date=` folder names add no column, and `filename` /
`file_row_number` give every row its provenance.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from opmetrics.contract.schema import FILE_COLUMN, ROW_COLUMN
from opmetrics.contract.sources import TableSource
from opmetrics.engine.base import Engine, EngineOptions, parquet_paths
from opmetrics.errors import EngineError
from opmetrics.workspace import make_scratch

# DuckDB's own default lets a database take 80 % of the machine's memory: 18.5 GiB of RSS for a
# month of 100M requests here. A month's compute should run beside other work, and spilling is
# cheap for this workload (with 2 GiB, 100M requests took 26 % longer and peaked at 4 GiB), so
# the default is bounded; `--memory-limit` raises it on a machine given to the job.
DEFAULT_MEMORY_LIMIT_BYTES = 3 * 2**30


def default_memory_limit() -> str:
    """3 GiB, or 80 % of physical memory on a machine with less than 3.75 GiB."""
    limit = DEFAULT_MEMORY_LIMIT_BYTES
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        limit = min(limit, int(physical * 0.8))
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): keep the default
        pass
    return f"{limit // 2**20}MiB"


@ibis.udf.scalar.builtin(name="hash")
def _duckdb_hash(value: str) -> int:  # type: ignore[empty-body]
    """DuckDB's 64-bit `hash()`."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(value: datetime) -> int:  # type: ignore[empty-body]
    """DuckDB's `epoch_us()`: microseconds since the epoch."""


class DuckDBEngine(Engine):
    name = "duckdb"
    # A sort's cost per row grows with its size, in memory and more once it spills: at 300M
    # requests the extract's one sort of 22.0M failed rows made it grow 3.5-4.1 times from
    # 100M (7.3M rows), every other query about 3. Sorted in parts of at most this many rows
    # (one query per group of input files), a part of the extract fits in memory at the
    # default limit (docs/decisions.md, "The failed-request extract as a dataset by party").
    SORT_ROWS = 4_000_000
    HASH_FUNCTION = "hash"
    HASH_TYPE = "uint64"

    def __init__(self, options: EngineOptions) -> None:
        super().__init__(options)
        config: dict[str, str | int] = {}
        if options.threads:
            config["threads"] = options.threads
        config["memory_limit"] = options.memory_limit or default_memory_limit()
        # Spill into a private folder of the system's temporary directory (honours $TMPDIR),
        # removed on close (or by a later run, if this process is killed), rather than
        # DuckDB's default `.tmp` in the working directory.
        self._spill: str | None = None
        if options.temp_dir:
            config["temp_directory"] = options.temp_dir
        else:
            self._spill = str(make_scratch("opmetrics-spill-"))
            config["temp_directory"] = self._spill
        try:
            self.con = ibis.duckdb.connect(**config)
            self.con.raw_sql("SET TimeZone = 'UTC'")
            self.con.raw_sql("SET preserve_insertion_order = false")
            self.con.raw_sql("SET enable_progress_bar = false")  # progress is the caller's to show
        except duckdb.Error as exc:
            self._remove_spill()
            raise EngineError(str(exc).splitlines()[0], engine="duckdb") from None
        self.memory_limit = str(config["memory_limit"])

    def _remove_spill(self) -> None:
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)
            self._spill = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._remove_spill()

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

    def write_parquet(
        self,
        expr: ir.Table,
        path: Path,
        order_by: Sequence[str],
        schema: pa.Schema,
        rows: int | None = None,
    ) -> int:
        """DuckDB sorts and writes the file itself (COPY ... TO), in parallel and out of core,
        rather than handing sorted batches to Python to convert and write.

        Insertion order must be preserved for the COPY to keep the ORDER BY (it is off for
        every other query, where order does not matter and costs memory).
        """
        types = ibis.schema(schema).types
        typed = expr.select(
            *[expr[f.name].cast(t) for f, t in zip(schema, types, strict=True)]
        ).order_by(list(order_by))
        self.con.raw_sql("SET preserve_insertion_order = true")
        try:
            self.con.to_parquet(typed, path, compression="zstd")
        finally:
            self.con.raw_sql("SET preserve_insertion_order = false")
        return int(pq.ParquetFile(path).metadata.num_rows)

    def keep(self, expr: ir.Table) -> ir.Table:
        """A temporary table of its own (ibis's `cache()` cannot drop it again: with this
        sqlglot its DROP statement comes out without the table's name)."""
        name = self.table_name("kept")
        kept = self.con.create_table(name, expr, temp=True)
        self._kept.append((kept, lambda: self.con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')))
        return kept

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
            "memory_limit": self.memory_limit,
        }
