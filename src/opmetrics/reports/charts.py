"""Vega-Lite chart specs (built with Altair), one per chart, shared by the PDF and the dashboard.

Every chart carries four filter parameters (`f_bp`, `f_srv`, `f_region`, `f_device`, `*` for
any) and selects its rows with them, so the dashboard filters a chart by setting a parameter and
a pack shows the same chart with the parameters fixed to its SRV. Results hold roll-ups as the
literal `ALL`, so "any region" selects the `ALL` rows rather than re-adding detail rows. Charts
have no Vega title: the pack or the dashboard card gives it, with a caption saying what it shows.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import altair as alt

from opmetrics.reports import fmt
from opmetrics.reports.spec import Assumption, Chart, canonical_json

ANY = "*"
INLINE = "rows"  # the dataset name of a chart's own rows
Rows = Sequence[dict[str, Any]] | str

STATUS_DOMAIN = ["met", "below_target", "below_minimum", "no_activity", "not_reportable"]
STATUS_RANGE = ["#2e7d32", "#c77700", "#c62828", "#757575", "#6a1b9a"]
BLUE, ORANGE, RED, GREY, DARK = "#1f5fa8", "#ef8f00", "#c62828", "#9e9e9e", "#333333"
STATUS_LABEL_EXPR = (
    "{'met': 'Met', 'below_target': 'Below target', 'below_minimum': 'Below minimum', "
    "'no_activity': 'No activity', 'not_reportable': 'Not reportable'}[datum.label]"
)

DEVICE_LABEL_EXPR = f"datum.value == 'NONE' ? '{fmt.NON_DEVICE}' : datum.value"


def status_color() -> alt.Color:
    return alt.Color(
        "status:N",
        title=None,
        scale=alt.Scale(domain=STATUS_DOMAIN, range=STATUS_RANGE),
        legend=alt.Legend(labelExpr=STATUS_LABEL_EXPR),
    )


CONFIG: dict[str, Any] = {
    "font": "Liberation Sans, Arial, Helvetica, sans-serif",
    "view": {"stroke": None},
    "axis": {
        "labelFontSize": 9.5,
        "titleFontSize": 9.5,
        "titleFontWeight": "normal",
        "labelLimit": 220,
        "labelOverlap": True,
    },
    # Fewer, unflushed ticks on value axes: flushed end labels could collide with their neighbour.
    "axisQuantitative": {"tickCount": 6, "labelFlush": False},
    "legend": {
        "labelFontSize": 10,
        "titleFontSize": 10,
        "orient": "right",  # beside the chart it belongs to, never between two charts
        "titleFontWeight": "normal",
    },
    "header": {"labelFontSize": 10, "titleFontSize": 10},
    "text": {"fontSize": 10},
    "padding": 4,
}


@dataclass(frozen=True)
class Sel:
    """Initial filter values of a chart (the dashboard changes them, a pack fixes them)."""

    bp: str = ANY
    srv: str = ANY
    region: str = ANY
    device: str = ANY


def _params(sel: Sel) -> list[alt.Parameter]:
    return [
        alt.param(name="f_bp", value=sel.bp),
        alt.param(name="f_srv", value=sel.srv),
        alt.param(name="f_region", value=sel.region),
        alt.param(name="f_device", value=sel.device),
    ]


# Row selectors over results with ALL roll-ups (expressions over the four parameters).
REGION_SEL = "(f_region == '*' ? 'ALL' : f_region)"
DEVICE_SEL = "(f_device == '*' ? 'ALL' : f_device)"
BP_SEL = "(f_bp == '*' ? 'ALL' : f_bp)"
SRV_SEL = "(f_srv == '*' ? 'ALL' : f_srv)"
# One srv_summary cell for the selected SRV, or the selected process's (or the network's) total.
SUBJECT = f"datum.srv == {SRV_SEL} && (f_srv != '*' || datum.business_process == {BP_SEL})"
# srv_daily / srv_party rows of the selected SRV, or of every SRV of the selected process.
IN_SCOPE = "(f_srv == '*' || datum.srv == f_srv) && (f_bp == '*' || datum.business_process == f_bp)"


def finish(chart: alt.TopLevelMixin, sel: Sel, rows: Rows) -> dict[str, Any]:
    """The chart's Vega-Lite dict with its filter parameters, config and (inline) rows.

    Rows are attached after Altair has built the spec: Altair deep-copies and validates inline
    values, which costs far more than the chart itself."""
    spec: dict[str, Any] = chart.to_dict(validate=False)
    if not isinstance(rows, str):
        spec["datasets"] = {INLINE: clean(rows)}
    spec["params"] = [p.param.to_dict() for p in _params(sel)] + spec.get("params", [])  # type: ignore[union-attr]
    spec["config"] = CONFIG
    spec.pop("$schema", None)
    spec["$schema"] = "https://vega.github.io/schema/vega-lite/v6.json"
    return spec


F = TypeVar("F", bound=Callable[..., dict[str, Any]])


def templated(fn: F) -> F:
    """Build a chart's Vega-Lite once per shape, then fill in each call's rows and filters.

    A builder's output depends on its rows only through the dataset and on `sel` only through
    the parameter values, so the Altair work (slow: it deep-copies the chart at every step) is
    done once per distinct set of the other arguments and reused for every SRV of every pack."""
    sig = inspect.signature(fn)
    cache: dict[tuple[Any, ...], str] = {}

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        rows, sel = a["rows"], a["sel"]
        name = rows if isinstance(rows, str) else INLINE
        key = (
            name,
            *(
                (k, tuple(v) if isinstance(v, list | tuple) else v)
                for k, v in a.items()
                if k not in ("rows", "sel")
            ),
        )
        if key not in cache:
            if len(cache) >= 1024:  # a long-lived process renders many months: stay bounded
                cache.clear()
            cache[key] = json.dumps(fn(**{**a, "rows": name, "sel": Sel()}))
        spec: dict[str, Any] = json.loads(cache[key])
        values = {"f_bp": sel.bp, "f_srv": sel.srv, "f_region": sel.region, "f_device": sel.device}
        for p in spec["params"]:
            if p.get("name") in values:
                p["value"] = values[p["name"]]
        if not isinstance(rows, str):
            spec["datasets"] = {INLINE: clean(rows)}
        return spec

    return cast(F, wrapper)


def make(
    key: str,
    title: str,
    caption: str,
    spec: dict[str, Any],
    assumed: tuple[Assumption, ...] = (),
) -> Chart:
    """A chart block; `assumed`: the assumed values a mark in the caption stands for."""
    return Chart(
        key=key, title=title, caption=caption, vega_lite=canonical_json(spec), assumed=assumed
    )


def clean(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN → null, dates → ISO text."""
    out = []
    for r in rows:
        d: dict[str, Any] = {}
        for k, v in r.items():
            if isinstance(v, float) and math.isnan(v):
                d[k] = None
            elif hasattr(v, "isoformat"):
                d[k] = v.isoformat()
            elif hasattr(v, "item"):  # numpy scalar
                d[k] = v.item()
            else:
                d[k] = v
        out.append(d)
    return out


