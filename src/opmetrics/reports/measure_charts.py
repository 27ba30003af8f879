"""Vega-Lite charts of the Code Performance Measures: values against target and minimum.

Kept apart from the service request charts (`charts.py`), whose parameters and helpers they share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from opmetrics.reports.charts import (
    BLUE,
    DARK,
    RED,
    STATUS_DOMAIN,
    STATUS_LABEL_EXPR,
    STATUS_RANGE,
    Rows,
    Sel,
    _data,
    finish,
    status_color,
    templated,
)

VALUE_TEXT = "format(floor(datum.value_percent * 100) / 100, '.2f')"


@templated
def cpm_dots(
    rows: Rows,
    order: Sequence[str],
    sel: Sel,
    width: int = 200,
    filter_expr: str = "true",
    long_labels: bool = True,
) -> dict[str, Any]:
    """CPM values against their target (black tick) and minimum (red tick), coloured by status.

    Rows carry `row_label` (the y axis), value_percent, target_percent, minimum_percent, status.
    With `long_labels` the label panel repeats each row's target and minimum."""
    tail = (
        " + '  (target ' + datum.target_percent + ', min ' + datum.minimum_percent + ')'"
        if long_labels
        else ""
    )
    words = STATUS_LABEL_EXPR.replace("datum.label", "datum.status")
    label = (
        "datum.status == 'not_reportable' ? 'NOT REPORTABLE' : (datum.value_percent == null ? "
        f"'no activity' : {VALUE_TEXT} + ' % · ' + lower({words}){tail})"
    )
    base = alt.Chart(_data(rows)).transform_filter(filter_expr).transform_calculate(label=label)
    sort = list(order)
    height = alt.Step(22)
    y = alt.Y("row_label:N", title=None, sort=sort)
    xs = alt.Scale(zero=False, nice=True, padding=12)
    target = base.mark_tick(color=DARK, thickness=2, size=16).encode(
        x=alt.X("target_percent:Q", scale=xs, title="% (black: target, red: minimum)"), y=y
    )
    minimum = base.mark_tick(color=RED, thickness=2, size=16).encode(x="minimum_percent:Q", y=y)
    pts = (
        base.transform_filter("datum.value_percent != null")
        .mark_point(filled=True, size=80, opacity=1)
        .encode(
            x="value_percent:Q",
            y=y,
            color=alt.Color(
                "status:N", scale=alt.Scale(domain=STATUS_DOMAIN, range=STATUS_RANGE), legend=None
            ),
            tooltip=["row_label:N", alt.Tooltip("value_percent:Q", format=".3f"), "status:N"],
        )
    )
    left = alt.layer(target, minimum, pts).properties(width=width, height=height)
    # The value is written beside its dot in the status colour, with the status in words (no legend).
    ink = alt.Color(
        "status:N", scale=alt.Scale(domain=STATUS_DOMAIN, range=STATUS_RANGE), legend=None
    )
    right = (
        base.mark_text(align="left", baseline="middle", fontSize=10)
        .encode(
            y=alt.Y("row_label:N", sort=sort, axis=None), text="label:N", x=alt.value(4), color=ink
        )
        .properties(width=260 if long_labels else 170, height=height)
    )
    chart = alt.hconcat(left, right, spacing=4).resolve_scale(y="shared", color="independent")
    return finish(chart, sel, rows)


@templated
def cpm6_grid(
    rows: Rows, interfaces: Sequence[str], regions: Sequence[str], sel: Sel
) -> dict[str, Any]:
    """Availability per interface (rows) and time band (columns) in one panel per region,
    coloured by status."""
    text = (
        "datum.status == 'not_reportable' ? 'n/r' : (datum.value_percent == null ? '–' : "
        f"{VALUE_TEXT})"
    )
    base = (
        alt.Chart(_data(rows))
        .transform_filter("f_region == '*' || datum.region == f_region")
        .transform_calculate(text=text)
    )
    x = alt.X(
        "time_band:N", sort=["core", "other"], title=None, axis=alt.Axis(orient="top", labelAngle=0)
    )
    y = alt.Y("interface:N", sort=list(interfaces), title=None)
    rect = base.mark_rect(stroke="white", strokeWidth=1.5).encode(
        x=x,
        y=y,
        color=status_color(),
        tooltip=[
            "interface:N",
            "region:N",
            "time_band:N",
            alt.Tooltip("value_percent:Q", format=".3f"),
            "status:N",
        ],
    )
    label = base.mark_text(fontSize=9, color="white").encode(x=x, y=y, text="text:N")
    header = alt.Header(labelFontSize=10, labelFontWeight="bold")
    chart = (
        alt.layer(rect, label)
        .properties(width=92, height=alt.Step(22))
        .facet(
            column=alt.Column("region:N", sort=list(regions), title=None, header=header), spacing=6
        )
    )
    return finish(chart, sel, rows)


@templated
def trend(
    rows: Rows,
    series_order: Sequence[str],
    sel: Sel,
    columns: int = 3,
    filter_expr: str = "true",
) -> dict[str, Any]:
    """Month-on-month values per measure (small multiples), with target and minimum lines.

    Rows: month, series, value_percent, target_percent, minimum_percent."""
    base = alt.Chart(_data(rows)).transform_filter(filter_expr)
    x = alt.X("month:O", title=None, axis=alt.Axis(labelAngle=0))
    line = base.mark_line(
        color=BLUE, point=alt.OverlayMarkDef(color=BLUE, filled=True, size=30)
    ).encode(
        x=x,
        y=alt.Y("value_percent:Q", title="%", scale=alt.Scale(zero=False, nice=True)),
        tooltip=["series:N", "month:O", alt.Tooltip("value_percent:Q", format=".2f")],
    )
    tgt = base.mark_rule(color=DARK, strokeDash=[4, 3]).encode(y="mean(target_percent):Q")
    mn = base.mark_rule(color=RED, strokeDash=[2, 2]).encode(y="mean(minimum_percent):Q")
    header = alt.Header(labelFontSize=10)
    chart = (
        alt.layer(tgt, mn, line)
        .properties(width=130, height=72)
        .facet(
            facet=alt.Facet("series:N", title=None, sort=list(series_order), header=header),
            columns=columns,
        )
        .resolve_scale(y="independent")
    )
    return finish(chart, sel, rows)
