"""Every results table is equal on DuckDB and Spark (local mode) for the same input."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import opmetrics
from opmetrics.catalog import default_catalog
from opmetrics.contract.schema import DEVICES, PARTIES
from opmetrics.engine import EngineOptions
from opmetrics.results.io import read_results
from opmetrics.results.schema import RESULT_TABLES
from tests.measures.randomrows import daily_background, random_requests
from tests.measures.test_reference import write_requests

GOLDEN = Path(__file__).parent.parent / "golden"


def _data_dir(folder: Path) -> Path:
    rows = random_requests(4000, 11, default_catalog()) + daily_background(2021, 4, 30)
    write_requests(folder, rows)
    targets = sorted({r["target_id"] for r in rows if r["device_type"] != "NONE"})
    devices = [
        {
            "device_id": t,
            "device_type": "ESME",
            "smets": "SMETS2",
            "region": "North",
            "manufacturer": ["Acme", "Bolt"][i % 2],
            "model": f"M{i % 3}",
            "firmware_version": f"1.{i % 4}",
            "comms_hub_id": "00-DB-00-00-00-00-00-01",
        }
        for i, t in enumerate(targets)
    ] + [
        {
            "device_id": "00-DB-00-00-00-00-00-01",
            "device_type": "CHF",
            "smets": "SMETS2",
            "region": "North",
            "manufacturer": "Hub",
            "model": "CH-9",
            "firmware_version": "2",
            "comms_hub_id": "00-DB-00-00-00-00-00-01",
        }
    ]
    pq.write_table(
        pa.Table.from_pylist(devices, schema=DEVICES.arrow_schema()), folder / "devices.parquet"
    )
    users = sorted({r["user_id"] for r in rows})
    parties = [
        {"user_id": u, "name": f"Party {i}", "role": "IS", "adaptor": f"Adaptor {i % 2}"}
        for i, u in enumerate(users)
    ]
    pq.write_table(
        pa.Table.from_pylist(parties, schema=PARTIES.arrow_schema()), folder / "parties.parquet"
    )
    for name in ("outages.csv", "incidents.csv", "alerts.csv", "firmware.csv"):
        src = next(GOLDEN.glob(f"*/{name}"))
        (folder / name).write_bytes(src.read_bytes())
    return folder


@pytest.mark.spark
@pytest.mark.slow
def test_duckdb_and_spark_give_identical_results(tmp_path: Path) -> None:
    data = _data_dir(tmp_path / "data")
    opmetrics.compute(data, "2021-04", tmp_path / "duck", anon_key="k")
    opmetrics.compute(
        data,
        "2021-04",
        tmp_path / "spark",
        anon_key="k",
        engine=EngineOptions(name="spark", threads=2),
    )
    duck, spark = read_results(tmp_path / "duck"), read_results(tmp_path / "spark")
    for name in RESULT_TABLES:
        if duck.has(name) or spark.has(name):
            assert duck.table(name).equals(spark.table(name)), name
    assert duck.restricted("party_failures").equals(spark.restricted("party_failures"))
    assert duck.manifest.to_json()["inputs"] == spark.manifest.to_json()["inputs"]
    assert duck.manifest.to_json()["reportability"] == spark.manifest.to_json()["reportability"]
    assert duck.table("srv_summary").num_rows > 50


# The golden cases of the exact-figures rules (design §5: RTT clamped at 0, a silent device's
# wait charged to the HAN, inconsistent responses quarantined, the two DCC proxies; §4: exact
# statuses, the value-free quarantine; §6: the item (f) interface, 6.23 to the GPF): every
# results table equal on both engines.
EDGE_CASES = (
    "cpm6_exactly_at_target",
    "cpm6_item_f_excluded",
    "quarantine_names_no_party",
    "sr_cos_gpf_proxy",
    "sr_delivery_proxy",
    "sr_han_leg_cpm1",
    "sr_inconsistent_response",
    "sr_negative_rtt",
)


@pytest.mark.spark
@pytest.mark.slow
def test_edge_cases_identical_on_duckdb_and_spark(tmp_path: Path) -> None:
    with (
        opmetrics.Context() as duck,
        opmetrics.Context(engine=EngineOptions(name="spark", threads=2)) as spark,
    ):
        for case in EDGE_CASES:
            data = GOLDEN / case
            duck.compute(data, "2021-04", tmp_path / case / "duck", anon_key="k")
            spark.compute(data, "2021-04", tmp_path / case / "spark", anon_key="k")
            a = read_results(tmp_path / case / "duck")
            b = read_results(tmp_path / case / "spark")
            for name in RESULT_TABLES:
                if a.has(name) or b.has(name):
                    assert a.table(name).equals(b.table(name)), (case, name)
            assert a.restricted("party_failures").equals(b.restricted("party_failures")), case
            assert a.manifest.to_json()["inputs"] == b.manifest.to_json()["inputs"], case
