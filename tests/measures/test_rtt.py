"""RTT percentiles from log-bucket histograms against numpy on the raw values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opmetrics.measures import rtt

QS = (0.5, 0.9, 0.95)


def bucket_of(rtt_us: np.ndarray) -> np.ndarray:
    """The engine's bucketing (`rtt.bucket_expr`) written again in numpy."""
    v = np.maximum(rtt_us.astype(np.float64), 0)
    out = np.full(v.shape, -1, dtype=np.int64)
    big = v >= rtt.BASE_US
    out[big] = np.floor(np.log(v[big] / rtt.BASE_US) / rtt.LN_GAMMA).astype(np.int64)
    return out


def _histogram(values_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = bucket_of(values_us)
    buckets, counts = np.unique(b, return_counts=True)
    return buckets, counts


def _check(values_us: np.ndarray) -> float:
    """Worst relative error (beyond the absolute floor) of the histogram percentiles."""
    buckets, counts = _histogram(values_us)
    got = rtt.percentiles(buckets, counts, QS)
    want = np.percentile(values_us / 1e6, [q * 100 for q in QS])  # numpy default: linear
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        assert g is not None
        err = abs(g - w)
        assert err <= rtt.RELATIVE_BOUND * w + rtt.ABSOLUTE_BOUND_S + 1e-12, (g, w)
        if w > 0:
            worst = max(worst, err / w)
    return worst


@pytest.mark.parametrize(
    "name,values",
    [
        ("on-demand seconds", np.random.default_rng(1).lognormal(np.log(4e6), 0.5, 50_000)),
        ("gsme wake-ups", np.random.default_rng(2).uniform(0, 1800e6, 20_000)),
        (
            "mixed with sub-millisecond",
            np.concatenate(
                [
                    np.random.default_rng(3).uniform(0, 2000, 500),
                    np.random.default_rng(4).exponential(3e6, 5000),
                ]
            ),
        ),
        ("two values", np.array([1_000_000, 29_000_000])),
        ("one value", np.array([12_345_678])),
        ("ties", np.array([5_000_000] * 7 + [6_000_000] * 3)),
    ],
)
def test_percentiles_within_bound_of_numpy(name: str, values: np.ndarray) -> None:
    worst = _check(np.round(values).astype(np.int64))
    assert worst <= rtt.RELATIVE_BOUND + 1e-9


def test_bound_is_tight_enough_to_matter() -> None:
    """The bound is below 0.5 %: a 30 s TRT is resolved to within 0.15 s."""
    assert rtt.RELATIVE_BOUND < 0.005
    assert 30 * rtt.RELATIVE_BOUND < 0.15


def test_empty_histogram_has_no_percentiles() -> None:
    assert rtt.percentiles(np.array([], dtype=np.int64), np.array([], dtype=np.int64), QS) == [
        None,
        None,
        None,
    ]


def test_histograms_merge_by_adding_counts() -> None:
    """Percentiles of merged histograms equal those of the histogram of the merged values."""
    rng = np.random.default_rng(7)
    a = np.round(rng.exponential(5e6, 3000)).astype(np.int64)
    b = np.round(rng.exponential(9e6, 4000)).astype(np.int64)
    ba, ca = _histogram(a)
    bb, cb = _histogram(b)
    merged: dict[int, int] = {}
    for bk, c in [*zip(ba, ca, strict=True), *zip(bb, cb, strict=True)]:
        merged[int(bk)] = merged.get(int(bk), 0) + int(c)
    keys = np.array(sorted(merged))
    got = rtt.percentiles(keys, np.array([merged[k] for k in keys]), QS)
    direct = rtt.percentiles(*_histogram(np.concatenate([a, b])), QS)
    assert got == direct


def test_engine_bucketing_matches_numpy() -> None:
    """The Ibis bucket expression (run on DuckDB) agrees with the numpy reference."""
    import ibis

    from opmetrics.engine import connect

    values = np.array(
        [
            0,
            1,
            999,
            1000,
            1001,
            1009,
            1010,
            1011,
            4_000_000,
            29_999_999,
            30_000_000,
            1_800_000_000,
            -5,
        ],
        dtype=np.int64,
    )
    t = ibis.memtable({"v": values})
    with connect() as eng:
        got = eng.to_arrow(t.select(b=rtt.bucket_expr(t.v)))["b"].to_numpy()
    assert got.tolist() == bucket_of(values).tolist()


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.just(0),  # a response before the clock start, clamped to 0 (design §5)
            st.integers(0, 2_000),  # sub-millisecond
            st.integers(0, 400 * 86_400 * 1_000_000),  # up to the contract's 400-day span
        ),
        min_size=1,
        max_size=300,
    )
)
def test_bound_holds_for_every_rtt_the_contract_accepts(values: list[int]) -> None:
    """Every RTT the measures can produce (integer microseconds from 0 to 400 days: negative
    differences are clamped to 0 before bucketing) is within the documented bound."""
    _check(np.array(values, dtype=np.int64))


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 6), st.integers(-1, 900), st.integers(1, 5000)),
        min_size=1,
        max_size=200,
    )
)
def test_grouped_percentiles_equal_one_histogram_at_a_time(
    rows: list[tuple[int, int, int]],
) -> None:
    """Many histograms at once give exactly (bit for bit) what `percentiles` gives for each."""
    g = np.array([r[0] for r in rows])
    b = np.array([r[1] for r in rows])
    c = np.array([r[2] for r in rows])
    groups, got = rtt.grouped_percentiles(g, b, c, QS)
    for i, k in enumerate(groups):
        sel = g == k
        keys = np.unique(b[sel])
        counts = np.array([c[sel][b[sel] == x].sum() for x in keys])
        assert got[i].tolist() == rtt.percentiles(keys, counts, QS)