def _data(rows: Rows) -> alt.Data | alt.NamedData:
    """Inline rows (a pack's chart), or a dataset name the dashboard supplies once for all charts."""
    return alt.NamedData(name=rows if isinstance(rows, str) else INLINE)


def _ymd(iso: str) -> str:
    """An ISO date as the arguments of Vega's utc(year, month0, day)."""
    y, m, d = (int(x) for x in iso.split("-"))
    return f"{y}, {m - 1}, {d}"


# -- honest percentage axes -------------------------------------------------------------------

# A percentage axis spans at least this many points (within 0-100): zero=False scales fit the data,
# and without a floor a 0.1-point spread between regions or days would fill the whole axis and
# read as a collapse. 5 points: the gap between a CPM's target (99) and its minimum (96) still
# shows as a clear gap, a day 2 points down still stands out.
MIN_SPAN = 5.0


def span_floor(
    base: alt.Chart, field: str, channel: str, title: str, span: float = MIN_SPAN
) -> alt.Chart:
    """An invisible layer over `base`'s rows that widens the shared percentage scale of
    `channel` ("x" or "y") to at least `span` points around the middle of `field`'s values,
    kept within 0-100 (the data still sets the axis when it spreads wider). `title`: the axis
    title of the layers it joins (layers with different titles would join them)."""
    half = span / 2
    ends = (
        base.transform_filter(f"isValid(datum.{field})")
        .transform_aggregate(span_lo=f"min({field})", span_hi=f"max({field})")
        .transform_calculate(span_mid="(datum.span_lo + datum.span_hi) / 2")
        .transform_calculate(
            span_a=f"max(0, min(datum.span_lo, datum.span_mid - {half}, {100 - span}))",
            span_b=f"min(100, max(datum.span_hi, datum.span_mid + {half}, {span}))",
        )
        .transform_fold(["span_a", "span_b"], as_=["span_end", "span_at"])
        .mark_point(opacity=0, size=1)
    )
    enc = alt.X if channel == "x" else alt.Y
    return ends.encode(**{channel: enc("span_at:Q", title=title)})


