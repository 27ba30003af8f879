"""The offline HTML dashboard: one folder, opened from disk, no network.

`index.html` holds the CPM table and every chart, all driven by one filter bar (business process,
SRV, region, device type). The charts are the packs' Vega-Lite specs with their filter parameters
left free; their data is shipped once per table (Vega-Lite named datasets) rather than once per
chart. The Vega, Vega-Lite and vega-embed JavaScript comes from vl-convert's bundle, written to
`assets/vega.js`, so nothing is fetched from a CDN. Each pack is also rendered as an HTML page
beside it, the twin of its PDF.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import vl_convert as vlc

from opmetrics.contract.schema import ALL
from opmetrics.reports import alerts_section, charts, fmt, measure_charts, overview_charts
from opmetrics.reports.common import (
    CLOCKS,
    RTT_PAGE_NOTE,
    PackContext,
    cpm_records,
    cpm_table_rows,
    headline,
)
from opmetrics.reports.data import PROXY_DELIVERY, PROXY_RTT
from opmetrics.reports.html_render import (
    chart_html,
    cover_html,
    e,
    footnote_html,
    nav,
    page,
    script_json,
    table_html,
)
from opmetrics.reports.pmr import cpm6_rows, trend_rows
from opmetrics.reports.process_pack import (
    DELIVERY_PROXY_TEXT,
    RTT_PROXY_TEXT,
    month_days,
    proxy_columns,
    proxy_rows,
    records,
)
from opmetrics.reports.review import review_html
from opmetrics.reports.spec import (
    Assumption,
    Cell,
    Chart,
    Column,
    Cover,
    Table,
    assumptions_of,
    footnote,
)
from opmetrics.reports.summary_paper import standing_rows

ASSET_FILES = ("style.css", "report.js", "dashboard.js")
Sel = charts.Sel


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (from vl-convert; no CDN)."""
    text: str = vlc.javascript_bundle()  # type: ignore[call-arg]
    return text


