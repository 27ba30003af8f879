"""One Business Process pack per business process, laid out as MP122 describes.

First the DCC proxy summary (requests targeted at a Comms Hub or Gas Proxy, whose round trip is
the better proxy of the DCC's own performance; for a process that never targets one, the time
to deliver its requests to the Comms Hub, and the page says which), then per SRV: the daily success and failure chart
with the Category 1/2 incident days marked, the summary against the TRT, the breakdowns by region
and device type, and the anonymised party chart showing how one party's poor performance moves
the whole.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from opmetrics.catalog.assumptions import EXECUTION_WORDS
from opmetrics.contract.schema import ALL
from opmetrics.reports import charts, fmt
from opmetrics.reports.common import (
    RTT_PAGE_NOTE,
    PackContext,
    clocks_paragraph,
    cover,
    cpm_records,
    cpm_value_cell,
    finished,
    not_reportable_paragraphs,
)
from opmetrics.reports.data import PROXY_DELIVERY, PROXY_RTT, View
from opmetrics.reports.fmt import num
from opmetrics.reports.spec import (
    Assumption,
    Block,
    Cell,
    Column,
    Paragraph,
    Report,
    Section,
    Table,
)


def key_of(bp: str) -> str:
    return f"bp-{bp}".replace("_", "-")


def month_days(view: View) -> tuple[str, str]:
    return view.month.first_day.isoformat(), view.month.last_day.isoformat()


def title_of(view: View, bp: str) -> str:
    return f"Business Process pack: {view.bp_name(bp)}"


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): (None if isinstance(v, float) and pd.isna(v) else v) for k, v in r.items()}
        for r in df.to_dict("records")
    ]


def build(ctx: PackContext, bp: str) -> Report:
    v = ctx.view
    srvs = v.srvs_of(bp)
    sections = [_proxy(ctx, bp), _overview(ctx, bp, srvs)]
    sections += [_srv_section(ctx, bp, srv) for srv in srvs]
    title = title_of(v, bp)
    report = Report(
        key=key_of(bp),
        title=title,
        cover=cover(ctx, title),
        sections=tuple(sections),
        srvs=tuple(srvs),
    )
    return finished(report, ctx)


# -- DCC proxy -------------------------------------------------------------------------------

RTT_PROXY_TEXT = (
    "This table shows the first of the two DCC proxies: the round trip time of the requests "
    "targeted at a Communications Hub Function (CHF) or Gas Proxy Function (GPF). It is a better "
    "proxy of the DCC's own performance than a gas meter's round trip, as a gas meter wakes only "
    "every 30 minutes. Round trip times are of successful requests; within TRT is over successful "
    "and failed requests."
)
DELIVERY_PROXY_TEXT = (
    "No SRV of this process targets a Communications Hub Function (CHF) or Gas Proxy Function "
    "(GPF), so this table shows the other DCC proxy: the time taken to deliver the process's "
    "requests to the Comms Hub, from the DCC receiving a request (or a future-dated request's "
    "execution time) until its command reached the Communications Hub, leaving out the home area "
    "network and the device. Delivered within TRT: requests delivered within the Target Response "
    "Time, over successful and failed requests; the times are of the requests delivered."
)
DELIVERY_PAGE_NOTE = (
    "DCC proxy (delivery): times run from the DCC receiving the request (or a future-dated "
    "request's execution time) until the command reached the Comms Hub."
)


def proxy_columns(proxy: str) -> tuple[Column, ...]:
    """The DCC proxy table's columns: delivery times are never labelled round trip times."""
    if proxy == PROXY_DELIVERY:
        within, group, counted = "Delivered within TRT %", "Time to the Comms Hub", "Delivered"
    else:
        within, group, counted = "Within TRT %", "Round trip time", "Failed"
    return (
        Column("SRV", "left"),
        Column("Region", "left"),
        Column("Device", "left"),
        Column("Requests"),
        Column(counted),
        Column(within),
        Column("TRT s"),
        Column("Mean s", group=group),
        Column("p50 s", group=group),
        Column("p90 s", group=group),
        Column("p95 s", group=group),
    )


