"""A deterministic, realistic results folder for report tests and the report benchmark.

Reports read only a results folder (design §2, §4), so they can be tested without computing one.
This writes every results table with internally consistent values for a month: counts drawn per
party x SRV x region x device type and rolled up to `ALL` the way `compute` does (SRV totals per
business process, network totals, daily series that add up to the month), Category 1/2
incident days on which failures rise, a poorly performing party, a region out of line, some CPMs
below target and a handful of insights. The same arguments always write the same folder.
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from opmetrics.catalog import Catalog, default_catalog
from opmetrics.catalog.assumptions import (
    OVERRIDE,
    assumed_values,
    cpm_assumptions,
    trt_rules_of_srv,
)
from opmetrics.catalog.model import CPM_IDS
from opmetrics.contract.schema import ALL
from opmetrics.measures.cpm_rows import status_of
from opmetrics.measures.derive import default_trt_s
from opmetrics.measures.requests import PROXY_DEVICE_TYPES, delivery_proxy_srvs
from opmetrics.month import Month
from opmetrics.results import schema as rs
from opmetrics.results.io import conform, write_manifest, write_table
from opmetrics.results.manifest import Manifest

US_PER_MINUTE = 60_000_000

# Monthly request volumes per SRV (meter reads dominate, as on the real network).
VOLUME = {
    "4.6.1": 900_000, "4.8.1": 700_000, "4.17": 400_000, "4.10": 60_000, "2.2": 250_000,
    "1.1.1": 120_000, "6.23": 90_000, "8.1.1": 70_000, "8.11": 65_000, "6.20.1": 60_000,
    "6.8": 40_000, "8.7.2": 30_000, "8.14.1": 25_000, "6.15.1": 20_000, "6.5": 8_000,
    "6.22": 15_000, "11.1": 4_000, "11.2": 6_000, "11.3": 3_000,
}  # fmt: skip
REGION_SHARE = {"North": 0.32, "Central": 0.31, "South": 0.29, "SMETS1": 0.08}
RTT_P50 = {"ESME": 4.0, "GSME": 11.0, "GPF": 3.0, "CHF": 2.0, "PPMID": 5.0, "NONE": 1.2}


def _labels(rng: np.random.Generator, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add("P-" + "".join(rng.choice(list("0123456789ABCDEF"), 6)))
    return sorted(out)


def _pct(num: pd.Series, den: pd.Series) -> pd.Series:
    d = den.astype("float64")
    return (100.0 * num.astype("float64") / d.where(d != 0)).astype("float64")


def _rollups(
    df: pd.DataFrame, dims: list[str], rollable: list[str], sums: list[str]
) -> pd.DataFrame:
    parts = []
    for flags in itertools.product((False, True), repeat=len(rollable)):
        rolled = [d for d, f in zip(rollable, flags, strict=True) if f]
        keep = [d for d in dims if d not in rolled]
        g = df.groupby(keep, sort=False)[sums].sum().reset_index()
        for d in rolled:
            g[d] = ALL
        parts.append(g)
    return pd.concat(parts, ignore_index=True)


def _table(df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    df = df.copy()
    for f in schema:
        if f.name not in df.columns:
            df[f.name] = None
        elif pa.types.is_integer(f.type):
            df[f.name] = df[f.name].astype("Int64")  # nullable: a not reportable row has none
        elif pa.types.is_floating(f.type):
            df[f.name] = df[f.name].astype("float64")
    t = pa.Table.from_pandas(df[schema.names], preserve_index=False)
    return conform(t, schema)


def fine_counts(
    catalog: Catalog, rng: np.random.Generator, parties: list[str], scale: float
) -> pd.DataFrame:
    """party x SRV x region x device type counts with a bad party and a region out of line."""
    deliveries = np.random.default_rng(len(parties))  # apart, so the other draws stay as they were
    share = rng.dirichlet(np.full(len(parties), 1.2))
    skill = rng.normal(0.0, 0.004, len(parties))
    bad_party = parties[int(np.argmax(share[:5]))] if len(parties) > 1 else parties[0]
    rows: list[dict[str, Any]] = []
    for s in catalog.srv:
        vol = VOLUME.get(s.id, 10_000) * scale
        dts = list(s.device_types)
        dt_share = rng.dirichlet(np.full(len(dts), 3.0))
        base = 0.985 + rng.uniform(-0.01, 0.012)
        for (pi, party), (region, rshare), (di, dt) in itertools.product(
            enumerate(parties), REGION_SHARE.items(), enumerate(dts)
        ):
            n = int(rng.poisson(vol * share[pi] * rshare * dt_share[di]))
            if n == 0:
                continue
            p = base + skill[pi]
            if region == "SMETS1":
                p -= 0.01
            if s.id == "2.2" and region == "South":
                p -= 0.05  # a region out of line
            if party == bad_party and s.id in ("4.6.1", "6.23"):
                p -= 0.12  # one party's poor performance moves the whole
            if dt == "GSME":
                p -= 0.004
            p = float(np.clip(p, 0.5, 0.9995))
            excluded = int(rng.binomial(n, 0.01))
            succeeded = int(rng.binomial(n - excluded, p))
            failed = n - excluded - succeeded
            within = int(rng.binomial(succeeded, 0.992 if dt != "GSME" else 0.96))
            delivered = n - int(deliveries.binomial(n, 0.02))
            rows.append(
                {
                    "business_process": s.business_process,
                    "srv": s.id,
                    "party_label": party,
                    "region": region,
                    "device_type": dt,
                    "submitted": n,
                    "succeeded": succeeded,
                    "failed": failed,
                    "excluded": excluded,
                    "responded": succeeded + failed - int(rng.binomial(failed, 0.3)),
                    "within_trt": within,
                    "delivered": delivered,
                    "delivered_within": delivered - int(deliveries.binomial(delivered, 0.01)),
                }
            )
    return pd.DataFrame(rows)


def _summary(
    fine: pd.DataFrame,
    catalog: Catalog,
    month: Month,
    rng: np.random.Generator,
    network: bool = True,
) -> pd.DataFrame:
    sums = ["submitted", "succeeded", "failed", "excluded", "responded", "within_trt", "delivered"]
    dims = ["business_process", "srv", "region", "device_type"]
    agg = _rollups(fine, dims, ["srv", "region", "device_type"], sums)
    net = agg[agg["srv"] == ALL].groupby(["region", "device_type"], sort=False)[sums].sum()
    if network:
        agg = pd.concat(
            [agg, net.reset_index().assign(business_process=ALL, srv=ALL)], ignore_index=True
        )
    agg["month"] = str(month)
    agg["srv_name"] = agg["srv"].map({s.id: s.name for s in catalog.srv})
    agg["success_percent"] = _pct(agg["succeeded"], agg["succeeded"] + agg["failed"])
    agg["within_trt_percent"] = _pct(agg["within_trt"], agg["succeeded"] + agg["failed"])
    agg["trt_s"] = [
        default_trt_s(catalog, srv, dev)
        for srv, dev in zip(agg["srv"], agg["device_type"], strict=True)
    ]
    p50 = agg["device_type"].map(RTT_P50).fillna(5.0) * rng.uniform(0.8, 1.25, len(agg))
    agg["rtt_p50_s"] = p50.round(3)
    agg["rtt_mean_s"] = (p50 * 1.4).round(3)
    agg["rtt_p90_s"] = (p50 * 3.1).round(3)
    agg["rtt_p95_s"] = (p50 * 4.2).round(3)
    return agg


def _daily(
    fine: pd.DataFrame, month: Month, rng: np.random.Generator
) -> tuple[pd.DataFrame, set[tuple[date, str]]]:
    days = month.days
    incidents = {(days[min(4, len(days) - 1)], "North"), (days[min(17, len(days) - 1)], "South")}
    incidents |= {(days[min(17, len(days) - 1)], "Central")}
    base = fine.groupby(["business_process", "srv", "region"], sort=False)[
        ["succeeded", "failed", "excluded"]
    ].sum()
    rows = []
    weekday_w = np.array([1.0 if d.weekday() < 5 else 0.55 for d in days])
    for (bp, srv, region), r in base.iterrows():
        w_ok = weekday_w * rng.uniform(0.9, 1.1, len(days))
        w_fail = w_ok.copy()
        for i, d in enumerate(days):
            if (d, region) in incidents:
                w_fail[i] *= 9.0
        ok = rng.multinomial(int(r["succeeded"]), w_ok / w_ok.sum())
        bad = rng.multinomial(int(r["failed"]), w_fail / w_fail.sum())
        exc = rng.multinomial(int(r["excluded"]), w_ok / w_ok.sum())
        for i, d in enumerate(days):
            rows.append(
                (d, bp, srv, region, int(ok[i]), int(bad[i]), int(exc[i]), (d, region) in incidents)
            )
    out = pd.DataFrame(
        rows,
        columns=[
            "date",
            "business_process",
            "srv",
            "region",
            "succeeded",
            "failed",
            "excluded",
            "incident_cat12",
        ],
    )
    tot = (
        out.groupby(["date", "business_process", "srv"], sort=False)[
            ["succeeded", "failed", "excluded"]
        ]
        .sum()
        .reset_index()
    )
    any_day = {d for d, _ in incidents}
    tot["region"] = ALL
    tot["incident_cat12"] = tot["date"].isin(any_day)
    out = pd.concat([out, tot], ignore_index=True)
    out["success_percent"] = _pct(out["succeeded"], out["succeeded"] + out["failed"])
    return out, incidents


def _cpm_row(
    catalog: Catalog, month: Month, cpm: str, num: float | None, den: float | None, **dims: Any
) -> dict[str, Any]:
    spec = catalog.cpms[cpm]
    reportable = dims.pop("reportable", True)
    note = dims.pop("note", None)
    unit = US_PER_MINUTE if cpm == "CPM6" else 1
    if not reportable or num is None or den is None:
        value, status, num, den, n_exact, d_exact = None, "not_reportable", None, None, None, None
    else:
        n_exact, d_exact = round(num * unit), round(den * unit)
        value = None if den == 0 else 100.0 * n_exact / d_exact
        status = status_of(n_exact, d_exact, spec.target_percent, spec.minimum_percent)
    keys = cpm_assumptions(
        catalog,
        cpm,
        **{k: dims.get(k) for k in ("interface", "business_process", "incident_category")},
    )
    return {
        "month": str(month), "cpm": cpm, "interface": None, "region": None, "time_band": None,
        "business_process": None, "incident_category": None, **dims,
        "numerator": num, "denominator": den, "value_percent": value,
        "target_percent": spec.target_percent, "minimum_percent": spec.minimum_percent,
        "status": status, "note": note, "numerator_exact": n_exact, "denominator_exact": d_exact,
        "assumed": "; ".join(keys) or None,
    }  # fmt: skip


def _assumed_manifest(catalog: Catalog, cpm: pd.DataFrame) -> dict[str, Any]:
    """The manifest's `assumed_values`, as compute writes it."""
    known = assumed_values(catalog)
    used: dict[str, list[str]] = {}
    for c, keys in zip(cpm["cpm"], cpm["assumed"], strict=True):
        for k in str(keys or "").split("; "):
            if k and c not in used.setdefault(k, []):
                used[k].append(c)
    for s in catalog.srv:
        for rule in trt_rules_of_srv(catalog, s):
            if f"trt.{rule.id}" in known and "srv_summary" not in used.setdefault(
                f"trt.{rule.id}", []
            ):
                used[f"trt.{rule.id}"].append("srv_summary")
    values = [
        {"key": k, "value": a.value, "text": a.text, "used_by": used[k]}
        for k, a in known.items()
        if k in used
    ]
    return {"values": values, "override": OVERRIDE}


