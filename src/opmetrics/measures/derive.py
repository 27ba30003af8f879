"""Result tables derived from the request aggregates, never from raw rows.

The aggregates are small (thousands to a few million rows whatever the month's volume), so the
roll-ups to `ALL`, the percentiles from merged histograms and the CPM1/2/6A rows are computed on
the client with pandas. This is where the counting rules of design §5 meet the results contract
of design §4.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import ALL
from opmetrics.measures.cpm_rows import cpm_row
from opmetrics.measures.requests import OUTCOME_SUMS, PROXY_DEVICE_TYPES
from opmetrics.measures.rtt import grouped_percentiles
from opmetrics.month import Month

QS = (0.5, 0.9, 0.95)


def keyed_frame(table: pa.Table) -> pd.DataFrame:
    """An aggregate as pandas with its string keys as categoricals.

    pandas 3 holds strings as Arrow arrays, and grouping, `map` and filtering on those walk the
    values one Python object at a time; a categorical's codes are plain integers (the
    derivations of a 10M-request month took half the time on them). Sorting must use the
    values, not the codes (`_sorted`).
    """
    df = table.to_pandas()
    keys = [f.name for f in table.schema if pa.types.is_string(f.type)]
    return df.astype(dict.fromkeys(keys, "category")) if keys else df


def _pct(num: pd.Series, den: pd.Series) -> pd.Series:
    den_f = den.astype("float64")
    out = 100.0 * num.astype("float64") / den_f.where(den_f != 0)
    return out.astype("float64")


def _add_business_process(df: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    df = df.copy()
    df["business_process"] = df["srv"].map({s.id: s.business_process for s in catalog.srv})
    return df


def default_trt_s(catalog: Catalog, srv_id: str, device_type: str = ALL) -> float | None:
    """The TRT of an SRV's default execution for one device type; for ALL, the device types'
    common TRT, or None when it varies by device type."""
    s = catalog.srvs.get(srv_id)
    if s is None:
        return None
    kind = "non_device" if s.non_device else ("on_demand" if s.on_demand else "future_dated")
    devices = s.device_types if device_type == ALL else (device_type,)
    found = {catalog.trt_for(kind, None, s.id, d).seconds for d in devices}
    return found.pop() if len(found) == 1 else None


def rollups(
    df: pd.DataFrame,
    dims: Sequence[str],
    rollable: Sequence[str],
    sums: Sequence[str],
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """Group `df` by `dims`, once per subset of `rollable` replaced by ALL, summing `sums`.

    `extra` dims are always kept (e.g. a histogram bucket).
    """
    parts = []
    for flags in itertools.product((False, True), repeat=len(rollable)):
        rolled = {d for d, f in zip(rollable, flags, strict=True) if f}
        keep = [d for d in dims if d not in rolled] + list(extra)
        g = (
            df.groupby(keep, dropna=False, sort=False, observed=True)[list(sums)]
            .sum()
            .reset_index()
            if keep
            else df[list(sums)].sum().to_frame().T
        )
        for d in rolled:
            g[d] = ALL
        parts.append(g)
    return pd.concat(parts, ignore_index=True)


def _with_bp_total(df: pd.DataFrame) -> pd.DataFrame:
    """Add network-wide rows (business_process ALL) from the per-process srv=ALL rows."""
    tot = df[df["srv"] == ALL].copy()
    tot["business_process"] = ALL
    return tot


def _rtt_stats(hist: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """p50, p90, p95 per group of `dims` from histogram rows (dims, bucket, n)."""
    cols = [*dims, "rtt_p50_s", "rtt_p90_s", "rtt_p95_s"]
    if hist.empty:
        return pd.DataFrame(columns=cols)
    codes = hist.groupby(dims, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    keys = hist[dims].assign(_g=codes).drop_duplicates("_g").set_index("_g").sort_index()
    groups, p = grouped_percentiles(
        codes, hist["bucket"].to_numpy(dtype=np.int64), hist["n"].to_numpy(dtype=np.int64), QS
    )
    out = keys.loc[groups].reset_index(drop=True)
    for j, c in enumerate(cols[len(dims) :]):
        out[c] = p[:, j]
    return out[cols]


SUMMARY_SUMS = (*OUTCOME_SUMS, "responded", "within_trt", "rtt_sum_us", "delivered")


def summary(
    fine: pd.DataFrame,
    hist: pd.DataFrame,
    catalog: Catalog,
    month: Month,
    all_srvs: bool,
    *,
    mean_over: str = "succeeded",
    process_totals: bool = True,
) -> pd.DataFrame:
    """srv_summary rows (and dcc_proxy rows when given proxy-only inputs).

    `hist` is the histogram the percentiles come from and `rtt_sum_us` the sum the mean divides
    by `mean_over` (successful requests for the RTT; delivered ones for the delivery proxy).
    `process_totals` adds the network-wide rows (business_process ALL).
    """
    dims = ["business_process", "srv", "region", "device_type"]
    base = _add_business_process(fine, catalog)
    if all_srvs:  # every catalog SRV appears, if only with zeros
        present = set(base["srv"])
        pad = [
            {
                "srv": s.id,
                "business_process": s.business_process,
                "region": ALL,
                "device_type": ALL,
                **dict.fromkeys(SUMMARY_SUMS, 0),
            }
            for s in catalog.srv
            if s.id not in present
            and catalog.business_processes[s.business_process].reported_from == "service_requests"
        ]
    else:
        pad = []
    agg = rollups(base, dims, ["srv", "region", "device_type"], SUMMARY_SUMS)
    if process_totals:
        agg = pd.concat([agg, _with_bp_total(agg)], ignore_index=True)
    if pad:
        agg = pd.concat([agg, pd.DataFrame(pad)], ignore_index=True)
    agg = agg.groupby(dims, sort=False, dropna=False)[list(SUMMARY_SUMS)].sum().reset_index()
    h = _add_business_process(hist, catalog)
    if not h.empty:
        hr = rollups(h, dims, ["srv", "region", "device_type"], ["n"], extra=["bucket"])
        if process_totals:
            hr = pd.concat([hr, _with_bp_total(hr)], ignore_index=True)
        stats = _rtt_stats(hr, dims)
        agg = agg.merge(stats, on=dims, how="left")
    else:
        for c in ("rtt_p50_s", "rtt_p90_s", "rtt_p95_s"):
            agg[c] = np.nan
    agg["month"] = str(month)
    agg["srv_name"] = agg["srv"].map({s.id: s.name for s in catalog.srv})
    agg["success_percent"] = _pct(agg["succeeded"], agg["succeeded"] + agg["failed"])
    agg["within_trt_percent"] = _pct(agg["within_trt"], agg["succeeded"] + agg["failed"])
    keys = list(zip(agg["srv"], agg["device_type"], strict=True))
    trts = {k: default_trt_s(catalog, *k) for k in set(keys)}
    agg["trt_s"] = [trts[k] for k in keys]
    agg["rtt_mean_s"] = (
        agg["rtt_sum_us"].astype("float64") / agg[mean_over].where(agg[mean_over] > 0)
    ) / 1e6
    return _sorted(agg, ["business_process", "srv", "region", "device_type"], catalog)


PROXY_RTT = "chf_gpf_rtt"  # RTT of the requests targeted at a CHF or GPF
PROXY_DELIVERY = "delivery_to_comms_hub"  # time to deliver the command to the Comms Hub


def dcc_proxy(
    fine: pd.DataFrame,
    hist: pd.DataFrame,
    delivery_hist: pd.DataFrame,
    delivery_srvs: set[str],
    catalog: Catalog,
    month: Month,
) -> pd.DataFrame:
    """dcc_proxy rows (design §5): the RTT statistics of the requests targeted at a CHF or GPF;
    for a process whose SRVs never target one (`delivery_srvs`), the same statistics of the
    time to deliver its commands to the Comms Hub instead. Column `proxy` says which.

    Delivery rows: `within_trt` counts requests delivered within the TRT (over succeeded +
    failed, like the RTT rows), the mean and percentiles are over the delivered requests, and
    there is no network-wide (ALL processes) row: the two proxies do not add up.
    """
    chf_gpf = summary(
        fine[fine["device_type"].isin(PROXY_DEVICE_TYPES)],
        hist[hist["device_type"].isin(PROXY_DEVICE_TYPES)],
        catalog,
        month,
        all_srvs=False,
    ).assign(proxy=PROXY_RTT)
    in_delivery = fine["srv"].isin(delivery_srvs)
    deliv = fine[in_delivery].copy()
    deliv["within_trt"] = deliv["deliv_within"]
    deliv["rtt_sum_us"] = deliv["deliv_sum_us"]
    delivered = summary(
        deliv,
        delivery_hist,
        catalog,
        month,
        all_srvs=False,
        mean_over="delivered",
        process_totals=False,
    ).assign(proxy=PROXY_DELIVERY)
    out = pd.concat([chf_gpf, delivered], ignore_index=True)
    return _sorted(out, ["business_process", "srv", "region", "device_type"], catalog)


def _sorted(df: pd.DataFrame, keys: list[str], catalog: Catalog) -> pd.DataFrame:
    """Stable, meaningful order: catalog order of processes and SRVs, ALL first."""
    orders = {
        "business_process": {b: i for i, b in enumerate(catalog.business_processes)},
        "srv": {s.id: i for i, s in enumerate(catalog.srv)},
        "region": {r: i for i, r in enumerate(catalog.regions)},
    }
    sort_cols = []
    df = df.copy()
    for k in keys:
        col = f"__{k}"
        # plain values: a categorical column would sort by its categories' order, not by value
        plain = df[k].astype(object)
        order = orders.get(k)
        if order is not None:
            df[col] = plain.map(lambda v, o=order: -1 if v == ALL else o.get(v, 999))
        else:
            df[col] = plain.map(lambda v: "" if v == ALL else str(v))
        sort_cols.append(col)
    df = df.sort_values(sort_cols, kind="stable").drop(columns=sort_cols)
    return df.reset_index(drop=True)


def daily(
    days: pd.DataFrame, incident_days: pd.DataFrame, catalog: Catalog, month: Month
) -> pd.DataFrame:
    """srv_daily: every UK-local day of the month for every SRV active in the month.

    `days` is the daily aggregate (date × SRV × reporting region).
    """
    base = (
        days.groupby(["date", "srv", "region"], sort=False)[["succeeded", "failed", "excluded"]]
        .sum()
        .reset_index()
    )
    both = pd.concat(
        [
            base,
            base.groupby(["date", "srv"], sort=False)[["succeeded", "failed", "excluded"]]
            .sum()
            .reset_index()
            .assign(region=ALL),
        ]
    )
    srvs = sorted(set(days["srv"]))
    regions = [*catalog.regions, ALL]
    grid = pd.DataFrame(
        list(itertools.product(month.days, srvs, regions)), columns=["date", "srv", "region"]
    )
    out = grid.merge(both, on=["date", "srv", "region"], how="left")
    for c in ("succeeded", "failed", "excluded"):
        out[c] = out[c].fillna(0).astype("int64")
    out["incident_cat12"] = incident_flags(out, incident_days)
    out = _add_business_process(out, catalog)
    out["success_percent"] = _pct(out["succeeded"], out["succeeded"] + out["failed"])
    # Drop regions where the SRV saw nothing all month (keeps the table proportional to activity).
    active = (
        out.groupby(["srv", "region"])[["succeeded", "failed", "excluded"]]
        .transform("sum")
        .sum(axis=1)
        > 0
    )
    out = out[active]
    return _sorted(out, ["business_process", "srv", "region", "date"], catalog)


PARTY_SUMS = OUTCOME_SUMS


def party(
    fine: pd.DataFrame, labels: dict[str, str], catalog: Catalog, month: Month
) -> pd.DataFrame:
    base = _add_business_process(fine, catalog)
    base["party_label"] = base["user_id"].map(labels)
    dims = ["business_process", "srv", "party_label", "region", "device_type"]
    agg = rollups(base, dims, ["srv", "region", "device_type"], PARTY_SUMS)
    agg["month"] = str(month)
    agg["success_percent"] = _pct(agg["succeeded"], agg["succeeded"] + agg["failed"])
    return _sorted(
        agg, ["business_process", "srv", "party_label", "region", "device_type"], catalog
    )


def device_set_breakdown(
    fine: pd.DataFrame,
    labels: dict[str, str],
    adaptors: dict[str, str | None],
    catalog: Catalog,
    month: Month,
) -> pd.DataFrame:
    base = _add_business_process(fine, catalog)
    base["party_label"] = base["user_id"].map(labels)
    base["adaptor"] = base["user_id"].map(adaptors)
    dims = [
        "business_process",
        "srv",
        "party_label",
        "adaptor",
        "region",
        "device_type",
        "comms_hub_model",
        "meter_model",
        "firmware_version",
    ]
    agg = base.groupby(dims, sort=False, dropna=False)[list(PARTY_SUMS)].sum().reset_index()
    agg["month"] = str(month)
    return _sorted(agg, dims, catalog)


# -- CPMs from requests -----------------------------------------------------------------------


def request_cpms(
    fine: pd.DataFrame, catalog: Catalog, month: Month, not_reportable: str | None
) -> list[dict[str, Any]]:
    """CPM1, CPM2 (DCC time vs TRT) and CPM6A (RTT vs TRT per business process)."""
    rows: list[dict[str, Any]] = []
    regions = [ALL, *catalog.regions]
    ok = not_reportable is None
    for cpm, kind in (("CPM1", "on_demand"), ("CPM2", "future_dated")):
        sub = fine[fine["execution"] == kind]
        for region in regions:
            s = sub if region == ALL else sub[sub["region"] == region]
            rows.append(
                cpm_row(
                    catalog,
                    month,
                    cpm,
                    int(s["dcc_within"].sum()),
                    int(s["dcc_counted"].sum()),
                    region=region,
                    note=not_reportable,
                    reportable=ok,
                )
            )
    base = _add_business_process(fine, catalog)
    for bp in catalog.business_processes.values():
        if not bp.in_cpm6a or not catalog.srvs_of(bp.id):
            continue
        sub = base[base["business_process"] == bp.id]
        for region in regions:
            s = sub if region == ALL else sub[sub["region"] == region]
            den = int(s["succeeded"].sum() + s["failed"].sum())
            rows.append(
                cpm_row(
                    catalog,
                    month,
                    "CPM6A",
                    int(s["within_trt"].sum()),
                    den,
                    region=region,
                    business_process=bp.id,
                    note=not_reportable,
                    reportable=ok,
                )
            )
    return rows


def to_arrow(df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    cols = {}
    for f in schema:
        if f.name not in df.columns:
            cols[f.name] = pa.nulls(len(df), f.type)
            continue
        s = df[f.name]
        if pa.types.is_floating(f.type):
            cols[f.name] = pa.array(s.astype("float64").to_numpy(), f.type, from_pandas=True)
        elif pa.types.is_integer(f.type):
            cols[f.name] = pa.array(s.fillna(0).astype("int64").to_numpy(), f.type)
        elif pa.types.is_date32(f.type):
            cols[f.name] = pa.array(list(s), f.type)
        elif pa.types.is_boolean(f.type):
            cols[f.name] = pa.array([bool(v) for v in s], f.type)
        else:
            cols[f.name] = pa.array(
                [
                    None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
                    for v in s
                ],
                f.type,
            )
    return pa.table(cols, schema=schema)


def incident_flags(out: pd.DataFrame, incident_days: pd.DataFrame) -> list[bool]:
    """For each (date, region) row of a daily table: was a Category 1/2 incident open that day
    in that region (`incident_days`: date, region), or, on a region ALL row, in any region."""
    flags = (
        set(map(tuple, incident_days[["date", "region"]].itertuples(index=False, name=None)))
        if not incident_days.empty
        else set()
    )
    any_day = {d for d, _r in flags}
    return [
        ((d, r) in flags) if r != ALL else (d in any_day)
        for d, r in zip(out["date"], out["region"], strict=True)
    ]
