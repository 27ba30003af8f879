"""Round Trip Time distributions as mergeable log-bucket histograms.

Exact percentiles need every RTT; a month holds a billion. Instead each successful request
falls into a logarithmic bucket (width ratio GAMMA above 1 ms; one bucket for [0, 1 ms)), and
bucket counts add up across days, regions, device types and Spark partitions. Percentiles are
then numpy's default (linear interpolation between order statistics, `method="linear"`) applied to
bucket representatives (the geometric middle of a bucket). Each order statistic is off by at most
a factor sqrt(GAMMA) (0.499 % for GAMMA = 1.01), and so is any interpolation between two of them;
below 1 ms the error is at most 0.5 ms. `docs/percentiles.md` states the bound and
`tests/measures/test_rtt.py` checks it against numpy on raw values.
"""

from __future__ import annotations

import math

import ibis
import ibis.expr.types as ir
import numpy as np

GAMMA = 1.01
BASE_US = 1000  # 1 ms: bucket 0 starts here; bucket -1 holds [0, 1 ms)
LN_GAMMA = math.log(GAMMA)
RELATIVE_BOUND = math.sqrt(GAMMA) - 1
ABSOLUTE_BOUND_S = BASE_US / 2 / 1e6
METHOD = "log-bucket histogram (ratio 1.01) with numpy linear interpolation between bucket representatives"


def bucket_expr(rtt_us: ir.IntegerValue) -> ir.IntegerValue:
    """Bucket index of an RTT in microseconds (negative RTTs count as 0)."""
    v = ibis.greatest(rtt_us, 0)
    return ibis.ifelse(
        v < BASE_US, -1, ((v.cast("float64") / BASE_US).ln() / LN_GAMMA).floor().cast("int32")
    ).cast("int32")


def representative_s(bucket: np.ndarray) -> np.ndarray:
    """Seconds that stand for each bucket: the geometric middle (or 0.5 ms for bucket -1)."""
    b = bucket.astype(np.float64)
    mid = BASE_US * np.power(GAMMA, b + 0.5) / 1e6
    return np.where(bucket < 0, BASE_US / 2 / 1e6, mid)


def percentiles(
    buckets: np.ndarray, counts: np.ndarray, qs: tuple[float, ...]
) -> list[float | None]:
    """numpy-linear percentiles of the distribution a histogram describes."""
    n = int(counts.sum())
    if n == 0:
        return [None for _ in qs]
    order = np.argsort(buckets, kind="stable")
    b = buckets[order]
    c = counts[order].astype(np.int64)
    cum = np.cumsum(c)  # cum[i] = number of values in buckets <= b[i]
    reps = representative_s(b)
    out: list[float | None] = []
    for q in qs:
        h = (n - 1) * q
        lo = math.floor(h)
        hi = min(lo + 1, n - 1)
        v_lo = reps[int(np.searchsorted(cum, lo, side="right"))]
        v_hi = reps[int(np.searchsorted(cum, hi, side="right"))]
        out.append(float(v_lo + (h - lo) * (v_hi - v_lo)))
    return out


def grouped_percentiles(
    group: np.ndarray, buckets: np.ndarray, counts: np.ndarray, qs: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """`percentiles` of many histograms at once: rows (group, bucket, count), any order.

    Returns the distinct groups (sorted) and an array groups x qs of percentiles (NaN for a
    group with no count). The same formula as `percentiles`: the order statistics at floor(h)
    and floor(h) + 1 found by cumulative counts, here on one cumulative sum across all groups
    (each group's ranks offset by the counts of the groups before it), so the work is a sort
    and a few searches rather than a loop over groups.
    """
    g = np.asarray(group, dtype=np.int64)
    b = np.asarray(buckets, dtype=np.int64)
    c = np.asarray(counts, dtype=np.int64)
    order = np.lexsort((b, g))
    g, b, c = g[order], b[order], c[order]
    groups, first = np.unique(g, return_index=True)
    out = np.full((len(groups), len(qs)), np.nan)
    if len(g) == 0:
        return groups, out
    cum = np.cumsum(c)  # cum[i] = values in all rows up to and including row i
    before = np.concatenate([[0], cum[first[1:] - 1]])  # values in the groups before each group
    n = np.add.reduceat(c, first)
    reps = representative_s(b)
    has = n > 0
    for j, q in enumerate(qs):
        h = (n - 1) * q
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        i_lo = np.searchsorted(cum, before + lo, side="right")
        i_hi = np.searchsorted(cum, before + hi, side="right")
        i_lo = np.minimum(i_lo, len(cum) - 1)
        i_hi = np.minimum(i_hi, len(cum) - 1)
        v_lo, v_hi = reps[i_lo], reps[i_hi]
        out[has, j] = (v_lo + (h - lo) * (v_hi - v_lo))[has]
    return groups, out