def write_assets(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vega.js").write_text(vega_bundle(), encoding="utf-8")
    templates = resources.files("opmetrics.reports").joinpath("templates")
    for name in ASSET_FILES:
        (folder / name).write_text(templates.joinpath(name).read_text("utf-8"), encoding="utf-8")


# -- datasets ----------------------------------------------------------------------------------


def _rows(df: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    present = [c for c in cols if c in df.columns]
    return charts.clean(records(df[present]))


def datasets(ctx: PackContext) -> dict[str, list[dict[str, Any]]]:
    v = ctx.view
    s = v.summary_rows()
    counts = ["submitted", "succeeded", "failed", "excluded"]
    rtt = ["trt_s", "rtt_mean_s", "rtt_p50_s", "rtt_p90_s", "rtt_p95_s"]
    keys = ["business_process", "srv", "region", "device_type"]
    out: dict[str, list[dict[str, Any]]] = {
        "srv_summary": _rows(s, [*keys, *counts, "success_percent", "within_trt_percent", *rtt]),
        "srv_daily": _rows(
            v.r["srv_daily"],
            ["date", "business_process", "srv", "region", "succeeded", "failed", "incident_cat12"],
        ),
        "srv_party": _rows(
            v.r["srv_party"],
            ["business_process", "srv", "party_label", "region", "device_type", *counts],
        ),
    }
    proxy = v.r["dcc_proxy"]
    for name, kind in (("dcc_proxy_rtt", PROXY_RTT), ("dcc_proxy_delivery", PROXY_DELIVERY)):
        out[name] = _rows(
            proxy[proxy["proxy"] == kind],
            [*keys, "submitted", "succeeded", "failed", "delivered", "within_trt_percent", *rtt],
        )
    rows = cpm_records(v)
    out["cpm6"] = charts.clean(cpm6_rows(v))
    out["cpm6a"] = charts.clean(
        [{**r, "row_label": f"{v.bp_name(str(r['business_process']))} · {'all regions' if r['region'] == ALL else r['region']}"}
         for r in rows if r["cpm"] == "CPM6A"]
    )  # fmt: skip
    out["headline"] = charts.clean(headline(v))
    out["standing"] = charts.clean(
        [{k: x for k, x in r.items() if k != "measure"} for r in standing_rows(ctx)]
    )
    if ctx.history:
        out["trend"] = charts.clean(trend_rows(ctx))
        hist = []
        for view in (*ctx.history, v):
            h = view.summary_rows()
            hist += records(h[[*keys, "success_percent"]].assign(month=str(view.month)))
        out["history"] = charts.clean(hist)
    return out


# -- charts ------------------------------------------------------------------------------------


def dashboard_charts(ctx: PackContext) -> list[tuple[Chart, tuple[str, ...]]]:
    """Every chart of the dashboard with the datasets it reads."""
    v = ctx.view
    sel = Sel()
    regions = v.regions()
    srvs = [s.id for s in v.catalog.srv]
    devices = [d for d in v.catalog.device_types if d in set(v.summary_rows()["device_type"])]
    heads = headline(v)
    cpm6 = cpm6_rows(v)
    cpm6a_order = [
        f"{v.bp_name(str(r['business_process']))} · {'all regions' if r['region'] == ALL else r['region']}"
        for r in cpm_records(v)
        if r["cpm"] == "CPM6A"
    ]
    trt_marks = v.assumed.of_keys(k for s in v.catalog.srv for k in v.assumed.trt_keys(s.id))
    head_marks = v.assumed.of_cpms(heads)
    standing_marks = v.assumed.of_keys(
        a.key for r in standing_rows(ctx) for a in _standing_marks(ctx, r)
    )
    mark = fmt.mark
    out: list[tuple[Chart, tuple[str, ...]]] = [
        (charts.make("headline", "Code Performance Measures", f"Each measure against its target (black tick) and minimum (red tick); CPM6 and CPM6A add up all their rows.{fmt.see_note(head_marks)}",
                     measure_charts.cpm_dots("headline", [h["row_label"] for h in heads], sel), head_marks), ("headline",)),
        (charts.make("standing", "Standing business processes", f"Success and within-TRT{mark(standing_marks)} shares of each standing process (Alerts: CPM3, delivered within TRT).",
                     overview_charts.standing("standing", [r["name"] for r in standing_rows(ctx)], sel), standing_marks), ("standing",)),
        (charts.make("daily", "Daily success and failure", "The selected SRV, process or network, all device types (daily series are not split by device type); red dots: days with a Category 1 or 2 incident open.",
                     charts.daily("srv_daily", sel, month_days(v), width=520)), ("srv_daily",)),
        (charts.make("by-srv", "Success by SRV", "Each SRV of the selected process in the selected region and device type; the selected SRV is blue.",
                     charts.by_srv("srv_summary", srvs, sel)), ("srv_summary",)),
        (charts.make("by-region", "Success by region", "The selected SRV (or process, or network) by region; dashed: its overall rate.",
                     charts.breakdown("srv_summary", "region", regions, sel)), ("srv_summary",)),
        (charts.make("by-device", "Success by device type", "The selected SRV (or process, or network) by device type; dashed: its overall rate.",
                     charts.breakdown("srv_summary", "device_type", devices, sel)), ("srv_summary",)),
        (charts.make("rtt-srv", "Round trip time against the TRT, by SRV", f"Median (dot), 90th (tick) and 95th (triangle) percentiles of successful requests; red: the TRT{mark(trt_marks)}.",
                     charts.rtt("srv_summary", "srv", srvs, sel, scope="srvs"), trt_marks), ("srv_summary",)),
        (charts.make("rtt-region", "Round trip time against the TRT, by region", f"The selected SRV (or process, or network) by region; red: the TRT{mark(trt_marks)}.",
                     charts.rtt("srv_summary", "region", regions, sel), trt_marks), ("srv_summary",)),
        (charts.make("proxy", "DCC proxy: CHF and GPF round trip times", f"Round trip times of requests targeted at a Comms Hub Function or Gas Proxy Function, by SRV; red: the TRT{mark(trt_marks)}.",
                     charts.rtt("dcc_proxy_rtt", "srv", srvs, sel, scope="srvs"), trt_marks), ("dcc_proxy_rtt",)),
        (charts.make("proxy-delivery", "DCC proxy: time to deliver to the Comms Hub", f"For the processes none of whose SRVs targets a CHF or GPF: the time from the DCC receiving a request until its command reached the Comms Hub, of the requests delivered, by SRV; red: the TRT{mark(trt_marks)}.",
                     charts.rtt("dcc_proxy_delivery", "srv", srvs, sel, scope="srvs", axis_title=DELIVERY_AXIS), trt_marks), ("dcc_proxy_delivery",)),
        (charts.make("parties", "Anonymised SEC Parties: how each moves the whole", "Each party's success rate (dashed: the whole) and how many points the whole would move without its requests; the 15 largest movers.",
                     charts.parties("srv_party", sel)), ("srv_party",)),
    ]  # fmt: skip
    if cpm6:
        interfaces = list(dict.fromkeys(str(r["interface"]) for r in cpm6))
        out.append((charts.make("cpm6", "CPM6: DCC Interface availability", "Availability by interface, region and band, coloured by status (region filter applies).",
                                measure_charts.cpm6_grid("cpm6", interfaces, regions, sel)), ("cpm6",)))  # fmt: skip
    if cpm6a_order:
        expr = "(f_bp == '*' || datum.business_process == f_bp) && datum.region == (f_region == '*' ? 'ALL' : f_region)"
        if not any(r.get("region") == ALL for r in cpm_records(v) if r["cpm"] == "CPM6A"):
            expr = "(f_bp == '*' || datum.business_process == f_bp) && (f_region == '*' || datum.region == f_region)"
        six_a = v.assumed.of_cpms(r for r in cpm_records(v) if r["cpm"] == "CPM6A")
        out.append((charts.make("cpm6a", "CPM6A: business processes within the TRT", f"By process (process filter) in the selected region (all regions when none is selected).{fmt.see_note(six_a)}",
                                measure_charts.cpm_dots("cpm6a", cpm6a_order, sel, width=220, filter_expr=expr, long_labels=False), six_a), ("cpm6a",)))  # fmt: skip
    if ctx.history:
        order = [h["row_label"] for h in heads]
        past = v.assumed.of_keys(
            k
            for view in (*ctx.history, v)
            for h in headline(view)
            for k in view.assumed.keys_of_cpm(h)
        )
        out.append((charts.make("trend", "Headline measures month by month", f"Dashed black: target; dotted red: minimum.{fmt.see_note(past)}",
                                measure_charts.trend("trend", order, sel), past), ("trend",)))  # fmt: skip
        out.append((charts.make("srv-trend", "Success month by month", "The selected SRV (or process, or network) in the selected region and device type.",
                                overview_charts.srv_trend("history", sel, width=520)), ("history",)))  # fmt: skip
    return out


DELIVERY_AXIS = "Time to the Comms Hub, s, log scale (p50 to p95; red: TRT)"


def _standing_marks(ctx: PackContext, r: dict[str, Any]) -> tuple[Assumption, ...]:
    """What a standing process's within-TRT share rests on (Alerts: the CPM3 row's values)."""
    v = ctx.view
    bp = str(r["business_process"])
    if v.catalog.business_processes[bp].reported_from == "alerts":
        m = r.get("measure")
        return v.assumed.of_cpm(m) if m else v.assumed.of_alerts()
    return v.assumed.of_process(bp)


# -- tables ------------------------------------------------------------------------------------


def cpm_table(ctx: PackContext) -> tuple[Table, list[dict[str, str]]]:
    v = ctx.view
    records_ = cpm_records(v)
    rows = list(cpm_table_rows(records_, v))
    attrs = []
    for r in records_:
        a = {"cpm": str(r["cpm"])}
        if isinstance(r.get("business_process"), str):
            a["bp"] = r["business_process"]
        if isinstance(r.get("region"), str):
            a["region"] = r["region"] if r["region"] != ALL else "ALL"
        attrs.append(a)
    cols = (
        Column("Measure", "left"), Column("Scope", "left"), Column("Numerator"), Column("Denominator"),
        Column("Value %"), Column("Target %"), Column("Min. %"), Column("Status", "left"),
    )  # fmt: skip
    return Table("cpm", "Code Performance Measures", cols, tuple(rows), small=True), attrs


def proxy_tables(ctx: PackContext) -> list[tuple[str, Table, list[dict[str, str]]]]:
    """The DCC proxy tables, one per proxy the month holds, each with the sentence saying which
    proxy it is; rows per SRV and region (all device types), filterable by process, SRV and
    region."""
    v = ctx.view
    p = v.r["dcc_proxy"]
    p = p[(p["srv"] != ALL) & (p["device_type"] == ALL)]
    out = []
    texts = {PROXY_RTT: RTT_PROXY_TEXT, PROXY_DELIVERY: DELIVERY_PROXY_TEXT.replace("No SRV of this process targets", "For a process none of whose SRVs targets").replace(", so this table shows", ", this table shows")}  # fmt: skip
    for kind in (PROXY_RTT, PROXY_DELIVERY):
        sub = p[p["proxy"] == kind]
        if sub.empty:
            continue
        rows, attrs = [], []
        for bp in v.packs():
            mine = sub[sub["business_process"] == bp]
            for (srv, _dev, reg), r in proxy_rows(v, mine, v.srvs_of(bp), kind):
                rows.append((Cell(v.bp_name(bp)), *r[:2], *r[3:]))  # every device type
                attrs.append({"bp": bp, "srv": srv, "region": "ALL" if reg == ALL else reg})
        cols = proxy_columns(kind)
        cols = (Column("Business process", "left"), *cols[:2], *cols[3:])
        title = (
            "DCC proxy: CHF and GPF targets, round trip times"
            if kind == PROXY_RTT
            else "DCC proxy: time to deliver to the Comms Hub"
        )
        out.append(
            (texts[kind], Table(f"proxy-{kind}", title, cols, tuple(rows), small=True), attrs)
        )
    return out


def insights_table(ctx: PackContext) -> tuple[Table, list[dict[str, str]]] | None:
    ins = ctx.view.r["insights"]
    if ins.empty:
        return None
    rows, attrs = [], []
    for r in records(ins):
        rows.append(
            tuple(
                Cell(fmt.kind_name(str(r.get(k) or "")) if k == "kind" else str(r.get(k) or ""))
                for k in ("finding_id", "kind", "headline", "recommended_action", "evidence")
            )
        )
        attrs.append({"bp": str(r.get("business_process") or ""), "srv": str(r.get("srv") or "")})
    cols = tuple(
        Column(c, "left")
        for c in ("Finding", "Where the difference lies", "What was found", "Recommended action",
                  "Statistics")
    )  # fmt: skip
    return Table("insights", "Findings of the diagnosis", cols, tuple(rows), small=True), attrs


def _footnote(assumed: tuple[Assumption, ...], override: str) -> str:
    return footnote_html(footnote(assumed, override)) if assumed else ""


def _alerts_html(t: Table, c: Chart, override: str) -> str:
    """The Alerts section: AD1 and device alerts (the chart follows the region filter)."""
    return (
        f'<section id="alerts"><h2>Alerts: AD1 and device alerts</h2><div class="scroll">'
        f"{table_html(t)}</div>{chart_html(c)}{_footnote(assumptions_of(t), override)}</section>"
    )


def _filterable(t: Table, attrs: list[dict[str, str]]) -> str:
    return table_html(t, attrs).replace('<table class="data', '<table class="filterable data', 1)


def index_html(
    ctx: PackContext, cover: Cover, links: list[tuple[str, str]], files: list[tuple[str, str]]
) -> str:
    v = ctx.view
    pairs = dashboard_charts(ctx)
    data = datasets(ctx)
    alerts = alerts_section.dashboard_part(ctx)  # AD1 and device alerts: table, chart, rows
    if alerts:
        data.update(alerts[2])
    filters = {
        "bps": [{"id": bp, "name": v.bp_name(bp)} for bp in v.packs()],
        "srvs": [
            {"id": s.id, "name": s.name, "bp": s.business_process}
            for s in v.catalog.srv
            if s.business_process in v.packs()
        ],
        "regions": [{"id": r, "name": r} for r in v.regions()],
        "devices": [
            {"id": d, "name": fmt.device_type_name(d)}
            for d in v.catalog.device_types
            if d in set(v.summary_rows()["device_type"])
        ],
    }
    payload = {
        "charts": [{"key": c.key, "datasets": list(ds)} for c, ds in pairs]
        + ([{"key": alerts[1].key, "datasets": list(alerts[2])}] if alerts else []),
        "datasets": data,
        "filters": filters,
    }
    bar = (
        '<form class="filters" onsubmit="return false">'
        '<label>Business process<select id="f-bp"></select></label>'
        '<label>SRV<select id="f-srv"></select></label>'
        '<label>Region<select id="f-region"></select></label>'
        '<label>Device type<select id="f-device"></select></label>'
        '<button type="button" id="f-reset">Reset</button>'
        '<span class="note" id="filter-state"></span></form>'
    )
    t, attrs = cpm_table(ctx)
    ins = insights_table(ctx)
    files_html = "".join(f'<li><a href="{e(href)}">{e(label)}</a></li>' for label, href in files)
    grid = "".join(chart_html(c) for c, _ in pairs)
    override = v.assumed.override
    cpm_note = _footnote(assumptions_of(t), override)
    chart_note = _footnote(v.assumed.of_keys(a.key for c, _ in pairs for a in c.assumed), override)
    proxies = proxy_tables(ctx)
    proxy_html = "".join(
        f'<p>{e(text)}</p><div class="scroll">{_filterable(table, rows)}</div>'
        for text, table, rows in proxies
    )
    proxy_note = _footnote(
        v.assumed.of_keys(a.key for _, table, _ in proxies for a in assumptions_of(table)),
        override,
    )
    body = (
        nav(links, "index.html")
        + "<main>"
        + cover_html(cover)
        + bar
        + '<p class="error" id="dashboard-error"></p>'
        + f'<section id="measures"><h2>Code Performance Measures</h2><div class="scroll">{_filterable(t, attrs)}</div>{cpm_note}<p class="note">{e(CLOCKS)}</p></section>'
        + review_html(ctx)
        + (
            f'<section id="proxy"><h2>DCC proxy</h2>{proxy_html}{proxy_note}</section>'
            if proxies
            else ""
        )
        + f'<section id="charts"><h2>Charts</h2><p class="note clock">{e(RTT_PAGE_NOTE)}</p><div class="grid">{grid}</div>{chart_note}</section>'
        + (_alerts_html(alerts[0], alerts[1], override) if alerts else "")
        + (f'<section id="insights"><h2>Findings</h2>{_filterable(*ins)}</section>' if ins else "")
        + f'<section id="files"><h2>Files</h2><ul>{files_html}</ul></section>'
        + "</main>"
        + f'<script type="application/json" id="dashboard-data">{script_json(payload)}</script>'
        + '<script src="assets/dashboard.js"></script>'
    )
    return page(f"Operational Metrics dashboard — {ctx.month_title}", body, scripts=("vega.js",))
