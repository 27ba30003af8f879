"""DuckDB, in process: the embedded default.

Reading: the contract layer hands over the exact list of Parquet files to read. For a table
partitioned by day, that list already holds only the partitions of the month's dates (partition
pruning is done once, in `contract.sources`, for both engines and for the manifest's file
hashes), so DuckDB never opens another month's files. Hive partitioning is off: the `date=`
folder names add no column, and `filename` / `file_row_number` give every row its provenance.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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


# Rows of a sorted write sorted at once (`write_parquet`). Four million rows of the restricted
# extract (12 columns) take about 0.9 GiB in DuckDB's sort, within the default memory limit.
SORT_RANGE_ROWS = 4_000_000


def sort_ranges(
    values: Sequence[object], counts: Sequence[int], limit: int
) -> list[tuple[object, object]]:
    """Consecutive (first, last) runs of the sorted distinct `values` holding at most `limit`
    rows each (a value with more rows than that is a run of its own); a null value, sorted last,
    is always a run of its own, as (None, None)."""
    ranges: list[tuple[object, object]] = []
    lo: object = None
    hi: object = None
    held = 0
    for v, c in zip(values, counts, strict=True):
        if v is None:
            continue
        if held and held + c > limit:
            ranges.append((lo, hi))
            held = 0
        if not held:
            lo = v
        hi, held = v, held + c
    if held:
        ranges.append((lo, hi))
    if any(v is None for v in values):
        ranges.append((None, None))
    return ranges


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
        self.temp_directory = str(config["temp_directory"])
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
        """DuckDB writes the file itself (`COPY ... TO`), sorting in memory.

        A result expected to hold more than `SORT_RANGE_ROWS` rows is first written unordered,
        in parallel, then sorted range by range of the first sort key, each range in memory,
        and streamed into the file in order. One `COPY ... ORDER BY` of such a result sorts
        out of core: the restricted extract of a 300M-request month (22.6M rows) took 154 s
        that way, against 105 s unordered.

        Insertion order must be preserved for a COPY to keep its ORDER BY (it is off for every
        other query, where order does not matter and costs memory).
        """
        types = ibis.schema(schema).types
        typed = expr.select(*[expr[f.name].cast(t) for f, t in zip(schema, types, strict=True)])
        if order_by and rows is not None and rows > SORT_RANGE_ROWS:
            os.makedirs(self.temp_directory, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix="sort-", dir=self.temp_directory))
            try:
                unordered = work / "rows.parquet"
                self.con.to_parquet(typed, unordered, compression="lz4")
                return self._write_in_ranges(unordered, path, list(order_by), schema)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        if order_by:
            typed = typed.order_by(list(order_by))
        self.con.raw_sql("SET preserve_insertion_order = true")
        try:
            self.con.to_parquet(typed, path, compression="zstd")
        finally:
            self.con.raw_sql("SET preserve_insertion_order = false")
        return int(pq.ParquetFile(path).metadata.num_rows)

    def _write_in_ranges(
        self, unordered: Path, path: Path, order_by: list[str], schema: pa.Schema
    ) -> int:
        """Sort the unordered file in ranges of the first key (from its values' row counts)."""
        rows = self.con.read_parquet(str(unordered))
        first = rows[order_by[0]]
        counts = self.to_arrow(
            rows.group_by(first.name("_v")).aggregate(_n=ibis._.count()).order_by("_v")
        )
        ranges = sort_ranges(counts["_v"].to_pylist(), counts["_n"].to_pylist(), SORT_RANGE_ROWS)
        n = 0
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            for lo, hi in ranges:
                if lo is None:
                    part = rows.filter(first.isnull())
                else:
                    part = rows.filter((first >= lo) & (first <= hi))
                for batch in self.con.to_pyarrow_batches(part.order_by(order_by)):
                    if batch.num_rows:
                        writer.write_batch(batch.cast(schema))
                        n += batch.num_rows
        return n

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
