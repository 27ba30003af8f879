"""The Alerts measures: CPM3 and the Alerts business process split into AD1 and device alerts.

The alerts table is one of the two big tables (about 1.6 billion rows a month on the real
network), so everything here comes from a single grouped aggregation on the engine: per alert
type (the DCC's AD1 power outage alerts, or device alerts), region and UK local day of
`raised_at`, the alerts raised, consolidated, delivered and delivered within the alert Target
Response Time. No alert row ever reaches the client; the aggregate has at most
2 x 5 x 31 rows. CPM3 is its sum; the `alerts_summary` and `alerts_daily` results tables
(`alert_tables`) are its roll-ups, the daily one with the Category 1/2 incident markers that
`srv_daily` carries for SRVs.
"""

from __future__ import annotations

import itertools
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import ALL
from opmetrics.engine.base import Engine
from opmetrics.measures.cpm_rows import cpm_row, missing_table_note
from opmetrics.measures.derive import incident_flags
from opmetrics.measures.intervals import US_PER_SECOND
from opmetrics.measures.requests import local_day
from opmetrics.month import Month

# The contract's alert_type -> the Alerts process's two lines (the slides' "AD1 and Device
# Alerts"). The DCC's own alerts in the feed are AD1, its power outage alert.
ALERT_GROUPS = {"dcc": "AD1", "device": "device"}
GROUP_ORDER = ("AD1", "device", ALL)
COUNTS = ("raised", "consolidated", "counted", "delivered", "within_trt")

COUNTS_SCHEMA = pa.schema(
    [
        pa.field("alert_type", pa.string()),
        pa.field("region", pa.string()),
        pa.field("date", pa.date32()),
        *(pa.field(c, pa.int64()) for c in COUNTS),
    ]
)


def alert_counts(alerts: ir.Table, engine: Engine, catalog: Catalog, month: Month) -> pa.Table:
    """The month's alerts per alert_type x region x UK local day of `raised_at`, in one pass.

    An alert belongs to the UK-local month (and day) of `raised_at`. A null `consolidated`
    counts as not consolidated. `counted` are the alerts CPM3 counts (not consolidated);
    `delivered` and `within_trt` are of those: an undelivered alert is counted only; one
    delivered exactly at the TRT is within it.
    """
    trt_us = round(catalog.alerts.trt_seconds * US_PER_SECOND)
    a = alerts.filter(alerts.raised_at >= month.start_utc, alerts.raised_at < month.end_utc)
    raised_us = engine.epoch_us(a.raised_at)
    # Durations as differences of epoch microseconds: exact, and fast on every engine.
    delay_us = engine.epoch_us(a.delivered_at) - raised_us
    cons = a.consolidated.fill_null(False)
    one, zero = ibis.literal(1, "int64"), ibis.literal(0, "int64")
    t = a.mutate(
        date=local_day(raised_us, month),
        _cons=ibis.ifelse(cons, one, zero),
        _del=ibis.ifelse(~cons & a.delivered_at.notnull(), one, zero),
        _in=ibis.ifelse(~cons & a.delivered_at.notnull() & (delay_us <= trt_us), one, zero),
    )
    agg = t.group_by(["alert_type", "region", "date"]).aggregate(
        raised=t.count(),
        consolidated=t._cons.sum(),
        delivered=t._del.sum(),
        within_trt=t._in.sum(),
    )
    out = engine.to_arrow(agg)
    raised = pc.cast(out["raised"], pa.int64())
    consolidated = pc.cast(pc.fill_null(out["consolidated"], 0), pa.int64())
    table = pa.table(
        {
            "alert_type": pc.cast(out["alert_type"], pa.string()),
            "region": pc.cast(out["region"], pa.string()),
            "date": pc.cast(pc.cast(out["date"], pa.int32()), pa.date32()),
            "raised": raised,
            "consolidated": consolidated,
            "counted": pc.subtract(raised, consolidated),
            "delivered": pc.cast(pc.fill_null(out["delivered"], 0), pa.int64()),
            "within_trt": pc.cast(pc.fill_null(out["within_trt"], 0), pa.int64()),
        },
        schema=COUNTS_SCHEMA,
    )
    return table.sort_by(
        [("date", "ascending"), ("alert_type", "ascending"), ("region", "ascending")]
    )


