"""The few statistics the customer analytics need, written out so each can be checked by hand.

No statistics library is a dependency of the package, and these are short: the normal tail
through `math.erfc`, the Wilson score interval of a proportion and Holm's step-down adjustment
of a family of p-values. The Mantel-Haenszel test and common odds ratio over strata (a
comparison made like for like) are computed for many groups at once in `compare.py`; the tests
check them against a scalar version written out stratum by stratum (tests/analytics/).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054  # two-sided 95 %: the 97.5th percentile of the standard normal


def normal_cdf(z: float) -> float:
    """P(Z <= z) for a standard normal Z, accurate far into the tails (erfc, not 1 - erf)."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (as fractions); (nan, nan) when n is 0.

    Unlike the normal-approximation interval it stays inside [0, 1] and behaves at rates near
    0 or 1, which is where success rates of 95-100 % live.
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control, any dependence)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def format_p(p: float) -> str:
    """A p-value as text; below the smallest double it reads `< 1e-300`."""
    if p < 1e-300:
        return "< 1e-300"
    if p < 0.001:
        return f"= {p:.1e}"
    return f"= {p:.3f}"