def proxy_rows(
    v: View, rows: pd.DataFrame, srvs: list[str], proxy: str
) -> list[tuple[tuple[str, str, str], tuple[Cell, ...]]]:
    """One DCC proxy table's rows, per SRV, device type and region (ALL first): each row's
    (SRV, device type, region) and cells."""
    out: list[tuple[tuple[str, str, str], tuple[Cell, ...]]] = []
    regions = [ALL, *v.regions()]
    for srv in srvs:
        sub = rows[rows["srv"] == srv]
        if sub.empty:
            continue
        types = sorted(d for d in set(sub["device_type"]) if d != ALL)
        devices = [ALL, *types]
        if len(devices) == 2 and (sub["device_type"] == ALL).any():
            devices = [ALL]  # one device type: its ALL row says it all
        for dev in devices:
            for reg in regions:
                hit = sub[(sub["region"] == reg) & (sub["device_type"] == dev)]
                if hit.empty:
                    continue
                r = hit.iloc[0]
                counted = r["delivered"] if proxy == PROXY_DELIVERY else r["failed"]
                trt = num(r["trt_s"])
                out.append(
                    (
                        (srv, dev, reg),
                        (
                            Cell(srv, bold=reg == ALL),
                            Cell("All" if reg == ALL else reg, rollup=reg == ALL),
                            Cell(dev if dev != ALL else "+".join(types) or ALL),
                            Cell(fmt.count(r["submitted"])),
                            Cell(fmt.count(counted)),
                            Cell(
                                fmt.percent(r["within_trt_percent"]),
                                assumed=v.assumed.of_srv(srv, dev),
                            ),
                            Cell(
                                fmt.seconds(trt) if trt is not None else "varies",
                                assumed=v.assumed.of_trt(srv, dev),
                            ),
                            Cell(fmt.seconds(r["rtt_mean_s"])),
                            Cell(fmt.seconds(r["rtt_p50_s"])),
                            Cell(fmt.seconds(r["rtt_p90_s"])),
                            Cell(fmt.seconds(r["rtt_p95_s"])),
                        ),
                    )
                )
    return out


def _proxy(ctx: PackContext, bp: str) -> Section:
    v = ctx.view
    p = v.r["dcc_proxy"]
    p = p[(p["business_process"] == bp) & (p["srv"] != ALL)]
    kinds = [k for k in (PROXY_RTT, PROXY_DELIVERY) if (p["proxy"] == k).any()]
    if not kinds:
        blocks: list[Block] = [
            Paragraph(RTT_PROXY_TEXT),
            Paragraph(
                f"No request of {v.bp_name(bp)} was targeted at a CHF or GPF, or delivered to a "
                f"Comms Hub, in {ctx.month_title}.",
                "note",
            ),
        ]
        return Section("DCC proxy summary", tuple(blocks), anchor="proxy")
    blocks = []
    for kind in kinds:
        rows = [cells for _, cells in proxy_rows(v, p[p["proxy"] == kind], v.srvs_of(bp), kind)]
        if kind == PROXY_DELIVERY:
            blocks.append(Paragraph(DELIVERY_PROXY_TEXT))
            title = "Time to deliver to the Comms Hub, by SRV and region"
        else:
            blocks.append(Paragraph(RTT_PROXY_TEXT))
            title = "CHF and GPF targets: round trip times by SRV and region"
        blocks.append(Table(f"proxy-{kind}", title, proxy_columns(kind), tuple(rows), small=True))
    headings = {
        PROXY_RTT: "DCC proxy summary: CHF and GPF round trip times",
        PROXY_DELIVERY: "DCC proxy summary: delivery to the Comms Hub",
    }
    heading = headings[kinds[0]] if len(kinds) == 1 else "DCC proxy summary"
    note = DELIVERY_PAGE_NOTE if kinds == [PROXY_DELIVERY] else RTT_PAGE_NOTE
    return Section(heading, tuple(blocks), anchor="proxy", page_note=note)


# -- overview --------------------------------------------------------------------------------


