"""Each party against the industry: the `benchmark` table.

Per business process (srv `ALL`) and per SRV:
- industry average = the volume-weighted success rate over all parties, i.e. all their
  successes over all their successes and failures (so it equals the network's own rate);
- industry best = the highest success rate among parties with at least `min_volume` requests
  counted in a rate (succeeded + failed) in the month: a party with three requests and three
  successes is not the industry's best.
Every party has a row, also those under the minimum volume (they see where they stand; they are
only kept out of the best and of the league tables).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opmetrics.contract.schema import ALL
from opmetrics.defaults import DEFAULT_MIN_VOLUME
from opmetrics.errors import UsageError


def check_min_volume(min_volume: int) -> int:
    if min_volume < 1:
        raise UsageError(f"--min-volume must be at least 1 request, not {min_volume}")
    return int(min_volume)


def party_totals(srv_party: pd.DataFrame) -> pd.DataFrame:
    """One row per business process x srv (ALL included) x party: the month's totals."""
    t = srv_party[(srv_party["region"] == ALL) & (srv_party["device_type"] == ALL)].copy()
    for c in ("submitted", "succeeded", "failed", "excluded"):
        t[c] = t[c].fillna(0).astype("int64")
    t["rated"] = t["succeeded"] + t["failed"]
    return t.reset_index(drop=True)


def benchmark(
    srv_party: pd.DataFrame, month: str, min_volume: int = DEFAULT_MIN_VOLUME
) -> pd.DataFrame:
    """The benchmark rows, in the order of `srv_party` (catalog order of processes and SRVs)."""
    min_volume = check_min_volume(min_volume)
    t = party_totals(srv_party)
    keys = ["business_process", "srv"]
    with np.errstate(divide="ignore", invalid="ignore"):
        t["party_success_percent"] = np.where(
            t["rated"] > 0, 100.0 * (t["succeeded"] / t["rated"].where(t["rated"] > 0)), np.nan
        )
    g = t.groupby(keys, sort=False)[["succeeded", "rated"]].transform("sum")
    t["industry_average_percent"] = np.where(
        g["rated"] > 0, 100.0 * (g["succeeded"] / g["rated"].where(g["rated"] > 0)), np.nan
    )
    t["meets_min_volume"] = t["rated"] >= min_volume
    eligible = t["party_success_percent"].where(t["meets_min_volume"])
    t["industry_best_percent"] = eligible.groupby([t[k] for k in keys], sort=False).transform("max")
    t["gap_points"] = t["party_success_percent"] - t["industry_average_percent"]
    t["best_gap_points"] = t["party_success_percent"] - t["industry_best_percent"]
    t["month"] = month
    return t