# -- daily success and failure ----------------------------------------------------------------


@templated
def daily(rows: Rows, sel: Sel, days: tuple[str, str], width: int = 440) -> dict[str, Any]:
    """Success rate per day (line, red dot on Category 1/2 incident days) over requests per day.

    `days` (first and last ISO date of the month) fixes the time axis, so a selection with no
    rows still draws an empty month rather than an axis of infinite extent."""
    base = (
        alt.Chart(_data(rows))
        .transform_filter(IN_SCOPE + f" && datum.region == {REGION_SEL}")
        .transform_calculate(inc="datum.incident_cat12 ? 1 : 0")
        .transform_aggregate(
            succeeded="sum(succeeded)", failed="sum(failed)", inc="max(inc)", groupby=["date"]
        )
        .transform_calculate(
            rate="datum.succeeded + datum.failed > 0 ? 100 * datum.succeeded / (datum.succeeded + datum.failed) : null",
        )
    )
    x = day_axis(days)
    line = base.mark_line(color=BLUE, point=alt.OverlayMarkDef(color=BLUE, size=18)).encode(
        x=x,
        y=alt.Y("rate:Q", title="Success %", scale=alt.Scale(zero=False, nice=True)),
        tooltip=[
            alt.Tooltip("date:T", timeUnit="utcyearmonthdate", title="day"),
            alt.Tooltip("rate:Q", format=".2f", title="success %"),
        ],
    )
    dots = (
        base.transform_filter("datum.inc > 0")
        .mark_point(filled=True, size=90, opacity=1)
        .encode(
            x=x,
            y="rate:Q",
            color=alt.value(RED),  # explained in the caption: an empty legend breaks the layout
            tooltip=[
                alt.Tooltip("date:T", timeUnit="utcyearmonthdate", title="incident day"),
                alt.Tooltip("rate:Q", format=".2f", title="success %"),
            ],
        )
    )
    top = alt.layer(line, dots, span_floor(base, "rate", "y", "Success %")).properties(
        width=width, height=150
    )
    bars = (
        base.transform_fold(["succeeded", "failed"], as_=["outcome", "requests"])
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                "requests:Q", title="Requests per day", stack="zero", axis=alt.Axis(format="~s")
            ),
            color=alt.Color(
                "outcome:N",
                title=None,
                scale=alt.Scale(domain=["succeeded", "failed"], range=[BLUE, ORANGE]),
            ),
            order=alt.Order("outcome:N", sort="descending"),
            tooltip=[
                alt.Tooltip("date:T", timeUnit="utcyearmonthdate", title="day"),
                "outcome:N",
                alt.Tooltip("requests:Q", format=","),
            ],
        )
        .properties(width=width, height=110)
    )
    return finish(alt.vconcat(top, bars, spacing=6).resolve_scale(color="independent"), sel, rows)


