"""Snapshots of the report specs and of their HTML rendering (never of PDF bytes).

Chart data and embedded JSON are pinned by a digest and a row count, so the files stay readable
while any change to a number still shows up. Regenerate with OPMETRICS_UPDATE_SNAPSHOTS=1.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from opmetrics.reports import build_reports
from opmetrics.reports.common import PackContext, cover
from opmetrics.reports.dashboard import index_html
from opmetrics.reports.html_render import report_html
from opmetrics.reports.packs import pdf_name
from opmetrics.reports.spec import Report
from tests.reports.snapshot import check

pytestmark = pytest.mark.slow


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def spec_snapshot(report: Report) -> str:
    data = report.to_data()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Chart":
                for name, rows in (node["vega_lite"].get("datasets") or {}).items():
                    node["vega_lite"]["datasets"][name] = (
                        f"{len(rows)} rows, sha256 {_digest(rows)}"
                    )
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


SCRIPT = re.compile(r'(<script type="application/json" id="[^"]+">)(.*?)(</script>)', re.S)


def html_snapshot(html: str) -> str:
    def sub(m: re.Match[str]) -> str:
        return f"{m.group(1)}[{len(m.group(2))} characters, sha256 {hashlib.sha256(m.group(2).encode()).hexdigest()[:16]}]{m.group(3)}"

    return SCRIPT.sub(sub, html).replace("><", ">\n<")


@pytest.fixture(scope="module")
def reports(ctx: PackContext) -> dict[str, Report]:
    return {r.key: r for r in build_reports(ctx)}


def test_report_keys(reports: dict[str, Report]) -> None:
    assert list(reports) == [
        "pmr",
        "bp-install-commission",
        "bp-change-of-supplier",
        "bp-tariff-updates",
        "bp-prepayment",
        "bp-meter-reads",
        "bp-no-post-ic",
        "bp-firmware-management",
        "cpm6a",
        "summary",
        "panel",
    ]


@pytest.mark.parametrize(
    "key", ["pmr", "bp-prepayment", "bp-install-commission", "cpm6a", "summary"]
)
def test_spec_snapshot(reports: dict[str, Report], key: str) -> None:
    check(f"spec-{key}.json", spec_snapshot(reports[key]))


def test_specs_are_deterministic(ctx: PackContext, reports: dict[str, Report]) -> None:
    again = {r.key: r for r in build_reports(ctx)}
    assert {k: spec_snapshot(r) for k, r in again.items()} == {
        k: spec_snapshot(r) for k, r in reports.items()
    }


@pytest.mark.parametrize("key", ["pmr", "bp-prepayment", "summary"])
def test_html_snapshot(reports: dict[str, Report], key: str) -> None:
    links = [("Dashboard", "index.html"), *((r.key, f"{r.key}.html") for r in reports.values())]
    html = report_html(reports[key], links, f"../{pdf_name(reports[key], '2021-04')}")
    check(f"html-{key}.html", html_snapshot(html))


def test_dashboard_html_snapshot(ctx: PackContext) -> None:
    html = index_html(
        ctx,
        cover(ctx, "Operational Metrics dashboard"),
        [("Dashboard", "index.html")],
        [("cpm.csv", "../data/csv/cpm.csv")],
    )
    check("html-dashboard.html", html_snapshot(html))
