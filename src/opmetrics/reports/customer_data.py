"""What one party's customer pack shows, read from a results folder and made safe to hand over.

A pack holds the party's own figures in full, and about every other party only what cannot
identify one: the industry average and best, ranks and rates without labels, and comparisons
over at least `MIN_OTHERS` other parties. A comparison cell that holds fewer other parties (a
device set two other suppliers run, an SRV only one other party sends) is merged with the
other small cells of its table when the merged cell holds enough parties, and suppressed
otherwise; each table says how many cells were merged or suppressed. No other party's label,
name, user_id or adaptor is ever read into a pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from opmetrics.contract.schema import ALL
from opmetrics.errors import OutputError, UsageError
from opmetrics.results.io import Results, read_party_failures
from opmetrics.results.labels import read_label_file
from opmetrics.results.schema import PARTY_FAILURES, PARTY_LABELS_FILE, RESTRICTED_DIR

MIN_OTHERS = 3  # a comparison cell must hold at least this many other parties
MERGED = "Other device sets (merged)"
FAILURE_COLUMNS = tuple(f.name for f in PARTY_FAILURES if f.name != "party_label")


@dataclass(frozen=True)
class Party:
    user_id: str
    name: str
    label: str


def party_directory(results: Results) -> list[Party]:
    """Every party of the month, from the restricted label file (user_id, name, label)."""
    path = results.path / RESTRICTED_DIR / PARTY_LABELS_FILE
    if not path.is_file():
        raise OutputError(
            "results folder has no restricted/party_labels.csv (packs need the party labels)",
            path=str(results.path),
        )
    rows = read_label_file(path).to_pylist()  # names as given (Parquet) where it exists
    return [Party(str(r["user_id"]), str(r["name"] or ""), str(r["party_label"])) for r in rows]


def find_party(parties: list[Party], user_id: str) -> Party:
    for p in parties:
        if p.user_id.upper() == user_id.strip().upper():
            return p
    raise UsageError(f"no party with user_id {user_id} in this results folder")


@dataclass
class Breakdown:
    """One breakdown table: the party's rows with the others' rate where it may be shown."""

    rows: pd.DataFrame
    merged_cells: int = 0
    suppressed_cells: int = 0


@dataclass
class PackData:
    """Everything one party's pack shows (no other party's identity anywhere in it)."""

    party: Party
    month: str
    min_volume: int
    against: pd.DataFrame  # bp x srv: own volumes and rate, industry average and best, rank
    leagues: dict[tuple[str, str], pd.DataFrame]  # (process, srv) -> anonymised league
    by_region: Breakdown
    by_device_set: Breakdown
    findings: pd.DataFrame
    failures: pa.Table
    notes: list[str] = field(default_factory=list)


def _rate(s: pd.Series, n: pd.Series) -> pd.Series:
    return (100.0 * s / n.where(n > 0)).astype("float64")


def _against(results: Results, label: str) -> pd.DataFrame:
    bm = results.table("benchmark").to_pandas()
    lt = results.table("league_table").to_pandas()
    sp = results.table("srv_party").to_pandas()
    tot = sp[(sp["region"] == ALL) & (sp["device_type"] == ALL)].copy()
    tot["rated"] = tot["succeeded"] + tot["failed"]
    others = (
        tot[(tot["party_label"] != label) & (tot["rated"] > 0)]
        .groupby(["business_process", "srv"])["party_label"]
        .nunique()
        .rename("other_parties")
    )
    mine = bm[bm["party_label"] == label].copy()
    mine = mine.merge(others, on=["business_process", "srv"], how="left")
    mine["other_parties"] = mine["other_parties"].fillna(0).astype("int64")
    own_rank = lt[lt["party_label"] == label][["business_process", "srv", "rank"]]
    sizes = lt.groupby(["business_process", "srv"])[
        ["parties_ranked", "parties_below_min_volume"]
    ].first()
    mine = mine.merge(own_rank, on=["business_process", "srv"], how="left")
    mine = mine.merge(sizes, on=["business_process", "srv"], how="left")
    n_all = bm.groupby(["business_process", "srv"])["party_label"].nunique().rename("parties")
    mine = mine.merge(n_all, on=["business_process", "srv"], how="left")
    mine["parties_ranked"] = mine["parties_ranked"].fillna(0).astype("int64")
    below_all = mine["parties"] - mine["parties_ranked"]
    mine["parties_below_min_volume"] = (
        mine["parties_below_min_volume"].fillna(below_all).astype("int64")
    )
    mine["shown"] = mine["other_parties"] >= MIN_OTHERS
    for c in ("industry_average_percent", "industry_best_percent", "gap_points", "best_gap_points"):
        mine[c] = mine[c].where(mine["shown"])
    mine["rank"] = mine["rank"].where(mine["shown"])
    return mine.drop(columns=["parties"]).reset_index(drop=True)


def _leagues(
    results: Results, label: str, against: pd.DataFrame
) -> dict[tuple[str, str], pd.DataFrame]:
    """Anonymised league tables (rank, rate, whether it is you), per process and per SRV."""
    lt = results.table("league_table").to_pandas()
    shown = set(
        zip(*(against.loc[against["shown"], c] for c in ("business_process", "srv")), strict=True)
    )
    out = {}
    for (bp, srv), g in lt.groupby(["business_process", "srv"], sort=False):
        if (bp, srv) not in shown:
            continue
        g = g.sort_values(["rank", "success_percent"], ascending=[True, False])
        out[(str(bp), str(srv))] = pd.DataFrame(
            {
                "rank": g["rank"].astype("int64").to_numpy(),
                "success_percent": g["success_percent"].to_numpy(),
                "you": (g["party_label"] == label).to_numpy(),
            }
        )
    return out


def _by_region(results: Results, label: str) -> Breakdown:
    sp = results.table("srv_party").to_pandas()
    sp = sp[(sp["device_type"] == ALL) & (sp["region"] != ALL)].copy()
    sp["rated"] = sp["succeeded"] + sp["failed"]
    keys = ["business_process", "srv", "region"]
    mine = sp[sp["party_label"] == label][
        [*keys, "submitted", "succeeded", "failed", "excluded", "rated"]
    ]
    rest = sp[(sp["party_label"] != label) & (sp["rated"] > 0)]
    o = rest.groupby(keys).agg(
        others_succeeded=("succeeded", "sum"),
        others_rated=("rated", "sum"),
        other_parties=("party_label", "nunique"),
    )
    rows = mine.merge(o.reset_index(), on=keys, how="left")
    rows["other_parties"] = rows["other_parties"].fillna(0).astype("int64")
    ok = rows["other_parties"] >= MIN_OTHERS
    rows["success_percent"] = _rate(rows["succeeded"], rows["rated"])
    rows["others_percent"] = _rate(rows["others_succeeded"], rows["others_rated"]).where(ok)
    rows["comparison"] = np.where(ok, "shown", "suppressed: fewer than 3 other parties")
    return Breakdown(
        rows.drop(columns=["others_succeeded", "others_rated"]).reset_index(drop=True),
        suppressed_cells=int((~ok).sum()),
    )


SET_KEYS = ["device_type", "comms_hub_model", "meter_model", "firmware_version"]


def _by_device_set(results: Results, label: str) -> Breakdown:
    ds = results.table("srv_device_set").to_pandas()
    ds["rated"] = ds["succeeded"] + ds["failed"]
    for c in SET_KEYS:
        ds[c] = ds[c].fillna("UNKNOWN")
    keys = ["business_process", *SET_KEYS]
    ds = ds.drop(columns=["adaptor"])  # another party's adaptor is never read into a pack
    mine = (
        ds[ds["party_label"] == label]
        .groupby(keys, sort=False)[["submitted", "succeeded", "failed", "excluded", "rated"]]
        .sum()
        .reset_index()
    )
    rest = ds[(ds["party_label"] != label) & (ds["rated"] > 0)]
    o = (
        rest.groupby(keys)
        .agg(
            others_succeeded=("succeeded", "sum"),
            others_rated=("rated", "sum"),
            other_parties=("party_label", "nunique"),
        )
        .reset_index()
    )
    rows = mine.merge(o, on=keys, how="left")
    rows["other_parties"] = rows["other_parties"].fillna(0).astype("int64")
    ok = rows["other_parties"] >= MIN_OTHERS
    kept = rows[ok].copy()
    kept["comparison"] = "shown"
    merged_rows = []
    merged = suppressed = 0
    for bp, small in rows[~ok].groupby("business_process", sort=False):
        sets = small[SET_KEYS].apply(tuple, axis=1).tolist()
        in_sets = rest[
            (rest["business_process"] == bp) & rest[SET_KEYS].apply(tuple, axis=1).isin(sets)
        ]
        n_others = in_sets["party_label"].nunique()
        row: dict[str, Any] = {
            "business_process": bp,
            "device_type": "",
            "comms_hub_model": MERGED,
            "meter_model": f"{len(small)} device set{'s' if len(small) != 1 else ''}",
            "firmware_version": "",
            **{
                c: int(small[c].sum())
                for c in ("submitted", "succeeded", "failed", "excluded", "rated")
            },
            "other_parties": int(n_others),
        }
        if n_others >= MIN_OTHERS:
            row["others_succeeded"] = int(in_sets["succeeded"].sum())
            row["others_rated"] = int(in_sets["rated"].sum())
            row["comparison"] = f"merged: {len(small)} sets with fewer than 3 other parties each"
            merged += len(small)
        else:
            row["others_succeeded"] = np.nan
            row["others_rated"] = np.nan
            row["comparison"] = "suppressed: fewer than 3 other parties, even merged"
            suppressed += len(small)
        merged_rows.append(row)
    if merged_rows:
        kept = pd.concat([kept, pd.DataFrame(merged_rows)], ignore_index=True)
    kept["success_percent"] = _rate(kept["succeeded"], kept["rated"])
    kept["others_percent"] = _rate(
        kept["others_succeeded"].astype("float64"), kept["others_rated"].astype("float64")
    )
    order = {b: i for i, b in enumerate(dict.fromkeys(rows["business_process"]))}
    kept["_o"] = kept["business_process"].map(order)
    kept["_m"] = kept["comms_hub_model"] == MERGED
    kept = kept.sort_values(["_o", "_m", "rated"], ascending=[True, True, False], kind="stable")
    kept = kept.drop(columns=["_o", "_m", "others_succeeded", "others_rated"]).reset_index(
        drop=True
    )
    return Breakdown(kept, merged_cells=merged, suppressed_cells=suppressed)


def _findings(results: Results, label: str) -> pd.DataFrame:
    """The findings about the party itself. The action is the canonical one of its code: the
    table's own text can name the best-practice peer, another party's label."""
    from opmetrics.analytics.insights import ACTIONS

    ins = results.table("insights").to_pandas()
    cols = [
        "rank",
        "kind",
        "subject",
        "business_process",
        "srv",
        "requests",
        "observed_percent",
        "comparison_percent",
        "gap_points",
        "requests_affected",
    ]
    mine = ins[ins["party_label"] == label].reset_index(drop=True)
    codes = mine["action_code"] if "action_code" in mine else mine["kind"]
    mine = mine[cols].copy()
    mine["recommended_action"] = [ACTIONS.get(str(k), str(k)) for k in codes]
    return mine


def own_failures(results: Results, label: str) -> pa.Table:
    """The party's own failed requests (restricted extract: only its label's rows are read)."""
    return read_party_failures(results.path / RESTRICTED_DIR, label).select(list(FAILURE_COLUMNS))


def pack_data(results: Results, party: Party) -> PackData:
    analytics = results.manifest.analytics
    if not results.has("benchmark") or not results.has("league_table"):
        raise OutputError(
            "results folder has no benchmark or league_table (computed by an older opmetrics?); run compute again",
            path=str(results.path),
        )
    against = _against(results, party.label)
    if against.empty:
        raise UsageError(f"party {party.user_id} sent no service requests in {results.month}")
    return PackData(
        party=party,
        month=results.month,
        min_volume=int(analytics.get("min_volume", 0) or 0),
        against=against,
        leagues=_leagues(results, party.label, against),
        by_region=_by_region(results, party.label),
        by_device_set=_by_device_set(results, party.label),
        findings=_findings(results, party.label),
        failures=own_failures(results, party.label),
    )