# -- dot plots with a label panel --------------------------------------------------------------


def _dots(
    base: alt.Chart,
    y: str,
    y_title: str | None,
    x: str,
    x_title: str,
    label: str,
    order: Sequence[str] | None,
    width: int,
    color: alt.Color,
    rule_expr: str | None = None,
    extra_layers: Sequence[alt.Chart] = (),
    label_width: int = 170,
) -> alt.HConcatChart:
    sort = list(order) if order is not None else None
    height = alt.Step(22)
    # A device type is labelled as the tables name it (NONE: non-device).
    yenc = alt.Y(f"{y}:N", title=y_title, sort=sort)
    if y == "device_type":
        yenc = alt.Y(f"{y}:N", title=y_title, sort=sort, axis=alt.Axis(labelExpr=DEVICE_LABEL_EXPR))
    pts = base.mark_point(filled=True, size=80, opacity=1).encode(
        x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(zero=False, nice=True, padding=12)),
        y=yenc,
        color=color,
        tooltip=[
            alt.Tooltip(f"{y}:N"),
            alt.Tooltip(f"{x}:Q", format=".2f"),
            alt.Tooltip("label:N", title="detail"),
        ],
    )
    layers: list[alt.Chart] = [*extra_layers, pts, span_floor(base, x, "x", x_title)]
    if rule_expr is not None:
        layers.insert(
            0,
            base.transform_calculate(ref=rule_expr)
            .mark_rule(color=DARK, strokeDash=[4, 3])
            .encode(x="mean(ref):Q"),
        )
    left = alt.layer(*layers).properties(width=width, height=height)
    right = (
        base.mark_text(align="left", baseline="middle", fontSize=10)
        .encode(y=alt.Y(f"{y}:N", sort=sort, axis=None), text="label:N", x=alt.value(4))
        .properties(width=label_width, height=height)
    )
    return alt.hconcat(left, right, spacing=4).resolve_scale(y="shared")


@templated
def breakdown(
    rows: Rows, dim: str, order: Sequence[str], sel: Sel, width: int = 250
) -> dict[str, Any]:
    """Success % of the selected SRV by region or by device type, against its overall rate."""
    other = (
        f"datum.device_type == {DEVICE_SEL}" if dim == "region" else f"datum.region == {REGION_SEL}"
    )
    chosen = "f_region" if dim == "region" else "f_device"
    base = (
        alt.Chart(_data(rows))
        .transform_filter(f"{SUBJECT} && {other}")
        .transform_calculate(overall_pct=f"datum.{dim} == 'ALL' ? datum.success_percent : null")
        .transform_joinaggregate(overall="max(overall_pct)")
        .transform_filter(f"datum.{dim} != 'ALL' && datum.success_percent != null")
        .transform_calculate(
            label="format(floor(datum.success_percent * 100) / 100, '.2f') + ' % of ' + format(datum.submitted, ',') + ' requests'",
            chosen=f"{chosen} == '*' || {chosen} == datum.{dim} ? 'selected' : 'other'",
        )
    )
    color = alt.Color(
        "chosen:N", legend=None, scale=alt.Scale(domain=["selected", "other"], range=[BLUE, GREY])
    )
    return finish(
        _dots(
            base,
            dim,
            None,
            "success_percent",
            "Success % (dashed: overall)",
            "label",
            order,
            width,
            color,
            rule_expr="datum.overall",
        ),
        sel,
        rows,
    )