def _overview(ctx: PackContext, bp: str, srvs: list[str]) -> Section:
    v = ctx.view
    blocks: list[Block] = [*not_reportable_paragraphs(ctx, only=("CPM6A",))]
    tot = v.summary(bp, ALL)
    if tot["submitted"]:
        assumed = v.assumed.of_process(bp)
        blocks.append(
            Paragraph(
                f"In {ctx.month_title} {v.bp_name(bp)} carried {fmt.count(tot['submitted'])} service requests: "
                f"{fmt.percent(tot['success_percent'])} % succeeded and {fmt.percent(tot['within_trt_percent'])} % "
                f"succeeded within the Target Response Time{fmt.mark(assumed)}; {fmt.count(tot['excluded'])} were excluded as "
                "caused outside the DCC's control.",
                assumed=assumed,
            )
        )
        blocks.append(clocks_paragraph())
    rows = []
    for srv in srvs:
        r = v.summary(bp, srv)
        rows.append(
            (
                Cell(srv, bold=True),
                Cell(v.srv_name(srv)),
                Cell(fmt.count(r["submitted"])),
                Cell(fmt.count(r["failed"])),
                Cell(fmt.count(r["excluded"])),
                Cell(fmt.percent(r["success_percent"])),
                Cell(fmt.percent(r["within_trt_percent"]), assumed=v.assumed.of_srv(srv)),
                Cell(fmt.seconds(r["rtt_p95_s"])),
            )
        )
    cols = (
        Column("SRV", "left"),
        Column("Name", "left", "1fr"),
        Column("Requests"),
        Column("Failed"),
        Column("Excluded"),
        Column("Success %"),
        Column("Within TRT %"),
        Column("p95 s"),
    )
    blocks.append(Table("srvs", "SRVs of the process", cols, tuple(rows), small=True))
    summary = records(v.summary_rows()[v.summary_rows()["business_process"] == bp])
    if len(srvs) > 1 and tot["submitted"]:
        blocks.append(
            charts.make(
                "by-srv",
                "Success by SRV",
                "Each SRV's success rate over the month, all regions and device types.",
                charts.by_srv(summary, srvs, charts.Sel(bp=bp)),
            )
        )
    cpm6a = [r for r in cpm_records(v) if r["cpm"] == "CPM6A" and r.get("business_process") == bp]
    if cpm6a:
        cells = []
        for r in cpm6a:
            cells.append(
                (
                    Cell(
                        "All" if r["region"] == ALL else str(r["region"]),
                        rollup=r["region"] == ALL,
                    ),
                    Cell(fmt.count(r["numerator"])),
                    Cell(fmt.count(r["denominator"])),
                    cpm_value_cell(r, v),
                    Cell(fmt.target(r["target_percent"])),
                    Cell(fmt.target(r["minimum_percent"])),
                )
            )
        cols2 = (
            Column("Region", "left", "1fr"),
            Column("Within TRT"),
            Column("Requests"),
            Column("CPM6A %"),
            Column("Target %"),
            Column("Min. %"),
        )
        blocks.append(Table("cpm6a", "CPM6A for this process", cols2, tuple(cells), small=True))
    return Section(
        f"{v.bp_name(bp)}: overview",
        tuple(blocks),
        anchor="overview",
        new_page=False,
        page_note=RTT_PAGE_NOTE,
    )


# -- one SRV ---------------------------------------------------------------------------------


SUMMARY_COLUMNS = (
    Column("Region", "left"),
    Column("Requests"),
    Column("Succeeded"),
    Column("Failed"),
    Column("Excluded"),
    Column("Success %"),
    Column("Within TRT %"),
    Column("Mean s"),
    Column("p50 s"),
    Column("p90 s"),
    Column("p95 s"),
)


def _summary_row(
    label: str, r: dict[str, Any], assumed: tuple[Assumption, ...] = ()
) -> tuple[Cell, ...]:
    return (
        Cell(label, bold=label == "All", rollup=label == "All"),
        Cell(fmt.count(r["submitted"])),
        Cell(fmt.count(r["succeeded"])),
        Cell(fmt.count(r["failed"])),
        Cell(fmt.count(r["excluded"])),
        Cell(fmt.percent(r["success_percent"])),
        Cell(fmt.percent(r["within_trt_percent"]), assumed=assumed),
        Cell(fmt.seconds(r["rtt_mean_s"])),
        Cell(fmt.seconds(r["rtt_p50_s"])),
        Cell(fmt.seconds(r["rtt_p90_s"])),
        Cell(fmt.seconds(r["rtt_p95_s"])),
    )


def daily_caption(v: View, srvs: list[str], region: str = ALL) -> str:
    days = records(v.daily(srvs, region))
    inc = [x["date"] for x in days if x["incident"]]
    text = "Blue line: share of requests that succeeded each day; bars: requests succeeded and failed. "
    if inc:
        listed = ", ".join(f"{d.day} {d:%b}" for d in inc[:8]) + (" ..." if len(inc) > 8 else "")
        text += f"Red dots: days with a Category 1 or 2 incident open ({listed}). "
    else:
        text += "No Category 1 or 2 incident was open this month. "
    rates = [
        (100.0 * int(x["succeeded"]) / (int(x["succeeded"]) + int(x["failed"])), x["date"])
        for x in days
        if int(x["succeeded"]) + int(x["failed"])
    ]
    if rates:
        low, day = min(rates, key=lambda t: t[0])
        text += f"Lowest day: {day.day} {day:%B} at {fmt.percent(low)} %."
    return text