def _band_minutes(month: Month) -> dict[str, float]:
    core = sum(720 if d.weekday() < 5 else 240 if d.weekday() == 5 else 0 for d in month.days)
    return {"core": float(core), "other": month.hours * 60 - core}


CPM6_REASON = "no outages table in the data dir: DCC Interface availability cannot be reported"


def _cpms(
    catalog: Catalog,
    month: Month,
    fine: pd.DataFrame,
    rng: np.random.Generator,
    cpm6_reportable: bool,
    quality: float,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    regions = [ALL, *catalog.regions]
    for cpm, rate in (("CPM1", 0.9935), ("CPM2", 0.9962)):
        dens = {r: float(rng.integers(200_000, 900_000)) for r in catalog.regions}
        nums = {
            r: float(
                round(d * min(rate + quality - (0.04 if (cpm, r) == ("CPM1", "SMETS1") else 0), 1))
            )
            for r, d in dens.items()
        }
        dens[ALL], nums[ALL] = sum(dens.values()), sum(nums.values())
        for region in regions:
            rows.append(_cpm_row(catalog, month, cpm, nums[region], dens[region], region=region))
    rows.append(
        _cpm_row(catalog, month, "CPM3", 9_812_113.0 * min(0.9975 + quality, 1), 9_812_113.0)
    )
    rows.append(_cpm_row(catalog, month, "CPM4", 3.0, 3.0, incident_category="1-2"))
    for cat, (num, den) in (("3", (18, 20)), ("4", (40, 47)), ("5", (0, 0))):
        rows.append(_cpm_row(catalog, month, "CPM5", float(num), float(den), incident_category=cat))
    rows.append(_cpm_row(catalog, month, "CPM5A", 62.0, 67.0, incident_category="3-5"))
    minutes = _band_minutes(month)
    for iface in (i for i in catalog.interface if i.in_cpm6):
        for region in catalog.regions:
            for band in ("core", "other"):
                den = minutes[band] - (120.0 if band == "other" else 0.0)
                down = 0.0
                if iface.id == "Self-Service Interface" and region == "South" and band == "core":
                    down = 95.5  # an unplanned outage in the core band
                if iface.id == "DCC User Interface" and region == "SMETS1":
                    down = 31.25 if band == "core" else 12.0
                rows.append(_cpm_row(catalog, month, "CPM6", den - down, den, interface=iface.id, region=region,
                                     time_band=band, reportable=cpm6_reportable,
                                     note=None if cpm6_reportable else CPM6_REASON))  # fmt: skip
    for bp in catalog.business_processes.values():
        if not bp.in_cpm6a or not catalog.srvs_of(bp.id):
            continue
        sub = fine[fine["business_process"] == bp.id]
        for region in regions:
            s = sub if region == ALL else sub[sub["region"] == region]
            den = float(s["succeeded"].sum() + s["failed"].sum())
            rows.append(
                _cpm_row(
                    catalog,
                    month,
                    "CPM6A",
                    float(s["within_trt"].sum()),
                    den,
                    region=region,
                    business_process=bp.id,
                )
            )
    for cpm, rate in (("CPM6B", 0.995), ("CPM6C", 0.97)):
        dens = {r: float(rng.integers(3_000, 9_000)) for r in catalog.regions}
        nums = {r: float(round(d * rate)) for r, d in dens.items()}
        dens[ALL], nums[ALL] = sum(dens.values()), sum(nums.values())
        for region in regions:
            rows.append(_cpm_row(catalog, month, cpm, nums[region], dens[region], region=region))
    return rows


def _benchmark(
    party: pd.DataFrame, month: Month, min_volume: int = 1_000
) -> tuple[pd.DataFrame, pd.DataFrame]:
    p = party[(party["region"] == ALL) & (party["device_type"] == ALL)].copy()
    rows, league = [], []
    for (bp, srv), g in p.groupby(["business_process", "srv"], sort=False):
        den = g["succeeded"] + g["failed"]
        avg = 100.0 * g["succeeded"].sum() / max(int(den.sum()), 1)
        eligible = g[g["submitted"] >= min_volume]
        best = float(eligible["success_percent"].max()) if len(eligible) else float("nan")
        for _, r in g.iterrows():
            rows.append({"month": str(month), "business_process": bp, "srv": srv, "party_label": r["party_label"],
                         "submitted": r["submitted"], "party_success_percent": r["success_percent"],
                         "industry_average_percent": avg, "industry_best_percent": best,
                         "gap_points": r["success_percent"] - avg})  # fmt: skip
        ranked = eligible.sort_values(["success_percent", "party_label"], ascending=[False, True])
        for rank, (_, r) in enumerate(ranked.iterrows(), start=1):
            league.append({"month": str(month), "business_process": bp, "srv": srv, "party_label": r["party_label"],
                           "rank": rank, "success_percent": r["success_percent"], "submitted": r["submitted"]})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(league)


def _insights(month: Month, bad_party: str) -> pd.DataFrame:
    rows = [
        ("service_provider", "South", "prepayment", "2.2", "South 93.1 % success on 72,311 requests",
         "North and Central 98.4 %", "difference 5.3 points, z = 41.2", "Work with the service provider", 5_100),
        ("user", bad_party, "change_of_supplier", "6.23", f"{bad_party} 86.2 % on 21,040 requests",
         "peers on the same adaptor and device set 98.5 %", "difference 12.3 points, z = 38.0",
         "Recommend a trilateral best-practice meeting", 2_590),
        ("device", "GSME firmware 4.1", "meter_reads", "4.6.1", "GSME 97.9 %", "ESME 98.6 %",
         "difference 0.7 points, z = 8.1", "Work with device manufacturers; recommend a firmware upgrade", 1_200),
    ]  # fmt: skip
    cols = ["kind", "subject", "business_process", "srv", "observed", "comparison", "evidence",
            "recommended_action", "requests_affected"]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols)
    df.insert(0, "finding_id", ["F-1A2B3C4D", "F-5E6F7A8B", "F-9C0D1E2F"])
    df.insert(0, "rank", range(1, len(df) + 1))
    df.insert(0, "month", str(month))
    df["headline"] = [
        "Top Up Device (2.2) requests in the South region succeeded 93.1 % of the time against "
        "98.4 % in the other regions: about 5,100 more failed requests than at that rate.",
        f"Change of Supplier requests from {bad_party} succeeded 86.2 % of the time against "
        "98.5 % for peers on the same adaptor and devices: about 2,590 more failed requests.",
        "Meter read requests to GSMEs on firmware 4.1 succeeded 97.9 % of the time against "
        "98.6 % for ESMEs: about 1,200 more failed requests than at that rate.",
    ]
    return df


