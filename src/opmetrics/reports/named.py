"""The data files' tables as a reader opens them: names beside ids, roll-up rows flagged.

A results table holds catalog ids (`install_commission`, device type `NONE`, status
`below_target`, finding kind `service_provider`) and `ALL` for a roll-up over a dimension. A
reader filtering a spreadsheet should see names, and a pivot over every row would count each
request once per roll-up it is in. So each data file:

- keeps every id in a column named `<dimension>_id` and puts the name beside it under the
  dimension's own name (`business_process_id`, `business_process`): `Install & Commission`,
  `Non-device request (served by the DCC)`, `Below target`, `All business processes`. An SRV
  keeps its reference in `srv` (it is what readers call it) with `srv_name` beside it;
- flags every row of a table of counts that sums others: `is_rollup` (true when any dimension is `ALL`) and
  `rolled_up`, the dimensions it sums over (`region; device_type`). Filter on `is_rollup` false
  for the finest rows, or pick the roll-up you want, and nothing is counted twice.

A column whose name a reader would have to look up is renamed (`incident_cat12` ->
`category_1_or_2_incident`). The rules follow the column names, so a table added to the results later is named the same way.
The results folder itself (Parquet and CSV for machines) keeps the ids alone.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import ALL
from opmetrics.reports import fmt

# Results columns whose names a reader would have to look up, renamed in the data files.
RENAMED = {"incident_cat12": "category_1_or_2_incident"}

# The dimensions a results table can roll up, in the order `rolled_up` lists them.
ROLLUP_DIMENSIONS = ("business_process", "srv", "region", "device_type")


def _names(catalog: Catalog) -> dict[str, dict[str, str]]:
    """Per column: id -> name. A column named here gets an `_id` column beside it."""
    return {
        "business_process": {
            ALL: fmt.ALL_NAMES["business_process"],
            **{b.id: b.name for b in catalog.business_process},
        },
        "device_type": {
            ALL: fmt.ALL_NAMES["device_type"],
            **{d.id: d.name for d in catalog.device_type},
        },
        "status": dict(fmt.STATUS_NAMES),
        "kind": dict(fmt.KIND_NAMES),
    }


def _named(ids: pa.ChunkedArray, names: dict[str, str]) -> pa.Array:
    values = ids.to_pylist()
    return pa.array(
        [None if v is None else names.get(v, fmt.humanise(str(v))) for v in values], pa.string()
    )


def _srv_names(catalog: Catalog, srvs: pa.ChunkedArray) -> pa.Array:
    names = {s.id: s.name for s in catalog.srv}
    return pa.array(
        [
            None if s is None else (fmt.ALL_NAMES["srv"] if s == ALL else names.get(s))
            for s in srvs.to_pylist()
        ],
        pa.string(),
    )


def _rollup_columns(table: pa.Table) -> tuple[pa.Array, pa.Array]:
    dims = [d for d in ROLLUP_DIMENSIONS if d in table.column_names]
    cols = {d: table.column(d).to_pylist() for d in dims}
    rolled = []
    for i in range(table.num_rows):
        rolled.append([d for d in dims if cols[d][i] == ALL])
    return (
        pa.array([bool(r) for r in rolled], pa.bool_()),
        pa.array(["; ".join(r) or None for r in rolled], pa.string()),
    )


def name_table(table: pa.Table, catalog: Catalog) -> pa.Table:
    """One data file's table with names beside its ids and its roll-up rows flagged."""
    counts = {"succeeded", "numerator"} & set(table.column_names)  # rows that sum others
    has_rollups = bool(counts) and any(d in table.column_names for d in ROLLUP_DIMENSIONS)
    if has_rollups:
        is_rollup, rolled_up = _rollup_columns(table)
    for column, names in _names(catalog).items():
        if column not in table.column_names:
            continue
        at = table.column_names.index(column)
        ids = table.column(column)
        table = table.set_column(at, f"{column}_id", ids)
        table = table.add_column(at + 1, column, _named(ids, names))
    if "srv" in table.column_names and "srv_name" not in table.column_names:
        at = table.column_names.index("srv")
        table = table.add_column(at + 1, "srv_name", _srv_names(catalog, table.column("srv")))
    elif "srv_name" in table.column_names:  # srv_summary names the SRVs but not ALL
        at = table.column_names.index("srv_name")
        given = table.column("srv_name")
        table = table.set_column(
            at, "srv_name", pc.coalesce(given, _srv_names(catalog, table.column("srv")))
        )
    if has_rollups:
        table = table.append_column("is_rollup", is_rollup).append_column("rolled_up", rolled_up)
    for old, new in RENAMED.items():
        if old in table.column_names:
            table = table.rename_columns([new if c == old else c for c in table.column_names])
    return table


__all__ = ["ROLLUP_DIMENSIONS", "name_table"]