def party_caption(v: View, bp: str, srv: str) -> str:
    """Name the party that moves the whole most, with the overall rate with and without it."""
    g = v.party_totals(bp, srv)
    g = g[(g["succeeded"] + g["failed"]) > 0]
    if g.empty:
        return "No party data for this SRV."
    ts, tf = float(g["succeeded"].sum()), float(g["failed"].sum())
    overall = 100 * ts / (ts + tf)
    best: tuple[float, str, float, float, float] | None = None
    for r in records(g):
        ok, bad = float(r["succeeded"]), float(r["failed"])
        rest = ts + tf - ok - bad
        if rest <= 0:
            continue
        without = 100 * (ts - ok) / rest
        pull = overall - without
        if best is None or pull < best[0]:
            best = (
                pull,
                str(r["party_label"]),
                100 * ok / (ok + bad),
                without,
                (ok + bad) / (ts + tf),
            )
    base = f"{len(g)} parties sent requests; the largest movers are shown. "
    if best is None or best[0] >= -0.005:
        return (
            base
            + f"No single party moves the whole ({fmt.percent(overall)} %) down by more than 0.01 points."
        )
    pull, label, rate, without, share = best
    return base + (
        f"{label} sent {share * 100:.1f} % of the requests at {fmt.percent(rate)} % success and pulls the whole "
        f"down by {abs(pull):.2f} points: {fmt.percent(overall)} % with it, {fmt.percent(without)} % without it."
    )


def _srv_section(ctx: PackContext, bp: str, srv: str) -> Section:
    v = ctx.view
    title = v.srv_title(srv)
    tot = v.summary(bp, srv)
    key = srv.replace(".", "_")
    if not tot["submitted"]:
        return Section(
            title,
            (Paragraph(f"No requests for SRV {srv} in {ctx.month_title}.", "note"),),
            anchor=f"srv-{key}",
        )
    sel = charts.Sel(bp=bp, srv=srv)
    trt = num(tot["trt_s"])
    within = v.assumed.of_srv(srv)
    blocks: list[Block] = [
        Paragraph(
            f"{fmt.count(tot['submitted'])} requests: {fmt.count(tot['succeeded'])} succeeded, "
            f"{fmt.count(tot['failed'])} failed and {fmt.count(tot['excluded'])} were excluded; "
            f"{fmt.percent(tot['success_percent'])} % success, {fmt.percent(tot['within_trt_percent'])} % "
            f"within {trt_words(v, srv, trt, within)}; "
            f"median round trip {fmt.seconds(tot['rtt_p50_s'])} s, 95th percentile {fmt.seconds(tot['rtt_p95_s'])} s.",
            assumed=within,
        ),
    ]
    daily = v.r["srv_daily"]
    blocks.append(
        charts.make(
            f"daily-{key}",
            "Daily success and failure",
            daily_caption(v, [srv]),
            charts.daily(
                records(daily[(daily["srv"] == srv) & (daily["region"] == ALL)]), sel, month_days(v)
            ),
        )
    )
    rows = [_summary_row("All", tot, within)]
    for reg in v.regions():
        r = v.summary(bp, srv, reg)
        if r["submitted"]:
            rows.append(_summary_row(reg, r, within))
    trt_marks = v.assumed.of_trt(srv)
    shown = f"TRT {fmt.seconds_text(trt)}" if trt is not None else "TRT varies by device type"
    blocks.append(
        Table(
            f"summary-{key}",
            f"Summary by region (round trip times of successful requests; {shown}{fmt.mark(trt_marks)})",
            SUMMARY_COLUMNS,
            tuple(rows),
            small=True,
            assumed=trt_marks,
        )
    )
    srows = records(v.summary_rows()[v.summary_rows()["srv"] == srv])
    present_regions = [r for r in v.regions() if v.summary(bp, srv, r)["submitted"]]
    blocks.append(
        charts.make(
            f"rtt-{key}",
            "Round trip time against the TRT, by region",
            "Blue: from the median (dot) through the 90th (tick) to the 95th percentile (triangle) of "
            f"successful requests' round trip times; red: the Target Response Time{fmt.mark(trt_marks)}"
            + (" (none where it varies by device type)." if trt is None else "."),
            charts.rtt(srows, "region", present_regions, sel),
            trt_marks,
        )
    )
    blocks.append(
        charts.make(
            f"region-{key}",
            "Success by region",
            _spread_caption(v, bp, srv, "region", present_regions),
            charts.breakdown(srows, "region", present_regions, sel),
        )
    )
    devices = v.device_types_of(srv)
    if devices:
        drows = []
        for d in devices:
            r = v.summary(bp, srv, ALL, d)
            drows.append(
                (
                    Cell(fmt.device_type_name(d)),
                    Cell(fmt.count(r["submitted"])),
                    Cell(fmt.count(r["failed"])),
                    Cell(fmt.percent(r["success_percent"])),
                    Cell(fmt.percent(r["within_trt_percent"]), assumed=v.assumed.of_srv(srv, d)),
                    Cell(fmt.seconds(r["trt_s"]), assumed=v.assumed.of_trt(srv, d)),
                    Cell(fmt.seconds(r["rtt_p50_s"])),
                    Cell(fmt.seconds(r["rtt_p95_s"])),
                )
            )
        dcols = (
            Column("Device type", "left", "1fr"),
            Column("Requests"),
            Column("Failed"),
            Column("Success %"),
            Column("Within TRT %"),
            Column("TRT s"),
            Column("p50 s"),
            Column("p95 s"),
        )
        blocks.append(Table(f"devices-{key}", "By device type", dcols, tuple(drows), small=True))
        if len(devices) > 1:
            blocks.append(
                charts.make(
                    f"device-{key}",
                    "Success by device type",
                    _spread_caption(v, bp, srv, "device_type", devices),
                    charts.breakdown(srows, "device_type", devices, sel),
                )
            )
    party = v.r["srv_party"]
    # The chart reads the SRV's all-regions, all-device-types rows: ship only those.
    prow = records(
        party[(party["srv"] == srv) & (party["region"] == ALL) & (party["device_type"] == ALL)]
    )
    if prow:
        blocks.append(
            charts.make(
                f"parties-{key}",
                "Anonymised SEC Parties: how each moves the whole",
                party_caption(v, bp, srv),
                charts.parties(prow, sel),
            )
        )
    return Section(title, tuple(blocks), anchor=f"srv-{key}", page_note=RTT_PAGE_NOTE)


