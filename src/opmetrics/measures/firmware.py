"""CPM6B and CPM6C: Communications Hub firmware delivered and activated (design §5).

The firmware table grows with the number of Comms Hubs (tens of millions), so both measures
come from one grouped aggregation on the engine, by region; only three rows of counts reach the
client, and the ALL row is their sum.

"Pending at month end = not successful" is applied to the recorded instants, not only to the
status: a delivery whose status is `success` but whose `delivered_at` lies after the month end
was still pending at month end, so it is not successful for that month. A month re-run from a
later extract therefore gives the same figures.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import ALL
from opmetrics.engine.base import Engine
from opmetrics.measures.cpm_rows import cpm_row, missing_table_note
from opmetrics.month import Month

SUCCESS = "success"
_COUNTS = ("requested", "delivered", "activation_requested", "activated")


def engine_counts(firmware: ir.Table, engine: Engine, month: Month) -> dict[str, dict[str, int]]:
    """Per region: deliveries requested / delivered, activations requested / activated."""
    f = firmware
    start, end = month.start_utc, month.end_utc
    requested = ((f.requested_at >= start) & (f.requested_at < end)).fill_null(False)
    act_requested = (
        f.activation_requested_at.notnull()
        & (f.activation_requested_at >= start)
        & (f.activation_requested_at < end)
    ).fill_null(False)
    delivered = (
        requested
        & (f.delivery_status == SUCCESS).fill_null(False)
        & (f.delivered_at.isnull() | (f.delivered_at < end)).fill_null(False)
    )
    activated = (
        act_requested
        & (f.activation_status == SUCCESS).fill_null(False)
        & (f.activated_at.isnull() | (f.activated_at < end)).fill_null(False)
    )

    def n(cond: ir.BooleanValue) -> ir.IntegerScalar:
        return ibis.ifelse(cond, 1, 0).sum()

    agg = (
        f.filter(requested | act_requested)
        .group_by("region")
        .aggregate(
            requested=n(requested),
            delivered=n(delivered),
            activation_requested=n(act_requested),
            activated=n(activated),
        )
    )
    out: dict[str, dict[str, int]] = {}
    for rec in engine.to_arrow(agg).to_pylist():
        out[rec["region"]] = {k: int(rec[k] or 0) for k in _COUNTS}
    return out


def cpm6bc(
    firmware: ir.Table | None, engine: Engine, catalog: Catalog, month: Month
) -> list[dict[str, Any]]:
    """CPM6B (delivered / requested) and CPM6C (activated / activation requested), for ALL and
    for each CSP region.

    A delivery belongs to the UK-local month of `requested_at`, an activation to that of
    `activation_requested_at`. Failed and pending ones count in the denominator only.
    """
    regions = [ALL, *catalog.csp_regions]
    if firmware is None:
        rows = []
        for cpm, what in (("CPM6B", "firmware delivery"), ("CPM6C", "firmware activation")):
            note = missing_table_note("firmware", f"{what} ({cpm})")
            rows += [
                cpm_row(catalog, month, cpm, None, None, region=r, note=note, reportable=False)
                for r in regions
            ]
        return rows
    counts = engine_counts(firmware, engine, month)
    zero = dict.fromkeys(_COUNTS, 0)
    per_region = {r: counts.get(r, zero) for r in catalog.csp_regions}
    per_region[ALL] = {k: sum(c[k] for c in counts.values()) for k in _COUNTS}
    rows = []
    for cpm, num, den in (
        ("CPM6B", "delivered", "requested"),
        ("CPM6C", "activated", "activation_requested"),
    ):
        for r in regions:
            c = per_region[r]
            rows.append(cpm_row(catalog, month, cpm, c[num], c[den], region=r))
    return rows