QUARANTINE_ROWS = [
    ("service_requests", "service_requests.csv", 17, "unknown_srv", "srv is not in the catalog", "unknown SRV: 9.99", '{"srv": "9.99", "user_id": "SECRET-ID"}'),
    ("service_requests", "service_requests.csv", 230, "invalid_value", "value does not parse: received_at", "value does not parse: received_at=x", "=HYPERLINK(\"http://x\")"),
    ("parties", "parties.csv", 4, "duplicate_key", "duplicate user_id: an earlier row has the same user_id", "duplicate user_id: SECRET-ID", '{"user_id": "SECRET-ID", "name": "Secret Energy Ltd"}'),
    ("outages", "outages.csv", 2, "unknown_interface", "interface is not in the catalog", "unknown interface: Foo", "-1+2"),
]  # fmt: skip


def _quarantine_rows() -> pd.DataFrame:
    return pd.DataFrame(QUARANTINE_ROWS, columns=rs.QUARANTINE_ROWS.names)


def _device_sets(fine: pd.DataFrame, month: Month, rng: np.random.Generator) -> pd.DataFrame:
    ds = fine[fine["srv"].isin(["4.6.1", "2.2"])].copy()
    ds["adaptor"] = [f"Adaptor {'ABC'[i % 3]}" for i in range(len(ds))]
    ds["comms_hub_model"] = rng.choice(["CH-EDMI-1", "CH-TOSH-2"], len(ds))
    ds["meter_model"] = rng.choice(["Aclara SGM1411", "Landis E470"], len(ds))
    ds["firmware_version"] = rng.choice(["4.1", "4.2"], len(ds))
    ds["month"] = str(month)
    return ds


