"""The summary paper for the Operations Group: the standing metrics, then what to discuss.

A few pages: an overview of every standing business process (Alerts from CPM3, as it has no
SRVs) with graphs, then the ad-hoc items `adhoc.select` picks, each with its graph and one
sentence saying what it shows.
"""

from __future__ import annotations

from typing import Any

from opmetrics.contract.schema import ALL
from opmetrics.reports import adhoc, alerts_section, charts, fmt, measure_charts, overview_charts
from opmetrics.reports import review as reviewed
from opmetrics.reports.common import (
    RTT_PAGE_NOTE,
    PackContext,
    clocks_paragraph,
    cover,
    cpm_records,
    cpm_value_cell,
    finished,
    headline,
    not_reportable_paragraphs,
    status_cell,
)
from opmetrics.reports.fmt import num
from opmetrics.reports.process_pack import records
from opmetrics.reports.spec import (
    Assumption,
    Block,
    Cell,
    Chart,
    Column,
    Heading,
    Paragraph,
    Report,
    Section,
    Table,
)

TITLE = "Summary paper for the Operations Group"


def standing_rows(ctx: PackContext) -> list[dict[str, Any]]:
    """One row per standing process: requests, success, within TRT, CPM6A (Alerts: CPM3)."""
    v = ctx.view
    cpm = cpm_records(v)
    out = []
    for bp in v.catalog.business_processes.values():
        if not bp.standing:
            continue
        if bp.reported_from == "alerts":
            c3 = next((r for r in cpm if r["cpm"] == "CPM3"), None)
            out.append({
                "business_process": bp.id, "name": f"{bp.name} (CPM3)", "submitted": num(c3["denominator"]) if c3 else None,
                "success_percent": None, "within_trt_percent": c3["value_percent"] if c3 else None,
                "measure": c3, "label": (f"{fmt.percent(c3['value_percent'])} % delivered within TRT" if c3 and c3["value_percent"] is not None else "not measured"),
            })  # fmt: skip
            continue
        s = v.summary(bp.id, ALL)
        c6a = next(
            (
                r
                for r in cpm
                if r["cpm"] == "CPM6A"
                and r.get("business_process") == bp.id
                and r.get("region") == ALL
            ),
            None,
        )
        out.append({
            "business_process": bp.id, "name": bp.name, "submitted": s["submitted"],
            "success_percent": s["success_percent"], "within_trt_percent": s["within_trt_percent"], "measure": c6a,
            "label": f"{fmt.percent(s['success_percent'])} % success · {fmt.percent(s['within_trt_percent'])} % in TRT",
        })  # fmt: skip
    return out


