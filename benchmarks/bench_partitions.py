"""What proving skipped day partitions outside the month costs: `locate` of a year of
`service_requests` partitions for one month, with the footer check and with dates alone.

uv run python benchmarks/bench_partitions.py --days 365 --files-per-day 2

A year of daily partitions (dated by UK local date, the generator's layout) is written with
every contract column and several row groups per file. `locate` for April then reads the
footers of the 30 April partitions (as before) and, with the check, those of the 335 other
days too. Each way is timed `--repeat` times in this process with the page cache warm, and
again after evicting the data files' pages (`posix_fadvise(DONTNEED)` on each file, which
touches no other file's cache) so every footer comes from the disk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from measure import machine

from opmetrics.contract import partitions, sources
from opmetrics.contract.schema import SERVICE_REQUESTS
from opmetrics.month import UK, Month


def write_year(root: Path, days: int, files_per_day: int, rows: int, row_groups: int) -> int:
    """Day partitions from 2021-01-01 on; returns the number of files written."""
    rng = np.random.default_rng(1)
    schema = SERVICE_REQUESTS.arrow_schema()
    n = 0
    for k in range(days):
        day = date(2021, 1, 1) + timedelta(days=k)
        start = datetime(day.year, day.month, day.day, tzinfo=UK).astimezone(UTC)
        folder = root / "service_requests" / f"date={day}"
        folder.mkdir(parents=True)
        for j in range(files_per_day):
            us = np.sort(rng.integers(0, 86_400_000_000, rows))
            received = pa.array(
                [start + timedelta(microseconds=int(x)) for x in us], pa.timestamp("us", "UTC")
            )
            cols: dict[str, pa.Array] = {}
            for f in schema:
                if f.name in ("received_at", "delivered_at", "device_response_at", "responded_at"):
                    cols[f.name] = received
                elif pa.types.is_timestamp(f.type):
                    cols[f.name] = pa.nulls(rows, f.type)
                elif pa.types.is_integer(f.type):
                    cols[f.name] = pa.array(rng.integers(1, 9, rows), f.type)
                else:
                    cols[f.name] = pa.array([f"{f.name}-{x}" for x in rng.integers(0, 500, rows)])
            pq.write_table(
                pa.table(cols, schema=schema),
                folder / f"part-{j:05d}.parquet",
                row_group_size=-(-rows // row_groups),
                compression="zstd",
            )
            n += 1
    return n


def evict(root: Path) -> None:
    for f in root.rglob("*.parquet"):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def timed(fn: Callable[[], object], repeat: int, before: Callable[[], None] | None) -> float:
    """Median wall seconds of `fn` over `repeat` runs (`before` run untimed before each)."""
    runs = []
    for _ in range(repeat):
        if before:
            before()
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--files-per-day", type=int, default=2)
    ap.add_argument("--rows", type=int, default=4_000, help="rows per file")
    ap.add_argument("--row-groups", type=int, default=4, help="row groups per file")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    month = Month.parse("2021-04")
    # (this script never drops the page cache: it evicts the data files' pages itself)
    print(f"machine: {machine().split(', page cache')[0]}, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        files = write_year(data, args.days, args.files_per_day, args.rows, args.row_groups)
        footer = pq.read_metadata(next(data.rglob("*.parquet")))
        print(
            f"{files} files ({args.days} days x {args.files_per_day}), {args.rows:,} rows and "
            f"{footer.num_row_groups} row groups each, footer {footer.serialized_size:,} bytes"
        )

        def with_check() -> sources.TableSource | None:
            return sources.locate(data, SERVICE_REQUESTS, month.days)

        def dates_only(
            root: Path, fs: tuple[Path, ...], dates: object, table: str
        ) -> tuple[tuple[Path, ...], tuple[Path, ...], list[str]]:
            read, skipped = partitions.prune_partitions(root, fs, month.days)
            return read, skipped, []

        def without_check() -> sources.TableSource | None:
            real = sources.prune_month
            sources.prune_month = dates_only  # type: ignore[assignment]
            try:
                return sources.locate(data, SERVICE_REQUESTS, month.days)
            finally:
                sources.prune_month = real

        a, b = with_check(), without_check()
        assert a is not None and b is not None and a.files == b.files and a.skipped == b.skipped
        print(f"read {len(a.files)} files, skipped {len(a.skipped)} (footers checked)")
        print("| page cache | dates only s | with the footer check s | check per skipped file ms |")
        print("|---|---:|---:|---:|")
        for label, before in (("warm", None), ("data files evicted", lambda: evict(data))):
            t0 = timed(without_check, args.repeat, before)
            t1 = timed(with_check, args.repeat, before)
            per = (t1 - t0) / len(a.skipped) * 1000
            print(f"| {label} | {t0:.3f} | {t1:.3f} | {per:.2f} |")


if __name__ == "__main__":
    main()
