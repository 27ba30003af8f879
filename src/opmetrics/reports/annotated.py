"""The data files' tables: each results table plus what a reader needs beside its figures.

- `assumed` (the keys of the assumed catalog values a row's figures rest on, `; `-separated,
  for machines) and `assumed_note` (the same values in words, after the mark, for people) on
  every table whose figures can rest on one: the TRT for `cpm`, `srv_summary` and `dcc_proxy`,
  and a process's SRVs for the process totals (`srv` ALL) of `srv_party`, `benchmark` and
  `league_table`, and the alert TRT for `alerts_summary` and `alerts_daily`. Results written before the `cpm` table carried `assumed` get it worked out
  from the catalog.
- `dcc_proxy`'s time columns named for what they measure: the results hold both proxies in the
  `rtt_*` and `within_trt` columns (column `proxy` says which); here the delivery proxy's rows
  hold theirs in `to_comms_hub_*_s` and `delivered_within_trt[_percent]`, and the round trip
  columns of those rows are empty, so no delivery time is ever headed "RTT".
- `assumed_values`: every assumed value behind the month's figures, its value, its words and
  the figures it decides; how to override them is on the workbook's `about` sheet.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from opmetrics.contract.schema import ALL
from opmetrics.reports import fmt
from opmetrics.reports.assumed import Assumptions
from opmetrics.reports.data import PROXY_DELIVERY, PROXY_RTT
from opmetrics.reports.spec import Assumption

PROCESS_TOTALS = ("srv_party", "benchmark", "league_table")
ALERT_TABLES = ("alerts_summary", "alerts_daily")
TIME_COLUMNS = ("rtt_mean_s", "rtt_p50_s", "rtt_p90_s", "rtt_p95_s")
DELIVERY_COLUMNS = {
    "within_trt": "delivered_within_trt",
    "within_trt_percent": "delivered_within_trt_percent",
    **{c: c.replace("rtt_", "to_comms_hub_") for c in TIME_COLUMNS},
}


def _note(found: tuple[Assumption, ...]) -> str | None:
    if not found:
        return None
    return f"{fmt.MARK} rests on assumed values: " + "; ".join(a.text for a in found)


def _with_assumed(
    table: pa.Table, of_row: Callable[[tuple[str, ...]], tuple[Assumption, ...]], keys: list[str]
) -> pa.Table:
    """`table` with `assumed` and `assumed_note` from `of_row` over the row's `keys` columns
    (worked out once per distinct combination)."""
    cols = [table.column(k).to_pylist() for k in keys]
    memo: dict[tuple[str, ...], tuple[Assumption, ...]] = {}
    found = []
    for combo in zip(*cols, strict=True):
        if combo not in memo:
            memo[combo] = of_row(tuple("" if c is None else str(c) for c in combo))
        found.append(memo[combo])
    assumed = pa.array(["; ".join(a.key for a in f) or None for f in found], pa.string())
    note = pa.array([_note(f) for f in found], pa.string())
    if "assumed" in table.column_names:
        table = table.drop_columns(["assumed"])
    return table.append_column("assumed", assumed).append_column("assumed_note", note)


def _cpm(table: pa.Table, a: Assumptions) -> pa.Table:
    dims = ("cpm", "interface", "business_process", "incident_category", "assumed")

    def of_row(combo: tuple[str, ...]) -> tuple[Assumption, ...]:
        return a.of_cpm({k: (v or None) for k, v in zip(dims, combo, strict=True)})

    return _with_assumed(table, of_row, list(dims))


def _row(a: Assumptions) -> Callable[[tuple[str, ...]], tuple[Assumption, ...]]:
    def of_row(combo: tuple[str, ...]) -> tuple[Assumption, ...]:
        bp, srv, device = combo
        return a.of_row(bp, srv, device or ALL)

    return of_row


def _process_totals(a: Assumptions) -> Callable[[tuple[str, ...]], tuple[Assumption, ...]]:
    def of_row(combo: tuple[str, ...]) -> tuple[Assumption, ...]:
        bp, srv = combo
        return a.of_process_counts(bp) if srv == ALL else ()

    return of_row


def _dcc_proxy(table: pa.Table, a: Assumptions) -> pa.Table:
    proxy = pc.fill_null(table.column("proxy"), PROXY_RTT)
    table = table.set_column(table.column_names.index("proxy"), "proxy", proxy)
    delivery = pc.equal(proxy, PROXY_DELIVERY)
    for rtt_name, name in DELIVERY_COLUMNS.items():
        col = table.column(rtt_name)
        empty = pa.scalar(None, col.type)
        table = table.set_column(
            table.column_names.index(rtt_name), rtt_name, pc.if_else(delivery, empty, col)
        )
        table = table.append_column(name, pc.if_else(delivery, col, empty))
    return _with_assumed(table, _row(a), ["business_process", "srv", "device_type"])


def annotate(name: str, table: pa.Table, a: Assumptions) -> pa.Table:
    """One results table as its data file holds it (module docstring)."""
    if name == "cpm":
        return _cpm(table, a)
    if name == "srv_summary":
        return _with_assumed(table, _row(a), ["business_process", "srv", "device_type"])
    if name == "dcc_proxy":
        return _dcc_proxy(table, a)
    if name in PROCESS_TOTALS:
        return _with_assumed(table, _process_totals(a), ["business_process", "srv"])
    if name in ALERT_TABLES:  # within_trt rests on the alert TRT
        return _with_assumed(table, lambda combo: a.of_alerts(), ["alert_group"])
    return table


def assumed_values_table(a: Assumptions) -> pa.Table:
    listed = a.values()
    return pa.table(
        {
            "key": pa.array([x.key for x in listed], pa.string()),
            "value": pa.array([x.value for x in listed], pa.string()),
            "text": pa.array([x.text for x in listed], pa.string()),
            "used_by": pa.array(["; ".join(x.used_by) or None for x in listed], pa.string()),
        }
    )


__all__ = ["DELIVERY_COLUMNS", "annotate", "assumed_values_table"]
