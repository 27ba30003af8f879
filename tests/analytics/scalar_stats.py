"""The comparison statistics written out stratum by stratum, against which the vectorised ones
of `opmetrics.analytics.compare` are checked: the pooled two-proportion z-test, and the
Mantel-Haenszel test and common odds ratio over strata."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from opmetrics.analytics.stats import Z95, normal_cdf


def normal_sf(z: float) -> float:
    """P(Z > z), the upper tail."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def two_proportion_z(s1: int, n1: int, s2: int, n2: int) -> float:
    """Pooled two-proportion z statistic of p1 - p2 (0 when it is undefined)."""
    if n1 <= 0 or n2 <= 0:
        return 0.0
    p = (s1 + s2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return 0.0 if se == 0 else (s1 / n1 - s2 / n2) / se


@dataclass(frozen=True)
class Stratum:
    """One 2x2 table: successes and requests of the group and of its comparison."""

    a: int  # group successes
    n: int  # group requests (successes + failures)
    c: int  # comparison successes
    m: int  # comparison requests


@dataclass(frozen=True)
class Comparison:
    """A group against its comparison, stratum by stratum (sums over the strata both share)."""

    n: int  # group requests in the compared strata
    observed: int  # group successes
    expected: float  # group successes had each stratum succeeded at the comparison's rate
    cmh_diff: float  # sum of (a - E[a]) under the hypothesis of equal rates per stratum
    cmh_var: float  # sum of the hypergeometric variances
    mh_num: float  # sum of b*c/N: Mantel-Haenszel common odds ratio of failure, numerator
    mh_den: float  # sum of a*d/N
    gap_var: float  # variance of the standardised rate difference (as a fraction)

    @property
    def observed_rate(self) -> float:
        return self.observed / self.n if self.n else math.nan

    @property
    def comparison_rate(self) -> float:
        """The comparison's rate standardised to the group's mix of strata."""
        return self.expected / self.n if self.n else math.nan

    @property
    def gap_points(self) -> float:
        return 100.0 * (self.observed - self.expected) / self.n if self.n else math.nan

    @property
    def excess_failures(self) -> float:
        """Failures beyond what the group would have had at the comparison's rates."""
        return self.expected - self.observed

    @property
    def z(self) -> float:
        """Mantel-Haenszel (Cochran) z, no continuity correction; negative = group behind."""
        return self.cmh_diff / math.sqrt(self.cmh_var) if self.cmh_var > 0 else 0.0

    @property
    def p_behind(self) -> float:
        """One-sided p-value of the group being behind its comparison."""
        return normal_cdf(self.z)

    @property
    def failure_odds_ratio(self) -> float:
        """Mantel-Haenszel common odds ratio of failure, group over comparison (>1 = worse)."""
        if self.mh_den > 0:
            return self.mh_num / self.mh_den
        return math.inf if self.mh_num > 0 else math.nan

    def gap_interval(self, z: float = Z95) -> tuple[float, float]:
        """Confidence interval of `gap_points` (normal approximation on the standardised gap)."""
        half = 100.0 * z * math.sqrt(self.gap_var)
        return (self.gap_points - half, self.gap_points + half)


def compare(strata: Sequence[Stratum]) -> Comparison:
    """Sum a group's comparison over strata; strata missing either side are left out."""
    n = obs = 0
    exp_ = diff = var = num = den = gvar = 0.0
    rows = [s for s in strata if s.n > 0 and s.m > 0]
    total = sum(s.n for s in rows)
    for s in rows:
        t = stratum_terms(s.a, s.n, s.c, s.m)
        n += s.n
        obs += s.a
        exp_ += t[0]
        diff += t[1]
        var += t[2]
        num += t[3]
        den += t[4]
        gvar += t[5] * (s.n / total) ** 2
    return Comparison(n, obs, exp_, diff, var, num, den, gvar)


def stratum_terms(a: float, n: float, c: float, m: float) -> tuple[float, ...]:
    """Per-stratum terms: expected, a - E[a], variance, MH numerator, MH denominator, var of gap.

    The vectorised version in `opmetrics.analytics.compare` computes exactly these.
    """
    big_n = n + m
    s_tot = a + c
    f_tot = big_n - s_tot
    expected = n * c / m
    e_a = n * s_tot / big_n
    var = n * m * s_tot * f_tot / (big_n * big_n * (big_n - 1)) if big_n > 1 else 0.0
    b = n - a
    d = m - c
    pg, pc = a / n, c / m
    gap_var = pg * (1 - pg) / n + pc * (1 - pc) / m
    return (expected, a - e_a, var, b * c / big_n, a * d / big_n, gap_var)


def as_comparison(row: pd.Series) -> Comparison:
    """A summarised row of `compare.summarise` as a scalar `Comparison`."""
    n = int(row["n"])
    return Comparison(
        n=n,
        observed=round(float(row["a"])),
        expected=float(row["expected"]),
        cmh_diff=float(row["cmh_diff"]),
        cmh_var=float(row["cmh_var"]),
        mh_num=float(row["mh_num"]),
        mh_den=float(row["mh_den"]),
        gap_var=float(row["gap_var_w"]) / (n * n) if n else math.nan,
    )
