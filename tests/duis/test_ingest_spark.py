"""`ingest-duis --engine spark` writes the same data dir as DuckDB, through the engine's verbs
(reading the spilled messages, keeping the checked rows, streaming and writing Parquet)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from opmetrics import Context, EngineOptions
from opmetrics.duis import MANIFEST_FILE, QUARANTINE_FILE
from tests.duis import kit


def _tables(out: Path) -> dict[str, list[dict[str, object]]]:
    got: dict[str, list[dict[str, object]]] = {
        p.stem: pq.read_table(p).to_pylist() for p in sorted(out.glob("*.parquet"))
    }
    with (out / QUARANTINE_FILE).open(encoding="utf-8") as fh:
        got["quarantine"] = list(csv.DictReader(fh))
    return got


@pytest.mark.spark
def test_ingest_on_spark_writes_what_duckdb_writes(tmp_path: Path) -> None:
    kit.need_samples()
    archive = kit.write_archive(tmp_path / "duis")
    devices = kit.write_devices(tmp_path / "devices.csv")
    outs = {}
    for name in ("duckdb", "spark"):
        with Context(engine=EngineOptions(name=name, threads=2)) as ctx:
            s = ctx.ingest_duis(
                archive, tmp_path / name, devices=devices, wait_seconds=kit.WAIT, roles="IS"
            )
        assert s.reconciles, name
        outs[name] = tmp_path / name
    duck, spark = _tables(outs["duckdb"]), _tables(outs["spark"])
    assert set(duck) == {"service_requests", "devices", "quarantine"}
    assert len(duck["quarantine"]) > 0
    assert duck == spark  # same rows, same order, same quarantine lines
    expected = {c.request_id for c in kit.SCENARIO if c.expect}
    assert {r["request_id"] for r in spark["service_requests"]} == expected
    summaries = [json.loads((o / MANIFEST_FILE).read_text())["summary"] for o in outs.values()]
    for s in summaries:
        s.pop("out")  # the folder written, which differs
    assert summaries[0] == summaries[1]
