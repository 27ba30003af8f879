"""Like-for-like comparisons of many groups at once, from the device-set breakdown.

A question of the diagnosis ("is this region behind the other regions?") is asked of every
candidate at once: the cells of `srv_device_set` are summed per candidate and stratum, set
against the rest of the stratum (or a reference such as a model's latest firmware), and the
per-stratum terms of `opmetrics.analytics.stats` are computed as columns. Every statistic is a
sum of those terms, so a candidate's summary, or its summary without its worst party or SRV,
is one `groupby().sum()` away, and a month of a billion requests costs no more than a month of a
million (the breakdown has the same few hundred thousand rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from opmetrics.analytics.stats import Z95, normal_cdf

TERMS = ("n", "a", "expected", "cmh_diff", "cmh_var", "mh_num", "mh_den", "gap_var_w")


def terms(df: pd.DataFrame) -> pd.DataFrame:
    """Add the per-stratum terms to rows holding a, n (group) and c, m (comparison).

    Rows where either side has no rated request are dropped: they compare nothing.
    """
    df = df[(df["n"] > 0) & (df["m"] > 0)].copy()
    a = df["a"].to_numpy(dtype="float64")
    n = df["n"].to_numpy(dtype="float64")
    c = df["c"].to_numpy(dtype="float64")
    m = df["m"].to_numpy(dtype="float64")
    big_n = n + m
    s_tot = a + c
    f_tot = big_n - s_tot
    df["expected"] = n * c / m
    df["cmh_diff"] = a - n * s_tot / big_n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = n * m * s_tot * f_tot / (big_n * big_n * (big_n - 1))
    df["cmh_var"] = np.where(big_n > 1, var, 0.0)
    df["mh_num"] = (n - a) * c / big_n
    df["mh_den"] = a * (m - c) / big_n
    pg, pc = a / n, c / m
    # n^2 times the variance of the stratum's rate difference: summed, then divided by N^2.
    df["gap_var_w"] = n * n * (pg * (1 - pg) / n + pc * (1 - pc) / m)
    return df


def _sums(cells: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    return cells.groupby(list(by), sort=False, observed=True, dropna=False)[["s", "n"]].sum()


def versus_rest(cells: pd.DataFrame, member: Sequence[str], strata: Sequence[str]) -> pd.DataFrame:
    """Each member against every other member of the same stratum (terms per member x stratum).

    `cells` holds `s` (successes) and `n` (successes + failures); `member` and `strata` are
    disjoint column lists.
    """
    g = _sums(cells, [*member, *strata]).reset_index().rename(columns={"s": "a"})
    t = _sums(cells, strata).reset_index().rename(columns={"s": "_s", "n": "_n"})
    rows = g.merge(t, on=list(strata), how="left")
    rows["c"] = rows["_s"] - rows["a"]
    rows["m"] = rows["_n"] - rows["n"]
    return terms(rows.drop(columns=["_s", "_n"]))


def versus_reference(
    group: pd.DataFrame, reference: pd.DataFrame, member: Sequence[str], strata: Sequence[str]
) -> pd.DataFrame:
    """Each member of `group` against the `reference` cells of the same stratum."""
    g = _sums(group, [*member, *strata]).reset_index().rename(columns={"s": "a"})
    r = _sums(reference, strata).reset_index().rename(columns={"s": "c", "n": "m"})
    return terms(g.merge(r, on=list(strata), how="inner"))


def summarise(rows: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One summary per `by` key: rates, gap, excess failures, z, one-sided p, odds ratio."""
    if rows.empty:
        return pd.DataFrame(columns=[*by, *TERMS, *DERIVED])
    s = rows.groupby(list(by), sort=False, observed=True, dropna=False)[list(TERMS)].sum()
    return derive(s.reset_index())


DERIVED = (
    "observed_rate",
    "comparison_rate",
    "gap_points",
    "excess_failures",
    "z",
    "p_behind",
    "failure_odds_ratio",
    "gap_half_width",
)


def derive(s: pd.DataFrame) -> pd.DataFrame:
    """The statistics of a comparison over strata, as columns of summed terms (the tests check
    them against a scalar version, tests/analytics/scalar_stats.py)."""
    s = s.copy()
    n = s["n"].astype("float64")
    s["observed_rate"] = s["a"] / n
    s["comparison_rate"] = s["expected"] / n
    s["gap_points"] = 100.0 * (s["a"] - s["expected"]) / n
    s["excess_failures"] = s["expected"] - s["a"]
    var = s["cmh_var"].astype("float64")
    s["z"] = np.where(var > 0, s["cmh_diff"] / np.sqrt(var.where(var > 0, 1.0)), 0.0)
    s["p_behind"] = [normal_cdf(z) for z in s["z"]]
    num, den = s["mh_num"].astype("float64"), s["mh_den"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        s["failure_odds_ratio"] = np.where(den > 0, num / den, np.where(num > 0, np.inf, np.nan))
    s["gap_half_width"] = 100.0 * Z95 * np.sqrt(s["gap_var_w"] / (n * n))
    return s


def without_worst(
    rows: pd.DataFrame, dim: Sequence[str]
) -> tuple[pd.DataFrame, tuple[object, ...]]:
    """The rows without the value of `dim` holding the most excess failures, and that value."""
    by = rows.groupby(list(dim), sort=False, observed=True, dropna=False)
    excess = by["expected"].sum() - by["a"].sum()
    if excess.empty:
        return rows, ()
    worst = excess.idxmax()
    key = worst if isinstance(worst, tuple) else (worst,)
    worst_rows = np.ones(len(rows), dtype=bool)
    for col, val in zip(dim, key, strict=True):
        worst_rows &= rows[col].to_numpy() == val
    return rows[~worst_rows], key
