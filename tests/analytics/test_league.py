"""Benchmarks and league tables against a fixture worked by hand.

One SRV (2.2, Prepayment) and its process roll-up (srv ALL), seven parties:

    party  succeeded  failed  excluded  rated  rate
    P-A        990       10        0     1000  99.0 %
    P-B       1980       20        0     2000  99.0 %   (ties with A: 99/100 = 198/200)
    P-C       1900      100        0     2000  95.0 %
    P-D        999        1        0     1000  99.9 %
    P-E        500        0        0      500  100 %    (under the minimum: not ranked, not best)
    P-F          1        2     5000        3  33.3 %   (5,003 submitted but 3 rated: not ranked)
    P-G       1188       12        0     1200  99.0 %   (ties with A and B: 1188/1200 = 0.99)

Industry average = (990+1980+1900+999+500+1+1188) / (1000+2000+2000+1000+500+3+1200)
                 = 7558 / 7703. Industry best (minimum 1,000) = 99.9 % (P-D), not P-E's 100 %.
Ranks (competition): D 1; A, B, G 2; C 5. Ranked 5, left out 2 (E, F).
"""

from __future__ import annotations

import pandas as pd
import pytest

from opmetrics.analytics.benchmark import benchmark
from opmetrics.analytics.league import competition_ranks, league_tables
from opmetrics.errors import UsageError

PARTIES = {
    "P-A": (990, 10, 0),
    "P-B": (1980, 20, 0),
    "P-C": (1900, 100, 0),
    "P-D": (999, 1, 0),
    "P-E": (500, 0, 0),
    "P-F": (1, 2, 5000),
    "P-G": (1188, 12, 0),
}
AVERAGE = 100 * 7558 / 7703


def srv_party() -> pd.DataFrame:
    rows = []
    for srv in ("ALL", "2.2"):
        for label, (s, f, e) in PARTIES.items():
            base = {
                "month": "2021-04",
                "business_process": "prepayment",
                "srv": srv,
                "party_label": label,
            }
            rows.append(
                {
                    **base,
                    "region": "ALL",
                    "device_type": "ALL",
                    "submitted": s + f + e,
                    "succeeded": s,
                    "failed": f,
                    "excluded": e,
                }
            )
            # Detail rows that must not be counted again (the tables read the ALL x ALL rows).
            rows.append(
                {
                    **base,
                    "region": "North",
                    "device_type": "ALL",
                    "submitted": 7,
                    "succeeded": 0,
                    "failed": 7,
                    "excluded": 0,
                }
            )
            rows.append(
                {
                    **base,
                    "region": "ALL",
                    "device_type": "ESME",
                    "submitted": 9,
                    "succeeded": 9,
                    "failed": 0,
                    "excluded": 0,
                }
            )
    return pd.DataFrame(rows)


def test_competition_ranks() -> None:
    from fractions import Fraction as F

    assert competition_ranks([F(1), F(1, 2), F(1, 2), F(1, 4)]) == [1, 2, 2, 4]
    assert competition_ranks([F(1, 3), F(2, 6)]) == [1, 1]
    assert competition_ranks([]) == []


def test_league_table_by_hand() -> None:
    lt = league_tables(srv_party(), "2021-04", min_volume=1000)
    for srv in ("ALL", "2.2"):
        t = lt[lt["srv"] == srv]
        assert list(t["party_label"]) == ["P-D", "P-A", "P-B", "P-G", "P-C"]
        assert list(t["rank"]) == [1, 2, 2, 2, 5]
        assert set(t["parties_ranked"]) == {5}
        assert set(t["parties_below_min_volume"]) == {2}
        assert t.iloc[0]["success_percent"] == pytest.approx(99.9)
        assert t[t["party_label"] == "P-C"]["success_percent"].item() == pytest.approx(95.0)
        assert t[t["party_label"] == "P-F"].empty and t[t["party_label"] == "P-E"].empty


def test_benchmark_by_hand() -> None:
    bm = benchmark(srv_party(), "2021-04", min_volume=1000)
    t = bm[bm["srv"] == "2.2"].set_index("party_label")
    assert len(t) == 7  # every party has its row, also those under the minimum
    assert set(t["industry_average_percent"].round(9)) == {round(AVERAGE, 9)}
    assert list(t["industry_best_percent"]) == pytest.approx([99.9] * 7)
    assert t.loc["P-C", "gap_points"] == pytest.approx(95.0 - AVERAGE)
    assert t.loc["P-C", "best_gap_points"] == pytest.approx(95.0 - 99.9)
    assert t.loc["P-E", "party_success_percent"] == pytest.approx(100.0)
    assert not t.loc["P-E", "meets_min_volume"] and not t.loc["P-F", "meets_min_volume"]
    assert t.loc["P-F", "submitted"] == 5003 and t.loc[
        "P-F", "party_success_percent"
    ] == pytest.approx(100 / 3)


def test_the_minimum_volume_is_configurable() -> None:
    # At 3 requests P-E (100 %) becomes the best and is ranked first; P-F (1 of 3) is ranked last.
    bm = benchmark(srv_party(), "2021-04", min_volume=3)
    assert list(bm["industry_best_percent"]) == pytest.approx([100.0] * len(bm))
    lt = league_tables(srv_party(), "2021-04", min_volume=3)
    t = lt[lt["srv"] == "2.2"]
    assert list(t["party_label"]) == ["P-E", "P-D", "P-A", "P-B", "P-G", "P-C", "P-F"]
    assert list(t["rank"]) == [1, 2, 3, 3, 3, 6, 7]
    assert set(t["parties_below_min_volume"]) == {0}
    # Nobody reaches 100,000: no best, an empty league table, every party counted as left out.
    none = benchmark(srv_party(), "2021-04", min_volume=100_000)
    assert none["industry_best_percent"].isna().all()
    assert league_tables(srv_party(), "2021-04", min_volume=100_000).empty


def test_minimum_volume_must_be_positive() -> None:
    with pytest.raises(UsageError):
        benchmark(srv_party(), "2021-04", min_volume=0)
