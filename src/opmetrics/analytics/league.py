"""Anonymised league tables per business process (srv `ALL`) and per SRV: the `league_table`.

Parties are ranked by success rate, highest first, among those with at least `min_volume`
requests counted in a rate. Ties share a rank with standard competition ranking ("1, 2, 2, 4"):
a party's rank is one more than the number of parties strictly ahead of it. Rates are compared
as exact fractions (succeeded / (succeeded + failed)), so 1/3 and 2/6 tie and floating-point noise
never splits a tie. Parties under the minimum volume are left out of the table and counted in
every row of it (`parties_below_min_volume`), next to `parties_ranked`.
"""

from __future__ import annotations

from fractions import Fraction

import pandas as pd

from opmetrics.analytics.benchmark import DEFAULT_MIN_VOLUME, check_min_volume, party_totals

COLUMNS = (
    "month",
    "business_process",
    "srv",
    "party_label",
    "rank",
    "success_percent",
    "submitted",
    "succeeded",
    "failed",
    "parties_ranked",
    "parties_below_min_volume",
)


def competition_ranks(rates: list[Fraction]) -> list[int]:
    """Ranks of `rates` (highest first): ties share the best rank, the next rank skips."""
    return [1 + sum(1 for other in rates if other > r) for r in rates]


def league_tables(
    srv_party: pd.DataFrame, month: str, min_volume: int = DEFAULT_MIN_VOLUME
) -> pd.DataFrame:
    min_volume = check_min_volume(min_volume)
    t = party_totals(srv_party)
    rows: list[dict[str, object]] = []
    for (bp, srv), g in t.groupby(["business_process", "srv"], sort=False):
        ranked = g[g["rated"] >= min_volume]
        below = len(g) - len(ranked)
        rates = [
            Fraction(int(s), int(n))
            for s, n in zip(ranked["succeeded"], ranked["rated"], strict=True)
        ]
        ranks = competition_ranks(rates)
        recs = ranked.to_dict("records")
        entries = sorted(
            zip(ranks, recs, strict=True), key=lambda e: (e[0], str(e[1]["party_label"]))
        )
        for rank, r in entries:
            succeeded, rated = int(r["succeeded"]), int(r["rated"])
            rows.append(
                {
                    "month": month,
                    "business_process": bp,
                    "srv": srv,
                    "party_label": r["party_label"],
                    "rank": rank,
                    "success_percent": 100.0 * (succeeded / rated),
                    "submitted": int(r["submitted"]),
                    "succeeded": succeeded,
                    "failed": int(r["failed"]),
                    "parties_ranked": len(ranked),
                    "parties_below_min_volume": below,
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))
