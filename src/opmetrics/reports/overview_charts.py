"""Vega-Lite charts of whole processes and months: standing processes, daily rates, trends.

They share the filter parameters and helpers of `charts.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from opmetrics.reports.charts import (
    BLUE,
    DEVICE_SEL,
    ORANGE,
    REGION_SEL,
    SUBJECT,
    Rows,
    Sel,
    _data,
    finish,
    span_floor,
    templated,
)


@templated
def srv_trend(rows: Rows, sel: Sel, width: int = 440) -> dict[str, Any]:
    """Success % of the selected SRV (or process, or network) month by month."""
    base = alt.Chart(_data(rows)).transform_filter(
        f"{SUBJECT} && datum.region == {REGION_SEL} && datum.device_type == {DEVICE_SEL}"
    )
    chart = base.mark_line(
        color=BLUE, point=alt.OverlayMarkDef(color=BLUE, filled=True, size=40)
    ).encode(
        x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("success_percent:Q", title="Success %", scale=alt.Scale(zero=False, nice=True)),
        tooltip=["month:O", alt.Tooltip("success_percent:Q", format=".2f")],
    )
    floor = span_floor(base, "success_percent", "y", "Success %")
    return finish(alt.layer(chart, floor).properties(width=width, height=140), sel, rows)


@templated
def standing(rows: Rows, order: Sequence[str], sel: Sel, width: int = 240) -> dict[str, Any]:
    """Success % and within-TRT % of each standing business process (Alerts from CPM3)."""
    base = (
        alt.Chart(_data(rows))
        .transform_fold(["success_percent", "within_trt_percent"], as_=["measure", "value"])
        .transform_filter("datum.value != null")
        .transform_calculate(
            measure="datum.measure == 'success_percent' ? 'success %' : 'within TRT %'"
        )
    )
    y = alt.Y("name:N", title=None, sort=list(order))
    height = alt.Step(24)
    pts = base.mark_point(filled=True, size=80, opacity=1).encode(
        x=alt.X("value:Q", title="%", scale=alt.Scale(zero=False, nice=True, padding=12)),
        y=y,
        color=alt.Color(
            "measure:N",
            title=None,
            scale=alt.Scale(domain=["success %", "within TRT %"], range=[BLUE, ORANGE]),
        ),
        shape=alt.Shape(
            "measure:N",
            legend=None,
            scale=alt.Scale(domain=["success %", "within TRT %"], range=["circle", "diamond"]),
        ),
        tooltip=["name:N", "measure:N", alt.Tooltip("value:Q", format=".2f")],
    )
    left = alt.layer(pts, span_floor(base, "value", "x", "%")).properties(
        width=width, height=height
    )
    right = (
        alt.Chart(_data(rows))
        .mark_text(align="left", baseline="middle", fontSize=10)
        .encode(y=alt.Y("name:N", sort=list(order), axis=None), text="label:N", x=alt.value(4))
        .properties(width=190, height=height)
    )
    return finish(alt.hconcat(left, right, spacing=4).resolve_scale(y="shared"), sel, rows)


@templated
def daily_by_process(
    rows: Rows, order: Sequence[str], sel: Sel, width: int = 400
) -> dict[str, Any]:
    """Daily success % of each business process (rows carry `name`, the process's name)."""
    base = (
        alt.Chart(_data(rows))
        .transform_filter(
            f"(f_bp == '*' || datum.business_process == f_bp) && datum.region == {REGION_SEL}"
        )
        .transform_aggregate(
            succeeded="sum(succeeded)", failed="sum(failed)", groupby=["date", "name"]
        )
        .transform_filter("datum.succeeded + datum.failed > 0")
        .transform_calculate(rate="100 * datum.succeeded / (datum.succeeded + datum.failed)")
    )
    chart = base.mark_line(strokeWidth=1.6).encode(
        x=alt.X(
            "date:T",
            timeUnit="utcyearmonthdate",
            title=None,
            axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=10),
        ),
        y=alt.Y("rate:Q", title="Success %", scale=alt.Scale(zero=False, nice=True)),
        color=alt.Color(
            "name:N",
            title=None,
            sort=list(order),
            legend=alt.Legend(orient="right", labelLimit=180),
        ),
        tooltip=[
            "name:N",
            alt.Tooltip("date:T", timeUnit="utcyearmonthdate", title="day"),
            alt.Tooltip("rate:Q", format=".2f"),
        ],
    )
    floor = span_floor(base, "rate", "y", "Success %")
    return finish(alt.layer(chart, floor).properties(width=width - 130, height=170), sel, rows)
