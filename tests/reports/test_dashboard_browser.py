"""The dashboard in headless Chromium: it loads from disk with no errors and no network, and
changing a filter changes the charts."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opmetrics.reports import RenderSummary

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} not found: install Debian's chromium package",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page with its console errors and every request it made."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())
        self.wait()

    def wait(self) -> None:
        self.page.wait_for_function(
            "['true', 'error'].includes(document.body.dataset.ready)", timeout=120_000
        )
        assert self.page.evaluate("document.body.dataset.ready") == "true", self.errors

    def svg(self, key: str) -> str:
        return str(self.page.inner_html(f"#chart-{key} svg"))

    def drawn(self, key: str) -> list[str]:
        """What a chart shows, whatever the order of its SVG elements: Vega's incremental
        re-render may move an axis label to another place in the DOM (88 after 90) while
        drawing it at the same position."""
        return sorted(re.findall(r"<[^>]+>[^<]*", self.svg(key)))

    def choose(self, select: str, value: str) -> None:
        self.page.select_option(select, value)
        self.wait()


def test_dashboard_filters(browser: Any, rendered: RenderSummary) -> None:
    p = Page(browser, rendered.dashboard)
    keys = p.page.eval_on_selector_all("div.vega", "els => els.map(e => e.id)")
    assert len(keys) >= 10
    for k in keys:  # every chart drew an SVG
        assert p.page.query_selector(f"#{k} svg") is not None, k
    before = {k: p.svg(k) for k in ("daily", "by-region", "parties", "by-srv")}
    daily_before = p.drawn("daily")
    rows_before = p.page.eval_on_selector_all("#t-cpm tbody tr:not([hidden])", "els => els.length")

    p.choose("#f-bp", "prepayment")
    options = p.page.eval_on_selector_all("#f-srv option", "els => els.map(e => e.value)")
    assert options == ["*", "2.2"]  # the SRV list follows the business process
    after = {k: p.svg(k) for k in before}
    assert all(after[k] != before[k] for k in before), [k for k in before if after[k] == before[k]]
    assert (
        p.page.eval_on_selector_all("#t-cpm tbody tr:not([hidden])", "els => els.length")
        < rows_before
    )

    daily = p.svg("daily")
    p.choose("#f-region", "South")
    assert p.svg("daily") != daily
    by_srv = p.svg("by-srv")
    p.choose("#f-device", "GSME")
    assert p.svg("by-srv") != by_srv
    p.page.click("#f-reset")
    p.wait()
    assert p.drawn("daily") == daily_before
    assert "everything" in p.page.inner_text("#filter-state")

    assert p.errors == []
    assert [u for u in p.requests if not u.startswith("file:")] == []  # no CDN, no network
    p.page.close()


@pytest.mark.slow  # the quick suite keeps one browser test: the filters above
def test_report_pages(browser: Any, rendered: RenderSummary) -> None:
    for key in ("pmr", "bp-prepayment", "summary"):
        p = Page(browser, rendered.dashboard.parent / f"{key}.html")
        charts = p.page.eval_on_selector_all("div.vega", "els => els.length")
        drawn = p.page.eval_on_selector_all("div.vega svg", "els => els.length")
        assert charts > 0 and drawn >= charts, key
        assert p.errors == [], key
        assert [u for u in p.requests if not u.startswith("file:")] == []
        p.page.close()


@pytest.mark.slow
def test_dashboard_of_a_nearly_empty_month(browser: Any, tmp_path: Path, results_dir: Path) -> None:
    """Only the cpm table: every chart is empty, and still no error."""
    import shutil
    from datetime import date

    from opmetrics.reports import render

    thin = tmp_path / "thin"
    thin.mkdir()
    for name in ("manifest.json", "cpm.parquet"):
        shutil.copy(results_dir / name, thin / name)
    s = render(thin, tmp_path / "out", produced_on=date(2021, 6, 1))
    p = Page(browser, s.dashboard)
    p.choose("#f-region", "North")
    assert p.errors == []
    p.page.close()


@pytest.mark.slow
def test_dashboard_alerts_split_draws_and_follows_the_region_filter(
    browser: Any, tmp_path: Path
) -> None:
    """The Alerts section of a month with alerts (the golden AD1 / device case)."""
    from datetime import date

    import opmetrics
    from opmetrics.reports import render

    golden = Path(__file__).resolve().parent.parent / "golden" / "alerts_ad1_device"
    results = tmp_path / "2021-04"
    opmetrics.compute(golden, "2021-04", results, anon_key="golden")
    s = render(results, tmp_path / "out", produced_on=date(2021, 6, 1))
    p = Page(browser, s.dashboard)
    assert "AD1 (power outage)" in p.page.inner_text("#alerts")
    before = p.drawn("alerts-daily")
    p.choose("#f-region", "SMETS1")  # SMETS1 had AD1 alerts on 12 April only
    assert p.drawn("alerts-daily") != before
    assert p.errors == []
    p.page.close()
    summary = Page(browser, s.dashboard.parent / "summary.html")
    assert summary.page.query_selector("#chart-alerts-daily svg") is not None
    assert summary.errors == []
    summary.page.close()
