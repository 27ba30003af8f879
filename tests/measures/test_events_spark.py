"""The event-based measures give identical rows on Spark and DuckDB for the same golden data."""

from __future__ import annotations

from pathlib import Path

import pytest

from opmetrics.catalog import default_catalog
from opmetrics.engine import EngineOptions, connect
from opmetrics.measures.alerts import alert_counts, alerts_daily, alerts_summary, cpm3
from opmetrics.measures.availability import cpm6
from opmetrics.measures.firmware import cpm6bc
from opmetrics.measures.incidents import cat12_incident_days, incident_cpms
from opmetrics.month import Month
from tests.measures.test_golden_events import GOLDEN, load_case

CASES = (
    "alerts_cpm3",
    "alerts_ad1_device",
    "firmware_cpm6bc",
    "incidents_resolution",
    "cpm6_clock_change_march",
)
MONTHS = (Month(2021, 3), Month(2021, 4), Month(2021, 5))


@pytest.mark.spark
def test_event_measures_identical_on_spark_and_duckdb(tmp_path: Path) -> None:
    catalog = default_catalog()
    duck = connect(EngineOptions(name="duckdb", threads=2))
    spark = connect(EngineOptions(name="spark", threads=2))
    for case in CASES:
        d = load_case(duck, GOLDEN / case, tmp_path / "duckdb" / case)
        s = load_case(spark, GOLDEN / case, tmp_path / "spark" / case)
        for month in MONTHS:
            assert cpm3(s["alerts"], spark, catalog, month) == cpm3(
                d["alerts"], duck, catalog, month
            )
            if s["alerts"] is not None:  # the Alerts split: its one aggregate and its tables
                counts = alert_counts(s["alerts"], spark, catalog, month)
                duck_counts = alert_counts(d["alerts"], duck, catalog, month)
                assert counts.equals(duck_counts)
                assert alerts_summary(counts, catalog, month).equals(
                    alerts_summary(duck_counts, catalog, month)
                )
                days = cat12_incident_days(s["incidents"], spark, catalog, month).to_pandas()
                duck_days = cat12_incident_days(d["incidents"], duck, catalog, month).to_pandas()
                assert alerts_daily(counts, days, catalog, month).equals(
                    alerts_daily(duck_counts, duck_days, catalog, month)
                )
            assert cpm6bc(s["firmware"], spark, catalog, month) == cpm6bc(
                d["firmware"], duck, catalog, month
            )
            assert incident_cpms(s["incidents"], spark, catalog, month) == incident_cpms(
                d["incidents"], duck, catalog, month
            )
            assert cpm6(s["outages"], spark, catalog, month) == cpm6(
                d["outages"], duck, catalog, month
            )
            assert cat12_incident_days(s["incidents"], spark, catalog, month).equals(
                cat12_incident_days(d["incidents"], duck, catalog, month)
            )
    # The comparison is not vacuous: the cases hold activity in April.
    april = cpm3(
        load_case(spark, GOLDEN / "alerts_cpm3", tmp_path / "again")["alerts"],
        spark,
        catalog,
        MONTHS[1],
    )
    assert april[0]["denominator"] == 7
    split = alert_counts(
        load_case(spark, GOLDEN / "alerts_ad1_device", tmp_path / "split")["alerts"],
        spark,
        catalog,
        MONTHS[1],
    )
    assert sorted(set(split.column("alert_type").to_pylist())) == ["dcc", "device"]
    assert sum(split.column("raised").to_pylist()) == 11
    duck.close()
