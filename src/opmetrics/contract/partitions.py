"""Day partitions of the big event tables, and which of them a month must read.

A folder of `service_requests` or `alerts` may be partitioned by day, hive style
(`service_requests/date=2021-04-01/part-0.parquet`). A month is a run of UK local dates, but a
producer may date partitions in UTC (the first hour of a BST month then sits under the previous
month's last day) or misdate some. So for a month the partitions of its dates are read, and a
partition of any other date is skipped unread only when its Parquet footers prove it holds no
row of the month; one that holds (or may hold) such rows is read, and named in a warning unless
it is the day just before or after the month, where UTC dating puts the month's edge hour.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from opmetrics.errors import UnreadableFileError
from opmetrics.month import UK

# Tables whose rows belong to a month by one instant (design §5), and the partition key of a
# folder of them. Other tables are never pruned: an incident or a firmware activation can count
# in a month other than the one it started in.
MONTH_INSTANT = {"service_requests": "received_at", "alerts": "raised_at"}
PARTITION_KEY = "date"

# Nanoseconds per unit of a Parquet TIMESTAMP's logical type.
_NS_PER_UNIT = {"milliseconds": 1_000_000, "microseconds": 1_000, "nanoseconds": 1}

# What a file's footer says about the month: no row of it (may be skipped), an instant range
# reaching into it, or no usable min/max statistics (nothing can be shown).
FooterVerdict = Literal["outside", "overlaps", "no_statistics"]


def partition_date(file: Path, root: Path) -> date | None:
    """The date of the `date=YYYY-MM-DD` folder holding `file` below `root`; None if none."""
    for part in file.relative_to(root).parts[:-1]:
        key, sep, value = part.partition("=")
        if sep and key == PARTITION_KEY:
            try:
                return date.fromisoformat(value)
            except ValueError:
                return None
    return None


def prune_partitions(
    root: Path, files: tuple[Path, ...], dates: Collection[date]
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """(files to read, files skipped): a file is skipped only when its partition date is known
    and is not one of `dates`; files outside any `date=` folder are always read."""
    keep = set(dates)
    read: list[Path] = []
    skipped: list[Path] = []
    for f in files:
        d = partition_date(f, root)
        (read if d is None or d in keep else skipped).append(f)
    return tuple(read), tuple(skipped)


def prune_month(
    root: Path, files: tuple[Path, ...], dates: Collection[date], table: str
) -> tuple[tuple[Path, ...], tuple[Path, ...], list[str]]:
    """(files to read, files skipped, warnings) for a month's day-partitioned `table`.

    Read: files of the month's dates, files outside any `date=` folder, and every file dated
    otherwise whose footer does not prove that its `MONTH_INSTANT` column holds no instant of
    the month (`footer_verdict`). The day before the month and the day after it are where a
    producer dating partitions in UTC files the month's edge hour, so reading them is expected;
    any other date read is named in a warning (misdated rows, or no statistics to judge by).
    Rows read from them that fall outside the month are counted as such by the measures.
    A file whose footer cannot be read stops the run (`UnreadableFileError`): it might hold
    rows of the month, and they cannot be read either.
    """
    own, others = prune_partitions(root, files, dates)
    if not others:
        return own, (), []
    first, last = min(dates), max(dates)
    edges = {first - timedelta(days=1), last + timedelta(days=1)}
    start_ns, end_ns = (_uk_midnight_ns(d) for d in (first, last + timedelta(days=1)))
    instant = MONTH_INSTANT[table]
    read = set(own)
    skipped: list[Path] = []
    overlapping: dict[str, tuple[int, int]] = {}  # partition folder -> its instants' range
    unjudged: set[str] = set()  # partition folders with a file of no usable statistics
    for f in others:
        verdict, span = footer_verdict(f, instant, start_ns, end_ns, table)
        if verdict == "outside":
            skipped.append(f)
            continue
        read.add(f)
        if partition_date(f, root) in edges:
            continue
        folder = _partition_folder(f, root)
        if span is None:
            unjudged.add(folder)
        else:
            lo, hi = overlapping.get(folder, span)
            overlapping[folder] = (min(lo, span[0]), max(hi, span[1]))
    month = f"{first.isoformat()} to {last.isoformat()}"
    warnings: list[str] = []
    if overlapping:
        named = ", ".join(
            f"{k} ({_iso_ns(lo)} to {_iso_ns(hi)})" for k, (lo, hi) in sorted(overlapping.items())
        )
        warnings.append(
            f"{root}: {len(overlapping)} partition(s) dated outside the month ({month}) hold "
            f"{instant} values inside it by their Parquet statistics and were read, each row "
            f"counted by its {instant}: {named}"
        )
    if unjudged:
        warnings.append(
            f"{root}: {len(unjudged)} partition(s) dated outside the month ({month}) were read "
            f"because their files have no min/max statistics of {instant} to show they hold no "
            f"row of it (INT96 timestamps, which Spark writes unless "
            f"spark.sql.parquet.outputTimestampType is TIMESTAMP_MICROS, or statistics turned "
            f"off); each row is counted by its {instant}: {', '.join(sorted(unjudged))}"
        )
    return tuple(f for f in files if f in read), tuple(skipped), warnings


def footer_verdict(
    file: Path, column: str, start_ns: int, end_ns: int, table: str
) -> tuple[FooterVerdict, tuple[int, int] | None]:
    """Whether `file`'s row-group statistics prove `column` has no instant in [start, end).

    Returns the verdict and, when it overlaps, the file's instant range (epoch ns). Only the
    footer is read. A row group whose values are all null holds no row of any month; any other
    row group without min/max statistics (or a column that is not an INT64 timestamp, such as
    INT96) leaves the file unjudged. Naive timestamps count as UTC, as the engines read them.
    """
    try:
        meta = pq.read_metadata(file)
    except (pa.ArrowInvalid, OSError, pa.ArrowException) as exc:
        raise UnreadableFileError(
            f"not a readable Parquet file ({_short(exc)}); it is dated outside the month, but "
            "without its footer nothing shows it holds no row of the month: repair or remove it",
            path=str(file),
            table=table,
        ) from None
    schema = meta.schema
    index = next((i for i in range(len(schema)) if schema.column(i).path == column), None)
    if index is None:
        return "no_statistics", None  # read: the structure check reports the missing column
    scale = _NS_PER_UNIT.get(_timestamp_unit(schema.column(index).logical_type.to_json()) or "")
    if schema.column(index).physical_type != "INT64" or scale is None:
        return "no_statistics", None
    span: tuple[int, int] | None = None
    overlaps = False
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        stats = group.column(index).statistics
        if stats is None or not stats.has_min_max:
            if stats is not None and stats.has_null_count and stats.null_count == group.num_rows:
                continue  # every value null: no instant, no month
            return "no_statistics", None
        lo, hi = int(stats.min_raw) * scale, int(stats.max_raw) * scale
        span = (lo, hi) if span is None else (min(span[0], lo), max(span[1], hi))
        overlaps = overlaps or (lo < end_ns and hi >= start_ns)
    return ("overlaps", span) if overlaps else ("outside", None)


def _timestamp_unit(logical_json: str) -> str | None:
    try:
        info = json.loads(logical_json)
    except ValueError:
        return None
    return info.get("timeUnit") if info.get("Type") == "Timestamp" else None


def _uk_midnight_ns(d: date) -> int:
    """The instant UK local date `d` begins, in ns since the epoch."""
    local = datetime(d.year, d.month, d.day, tzinfo=UK)
    return int(local.timestamp()) * 1_000_000_000


def _iso_ns(ns: int) -> str:
    t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1_000)
    return t.isoformat().replace("+00:00", "Z")


def _partition_folder(file: Path, root: Path) -> str:
    """`date=YYYY-MM-DD` (and any folders above it) of a partition file, relative to `root`."""
    parts = file.relative_to(root).parts[:-1]
    for i, part in enumerate(parts):
        if part.startswith(f"{PARTITION_KEY}="):
            return "/".join(parts[: i + 1])
    return "/".join(parts)


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