@templated
def by_srv(rows: Rows, order: Sequence[str], sel: Sel, width: int = 250) -> dict[str, Any]:
    """Success % and within-TRT % of each SRV of the selected process."""
    base = (
        alt.Chart(_data(rows))
        .transform_filter(
            f"datum.srv != 'ALL' && (f_bp == '*' || datum.business_process == f_bp) && datum.region == {REGION_SEL} && datum.device_type == {DEVICE_SEL}"
        )
        .transform_filter("datum.success_percent != null")
        .transform_calculate(
            label="format(floor(datum.success_percent * 100) / 100, '.2f') + ' % of ' + format(datum.submitted, ',')",
            chosen="f_srv == '*' || f_srv == datum.srv ? 'selected' : 'other'",
        )
    )
    color = alt.Color(
        "chosen:N", legend=None, scale=alt.Scale(domain=["selected", "other"], range=[BLUE, GREY])
    )
    return finish(
        _dots(base, "srv", "SRV", "success_percent", "Success %", "label", order, width, color),
        sel,
        rows,
    )


# -- round trip time against the target -------------------------------------------------------


@templated
def rtt(
    rows: Rows,
    dim: str,
    order: Sequence[str],
    sel: Sel,
    width: int = 250,
    scope: str = "subject",
    axis_title: str = "Round trip time, s, log scale (p50 to p95; red: TRT)",
) -> dict[str, Any]:
    """RTT percentiles (p50 to p95) per region (or per SRV), the TRT as a red line. The same
    statistics of another time (the delivery proxy's time to the Comms Hub) with its own
    `axis_title`."""
    if scope == "subject":
        other = (
            f"datum.device_type == {DEVICE_SEL}"
            if dim == "region"
            else f"datum.region == {REGION_SEL}"
        )
        flt = f"{SUBJECT} && {other} && datum.{dim} != 'ALL'"
    else:  # one row per SRV of the selected process
        flt = f"datum.srv != 'ALL' && (f_bp == '*' || datum.business_process == f_bp) && (f_srv == '*' || datum.srv == f_srv) && datum.region == {REGION_SEL} && datum.device_type == {DEVICE_SEL}"
    base = (
        alt.Chart(_data(rows))
        .transform_filter(flt)
        .transform_filter("datum.rtt_p50_s != null && datum.rtt_p50_s > 0")
        .transform_calculate(
            label="'p50 ' + format(datum.rtt_p50_s, '.3~r') + ' · p90 ' + format(datum.rtt_p90_s, '.3~r') + ' · p95 ' + format(datum.rtt_p95_s, '.3~r') + ' s'"
        )
    )
    sort = list(order)
    height = alt.Step(22)
    xs = alt.Scale(
        type="log", nice=True
    )  # medians of seconds, tails of minutes (a gas meter wakes half-hourly)
    span = base.mark_rule(color=BLUE, strokeWidth=2).encode(
        x=alt.X(
            "rtt_p50_s:Q",
            title=axis_title,
            scale=xs,
            axis=alt.Axis(format="~g"),
        ),
        x2="rtt_p95_s:Q",
        y=alt.Y(f"{dim}:N", sort=sort, title=None),
    )
    p50 = base.mark_point(filled=True, size=60, color=BLUE, opacity=1).encode(
        x="rtt_p50_s:Q", y=alt.Y(f"{dim}:N", sort=sort)
    )
    p90 = base.mark_tick(color=BLUE, thickness=2, size=12).encode(
        x="rtt_p90_s:Q", y=alt.Y(f"{dim}:N", sort=sort)
    )
    p95 = base.mark_point(
        shape="triangle-right", filled=True, size=60, color=BLUE, opacity=1
    ).encode(x="rtt_p95_s:Q", y=alt.Y(f"{dim}:N", sort=sort))
    trt = base.mark_tick(color=RED, thickness=2, size=18).encode(
        x="trt_s:Q", y=alt.Y(f"{dim}:N", sort=sort), tooltip=[alt.Tooltip("trt_s:Q", title="TRT s")]
    )
    left = alt.layer(span, p50, p90, p95, trt).properties(width=width, height=height)
    right = (
        base.mark_text(align="left", baseline="middle", fontSize=10)
        .encode(y=alt.Y(f"{dim}:N", sort=sort, axis=None), text="label:N", x=alt.value(4))
        .properties(width=190, height=height)
    )
    return finish(alt.hconcat(left, right, spacing=4).resolve_scale(y="shared"), sel, rows)


