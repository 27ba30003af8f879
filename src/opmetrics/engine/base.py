"""What every engine offers its callers: the verbs they need, so none holds a connection.

Measures and validation build Ibis expressions on the tables an engine reads and ask it to run
them (`to_arrow`, `to_arrow_batches`, `write_parquet`), to hold an intermediate result
(`keep`, `release`) or to evaluate a small client-side table (`evaluate_locally`). What differs
between engines is in their own modules.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import quote

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opmetrics.contract.schema import FILE_COLUMN, IBIS_TYPES, INVALID_COLUMN, ROW_COLUMN
from opmetrics.contract.sources import TableSource
from opmetrics.engine.options import EngineOptions
from opmetrics.engine.side_by_side import Pending, SideBySide

T = TypeVar("T")
P = ParamSpec("P")
E = TypeVar("E", bound="Engine")


class Engine(ABC):
    """An Ibis backend plus the few things that differ between engines."""

    name: str
    con: Any  # the Ibis backend

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self._counter = 0
        self._names = threading.Lock()  # table names and the local DuckDB, from any thread
        self._side_by_side = SideBySide(self.SIDE_BY_SIDE)
        # each table `keep` holds, with how to free it
        self._kept: list[tuple[ir.Table, Callable[[], object]]] = []
        self._local: Any = None  # the in-process DuckDB of `evaluate_locally`, once opened

    # -- reading ---------------------------------------------------------------------------

    def read_table(self, source: TableSource) -> ir.Table:
        """The table's rows with canonical column types and `_file`, `_row` (and `_invalid`).

        A source left with no file (every day partition pruned) reads as an empty table.
        """
        raw = self._read_parquet(source) if source.read_paths else self._empty(source)
        cols: dict[str, ir.Value] = {}
        for col in source.spec.columns:
            want = ibis.dtype(IBIS_TYPES[col.type])
            v = raw[col.name]
            cols[col.name] = v if v.type() == want else v.cast(want)
        cols[FILE_COLUMN] = raw[FILE_COLUMN]
        cols[ROW_COLUMN] = raw[ROW_COLUMN].cast("int64")
        cols[INVALID_COLUMN] = (
            raw[INVALID_COLUMN] if INVALID_COLUMN in raw.columns else ibis.null("string")
        )
        return raw.select(**cols)

    @abstractmethod
    def _read_parquet(self, source: TableSource) -> ir.Table:
        """Read Parquet files with `_file` (source path) and `_row` (1-based row in file)."""

    def read_parquet(self, path: Path, stem: str) -> ir.Table:
        """A Parquet file this process wrote itself (e.g. messages spilled while an archive is
        read), as a table of the types the file declares: no provenance columns and no contract
        (that is `read_table`)."""
        return _typed(
            self._read_own_parquet(path, stem), ibis.Schema.from_pyarrow(pq.read_schema(path))
        )

    def _read_own_parquet(self, path: Path, stem: str) -> ir.Table:
        return self.con.read_parquet(str(path), table_name=self.table_name(stem))

    def _empty(self, source: TableSource) -> ir.Table:
        schema = source.spec.arrow_schema().append(pa.field(FILE_COLUMN, pa.string()))
        return self.memtable(schema.append(pa.field(ROW_COLUMN, pa.int64())).empty_table())

    def table_name(self, stem: str) -> str:
        with self._names:
            self._counter += 1
            return f"opm_{stem}_{self._counter}"

    # -- engine-specific expressions ---------------------------------------------------------

    @abstractmethod
    def hash64(self, value: ir.StringValue) -> ir.IntegerValue:
        """A 64-bit hash of a string (to find duplicate keys without grouping by the string)."""

    HASH_FUNCTION: str  # the engine's 64-bit hash of any value (struct included)
    HASH_TYPE: str  # its result type

    def hash64_of(self, values: dict[str, ir.Value]) -> ir.IntegerValue:
        """One 64-bit hash of several columns (as a struct): a single join key for many."""
        s = ibis.struct(values)

        def value(v):  # type: ignore[no-untyped-def]  # signature given below
            ...

        fn = ibis.udf.scalar.builtin(
            value, name=self.HASH_FUNCTION, signature=((s.type(),), self.HASH_TYPE)
        )
        return fn(s)

    @abstractmethod
    def epoch_us(self, value: ir.TimestampValue) -> ir.IntegerValue:
        """Microseconds since 1970-01-01 UTC, exact (durations are differences of these)."""

    # -- running -------------------------------------------------------------------------------

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    # How many independent queries may run at once, each submitted from its own thread
    # (`engine.side_by_side`); below 2, one at a time, in the order their results are needed.
    SIDE_BY_SIDE = 0

    def beside(self, fn: Callable[[], T]) -> Pending[T]:
        """Start `fn`, whose queries depend on none the caller runs next, and go on: its result
        is `.result()`. Where the engine runs one query at a time, `fn` runs when its result
        is first asked for. Call it inside `side_by_side()`, which stops the work on an error."""
        return self._side_by_side.beside(fn)

    def side_by_side(self) -> AbstractContextManager[None]:
        """The scope of work started with `beside`: on an error in it, work not begun is
        dropped, running queries are cancelled and their threads waited for."""
        return self._side_by_side.scope(self.cancel_queries)

    def cancel_queries(self) -> None:  # noqa: B027  (an engine of one query at a time has none)
        """Cancel the queries running on other threads (after an error on this one)."""

    def to_arrow_batches(
        self,
        expr: ir.Table,
        order_by: Sequence[str],
        rows: int | None = None,
        chunk_size: int = 500_000,
    ) -> Iterator[pa.RecordBatch]:
        """Stream a result of any size, sorted on `order_by`, without holding it in memory.

        `rows`, the caller's count of the result's rows when it knows it, lets an engine size
        its work (Spark: the number of range partitions) without counting first.
        """
        yield from self.con.to_pyarrow_batches(expr.order_by(list(order_by)), chunk_size=chunk_size)

    def write_parquet(
        self,
        expr: ir.Table,
        path: Path,
        order_by: Sequence[str],
        schema: pa.Schema,
        rows: int | None = None,
    ) -> int:
        """Write a result of any size to one zstd Parquet file sorted on `order_by`; rows written.

        Here the rows pass through this process in sorted batches; an engine that can write
        Parquet itself does so instead (DuckDB).
        """
        n = 0
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            for batch in self.to_arrow_batches(expr, order_by, rows=rows):
                table = pa.Table.from_batches([batch]).cast(schema)
                writer.write_table(table)
                n += table.num_rows
        return n

    # The most rows this engine sorts at once for `write_parquet_dataset`: a larger result is
    # best computed in parts (`sort_parts`), each sorted on its own. None: any number.
    SORT_ROWS: int | None = None

    def sort_parts(self, rows: int | None) -> int:
        """Into how many parts a sorted write of `rows` rows is best split (see `SORT_ROWS`)."""
        if self.SORT_ROWS is None or not rows:
            return 1
        return -(-rows // self.SORT_ROWS)

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
        """Write a result of any size as a Parquet dataset partitioned hive style; rows written.

        `folder/<partition_by>=<value>/part-NNNNN.parquet`, zstd, the files holding the columns
        of `schema` but `partition_by` (the folder names the value). A value's rows may be in
        several files; each file is sorted on `order_by`, and the same rows give the same
        files, byte for byte. `parts` is the result, or tables whose union is the result (e.g.
        one per group of input files, `sort_parts`). `rows`, the caller's count of the
        result's rows when it knows it, sizes the work; `spread_by`, a timestamp column, lets
        an engine whose workers write the files split one value's rows between them by its
        date (Spark).

        Here each part's rows pass through this process once, sorted on `partition_by` then
        `order_by` by the engine (DuckDB: in parallel and out of core), and a value's run of
        rows in part i is written to its file `part-<i>` as it goes by.
        """
        tables = conformed_parts(parts, schema)
        folder.mkdir(parents=True)
        per_part = None if rows is None else -(-rows // max(1, len(tables)))
        return sum(
            self._write_dataset_part(
                expr,
                folder,
                f"part-{i:05d}.parquet",
                partition_by,
                order_by,
                schema,
                per_part,
            )
            for i, expr in enumerate(tables)
        )

    def _write_dataset_part(
        self,
        expr: ir.Table,
        folder: Path,
        file_name: str,
        partition_by: str,
        order_by: Sequence[str],
        schema: pa.Schema,
        rows: int | None,
    ) -> int:
        """One part of `write_parquet_dataset`: each value's run of rows to the file `file_name`
        in the value's folder (made if new); rows written."""
        keep = [f.name for f in schema if f.name != partition_by]
        file_schema = pa.schema([schema.field(c) for c in keep])
        writer: pq.ParquetWriter | None = None
        current: object = _NO_VALUE
        n = 0
        try:
            for batch in self.to_arrow_batches(expr, [partition_by, *order_by], rows=rows):
                table = pa.Table.from_batches([batch]).cast(schema)
                if table.num_rows == 0:
                    continue
                runs = pc.run_end_encode(table.column(partition_by).combine_chunks())
                start = 0
                for value, end in zip(
                    runs.values.to_pylist(), runs.run_ends.to_pylist(), strict=True
                ):
                    if value != current:
                        if writer is not None:
                            writer.close()
                        current = value
                        part = folder / f"{partition_by}={hive_value(value)}"
                        part.mkdir(exist_ok=True)
                        writer = pq.ParquetWriter(part / file_name, file_schema, compression="zstd")
                    assert writer is not None
                    writer.write_table(table.slice(start, end - start).select(keep))
                    n += end - start
                    start = end
        finally:
            if writer is not None:
                writer.close()
        return n

    def keep(self, expr: ir.Table) -> ir.Table:
        """`expr` computed once and held by the engine for the queries that follow (a temporary
        table on DuckDB, a cached frame on Spark), freed when the engine closes."""
        cached = expr.cache()
        kept = _typed(cached, expr.schema())  # Spark's cache drops a timestamp's zone
        self._kept.append((kept, cached.release))
        return kept

    # Whether `keep` computes its table at once. A lazily kept table (Spark's cache, filled by
    # the first action that reads it) may still be needed to compute a table kept from it, so
    # `release` leaves it to close.
    KEEPS_EAGERLY = True

    def release(self, kept: ir.Table) -> None:
        """Free one table `keep` holds as soon as nothing reads it any more, rather than at close
        (on DuckDB a kept table takes memory from the same limit as the queries that follow)."""
        for i, (table, free) in enumerate(self._kept):
            if table is kept:
                if self.KEEPS_EAGERLY:
                    del self._kept[i]
                    free()
                return
        raise ValueError("release: not a table this engine keeps")

    def memtable(self, table: pa.Table) -> ir.Table:
        """A small client-side table usable in expressions on this engine."""
        return ibis.memtable(table)

    def file_sha256(self, paths: Sequence[Path]) -> dict[Path, str]:
        """The sha256 (hex) of each file's bytes, for the manifest: where the engine's workers
        are, so that on a cluster no input byte passes through this process. Here (an
        in-process engine) on this process's threads."""
        return local_sha256(paths, self.options.threads)

    def evaluate_locally(self, expr: ir.Table) -> pa.Table:
        """Evaluate a small expression on client-side tables (`ibis.memtable`) in this process,
        whatever the engine: e.g. the value rules, run once per distinct combination of
        categorical values (`validation.values`), which on Spark would each cost a job.

        It runs on a private in-process DuckDB, opened on first use and closed with the engine.
        """
        with self._names:  # one connection: one query at a time, whichever thread asks
            if self._local is None:
                self._local = ibis.duckdb.connect()
                self._local.raw_sql("SET TimeZone = 'UTC'")
            return self._local.to_pyarrow(expr)

    def _close_local(self) -> None:
        if self._local is not None:
            self._local.disconnect()
            self._local = None

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """Versions of the engine and its libraries (for the manifest)."""

    def release_kept(self) -> None:
        """Free what `keep` holds (before disconnecting: dropping needs the connection), once
        no work started `beside` is left."""
        self._side_by_side.close()
        while self._kept:
            self._kept.pop()[1]()

    def close(self) -> None:
        self.release_kept()
        self._close_local()
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect is not None:
            disconnect()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stopped_on_error(fn: Callable[Concatenate[E, P], T]) -> Callable[Concatenate[E, P], T]:
    """`fn(engine, ...)` run inside `engine.side_by_side()`: what it starts `beside` is stopped
    if it fails."""

    @functools.wraps(fn)
    def run(engine: E, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with engine.side_by_side():
            return fn(engine, *args, **kwargs)

    return run


def _typed(t: ir.Table, schema: ibis.Schema) -> ir.Table:
    """`t` with the column types of `schema` (only the columns that differ are cast)."""
    return t.select(
        *[t[c] if t[c].type() == ty else t[c].cast(ty).name(c) for c, ty in schema.items()]
    )


def conformed_parts(parts: ir.Table | Sequence[ir.Table], schema: pa.Schema) -> list[ir.Table]:
    """A result given whole or in parts (`Engine.write_parquet_dataset`), as its parts, each
    `conformed` to `schema`."""
    return [conformed(t, schema) for t in ([parts] if isinstance(parts, ir.Table) else parts)]


def conformed(expr: ir.Table, schema: pa.Schema) -> ir.Table:
    """`expr`'s columns of `schema`, in its order, cast to its types."""
    types = ibis.schema(schema).types
    return expr.select(
        *[expr[f.name].cast(t).name(f.name) for f, t in zip(schema, types, strict=True)]
    )


_NO_VALUE = object()
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # Spark's and Hive's folder for a null value


def hive_value(value: object) -> str:
    """A value as it appears in a hive partition folder's name (`name=<value>`)."""
    return NULL_PARTITION if value is None else quote(str(value), safe="")


def local_sha256(paths: Sequence[Path], threads: int | None = None) -> dict[Path, str]:
    """sha256 of each file, several files at a time (hashlib releases the GIL on large
    buffers, so the threads hash in parallel)."""

    def one(path: Path) -> str:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
        return h.hexdigest()

    if len(paths) <= 1:
        return {p: one(p) for p in paths}
    with ThreadPoolExecutor(max_workers=min(len(paths), threads or os.cpu_count() or 1)) as ex:
        return dict(zip(paths, ex.map(one, paths), strict=True))


def dataset_rows(folder: Path) -> int:
    """The rows of every Parquet file below `folder`, from their footers."""
    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(folder.rglob("*.parquet")))


def parquet_paths(source: TableSource) -> list[str]:
    """The files an engine reads, absolute: every engine then reports the same `_file`."""
    return [str(Path(p).absolute()) for p in source.read_paths]
