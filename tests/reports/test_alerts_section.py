"""The Alerts split in the summary paper, the dashboard and the data files, from a golden month.

The golden case `alerts_ad1_device` (tests/golden/alerts_ad1_device/CASE.md works every number
out by hand) is computed and rendered: the summary paper's Alerts section, the dashboard's and
the data files show the hand-worked figures. Results without the Alerts tables (the fake results
of the other report tests) give no section.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest

import opmetrics
from opmetrics.catalog import default_catalog
from opmetrics.reports import alerts_section, summary_paper
from opmetrics.reports.assumed import Assumptions
from opmetrics.reports.common import PackContext, cover
from opmetrics.reports.dashboard import index_html
from opmetrics.reports.data import View, load_month
from opmetrics.reports.datafiles import write_data_files
from opmetrics.reports.spec import Chart, Paragraph, Table
from opmetrics.results.io import read_results

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "alerts_ad1_device"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alerts") / "2021-04"
    opmetrics.compute(GOLDEN, "2021-04", out, anon_key="golden")
    return out


@pytest.fixture(scope="module")
def golden_ctx(results: Path) -> PackContext:
    return PackContext(View(load_month(results), default_catalog()), (), date(2021, 6, 1))


def _texts(t: Table) -> list[list[str]]:
    return [[c.text for c in row] for row in t.rows]


def test_summary_paper_has_the_alerts_section_with_the_hand_worked_figures(
    golden_ctx: PackContext,
) -> None:
    report = summary_paper.build(golden_ctx)
    titles = [s.title for s in report.sections]
    assert titles.index("Alerts: AD1 and device alerts") == titles.index("Standing metrics") + 1
    section = report.sections[titles.index("Alerts: AD1 and device alerts")]
    (table,) = [b for b in section.blocks if isinstance(b, Table)]
    assert [c.label for c in table.columns] == [
        "Alerts", "Raised", "Consolidated", "Counted", "Within TRT", "Within TRT %",
        "North", "Central", "South", "SMETS1", "CPM3",
    ]  # fmt: skip
    # CASE.md: device 6 raised, 1 consolidated, 5 counted, 3 within (60 %); AD1 5, 1, 4, 2
    # (50 %); all 11, 2, 9, 5 (55.55 %: percentages are cut, not rounded), CPM3 below minimum.
    assert _texts(table) == [
        ["AD1 (power outage)", "5", "1", "4", "2", "50.00", "50.00", "–", "0.00", "100.00", "–"],
        ["Device alerts", "6", "1", "5", "3", "60.00", "66.66", "100.00", "0.00", "–", "–"],
        ["All alerts (CPM3)", "11", "2", "9", "5", "55.55", "60.00", "100.00",
         "0.00", "100.00", "Below minimum"],
    ]  # fmt: skip
    # The within-TRT figures rest on the assumed alert TRT: marked, and the note says so.
    assert [a.key for a in table.rows[0][5].assumed] == ["alerts.trt_seconds"]
    (para,) = [b for b in section.blocks if isinstance(b, Paragraph)][:1]
    assert para.text.startswith(
        "In April 2021, 60.00 % of 5 device alerts and 50.00 % of 4 AD1 power outage alerts were "
        "delivered within the 60 s Target Response Time†."
    )
    assert "Lowest: AD1 (power outage) in South, 0.00 %." in para.text
    (chart,) = [b for b in section.blocks if isinstance(b, Chart)]
    rows = json.loads(chart.vega_lite)["datasets"]["rows"]
    # Every day of April for AD1, device and ALL, region ALL only in the paper's chart.
    assert len(rows) == 30 * 3 and {r["region"] for r in rows} == {"ALL"}
    day12 = {r["alert_group"]: r for r in rows if r["date"] == "2021-04-12"}
    assert day12["AD1"]["counted"] == 3 and day12["AD1"]["incident_cat12"] is True
    assert day12["AD1"]["within_trt_percent"] == pytest.approx(200 / 3)
    assert "red dots: days a Category 1 or 2 incident was open" in chart.caption


def test_the_dashboard_shows_the_split_and_feeds_its_chart_every_region(
    golden_ctx: PackContext,
) -> None:
    html = index_html(golden_ctx, cover(golden_ctx, "Dashboard"), [("Dashboard", "index.html")], [])
    assert '<section id="alerts"><h2>Alerts: AD1 and device alerts</h2>' in html
    payload = json.loads(
        re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
        .group(1)  # type: ignore[union-attr]
        .replace("<\\/", "</")
    )
    assert {"key": "alerts-daily", "datasets": ["alerts_daily"]} in payload["charts"]
    rows = payload["datasets"]["alerts_daily"]
    assert len(rows) == 30 * 3 * 5  # days x (AD1, device, ALL) x (4 regions and ALL)
    north = next(
        r
        for r in rows
        if (r["date"], r["alert_group"], r["region"]) == ("2021-04-12", "AD1", "North")
    )
    assert (north["counted"], north["within_trt_percent"], north["incident_cat12"]) == (
        2,
        50.0,
        True,
    )
    assert 'id="chart-alerts-daily"' in html


def test_the_data_files_hold_both_tables_with_the_assumed_trt(
    results: Path, tmp_path: Path
) -> None:
    res = read_results(results)
    files = write_data_files(
        res,
        tmp_path,
        "2021-04",
        date(2021, 6, 1),
        datetime(2021, 5, 1),
        lambda n: None,
        Assumptions(res.manifest, default_catalog()),
    )
    names = {f.name for f in files}
    assert {"alerts_summary.csv", "alerts_daily.csv"} <= names
    with (tmp_path / "csv" / "alerts_summary.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ad1_north = next(r for r in rows if (r["alert_group"], r["region"]) == ("AD1", "North"))
    assert (ad1_north["raised"], ad1_north["consolidated"], ad1_north["counted"]) == ("3", "1", "2")
    assert ad1_north["assumed"] == "alerts.trt_seconds"


def test_no_alerts_tables_no_section(ctx: PackContext) -> None:
    assert alerts_section.section(ctx) is None
    assert "Alerts: AD1" not in [s.title for s in summary_paper.build(ctx).sections]