# -- parties -----------------------------------------------------------------------------------


@templated
def parties(rows: Rows, sel: Sel, top: int = 15, width: int = 170) -> dict[str, Any]:
    """Each party's success % and how far it moves the whole: the overall rate minus the rate
    without that party's requests (negative: the party pulls everyone's figure down)."""
    base = (
        alt.Chart(_data(rows))
        .transform_filter(
            f"{IN_SCOPE} && datum.region == {REGION_SEL} && datum.device_type == {DEVICE_SEL}"
        )
        .transform_filter("f_srv != '*' || datum.srv == 'ALL'")
        .transform_aggregate(
            succeeded="sum(succeeded)", failed="sum(failed)", groupby=["party_label"]
        )
        .transform_filter("datum.succeeded + datum.failed > 0")
        .transform_joinaggregate(ts="sum(succeeded)", tf="sum(failed)")
        .transform_calculate(
            rate="100 * datum.succeeded / (datum.succeeded + datum.failed)",
            overall="100 * datum.ts / (datum.ts + datum.tf)",
            without="datum.ts + datum.tf - datum.succeeded - datum.failed > 0 ? 100 * (datum.ts - datum.succeeded) / (datum.ts + datum.tf - datum.succeeded - datum.failed) : datum.ts / (datum.ts + datum.tf) * 100",
        )
        .transform_calculate(
            pull="datum.overall - datum.without", size="abs(datum.overall - datum.without)"
        )
        .transform_window(
            rank="row_number()",
            sort=[alt.SortField("size", order="descending"), alt.SortField("party_label")],
        )
        .transform_filter(f"datum.rank <= {top}")
        .transform_calculate(
            direction="datum.pull < 0 ? 'pulls the whole down' : 'lifts the whole'",
        )
    )
    y = alt.Y(
        "party_label:N", title=None, sort=alt.EncodingSortField("pull", op="min", order="ascending")
    )
    h = alt.Step(18)
    rate = alt.layer(
        base.mark_rule(color=DARK, strokeDash=[4, 3]).encode(x="mean(overall):Q"),
        base.mark_point(filled=True, size=70, color=BLUE, opacity=1).encode(
            x=alt.X(
                "rate:Q",
                title="Party success % (dashed: whole)",
                scale=alt.Scale(zero=False, nice=True, padding=10),
            ),
            y=y,
            tooltip=[
                "party_label:N",
                alt.Tooltip("rate:Q", format=".2f"),
                alt.Tooltip("pull:Q", format="+.3f"),
            ],
        ),
        span_floor(base, "rate", "x", "Party success % (dashed: whole)"),
    ).properties(width=width, height=h)
    pull = (
        base.mark_bar(height=10)
        .encode(
            x=alt.X("pull:Q", title="Moves the whole by (points)"),
            y=alt.Y(
                "party_label:N",
                sort=alt.EncodingSortField("pull", op="min", order="ascending"),
                axis=None,
            ),
            color=alt.Color(
                "direction:N",
                title=None,
                scale=alt.Scale(
                    domain=["pulls the whole down", "lifts the whole"], range=[RED, BLUE]
                ),
            ),
            tooltip=["party_label:N", alt.Tooltip("pull:Q", format="+.3f", title="points")],
        )
        .properties(width=110, height=h)
    )
    return finish(alt.hconcat(rate, pull, spacing=6).resolve_scale(y="shared"), sel, rows)


def day_axis(days: tuple[str, str]) -> alt.X:
    """The x axis of a daily chart: every day of the month, first to last, labelled `01 Apr`."""
    return alt.X(
        "date:T",
        timeUnit="utcyearmonthdate",
        title=None,
        axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=10),
        scale=alt.Scale(
            domain=[{"expr": f"utc({_ymd(days[0])})"}, {"expr": f"utc({_ymd(days[1])})"}]
        ),
    )