def cpm3_from_counts(
    counts: pa.Table | None, catalog: Catalog, month: Month
) -> list[dict[str, Any]]:
    """One CPM3 row: non-consolidated alerts raised in the month, and how many arrived within
    TRT; not reportable without an alerts table."""
    if counts is None:
        return [
            cpm_row(
                catalog,
                month,
                "CPM3",
                None,
                None,
                note=missing_table_note("alerts", "alert delivery (CPM3)"),
                reportable=False,
            )
        ]
    numerator = int(pc.sum(counts["within_trt"]).as_py() or 0)
    denominator = int(pc.sum(counts["counted"]).as_py() or 0)
    return [cpm_row(catalog, month, "CPM3", numerator, denominator)]


def cpm3(
    alerts: ir.Table | None, engine: Engine, catalog: Catalog, month: Month
) -> list[dict[str, Any]]:
    """CPM3 alone (`compute` takes it from the same aggregate as the Alerts tables)."""
    counts = None if alerts is None else alert_counts(alerts, engine, catalog, month)
    return cpm3_from_counts(counts, catalog, month)


def _pct(num: pd.Series, den: pd.Series) -> pd.Series:
    den_f = den.astype("float64")
    return (100.0 * num.astype("float64") / den_f.where(den_f != 0)).astype("float64")


def _grouped(counts: pa.Table) -> pd.DataFrame:
    df = counts.to_pandas()
    df["alert_group"] = df["alert_type"].map(ALERT_GROUPS)
    return df.drop(columns=["alert_type"])


def _rolled(df: pd.DataFrame, keys: list[str], cols: tuple[str, ...]) -> pd.DataFrame:
    """`df` summed by `keys`, with `ALL` rows for alert_group and region (and both)."""
    base = df.groupby(keys, sort=False)[list(cols)].sum().reset_index()
    parts = [base]
    for dim in ("alert_group", "region"):
        rest = [k for k in keys if k != dim]
        parts.append(
            base.groupby(rest, sort=False)[list(cols)].sum().reset_index().assign(**{dim: ALL})
        )
    rest = [k for k in keys if k not in ("alert_group", "region")]
    if rest:
        both = base.groupby(rest, sort=False)[list(cols)].sum().reset_index()
    else:
        both = base[list(cols)].sum().to_frame().T
    parts.append(both.assign(alert_group=ALL, region=ALL))
    return pd.concat(parts, ignore_index=True)


def alerts_summary(counts: pa.Table, catalog: Catalog, month: Month) -> pd.DataFrame:
    """alerts_summary: the month per alert group (AD1, device, ALL) x region (with ALL)."""
    df = _grouped(counts)
    rolled = _rolled(df, ["alert_group", "region"], COUNTS)
    grid = pd.DataFrame(
        list(itertools.product(GROUP_ORDER, [*catalog.regions, ALL])),
        columns=["alert_group", "region"],
    )
    out = grid.merge(rolled, on=["alert_group", "region"], how="left")
    for c in COUNTS:
        out[c] = out[c].fillna(0).astype("int64")
    out["within_trt_percent"] = _pct(out["within_trt"], out["counted"])
    out["trt_s"] = float(catalog.alerts.trt_seconds)
    out.insert(0, "month", str(month))
    return out


def alerts_daily(
    counts: pa.Table, incident_days: pd.DataFrame, catalog: Catalog, month: Month
) -> pd.DataFrame:
    """alerts_daily: every UK-local day x alert group x region (with ALL), and whether a
    Category 1 or 2 incident was open that day in the region (in any region, for ALL)."""
    df = _grouped(counts)
    cols = ("counted", "within_trt")
    rolled = _rolled(df, ["date", "alert_group", "region"], cols)
    grid = pd.DataFrame(
        list(itertools.product(month.days, GROUP_ORDER, [*catalog.regions, ALL])),
        columns=["date", "alert_group", "region"],
    )
    out = grid.merge(rolled, on=["date", "alert_group", "region"], how="left")
    for c in cols:
        out[c] = out[c].fillna(0).astype("int64")
    out["within_trt_percent"] = _pct(out["within_trt"], out["counted"])
    out["incident_cat12"] = incident_flags(out, incident_days)
    return out
