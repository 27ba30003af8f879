"""The device inventory: where device types and regions of an archive's requests come from.

A DUIS message names its target device only by EUI-64; the device type, SMETS generation and
CSP region are in the party's own inventory. The inventory is read and checked exactly as the
data contract's `devices` table (CSV or Parquet), so rows the contract would refuse are
quarantined here rather than carried into the data dir.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import DEVICES
from opmetrics.contract.sources import locate
from opmetrics.duis.reasons import QUARANTINE_SCHEMA
from opmetrics.engine.base import Engine
from opmetrics.errors import DataContractError
from opmetrics.validation.validate import validate


@dataclass
class Inventory:
    table: ir.Table  # accepted rows, materialised on the engine
    rows_read: int
    accepted: int
    quarantine: pa.Table  # rejected rows (the ingest's QUARANTINE_SCHEMA: with raw values)
    warnings: list[str]


def read_inventory(path: Path, engine: Engine, catalog: Catalog, work: Path) -> Inventory:
    """Read a devices CSV or Parquet file (or folder of Parquet files) as the `devices` table."""
    if not path.exists():
        raise DataContractError("device inventory not found", path=str(path))
    stage = work / "inventory"
    stage.mkdir()
    if path.is_dir():
        link = stage / DEVICES.name
        link.symlink_to(path.resolve(), target_is_directory=True)
    elif path.suffix.lower() in (".csv", ".parquet"):
        link = stage / f"{DEVICES.name}{path.suffix.lower()}"
        link.symlink_to(path.resolve())
    else:
        raise DataContractError(
            "device inventory must be a .csv or .parquet file, or a folder of Parquet files",
            path=str(path),
        )
    source = locate(stage, DEVICES)
    assert source is not None
    staging = work / "inventory-staged"
    staging.mkdir()
    result = validate(engine, {DEVICES.name: source}, catalog, staging)
    report = result.tables[DEVICES.name]
    accepted = result.accepted(DEVICES.name)
    table = engine.keep(accepted)
    rows = result.quarantine_rows
    detailed = pa.table(
        {
            "table": rows["table"],
            "source": rows["source"],
            "row": rows["row"],
            "reason_code": rows["reason_code"],
            "reason": rows["reason_detail"],
            "raw": rows["raw"],
        },
        schema=QUARANTINE_SCHEMA,
    )
    quarantine = _rename_source(detailed, link.name, str(path))
    return Inventory(table, report.rows_read, report.accepted, quarantine, result.warnings)


def _rename_source(q: pa.Table, link: str, given: str) -> pa.Table:
    """Quarantine rows name the file the user gave, not the link it was read through (their
    source is relative to the staging folder: the link's name, or a file under it)."""
    if q.num_rows == 0:
        return q
    sources = [
        given
        if s is None or s == link
        else str(Path(given) / Path(s).relative_to(link))
        if Path(s).is_relative_to(link)
        else s
        for s in q.column("source").to_pylist()
    ]
    return q.set_column(
        q.schema.get_field_index("source"), "source", pa.array(sources, pa.string())
    )
