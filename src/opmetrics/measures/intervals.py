"""Exact interval arithmetic on UTC instants, for the small event tables (outages, incidents).

Outages and incidents are tens to hundreds of rows a month, so their accepted rows are fetched to
the client and merged here rather than on the engine: union, intersection and difference of
time ranges are awkward and slow as SQL window tricks, and trivial and exact in Python.

Instants are integer microseconds since the Unix epoch (the contract's timestamp unit), so
merging, clipping and subtracting never drift; minutes are derived only at the very end.
An interval is half-open, [start, end). A "set" is a sorted list of disjoint, non-empty
intervals, as `merge` returns; the set operations expect and return sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from opmetrics.month import UK

Interval = tuple[int, int]

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 60 * US_PER_MINUTE

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(instant: datetime) -> int:
    """Microseconds since the epoch of a timezone-aware instant, exactly."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: instants must carry a timezone")
    return (instant - _EPOCH) // timedelta(microseconds=1)


def hours_us(hours: float) -> int:
    """A duration in hours (possibly fractional) as whole microseconds."""
    return round(hours * US_PER_HOUR)


def minutes(us: int) -> float:
    return us / US_PER_MINUTE


def records_us(table: pa.Table, timestamps: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of a fetched table, the `timestamps` columns as epoch microseconds (None for
    nulls) and every other column as Arrow gives it."""
    for name in timestamps:
        col = pc.cast(table.column(name), pa.timestamp("us", tz="UTC"))
        table = table.set_column(table.schema.get_field_index(name), name, pc.cast(col, pa.int64()))
    return table.to_pylist()


def local_instant(day: date, minute_of_day: int) -> int:
    """The UTC instant (epoch us) of a UK-local wall-clock time; 24:00 is the next midnight.

    A wall-clock time in the spring-forward gap resolves as zoneinfo does (fold=0: the offset
    before the change); the band boundaries of the catalog (08:00, 12:00, 20:00) never fall there.
    """
    d = day + timedelta(days=minute_of_day // 1440)
    m = minute_of_day % 1440
    return to_us(datetime.combine(d, time(m // 60, m % 60), tzinfo=UK))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of intervals as a set: overlapping or touching intervals become one."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The intersection of two sets."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The part of set `a` not covered by set `b`."""
    out: list[Interval] = []
    j = 0
    for start, end in a:
        cur = start
        while j < len(b) and b[j][1] <= cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            if cur >= end:
                break
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """Each interval cut to the window (those outside it dropped); not merged."""
    lo, hi = window
    return [(max(s, lo), min(e, hi)) for s, e in intervals if min(e, hi) > max(s, lo)]


def length(intervals: Iterable[Interval]) -> int:
    """Total length in microseconds (of a set: intervals must not overlap)."""
    return sum(e - s for s, e in intervals)
