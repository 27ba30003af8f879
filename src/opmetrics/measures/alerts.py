"""CPM3: alerts delivered within the alert Target Response Time (design §5).

The alerts table is one of the two big tables (about 1.6 billion rows a month on the real
network), so CPM3 is a single filtered aggregation on the engine that returns one row of two
counts; no alert row ever reaches the client.
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from opmetrics.catalog import Catalog
from opmetrics.engine.base import Engine
from opmetrics.measures.cpm_rows import cpm_row, missing_table_note
from opmetrics.measures.intervals import US_PER_SECOND
from opmetrics.month import Month


def cpm3(
    alerts: ir.Table | None, engine: Engine, catalog: Catalog, month: Month
) -> list[dict[str, Any]]:
    """One row: non-consolidated alerts raised in the month, and how many arrived within TRT.

    An alert belongs to the UK-local month of `raised_at`. A null `consolidated` counts as not
    consolidated. An undelivered alert (no `delivered_at`) is in the denominator only; an alert
    delivered exactly at the TRT is within it.
    """
    if alerts is None:
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
    numerator, denominator = engine_counts(alerts, engine, catalog, month)
    return [cpm_row(catalog, month, "CPM3", numerator, denominator)]


def engine_counts(
    alerts: ir.Table, engine: Engine, catalog: Catalog, month: Month
) -> tuple[int, int]:
    """(delivered within TRT, counted) for the month, in one aggregation on the engine."""
    trt_us = round(catalog.alerts.trt_seconds * US_PER_SECOND)
    a = alerts
    counted = a.filter(
        a.raised_at >= month.start_utc,
        a.raised_at < month.end_utc,
        ~a.consolidated.fill_null(False),
    )
    # Durations as differences of epoch microseconds: exact, and fast on every engine.
    delay_us = engine.epoch_us(counted.delivered_at) - engine.epoch_us(counted.raised_at)
    within = counted.delivered_at.notnull() & (delay_us <= trt_us)
    agg = counted.aggregate(
        denominator=counted.count(),
        numerator=within.cast("int64").sum(),
    )
    row = engine.to_arrow(agg).to_pylist()[0]
    return int(row["numerator"] or 0), int(row["denominator"] or 0)