def trt_words(v: View, srv: str, trt: float | None, assumed: tuple[Assumption, ...]) -> str:
    """The Target Response Time an SRV's within-TRT share is measured against, in words, marked
    when assumed: "the 30 s† Target Response Time", or each rule's value when several apply
    ("the Target Response Time†, which varies by device type (on-demand, GSME: 60 s; ...)")."""
    mark = fmt.mark(assumed)
    keys = v.assumed.trt_keys(srv)
    rules = [r for r in v.catalog.trt if f"trt.{r.id}" in keys]
    if trt is not None and len(rules) <= 1:
        return f"the {fmt.seconds_text(trt)}{mark} Target Response Time"
    parts = []
    for r in rules:
        scope = [EXECUTION_WORDS.get(r.execution, r.execution)]
        if r.device_type is not None:
            scope.append(r.device_type)
        if r.command_variant is not None:
            scope.append(f"Command Variant {r.command_variant}")
        after = " after the execution time" if r.clock_start == "execution" else ""
        parts.append(f"{', '.join(scope)}: {fmt.seconds_text(r.seconds)}{after}")
    varies = ", which varies by device type" if trt is None else ""
    listed = f" ({'; '.join(parts)})" if parts else ""
    return f"the Target Response Time{mark}{varies}{listed}"


def _spread_caption(v: View, bp: str, srv: str, dim: str, values: list[str]) -> str:
    tot = v.summary(bp, srv)
    got = []
    for x in values:
        r = v.summary(bp, srv, x, ALL) if dim == "region" else v.summary(bp, srv, ALL, x)
        if num(r["success_percent"]) is not None:
            got.append((float(r["success_percent"]), x, int(r["succeeded"]) + int(r["failed"])))
    if len(got) < 2:
        return "Dashed line: the SRV's overall success rate."
    low, high = min(got), max(got)
    word = "region" if dim == "region" else "device type"
    return (
        f"Dashed line: the SRV's overall {fmt.percent(tot['success_percent'])} %. Lowest {word}: {low[1]} at "
        f"{fmt.percent(low[0])} %; highest: {high[1]} at {fmt.percent(high[0])} % "
        f"(a spread of {high[0] - low[0]:.2f} points)."
    )
