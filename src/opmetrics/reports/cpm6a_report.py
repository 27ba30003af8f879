"""The Performance Indicator report for CPM6A: business process requests within the TRT.

CPM6A adds up the SRVs of each business process (successful requests within the TRT over
non-excluded requests) per region, so besides the measure itself this report shows which SRVs
the misses come from: the figure a process owner can act on.
"""

from __future__ import annotations

from typing import Any

from opmetrics.contract.schema import ALL
from opmetrics.reports import charts, fmt, measure_charts
from opmetrics.reports.common import (
    RTT_PAGE_NOTE,
    PackContext,
    clocks_paragraph,
    cover,
    cpm_records,
    cpm_value_cell,
    finished,
    not_reportable_paragraphs,
    status_cell,
)
from opmetrics.reports.fmt import num
from opmetrics.reports.pmr import cpm6a_matrix
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

TITLE = "Performance Indicator report: CPM6A"


def rows_of(ctx: PackContext) -> list[dict[str, Any]]:
    return [r for r in cpm_records(ctx.view) if r["cpm"] == "CPM6A"]


def build(ctx: PackContext) -> Report:
    v = ctx.view
    rows = rows_of(ctx)
    assumed = v.assumed.of_cpms(rows)
    intro: list[Block] = [
        *not_reportable_paragraphs(ctx, only=("CPM6A",)),
        Paragraph(
            "CPM6A measures, for each business process, the share of its service requests that "
            f"succeeded within the Target Response Time{fmt.mark(assumed)}, over all requests not "
            "excluded as caused outside the DCC's control. SMETS2 requests report by Communications "
            "Service Provider region; SMETS1 requests as one region. The Alerts process is reported "
            "from the alerts (CPM3), not here.",
            assumed=assumed,
        ),
        clocks_paragraph(),
    ]
    if not rows:
        intro.append(Paragraph("The results hold no CPM6A rows for this month.", "alert"))
        only = Section("CPM6A", tuple(intro), page_note=RTT_PAGE_NOTE)
        return finished(Report("cpm6a", TITLE, cover(ctx, TITLE), (only,)), ctx)
    intro.append(cpm6a_matrix(v))
    heads = [r for r in rows if r.get("region") == ALL] or rows
    labelled = [{**r, "row_label": v.bp_name(str(r["business_process"]))} for r in heads]
    order = list(dict.fromkeys(x["row_label"] for x in labelled))
    intro.append(
        charts.make(
            "cpm6a-processes",
            "CPM6A by business process (all regions)",
            "Dots: each process's CPM6A, coloured by status; black tick: target; red tick: minimum."
            + fmt.marked_in(assumed, "Values", "the tables"),
            measure_charts.cpm_dots(labelled, order, charts.Sel()),
            assumed,
        )
    )
    detail = []
    for r in rows:
        detail.append(
            (
                Cell(v.bp_name(str(r["business_process"]))),
                Cell("All" if r["region"] == ALL else str(r["region"]), rollup=r["region"] == ALL),
                Cell(fmt.count(r["numerator"])),
                Cell(fmt.count(r["denominator"])),
                cpm_value_cell(r, v),
                status_cell(r["status"]),
            )
        )
    cols = (
        Column("Business process", "left", "1fr"),
        Column("Region", "left"),
        Column("Within TRT"),
        Column("Requests"),
        Column("CPM6A %"),
        Column("Status", "left"),
    )
    sections = [
        Section("CPM6A this month", tuple(intro), anchor="cpm6a", page_note=RTT_PAGE_NOTE),
        Section(
            "Numerators and denominators",
            (Table("cpm6a-detail", "", cols, tuple(detail), small=True),),
            anchor="detail",
            page_note=RTT_PAGE_NOTE,
        ),
        Section(
            "Where the misses come from",
            tuple(_drivers(ctx)),
            anchor="drivers",
            page_note=RTT_PAGE_NOTE,
        ),
    ]
    if ctx.history:
        sections.append(_trend(ctx))
    return finished(Report("cpm6a", TITLE, cover(ctx, TITLE), tuple(sections)), ctx)


def _drivers(ctx: PackContext) -> list[Block]:
    """Per process: each SRV's requests, within-TRT share and share of the process's misses."""
    v = ctx.view
    blocks: list[Block] = [
        Paragraph(
            "A miss is a non-excluded request that did not succeed within the TRT (a failure, or a "
            "success that took longer). The share of misses says which SRV to look at first."
        )
    ]
    for bp in v.packs():
        if not v.catalog.business_processes[bp].in_cpm6a:
            continue
        srvs = v.srvs_of(bp)
        stats = []
        for srv in srvs:
            r = v.summary(bp, srv)
            den = int(r["succeeded"]) + int(r["failed"])
            within = int(r["within_trt"])
            stats.append((srv, den, within, den - within, r))
        misses = sum(s[3] for s in stats)
        if not any(s[1] for s in stats):
            continue
        rows = []
        for srv, den, within, miss, r in stats:
            rows.append(
                (
                    Cell(srv, bold=True),
                    Cell(v.srv_name(srv)),
                    Cell(fmt.count(den)),
                    Cell(fmt.count(within)),
                    Cell(fmt.percent(r["within_trt_percent"]), assumed=v.assumed.of_srv(srv)),
                    Cell(fmt.count(miss)),
                    Cell(fmt.percent(100 * miss / misses if misses else None, 1)),
                )
            )
        cols = (
            Column("SRV", "left"),
            Column("Name", "left", "1fr"),
            Column("Requests"),
            Column("Within TRT"),
            Column("Within TRT %"),
            Column("Misses"),
            Column("Share of misses %"),
        )
        blocks.append(Table(f"drivers-{bp}", v.bp_name(bp), cols, tuple(rows), small=True))
    return blocks


def _trend(ctx: PackContext) -> Section:
    rows = []
    found: dict[str, Assumption] = {}
    for view in (*ctx.history, ctx.view):
        for r in cpm_records(view):
            if r["cpm"] != "CPM6A" or r.get("region") != ALL or num(r["value_percent"]) is None:
                continue
            found.update((a.key, a) for a in view.assumed.of_cpm(r))
            rows.append({"month": str(view.month), "series": view.bp_name(str(r["business_process"])),
                         "value_percent": r["value_percent"], "target_percent": r["target_percent"],
                         "minimum_percent": r["minimum_percent"]})  # fmt: skip
    order = list(dict.fromkeys(r["series"] for r in rows))
    assumed = tuple(found.values())
    chart = charts.make(
        "cpm6a-trend",
        "CPM6A month by month (all regions)",
        "Blue: the process's CPM6A; dashed black: target; dotted red: minimum."
        + fmt.see_note(assumed),
        measure_charts.trend(rows, order, charts.Sel()),
        assumed,
    )
    return Section("Month-on-month", (chart,), anchor="trend", page_note=RTT_PAGE_NOTE)
