"""The statistics of the diagnosis against values worked by hand (written out in comments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from opmetrics.analytics.compare import summarise, versus_reference, versus_rest
from opmetrics.analytics.stats import format_p, holm, normal_cdf, wilson_interval
from tests.analytics.scalar_stats import (
    Stratum,
    as_comparison,
    compare,
    normal_sf,
    two_proportion_z,
)


def test_normal_tails() -> None:
    assert normal_cdf(0.0) == pytest.approx(0.5)
    assert normal_cdf(1.959963984540054) == pytest.approx(0.975, abs=1e-12)
    assert normal_sf(3.0) == pytest.approx(0.0013498980316301, rel=1e-9)
    # Far in the tail erfc keeps full relative precision where 1 - erf would give 0.
    assert normal_cdf(-10.0) == pytest.approx(7.619853024160527e-24, rel=1e-9)


def test_wilson_interval_of_8_in_10() -> None:
    # p = 0.8, z^2 = 3.8416: centre = (0.8 + 0.19208) / 1.38416 = 0.716738;
    # half = 1.96 * sqrt(0.016 + 0.009604) / 1.38416 = 0.226581
    lo, hi = wilson_interval(8, 10, 1.96)
    assert lo == pytest.approx(0.490157, abs=1e-6)
    assert hi == pytest.approx(0.943319, abs=1e-6)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_two_proportion_z() -> None:
    # 45/50 vs 30/50: pooled p = 0.75, se = sqrt(0.75 * 0.25 * 0.04) = 0.0866025
    assert two_proportion_z(45, 50, 30, 50) == pytest.approx(0.3 / 0.08660254, rel=1e-7)
    assert two_proportion_z(5, 5, 5, 5) == 0.0


# Two strata worked by hand:
#   stratum 1: group 8 of 10, comparison 15 of 20 (N 30, successes 23, failures 7)
#     E[a] = 10*23/30 = 7.66667; var = 10*20*23*7 / (30^2 * 29) = 1.233716
#     expected at the comparison's rate = 10 * 0.75 = 7.5; MH b*c/N = 2*15/30, a*d/N = 8*5/30
#   stratum 2: group 30 of 40, comparison 9 of 10 (N 50, successes 39, failures 11)
#     E[a] = 31.2; var = 40*10*39*11 / (50^2 * 49) = 1.400816
#     expected = 36; MH b*c/N = 10*9/50, a*d/N = 30*1/50
STRATA = [Stratum(8, 10, 15, 20), Stratum(30, 40, 9, 10)]


def test_mantel_haenszel_by_hand() -> None:
    c = compare(STRATA)
    assert c.n == 50 and c.observed == 38
    assert c.expected == pytest.approx(43.5)
    assert c.gap_points == pytest.approx(-11.0)
    assert c.excess_failures == pytest.approx(5.5)
    assert c.z == pytest.approx((1 / 3 - 1.2) / math.sqrt(1.233716 + 1.400816), abs=1e-6)
    assert c.z == pytest.approx(-0.533950, abs=1e-6)
    assert c.failure_odds_ratio == pytest.approx(2.8 / (4 / 3 + 0.6))
    # var of the gap: 0.2^2 (0.016 + 0.009375) + 0.8^2 (0.0046875 + 0.009) = 0.009775
    lo, hi = c.gap_interval()
    assert (hi - lo) / 2 == pytest.approx(100 * 1.959963984540054 * math.sqrt(0.009775))


def test_single_stratum_relates_to_pooled_z() -> None:
    # With one stratum the Mantel-Haenszel z is the pooled z times sqrt((N - 1) / N).
    c = compare([Stratum(45, 50, 30, 50)])
    assert c.z == pytest.approx(two_proportion_z(45, 50, 30, 50) * math.sqrt(99 / 100))


def test_vectorised_terms_equal_the_scalar_ones() -> None:
    group = pd.DataFrame({"k": ["g", "g"], "st": [1, 2], "s": [8, 30], "n": [10, 40]})
    ref = pd.DataFrame({"st": [1, 2], "s": [15, 9], "n": [20, 10]})
    rows = versus_reference(group, ref, ["k"], ["st"])
    got = as_comparison(summarise(rows, ["k"]).iloc[0])
    want = compare(STRATA)
    for f in ("n", "observed", "expected", "cmh_diff", "cmh_var", "mh_num", "mh_den", "gap_var"):
        assert getattr(got, f) == pytest.approx(getattr(want, f)), f


def test_versus_rest_compares_each_member_with_the_others_of_its_stratum() -> None:
    rng = np.random.default_rng(5)
    cells = pd.DataFrame(
        {
            "who": rng.choice(list("ABCD"), 200),
            "st": rng.choice([1, 2, 3], 200),
            "n": rng.integers(1, 50, 200),
        }
    )
    cells["s"] = [int(rng.integers(0, n + 1)) for n in cells["n"]]
    summ = summarise(versus_rest(cells, ["who"], ["st"]), ["who"]).set_index("who")
    for who in "ABCD":
        strata = []
        for st in (1, 2, 3):
            g = cells[(cells["who"] == who) & (cells["st"] == st)]
            o = cells[(cells["who"] != who) & (cells["st"] == st)]
            strata.append(
                Stratum(int(g["s"].sum()), int(g["n"].sum()), int(o["s"].sum()), int(o["n"].sum()))
            )
        want = compare(strata)
        got = summ.loc[who]
        assert got["z"] == pytest.approx(want.z)
        assert got["gap_points"] == pytest.approx(want.gap_points)
        assert got["failure_odds_ratio"] == pytest.approx(want.failure_odds_ratio)


def test_holm_by_hand() -> None:
    # sorted: 0.005*4 = 0.02; 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> kept at 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([]) == []
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


def test_format_p() -> None:
    assert format_p(0.0) == "< 1e-300"
    assert format_p(4.7e-51) == "= 4.7e-51"
    assert format_p(0.0123) == "= 0.012"