def build(ctx: PackContext) -> Report:
    v = ctx.view
    rows = standing_rows(ctx)
    blocks: list[Block] = [*not_reportable_paragraphs(ctx)]
    trows = []
    within: dict[str, Assumption] = {}
    for r in rows:
        m = r["measure"]
        bp = str(r["business_process"])
        if v.catalog.business_processes[bp].reported_from == "alerts":
            marks = v.assumed.of_cpm(m) if m else v.assumed.of_alerts()
        else:
            marks = v.assumed.of_process(bp)
        within.update((a.key, a) for a in marks)
        trows.append(
            (
                Cell(r["name"], bold=True),
                Cell(fmt.count(r["submitted"])),
                Cell(fmt.percent(r["success_percent"])),
                Cell(fmt.percent(r["within_trt_percent"]), assumed=marks),
                Cell(str(m["cpm"]) if m else fmt.DASH),
                cpm_value_cell(m, v) if m else Cell(fmt.DASH),
                status_cell(m["status"]) if m else Cell(fmt.DASH),
            )
        )
    cols = (
        Column("Business process", "left", "1fr"),
        Column("Requests / alerts"),
        Column("Success %"),
        Column("Within TRT %"),
        Column("Measure", "left"),
        Column("Value %"),
        Column("Status", "left"),
    )
    blocks.append(
        Table(
            "standing",
            "Standing business processes",
            cols,
            tuple(trows),
            note="Within TRT: successful requests (Alerts: alerts delivered) within the Target Response Time. "
            "Measure: the process's CPM6A (all regions); Alerts are measured by CPM3.",
        )
    )
    blocks.append(clocks_paragraph())
    order = [r["name"] for r in rows]
    marked = tuple(within.values())
    blocks.append(
        charts.make(
            "standing",
            "Standing business processes",
            "Blue dots: share of requests that succeeded; orange diamonds: share that succeeded within "
            f"the Target Response Time{fmt.mark(marked)} (Alerts: delivered within it).",
            overview_charts.standing(rows, order, charts.Sel()),
            marked,
        )
    )
    blocks += [t for t in [reviewed.commentary_table(ctx, "processes")] if t]
    daily = v.r["srv_daily"]
    names = {bp: v.bp_name(bp) for bp in set(daily["business_process"])}
    standing_ids = {r["business_process"] for r in rows}
    drows = records(
        daily[daily["business_process"].isin(standing_ids)].assign(
            name=lambda d: d["business_process"].map(names)
        )
    )
    if drows:
        blocks.append(
            charts.make(
                "standing-daily",
                "Daily success by business process",
                "Each line is one process's share of requests that succeeded each day, all regions.",
                overview_charts.daily_by_process(
                    drows, [n for n in order if n in names.values()], charts.Sel()
                ),
            )
        )
    heads = headline(v)
    head_marks = v.assumed.of_cpms(heads)
    blocks.append(
        charts.make(
            "cpm-headline",
            "Code Performance Measures",
            "Each dot is a measure's value, coloured by status; black tick: target; red tick: minimum."
            + fmt.see_note(head_marks),
            measure_charts.cpm_dots(heads, [h["row_label"] for h in heads], charts.Sel()),
            head_marks,
        )
    )
    alerts = alerts_section.section(ctx)  # the Alerts metric split into AD1 and device alerts
    blocks += [t for t in [reviewed.commentary_table(ctx, "cpms")] if t]
    sections = [
        Section("Standing metrics", tuple(blocks), anchor="standing", page_note=RTT_PAGE_NOTE),
        *([alerts] if alerts else []),
        _adhoc(ctx),
        *[s for s in [reviewed.actions_section(ctx)] if s],
    ]
    front = reviewed.paper_cover(ctx, cover(ctx, TITLE))
    return finished(Report("summary", TITLE, front, tuple(sections)), ctx)


def _adhoc(ctx: PackContext) -> Section:
    items = reviewed.reviewed(ctx, adhoc.select(ctx))
    blocks: list[Block] = []
    if not items and not reviewed.added_blocks(ctx, 1):
        blocks.append(
            Paragraph(
                f"Nothing stood out in {ctx.month_title}: every measure met its target and no region or SRV was out of line.",
                "good",
            )
        )
    else:
        intro = "Chosen automatically: measures below target, regions and SRVs out of line with their peers"
        intro += ", the largest moves since last month" if ctx.history else ""
        intro += " and the findings of the diagnosis, most requests affected first."
        intro += reviewed.adhoc_note(ctx)
        blocks.append(Paragraph(intro, "note"))
    for n, item in enumerate(items, start=1):
        blocks.append(Heading(f"{n}. {item.title}", 2))
        if item.chart is None:
            blocks.append(Paragraph(item.sentence, assumed=item.assumed))
        else:  # the sentence is the chart's caption, so the two never part across a page
            c = item.chart
            blocks.append(Chart(c.key, c.title, item.sentence, c.vega_lite, item.assumed))
        blocks += reviewed.finding_comment(ctx, item)
    blocks += reviewed.added_blocks(ctx, len(items) + 1)
    return Section("Items for discussion", tuple(blocks), anchor="adhoc")
