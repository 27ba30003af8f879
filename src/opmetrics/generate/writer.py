"""Writing tables chunk by chunk: one Parquet file, Parquet partitioned by UK local date, or CSV.

The big tables arrive in chunks and are written as they come, so memory stays flat whatever
the month's size. Encoding and compression run on a background thread (Arrow releases the
GIL), overlapping the next chunk's generation; writes keep their order, so files are
byte-identical from run to run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from opmetrics.contract.schema import TABLES
from opmetrics.errors import OutputError
from opmetrics.generate.timegrid import TimeGrid

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1
# Low-cardinality columns are given to Parquet already dictionary-encoded.
DICTIONARY_COLUMNS = {
    "service_requests": [
        "user_id",
        "user_role",
        "srv",
        "device_type",
        "smets",
        "region",
        "execution",
        "response_code",
    ],
    "alerts": ["alert_code", "alert_type", "user_id", "region", "smets"],
    "devices": ["device_type", "smets", "region", "manufacturer", "model", "firmware_version"],
}

# Min/max statistics only where readers prune on them (the big tables' time): they cost a
# fifth of the encoding time on unique strings such as request_id.
STATISTICS_COLUMNS = {"service_requests": ["received_at"], "alerts": ["raised_at"]}


def contract_schema(name: str, dictionary: bool) -> pa.Schema:
    """The table's Arrow schema as written: every column nullable (required-ness is a row rule)."""
    fields = []
    for f in TABLES[name].arrow_schema():
        typ = f.type
        if dictionary and f.name in DICTIONARY_COLUMNS.get(name, []):
            typ = pa.dictionary(pa.int32(), pa.string())
        fields.append(pa.field(f.name, typ, nullable=True))
    return pa.schema(fields)


def conform(name: str, t: pa.Table, dictionary: bool) -> pa.Table:
    """Cast a generated table to the written schema (dictionaries decoded where not kept)."""
    schema = contract_schema(name, dictionary)
    cols = []
    for f in schema:
        col = t[f.name]
        if (
            pa.types.is_dictionary(col.type) and not pa.types.is_dictionary(f.type)
        ) or col.type != f.type:
            col = col.cast(f.type)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=schema)


class Background:
    """Runs jobs in order on one thread; at most `depth` wait, so memory stays bounded."""

    def __init__(self, depth: int = 2) -> None:
        self._q: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="opmetrics-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._q.get()
            if job is None:
                return
            if self._error is None:
                try:
                    job()
                except BaseException as exc:
                    self._error = exc

    def submit(self, job: Callable[[], None]) -> None:
        self._check()
        self._q.put(job)

    def close(self) -> None:
        self._q.put(None)
        self._thread.join()
        self._check()

    def _check(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            if isinstance(err, OSError):
                raise OutputError(f"cannot write ({err.strerror or err})") from err
            raise err


class TableWriter:
    """One output table: `name.parquet`, `name/date=YYYY-MM-DD/part-NNNNN.parquet` or `name.csv`."""

    def __init__(
        self,
        out: Path,
        name: str,
        fmt: str,
        partition_by_day: bool = False,
        grid: TimeGrid | None = None,
        time_column: str | None = None,
    ) -> None:
        self.out = out
        self.name = name
        self.fmt = fmt
        self.partitioned = partition_by_day
        self.grid = grid
        self.time_column = time_column
        self.rows = 0
        self.files: set[Path] = set()
        self._pq: pq.ParquetWriter | None = None
        self._csv: IO[bytes] | None = None
        self._csv_writer: pacsv.CSVWriter | None = None
        self._part = 0

    def _parquet_options(self) -> dict[str, Any]:
        return {
            "compression": COMPRESSION,
            "compression_level": COMPRESSION_LEVEL,
            "use_dictionary": DICTIONARY_COLUMNS.get(self.name, True),
            "write_statistics": STATISTICS_COLUMNS.get(self.name, True),
        }

    def write(self, t: pa.Table, raw_csv: bytes = b"") -> None:
        """Write one chunk (already in final row order). Runs on the writer thread."""
        self.rows += t.num_rows
        if self.fmt == "csv":
            self._write_csv(t, raw_csv)
        elif self.partitioned:
            self._write_partitioned(t)
        else:
            t = conform(self.name, t, dictionary=True)
            if self._pq is None:
                path = self.out / f"{self.name}.parquet"
                self._pq = pq.ParquetWriter(path, t.schema, **self._parquet_options())
                self.files.add(path)
            self._pq.write_table(t, row_group_size=max(t.num_rows, 1))

    def _write_partitioned(self, t: pa.Table) -> None:
        assert self.grid is not None and self.time_column is not None
        t = conform(self.name, t, dictionary=True)
        ts = t[self.time_column].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
        day = self.grid.local_day_of(ts)
        part = self._part
        self._part += 1
        bounds = np.flatnonzero(np.diff(day)) + 1
        starts = np.r_[0, bounds]
        ends = np.r_[bounds, len(day)]
        if np.any(np.diff(day) < 0):
            raise ValueError("partitioned tables must arrive sorted by time")
        for a, b in zip(starts, ends, strict=True):
            if b <= a:
                continue
            d = int(day[a])
            label = (
                self.grid.days[d]
                if 0 <= d < len(self.grid.days)
                else _outside(self.grid, int(ts[a]))
            )
            folder = self.out / self.name / f"date={label}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"part-{part:05d}.parquet"
            pq.write_table(
                t.slice(a, b - a), path, row_group_size=max(b - a, 1), **self._parquet_options()
            )
            self.files.add(path)

    def _write_csv(self, t: pa.Table, raw: bytes) -> None:
        t = conform(self.name, t, dictionary=False) if _is_contract(self.name, t) else t
        if self._csv is None:
            path = self.out / f"{self.name}.csv"
            self._csv = path.open("wb")
            self.files.add(path)
            header = ",".join(f'"{c}"' for c in TABLES[self.name].column_names) + "\n"
            self._csv.write(header.encode())
        pacsv.write_csv(t, self._csv, pacsv.WriteOptions(include_header=False))
        if raw:
            self._csv.write(raw)

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
            self._pq = None
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if self.fmt != "csv" and not self.files:
            # an empty table still gets its file, so the data dir always holds all seven
            path = self.out / f"{self.name}.parquet"
            pq.write_table(
                contract_schema(self.name, False).empty_table(), path, **self._parquet_options()
            )
            self.files.add(path)
        if self.fmt == "csv" and not self.files:
            path = self.out / f"{self.name}.csv"
            path.write_text(",".join(f'"{c}"' for c in TABLES[self.name].column_names) + "\n")
            self.files.add(path)


def _is_contract(name: str, t: pa.Table) -> bool:
    """False once dirty rows turned a column into text (CSV only): write it as it is."""
    schema = contract_schema(name, False)
    for f in schema:
        col = t.schema.field(f.name).type
        if pa.types.is_dictionary(col):
            col = col.value_type
        if col != f.type:
            return False
    return True


def _outside(grid: TimeGrid, t_us: int) -> str:
    from datetime import UTC, datetime, timedelta

    from opmetrics.month import UK

    return (
        (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=t_us))
        .astimezone(UK)
        .date()
        .isoformat()
    )