def write_fake_results(
    folder: Path,
    month: str = "2021-04",
    *,
    seed: int = 7,
    n_parties: int = 20,
    scale: float = 1.0,
    cpm6_reportable: bool = True,
    quality: float = 0.0,
    catalog: Catalog | None = None,
    hostile_labels: bool = False,
    schema_version: int = 2,
) -> Path:
    """Write a complete results folder for `month`; `quality` shifts CPM rates (for history).

    `schema_version=1` writes a folder as results were before the exact numerators, the
    assumed values (cpm column and manifest) and the delivery proxy existed."""
    catalog = catalog or default_catalog()
    m = Month.parse(month)
    rng = np.random.default_rng(seed)
    parties = _labels(rng, n_parties)
    if hostile_labels:
        parties[0] = "=<b>P-EVIL</b> #set page(width: 1pt) $x$"
    fine = fine_counts(catalog, rng, parties, scale)
    bad_party = str(fine.groupby("party_label")["failed"].sum().idxmax())
    summary = _summary(fine, catalog, m, rng)
    daily, _incidents = _daily(fine, m, rng)
    sums = ["submitted", "succeeded", "failed", "excluded"]
    party = _rollups(fine, ["business_process", "srv", "party_label", "region", "device_type"],
                     ["srv", "region", "device_type"], sums)  # fmt: skip
    party["month"] = month
    party["success_percent"] = _pct(party["succeeded"], party["succeeded"] + party["failed"])
    proxy = _summary(fine[fine["device_type"].isin(PROXY_DEVICE_TYPES)], catalog, m, rng)
    proxy = proxy[proxy["business_process"] != ALL].assign(proxy="chf_gpf_rtt")
    if schema_version >= 2:  # processes that never target a CHF or GPF: time to the Comms Hub
        deliv = fine[fine["srv"].isin(delivery_proxy_srvs(catalog))].copy()
        deliv["within_trt"] = deliv["delivered_within"]
        delivered = _summary(deliv, catalog, m, np.random.default_rng(seed + 1), network=False)
        proxy = pd.concat(
            [proxy, delivered.assign(proxy="delivery_to_comms_hub")], ignore_index=True
        )
    bench, league = _benchmark(party, m)
    cpm = pd.DataFrame(_cpms(catalog, m, fine, rng, cpm6_reportable, quality))
    assumed_block = _assumed_manifest(catalog, cpm)
    if schema_version < 2:
        cpm = cpm.drop(columns=["numerator_exact", "denominator_exact", "assumed"])
        proxy = proxy.drop(columns=["proxy"])
    tables = {
        "cpm": _table(cpm, rs.CPM),
        "srv_summary": _table(summary, rs.SRV_SUMMARY),
        "srv_daily": _table(daily, rs.SRV_DAILY),
        "srv_party": _table(party, rs.SRV_PARTY),
        "dcc_proxy": _table(proxy, rs.DCC_PROXY),
        "srv_device_set": _table(_device_sets(fine, m, rng), rs.SRV_DEVICE_SET),
        "benchmark": _table(bench, rs.BENCHMARK),
        "league_table": _table(league, rs.LEAGUE_TABLE),
        "insights": _table(_insights(m, bad_party), rs.INSIGHTS),
        "quarantine": _table(_quarantine_rows(), rs.QUARANTINE),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, t in tables.items():
        write_table(folder, name, t)
    restricted = folder / rs.RESTRICTED_DIR
    restricted.mkdir(exist_ok=True)
    (restricted / rs.PARTY_LABELS_FILE).write_text(
        "user_id,name,party_label\nSECRET-ID,Secret Energy Ltd,P-000000\n"
    )
    write_table(restricted, "quarantine_rows", _table(_quarantine_rows(), rs.QUARANTINE_ROWS))
    reportability = {c: {"status": "reportable", "reason": None} for c in CPM_IDS}
    if not cpm6_reportable:
        reportability["CPM6"] = {"status": "not_reportable", "reason": CPM6_REASON}
    manifest = {
        "opmetrics_version": "0.1.0",
        "month": month,
        "month_start_utc": m.start_utc.isoformat().replace("+00:00", "Z"),
        "month_end_utc": m.end_utc.isoformat().replace("+00:00", "Z"),
        "catalog": {"version": catalog.meta.version, "sha256": catalog.sha256, "path": catalog.path},
        "engine": {"name": "duckdb", "duckdb": "1.2.0"},
        "percentiles": {"method": "log-bucket histogram, linear within a bucket", "relative_bound": 0.01, "absolute_bound_s": 0.001},
        "reportability": reportability,
        "tables": {name: {"rows": t.num_rows} for name, t in sorted(tables.items())},
        "warnings": [],
    }  # fmt: skip
    if schema_version >= 2:
        manifest["schema_version"] = schema_version
        manifest["assumed_values"] = assumed_block
    write_manifest(folder, Manifest.model_validate(manifest))
    return folder
