"""The Alerts business process as the OPSG slides show it: AD1 and device alerts, side by side.

The standing Alerts metric is one figure (CPM3) in the standing table; the slides ask for it
split into AD1 (the DCC's power outage alert) and device alerts: how many, how many delivered
within the alert Target Response Time, by region and by UK local day, with the days a Category 1
or 2 incident was open marked. This module builds that from the `alerts_summary` and
`alerts_daily` results tables, for the summary paper (`section`) and the dashboard
(`dashboard_part`). A results folder without them (no alerts table in the month, or computed by
an older opmetrics) gives no section.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from opmetrics.contract.schema import ALL
from opmetrics.reports import charts, fmt
from opmetrics.reports.common import PackContext, cpm_records, status_cell
from opmetrics.reports.spec import Block, Cell, Chart, Column, Paragraph, Section, Table

GROUPS = {"AD1": "AD1 (power outage)", "device": "Device alerts", ALL: "All alerts (CPM3)"}
COLOURS = {"AD1": charts.ORANGE, "device": charts.BLUE}
DATASET = "alerts_daily"  # the dashboard's dataset name for the daily rows


def _tables(ctx: PackContext) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    tables = ctx.view.r.tables
    if "alerts_summary" not in tables or "alerts_daily" not in tables:
        return None
    return tables["alerts_summary"], tables["alerts_daily"]


def _row(summary: pd.DataFrame, group: str, region: str) -> dict[str, Any]:
    hit = summary[(summary["alert_group"] == group) & (summary["region"] == region)]
    return {str(k): v for k, v in hit.iloc[0].items()} if len(hit) else {}


def _percent(r: dict[str, Any]) -> str:
    return fmt.percent(r.get("within_trt_percent")) if r.get("counted") else fmt.DASH


def summary_table(ctx: PackContext, summary: pd.DataFrame) -> Table:
    """AD1, device and all alerts: counts, within TRT overall and by region."""
    v = ctx.view
    marks = v.assumed.of_alerts()
    regions = list(v.catalog.regions)
    c3 = next((r for r in cpm_records(v) if r["cpm"] == "CPM3"), None)
    rows = []
    for group, name in GROUPS.items():
        r = _row(summary, group, ALL)
        rows.append(
            (
                Cell(name, bold=group == ALL),
                Cell(fmt.count(r.get("raised"))),
                Cell(fmt.count(r.get("consolidated"))),
                Cell(fmt.count(r.get("counted"))),
                Cell(fmt.count(r.get("within_trt"))),
                Cell(_percent(r), assumed=marks if r.get("counted") else ()),
                *(Cell(_percent(_row(summary, group, reg))) for reg in regions),
                status_cell(c3["status"]) if group == ALL and c3 else Cell(fmt.DASH),
            )
        )
    cols = (
        Column("Alerts", "left", "1.6fr"),
        Column("Raised"),
        Column("Consolidated"),
        Column("Counted"),
        Column("Within TRT"),
        Column("Within TRT %"),
        *(Column(reg, group="Within TRT % by region") for reg in regions),
        Column("CPM3", "left"),
    )
    return Table(
        "alerts-split",
        "Alerts: AD1 and device alerts",
        cols,
        tuple(rows),
        note=(
            "Counted: alerts raised in the month that were not consolidated (as CPM3). Within TRT: "
            f"counted alerts delivered within the alert Target Response Time{fmt.mark(marks)} of "
            f"being raised. By region: the share within TRT of the region's counted alerts; "
            f"{fmt.DASH} where the region had none."
        ),
        small=True,
        assumed=marks,
    )


def _sentence(ctx: PackContext, summary: pd.DataFrame) -> Paragraph:
    v = ctx.view
    marks = v.assumed.of_alerts()
    ad1, dev = _row(summary, "AD1", ALL), _row(summary, "device", ALL)
    trt = fmt.seconds_text(v.catalog.alerts.trt_seconds)

    parts = [
        f"{fmt.percent(r['within_trt_percent'])} % of {fmt.count(r['counted'])} {what}"
        for r, what in ((dev, "device alerts"), (ad1, "AD1 power outage alerts"))
        if r.get("counted")
    ]
    if not parts:
        return Paragraph(f"No alerts were counted in {ctx.month_title}.")
    text = (
        f"In {ctx.month_title}, {' and '.join(parts)} were delivered within the {trt} Target "
        f"Response Time{fmt.mark(marks)}."
    )
    worst = summary[
        (summary["alert_group"] != ALL) & (summary["region"] != ALL) & (summary["counted"] > 0)
    ].sort_values(["within_trt_percent", "alert_group", "region"])
    if len(worst) > 1:
        w = worst.iloc[0]
        text += (
            f" Lowest: {GROUPS[str(w['alert_group'])]} in {w['region']}, "
            f"{fmt.percent(w['within_trt_percent'])} %."
        )
    return Paragraph(text, assumed=marks)


def daily_spec(
    rows: list[dict[str, Any]] | str,
    days: tuple[str, str],
    sel: charts.Sel,
    y_domain: tuple[float, float],
    target: float | None,
) -> dict[str, Any]:
    """Share of counted alerts within TRT per day, one line per group (region from the filter),
    red dots on Category 1/2 incident days, a dashed line at the CPM3 target; counted alerts
    per day below. `y_domain` reaches down to the CPM3 minimum at least, so a spread of a
    tenth of a point does not fill the axis."""
    base = alt.Chart(charts._data(rows)).transform_filter(
        f"datum.alert_group != 'ALL' && datum.region == {charts.REGION_SEL}"
    )
    x = charts.day_axis(days)
    colour = alt.Color(
        "alert_group:N",
        title=None,
        scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values())),
        legend=alt.Legend(orient="right", labelExpr="datum.label == 'AD1' ? 'AD1' : 'Device'"),
    )
    y = alt.Y("within_trt_percent:Q", title="Within TRT %", scale=alt.Scale(domain=list(y_domain)))
    line = base.mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=x,
        y=y,
        color=colour,
        tooltip=[
            alt.Tooltip("date:T", timeUnit="utcyearmonthdate", title="day"),
            alt.Tooltip("alert_group:N", title="alerts"),
            alt.Tooltip("within_trt_percent:Q", format=".2f", title="within TRT %"),
            alt.Tooltip("counted:Q", format=",", title="counted"),
        ],
    )
    dots = (
        base.transform_filter("datum.incident_cat12")
        .mark_point(filled=True, size=70, opacity=1)
        .encode(x=x, y=y, color=alt.value(charts.RED))
    )
    layers: list[Any] = [line, dots]
    if target is not None:
        layers.insert(
            0,
            alt.Chart(alt.Data(values=[{"target": target}]))
            .mark_rule(color=charts.GREY, strokeDash=[4, 3])
            .encode(y=alt.Y("target:Q", scale=alt.Scale(domain=list(y_domain)))),
        )
    top = alt.layer(*layers).properties(width=440, height=150)
    bars = (
        base.mark_bar()
        .encode(
            x=x,
            y=alt.Y("counted:Q", title="Alerts per day", stack="zero", axis=alt.Axis(format="~s")),
            color=colour,
            tooltip=[
                alt.Tooltip("date:T", timeUnit="utcyearmonthdate", title="day"),
                alt.Tooltip("alert_group:N", title="alerts"),
                alt.Tooltip("counted:Q", format=","),
            ],
        )
        .properties(width=440, height=90)
    )
    return charts.finish(alt.vconcat(top, bars, spacing=6), sel, rows)


def _days(ctx: PackContext) -> tuple[str, str]:
    days = ctx.view.month.days
    return days[0].isoformat(), days[-1].isoformat()


def _chart(ctx: PackContext, rows: list[dict[str, Any]] | str, daily: pd.DataFrame) -> Chart:
    c3 = ctx.view.catalog.cpms.get("CPM3")
    rates = daily["within_trt_percent"].dropna()
    low = float(rates.min()) if len(rates) else 100.0
    if c3 is not None:
        low = min(low, c3.minimum_percent)
    lo = float(math.floor(low))
    target = c3.target_percent if c3 is not None else None
    return charts.make(
        "alerts-daily",
        "Alerts delivered within TRT, by day",
        "Orange: AD1 power outage alerts; blue: device alerts. Top: share of each day's counted "
        "alerts delivered within the Target Response Time; red dots: days a Category 1 or 2 "
        "incident was open; dashed line: the CPM3 target"
        + (f" ({fmt.target(target)} %)" if target is not None else "")
        + f", the axis starting at {lo:g} %. Bottom: counted alerts per day.",
        daily_spec(rows, _days(ctx), charts.Sel(), (lo, 100.0), target),
    )


def _records(daily: pd.DataFrame) -> list[dict[str, Any]]:
    cols = ["date", "alert_group", "region", "counted", "within_trt_percent", "incident_cat12"]
    return charts.clean([{str(k): v for k, v in r.items()} for r in daily[cols].to_dict("records")])


def section(ctx: PackContext) -> Section | None:
    """The summary paper's Alerts section, or None without the Alerts tables."""
    found = _tables(ctx)
    if found is None:
        return None
    summary, daily = found
    all_regions = daily[daily["region"] == ALL]
    blocks: list[Block] = [
        _sentence(ctx, summary),
        summary_table(ctx, summary),
        _chart(ctx, _records(all_regions), all_regions),
    ]
    return Section("Alerts: AD1 and device alerts", tuple(blocks), anchor="alerts")


def dashboard_part(ctx: PackContext) -> tuple[Table, Chart, dict[str, list[dict[str, Any]]]] | None:
    """The dashboard's Alerts table and daily chart (the chart reads the dataset returned with
    it, every region's rows, so the region filter applies), or None without the tables."""
    found = _tables(ctx)
    if found is None:
        return None
    summary, daily = found
    return summary_table(ctx, summary), _chart(ctx, DATASET, daily), {DATASET: _records(daily)}
