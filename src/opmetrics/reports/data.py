"""What the packs know about a month: the results tables plus the catalog's names and order.

Results are aggregates (design §2), so they are read whole into small pandas frames once and every
table and chart of every pack is cut from them. Roll-up rows (`ALL`) are used as written; when a
results folder lacks a roll-up the counts are summed from the detail rows instead, so a pack
never shows a number the results do not support.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import ALL
from opmetrics.errors import OutputError, UsageError
from opmetrics.month import Month
from opmetrics.reports import fmt
from opmetrics.reports.assumed import Assumptions
from opmetrics.results.io import read_results
from opmetrics.results.manifest import Manifest

COUNTS = ("submitted", "succeeded", "failed", "excluded", "responded", "within_trt")
# dcc_proxy's `proxy` (design §5): which DCC proxy a row's times measure.
PROXY_RTT = "chf_gpf_rtt"  # round trip time of the requests targeted at a CHF or GPF
PROXY_DELIVERY = "delivery_to_comms_hub"  # time until the command reached the Comms Hub
RTT_COLS = ("trt_s", "rtt_mean_s", "rtt_p50_s", "rtt_p90_s", "rtt_p95_s")


@dataclass
class MonthResults:
    """One results folder, its tables as pandas frames (read once)."""

    path: Path
    month: Month
    manifest: Manifest
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def reportability(self) -> dict[str, str]:
        """CPM → reason, for the measures the manifest (or the cpm table) says cannot be reported."""
        out = self.manifest.not_reportable()
        cpm_t = self.tables["cpm"]
        for r in cpm_t[cpm_t["status"] == "not_reportable"].itertuples():
            out.setdefault(
                str(r.cpm),
                str(r.note)
                if isinstance(r.note, str) and r.note
                else "inputs missing or incomplete",
            )
        return dict(sorted(out.items(), key=lambda kv: _cpm_order(kv[0])))


TABLES = (
    "cpm",
    "srv_summary",
    "srv_daily",
    "srv_party",
    "dcc_proxy",
    "benchmark",
    "league_table",
    "insights",
)
OPTIONAL_TABLES = ("alerts_summary", "alerts_daily")  # absent from folders computed before


def load_month(path: str | Path) -> MonthResults:
    """Read a results folder; its month comes from the manifest."""
    res = read_results(path)
    try:
        month = Month.parse(res.manifest.month)
    except UsageError:
        raise OutputError(
            f"manifest.json has no valid month ({res.manifest.month or None!r})",
            path=str(res.path),
        ) from None
    out = MonthResults(res.path, month, res.manifest)
    # tables added to the results since some folders were written are read where present
    for name in TABLES + tuple(t for t in OPTIONAL_TABLES if res.has(t)):
        df = res.table(name).to_pandas()
        if "date" in df.columns:
            df["date"] = pd.to_datetime(df["date"]).dt.date
        out.tables[name] = df
    # Results written before the delivery proxy hold CHF/GPF round trips only.
    out.tables["dcc_proxy"]["proxy"] = out.tables["dcc_proxy"]["proxy"].fillna(PROXY_RTT)
    # Charts select roll-up rows; add any roll-up a results folder lacks (counts only).
    out.tables["srv_daily"] = ensure_rollups(
        out.tables["srv_daily"], ["date", "business_process", "srv", "region"], ["region"],
        ["succeeded", "failed", "excluded"], flags=["incident_cat12"],
    )  # fmt: skip
    out.tables["srv_party"] = ensure_rollups(
        out.tables["srv_party"], ["business_process", "srv", "party_label", "region", "device_type"],
        ["srv", "region", "device_type"], ["submitted", "succeeded", "failed", "excluded"],
    )  # fmt: skip
    return out


def ensure_rollups(
    df: pd.DataFrame,
    dims: list[str],
    rollable: list[str],
    sums: list[str],
    flags: tuple[str, ...] | list[str] = (),
) -> pd.DataFrame:
    """Add `ALL` rows for each rollable dimension that has none, summing the detail rows.

    A dimension that already has `ALL` rows is trusted as written."""
    if df.empty:
        return df
    for dim in rollable:
        if (df[dim] == ALL).any():
            continue
        detail = df[df[dim] != ALL]
        keep = [d for d in dims if d != dim]
        agg: dict[str, tuple[str, str]] = {c: (c, "sum") for c in sums}
        agg.update({c: (c, "any") for c in flags})
        g = detail.groupby(keep, sort=False, dropna=False).agg(**agg).reset_index()
        g[dim] = ALL
        if "success_percent" in df.columns:
            den = (g["succeeded"] + g["failed"]).astype("float64")
            g["success_percent"] = 100.0 * g["succeeded"] / den.where(den != 0)
        df = pd.concat([df, g], ignore_index=True)
    return df


def _cpm_order(cpm: str) -> tuple[int, str]:
    order = ("CPM1", "CPM2", "CPM3", "CPM4", "CPM5", "CPM5A", "CPM6", "CPM6A", "CPM6B", "CPM6C")
    return (order.index(cpm) if cpm in order else len(order), cpm)


def cpm_order(cpm: str) -> tuple[int, str]:
    return _cpm_order(cpm)


def pct(num: float, den: float) -> float | None:
    return None if not den else 100.0 * num / den


class View:
    """Queries over one month's results, with the catalog's names and order."""

    def __init__(self, results: MonthResults, catalog: Catalog) -> None:
        self.r = results
        self.catalog = catalog
        self.month = results.month
        self.assumed = Assumptions(results.manifest, catalog)
        s = results["srv_summary"]
        self._summary = s
        self._by_key = {
            (str(r.business_process), str(r.srv), str(r.region), str(r.device_type)): i
            for i, r in enumerate(
                s[["business_process", "srv", "region", "device_type"]].itertuples(index=False)
            )
        }
        self._srv_names = {x.id: x.name for x in catalog.srv}
        for r in s[["srv", "srv_name"]].drop_duplicates().itertuples(index=False):
            if isinstance(r.srv_name, str) and r.srv_name and r.srv != ALL:
                self._srv_names.setdefault(str(r.srv), r.srv_name)

    # -- names and order -------------------------------------------------------------------

    def bp_name(self, bp: str) -> str:
        if bp == ALL:
            return "All business processes"
        b = self.catalog.business_processes.get(bp)
        return b.name if b else bp

    def srv_name(self, srv: str) -> str:
        return self._srv_names.get(srv, "")

    def srv_title(self, srv: str) -> str:
        return f"SRV {fmt.srv_title(srv, self.srv_name(srv))}"

    def regions(self) -> list[str]:
        return list(self.catalog.regions)

    def packs(self) -> list[str]:
        """Business processes that get a pack: every catalog process with SRVs, in order."""
        return [b for b in self.catalog.business_processes if self.catalog.srvs_of(b)]

    def srvs_of(self, bp: str) -> list[str]:
        """SRVs of a process: the catalog's, then any the results hold that it does not know."""
        out = [s.id for s in self.catalog.srvs_of(bp)]
        s = self._summary
        extra = sorted(
            set(s.loc[(s["business_process"] == bp) & (s["srv"] != ALL), "srv"]) - set(out)
        )
        return out + extra

    def device_types_of(self, srv: str) -> list[str]:
        s = self._summary
        found = set(s.loc[(s["srv"] == srv) & (s["device_type"] != ALL), "device_type"])
        known = list(self.catalog.srvs[srv].device_types) if srv in self.catalog.srvs else []
        return [d for d in known if d in found] + sorted(found - set(known))

    def bp_of(self, srv: str) -> str:
        if srv in self.catalog.srvs:
            return self.catalog.srvs[srv].business_process
        s = self._summary
        hit = s.loc[s["srv"] == srv, "business_process"]
        return str(hit.iloc[0]) if len(hit) else ""

    # -- srv_summary -----------------------------------------------------------------------

    def summary(
        self, bp: str, srv: str = ALL, region: str = ALL, device: str = ALL
    ) -> dict[str, Any]:
        """One srv_summary cell; summed from detail rows when the roll-up is absent."""
        i = self._by_key.get((bp, srv, region, device))
        if i is not None:
            return {str(k): v for k, v in self._summary.iloc[i].to_dict().items()}
        s = self._summary
        mask = pd.Series(True, index=s.index)
        for col, val in (
            ("business_process", bp),
            ("srv", srv),
            ("region", region),
            ("device_type", device),
        ):
            mask &= (s[col] != ALL) if val == ALL else (s[col] == val)
        sub = s[mask]
        out: dict[str, Any] = {
            "business_process": bp,
            "srv": srv,
            "region": region,
            "device_type": device,
        }
        for c in COUNTS:
            out[c] = int(sub[c].sum()) if len(sub) else 0
        den = out["succeeded"] + out["failed"]
        out["success_percent"] = pct(out["succeeded"], den)
        out["within_trt_percent"] = pct(out["within_trt"], den)
        trts = list(sub["trt_s"].dropna().unique()) if len(sub) else []
        out["trt_s"] = float(trts[0]) if len(trts) == 1 else None
        for c in RTT_COLS[1:]:
            out[c] = None  # percentiles cannot be added up
        return out

    def summary_rows(self) -> pd.DataFrame:
        return self._summary

    # -- daily -----------------------------------------------------------------------------

    def daily(self, srvs: list[str], region: str = ALL) -> pd.DataFrame:
        """Daily succeeded/failed/incident for some SRVs added up, one row per day of the month."""
        d = self.r["srv_daily"]
        d = d[d["srv"].isin(srvs)]
        if region == ALL and not (d["region"] == ALL).any():
            sub = d[d["region"] != ALL]
        else:
            sub = d[d["region"] == region]
        g = sub.groupby("date").agg(
            succeeded=("succeeded", "sum"),
            failed=("failed", "sum"),
            incident=("incident_cat12", "any"),
        )
        days = pd.DataFrame(index=pd.Index(self.month.days, name="date"))
        g = days.join(g).fillna({"succeeded": 0, "failed": 0, "incident": False}).reset_index()
        g["succeeded"] = g["succeeded"].astype("int64")
        g["failed"] = g["failed"].astype("int64")
        g["incident"] = g["incident"].astype(bool)
        return g

    # -- parties ---------------------------------------------------------------------------

    def party_totals(
        self, bp: str, srv: str = ALL, region: str = ALL, device: str = ALL
    ) -> pd.DataFrame:
        """Per-party succeeded/failed for one SRV (or a whole process with srv ALL)."""
        p = self.r["srv_party"]
        if p.empty:
            return pd.DataFrame(columns=["party_label", "submitted", "succeeded", "failed"])
        mask = (p["business_process"] == bp) if bp != ALL else pd.Series(True, index=p.index)
        for col, val in (("srv", srv), ("region", region), ("device_type", device)):
            if val == ALL and not (p[col] == ALL).any():
                mask &= p[col] != ALL
            else:
                mask &= p[col] == val
        sub = p[mask]
        g = (
            sub.groupby("party_label", sort=True)[["submitted", "succeeded", "failed"]]
            .sum()
            .reset_index()
        )
        return g
