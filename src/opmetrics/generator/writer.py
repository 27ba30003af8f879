"""Writing tables chunk by chunk: Parquet (one file, one file per chunk, or per chunk and UK
local date) or CSV.

The big tables arrive in chunks and each chunk is written on its own as it comes, so memory
stays flat whatever the month's size and chunks can be written by separate processes in any
order: a chunk's file is named after the chunk, and CSV parts are joined in chunk order, so
files are byte-identical from run to run. In one process, encoding and compression run on a
background thread (Arrow releases the GIL), overlapping the next chunk's generation.
"""

from __future__ import annotations

import queue
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from opmetrics.contract.schema import TABLES
from opmetrics.errors import OutputError
from opmetrics.generator.timegrid import TimeGrid

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

# Parquet dictionary-encodes these too (small integer domains), besides the columns above.
PARQUET_DICTIONARY = {
    **DICTIONARY_COLUMNS,
    "service_requests": [
        *DICTIONARY_COLUMNS["service_requests"],
        "command_variant",
        "dsp_attempts",
    ],
}

# Timestamps of the big tables as deltas (a standard Parquet encoding, read by Arrow, DuckDB
# and Spark): less encoding time than plain values, and as small as compressed ones.
DELTA_COLUMNS = {
    "service_requests": [
        "execute_at",
        "received_at",
        "delivered_at",
        "device_response_at",
        "responded_at",
    ],
    "alerts": ["raised_at", "delivered_at"],
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
    """One output table in one file, `name.parquet` or `name.csv`, written chunk by chunk."""

    def __init__(self, out: Path, name: str, fmt: str) -> None:
        self.out = out
        self.name = name
        self.fmt = fmt
        self.rows = 0
        self._pq: pq.ParquetWriter | None = None
        self._csv: IO[bytes] | None = None

    def write(self, t: pa.Table, raw_csv: bytes = b"") -> None:
        """Write one chunk (already in final row order)."""
        self.rows += t.num_rows
        if self.fmt == "csv":
            if self._csv is None:
                self._csv = (self.out / f"{self.name}.csv").open("wb")
                self._csv.write(csv_header(self.name))
            write_csv_rows(self.name, t, raw_csv, self._csv)
            return
        t = conform(self.name, t, dictionary=True)
        if self._pq is None:
            path = self.out / f"{self.name}.parquet"
            self._pq = pq.ParquetWriter(path, t.schema, **parquet_options(self.name))
        self._pq.write_table(t, row_group_size=max(t.num_rows, 1))

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
            self._pq = None
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        ensure_table(self.out, self.name, self.fmt)


def parquet_options(name: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "compression": COMPRESSION,
        "compression_level": COMPRESSION_LEVEL,
        "use_dictionary": PARQUET_DICTIONARY.get(name, True),
        "write_statistics": STATISTICS_COLUMNS.get(name, True),
    }
    if name in DELTA_COLUMNS:
        delta = DELTA_COLUMNS[name]
        options["column_encoding"] = dict.fromkeys(delta, "DELTA_BINARY_PACKED")
        # zstd does not shrink delta-packed timestamps at all: they are stored as they are
        columns = TABLES[name].column_names
        options["compression"] = {c: "none" if c in delta else COMPRESSION for c in columns}
        options["compression_level"] = {c: COMPRESSION_LEVEL for c in columns if c not in delta}
    return options


def csv_header(name: str) -> bytes:
    return (",".join(f'"{c}"' for c in TABLES[name].column_names) + "\n").encode()


def write_csv_rows(name: str, t: pa.Table, raw: bytes, f: IO[bytes]) -> None:
    """CSV records of `t` (no header), then `raw` lines (records broken on purpose)."""
    t = conform(name, t, dictionary=False) if _is_contract(name, t) else t
    pacsv.write_csv(t, f, pacsv.WriteOptions(include_header=False))
    if raw:
        f.write(raw)


def ensure_table(out: Path, name: str, fmt: str) -> None:
    """An empty table still gets its file, so the data dir always holds all seven."""
    if (out / f"{name}.{fmt}").exists() or (out / name).is_dir():
        return
    if fmt == "csv":
        (out / f"{name}.csv").write_bytes(csv_header(name))
    else:
        path = out / f"{name}.parquet"
        pq.write_table(contract_schema(name, False).empty_table(), path, **parquet_options(name))


# How a table generated in chunks is laid out: one file (a single chunk), one Parquet file per
# chunk in the table's folder, or per chunk and UK local date. CSV chunks are written as parts
# and joined in chunk order into one file.
Layout = Literal["file", "parts", "days"]
CSV_PARTS = ".csv-parts"


def write_part(
    out: Path,
    name: str,
    fmt: str,
    layout: Layout,
    k: int,
    t: pa.Table,
    raw_csv: bytes = b"",
    grid: TimeGrid | None = None,
    time_column: str | None = None,
) -> None:
    """Write chunk `k` of a big table on its own, so chunks can be written by any process."""
    if fmt == "csv":
        folder = out / CSV_PARTS
        folder.mkdir(exist_ok=True)
        with (folder / f"{name}-{k:05d}.csv").open("wb") as f:
            write_csv_rows(name, t, raw_csv, f)
        return
    if t.num_rows == 0 and layout != "file":
        return
    t = conform(name, t, dictionary=True)
    if layout == "file":
        path = out / f"{name}.parquet"
    elif layout == "parts":
        (out / name).mkdir(exist_ok=True)
        path = out / name / f"part-{k:05d}.parquet"
    else:
        assert grid is not None and time_column is not None
        _write_days(out, name, k, t, grid, time_column)
        return
    pq.write_table(t, path, row_group_size=max(t.num_rows, 1), **parquet_options(name))


def join_csv_parts(out: Path, name: str, n_chunks: int) -> None:
    """`name.csv`: the header, then every chunk's part in chunk order (parts are removed)."""
    folder = out / CSV_PARTS
    with (out / f"{name}.csv").open("wb") as dst:
        dst.write(csv_header(name))
        for k in range(n_chunks):
            part = folder / f"{name}-{k:05d}.csv"
            if not part.exists():
                continue
            with part.open("rb") as src:
                shutil.copyfileobj(src, dst, 1 << 22)
            part.unlink()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def _write_days(
    out: Path, name: str, k: int, t: pa.Table, grid: TimeGrid, time_column: str
) -> None:
    ts = t[time_column].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
    day = grid.local_day_of(ts)
    if np.any(np.diff(day) < 0):
        raise ValueError("partitioned tables must arrive sorted by time")
    bounds = np.flatnonzero(np.diff(day)) + 1
    starts = np.r_[0, bounds]
    ends = np.r_[bounds, len(day)]
    for a, b in zip(starts, ends, strict=True):
        if b <= a:
            continue
        d = int(day[a])
        label = grid.days[d] if 0 <= d < len(grid.days) else _outside(grid, int(ts[a]))
        folder = out / name / f"date={label}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            t.slice(a, b - a),
            folder / f"part-{k:05d}.parquet",
            row_group_size=max(b - a, 1),
            **parquet_options(name),
        )


def table_files(out: Path, name: str) -> list[str]:
    """The files of a written table, relative to the data dir."""
    found = [p for p in (out / f"{name}.parquet", out / f"{name}.csv") if p.is_file()]
    if (out / name).is_dir():
        found += [p for p in (out / name).rglob("*.parquet") if p.is_file()]
    return sorted(str(p.relative_to(out)) for p in found)


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
