"""Interval sets (merge, intersect, subtract) against a model that enumerates covered points."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from opmetrics.measures.intervals import (
    Interval,
    clip,
    hours_us,
    intersect,
    length,
    local_instant,
    merge,
    subtract,
    to_us,
)


def from_us(us: int) -> datetime:
    """The instant `us` microseconds after the epoch (the inverse of `to_us`)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


intervals = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 60)).map(lambda p: (min(p), max(p))),
    max_size=12,
)


def points(ivs: list[Interval]) -> set[int]:
    """Unit cells [k, k+1) covered: the model every set operation must agree with."""
    return {k for s, e in ivs for k in range(s, e)}


def is_set(ivs: list[Interval]) -> bool:
    """Sorted, non-empty, disjoint and not touching (touching intervals must be merged)."""
    return all(s < e for s, e in ivs) and all(a[1] < b[0] for a, b in pairwise(ivs))


@given(intervals)
def test_merge_is_the_union(ivs: list[Interval]) -> None:
    m = merge(ivs)
    assert is_set(m)
    assert points(m) == points(ivs)
    assert length(m) == len(points(ivs))


@given(intervals, st.randoms(use_true_random=False))
def test_merge_does_not_depend_on_order(ivs: list[Interval], rnd: random.Random) -> None:
    shuffled = list(ivs)
    rnd.shuffle(shuffled)
    assert merge(shuffled) == merge(ivs)


@given(intervals, intervals)
def test_intersect_and_subtract(a: list[Interval], b: list[Interval]) -> None:
    ma, mb = merge(a), merge(b)
    inter, diff = intersect(ma, mb), subtract(ma, mb)
    assert points(inter) == points(a) & points(b)
    assert points(diff) == points(a) - points(b)
    assert is_set(diff)
    assert length(inter) + length(diff) == length(ma)


@given(intervals, st.integers(0, 60), st.integers(0, 60))
def test_clip(ivs: list[Interval], x: int, y: int) -> None:
    lo, hi = min(x, y), max(x, y)
    assert points(clip(ivs, (lo, hi))) == {p for p in points(ivs) if lo <= p < hi}


def test_touching_intervals_merge() -> None:
    assert merge([(5, 10), (0, 5)]) == [(0, 10)]
    assert merge([(0, 5), (6, 10)]) == [(0, 5), (6, 10)]
    assert merge([(3, 3)]) == []


def test_microseconds_are_exact() -> None:
    t = datetime(2021, 4, 6, 10, 0, 0, 123456, tzinfo=UTC)
    assert from_us(to_us(t)) == t
    assert to_us(t.astimezone(timezone(timedelta(hours=1)))) == to_us(t)
    assert hours_us(1.5) == 5_400_000_000


def test_local_instants_follow_the_uk_clock() -> None:
    # 08:00 in winter is 08:00Z, in summer 07:00Z; 24:00 is the next local midnight.
    assert from_us(local_instant(datetime(2021, 3, 26).date(), 8 * 60)) == datetime(
        2021, 3, 26, 8, tzinfo=UTC
    )
    assert from_us(local_instant(datetime(2021, 3, 29).date(), 8 * 60)) == datetime(
        2021, 3, 29, 7, tzinfo=UTC
    )
    assert from_us(local_instant(datetime(2021, 10, 30).date(), 24 * 60)) == datetime(
        2021, 10, 30, 23, tzinfo=UTC
    )
