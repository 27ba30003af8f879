"""Reading results for the packs: roll-ups, fallbacks, formatting."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from opmetrics.catalog import default_catalog
from opmetrics.contract.schema import ALL
from opmetrics.reports import fmt
from opmetrics.reports.common import headline
from opmetrics.reports.data import View, ensure_rollups, load_month
from opmetrics.results.io import read_results, write_table
from opmetrics.results.schema import SRV_SUMMARY


def test_ensure_rollups_adds_only_missing() -> None:
    df = pd.DataFrame(
        {
            "srv": ["2.2", "2.2", "6.23"],
            "region": ["North", "South", "North"],
            "succeeded": [9, 1, 5],
            "failed": [1, 1, 0],
        }
    )
    out = ensure_rollups(df, ["srv", "region"], ["region"], ["succeeded", "failed"])
    got = out[out["region"] == ALL].set_index("srv")
    assert got.loc["2.2", "succeeded"] == 10 and got.loc["2.2", "failed"] == 2
    assert (
        ensure_rollups(out, ["srv", "region"], ["region"], ["succeeded", "failed"]).shape
        == out.shape
    )


def test_summary_falls_back_to_detail_rows(tmp_path: Path, results_dir: Path) -> None:
    """A results folder without roll-up rows: counts are added up, percentiles left empty."""
    folder = tmp_path / "r"
    folder.mkdir()
    for p in results_dir.iterdir():
        if p.is_file():
            (folder / p.name).write_bytes(p.read_bytes())
    s = read_results(results_dir).table("srv_summary")
    detail = s.filter(
        pa.compute.and_(
            pa.compute.not_equal(s["region"], ALL), pa.compute.not_equal(s["device_type"], ALL)
        )
    )
    write_table(folder, "srv_summary", detail.cast(SRV_SUMMARY))
    full = View(load_month(results_dir), default_catalog())
    thin = View(load_month(folder), default_catalog())
    a, b = full.summary("prepayment", "2.2"), thin.summary("prepayment", "2.2")
    assert (a["submitted"], a["succeeded"], a["failed"]) == (
        b["submitted"],
        b["succeeded"],
        b["failed"],
    )
    assert b["rtt_p50_s"] is None and a["rtt_p50_s"] is not None
    assert b["success_percent"] == pytest.approx(a["success_percent"])


def test_headline_adds_up_cpm6(results_dir: Path) -> None:
    v = View(load_month(results_dir), default_catalog())
    h = {r["row_label"]: r for r in headline(v)}
    cpm = read_results(results_dir).table("cpm").to_pandas()
    six = cpm[cpm["cpm"] == "CPM6"]
    assert h["CPM6 (all)"]["denominator"] == pytest.approx(six["denominator"].sum())
    assert h["CPM1"]["region"] == ALL


def test_formatting() -> None:
    assert fmt.percent(98.9999) == "98.99"  # cut, never rounded up past a target
    assert fmt.percent(99.0) == "99.00"
    assert fmt.percent(None) == fmt.DASH and fmt.percent(float("nan")) == fmt.DASH
    assert (
        fmt.points(-0.0001) == "0.00" and fmt.points(1.234) == "+1.23" and fmt.points(-2) == "-2.00"
    )
    assert fmt.count(1234567.0) == "1,234,567"
    assert (
        fmt.seconds(3.14159) == "3.14"
        and fmt.seconds(31.4) == "31.4"
        and fmt.seconds(1505.2) == "1,505"
    )
    assert fmt.long_date(date(2021, 6, 8)) == "8 June 2021"
    assert fmt.target(99.5) == "99.5" and fmt.target(99.0) == "99"
