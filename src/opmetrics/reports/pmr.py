"""The Performance Measurement Report: every CPM against its Target and Minimum Service Level.

Regulator-facing, so a measure that cannot be reported is shouted (a red banner on the cover and
above the table, `NOT REPORTABLE` in the row) rather than left blank: the regulator scores an
unreported month as zero.
"""

from __future__ import annotations

from typing import Any

from opmetrics.contract.schema import ALL
from opmetrics.reports import charts, fmt, measure_charts
from opmetrics.reports.common import (
    CPM_COLUMNS,
    RTT_PAGE_NOTE,
    PackContext,
    clocks_paragraph,
    cover,
    cpm_records,
    cpm_table_rows,
    cpm_value_cell,
    finished,
    headline,
    headline_table_rows,
    not_reportable_paragraphs,
    scope_of,
    value_cell,
)
from opmetrics.reports.data import View
from opmetrics.reports.spec import Block, Cell, Column, Paragraph, Report, Section, Table

TITLE = "Performance Measurement Report"
BANDS = ("core", "other")


def build(ctx: PackContext) -> Report:
    sections = [
        _measures(ctx),
        _cpm6(ctx),
        _cpm6a(ctx),
        _trends(ctx),
        _about(ctx),
    ]
    report = Report(
        key="pmr", title=TITLE, cover=cover(ctx, TITLE), sections=tuple(sections), srvs=()
    )
    return finished(report, ctx)


def _measures(ctx: PackContext) -> Section:
    v = ctx.view
    heads = headline(v)
    blocks: list[Block] = [*not_reportable_paragraphs(ctx)]
    blocks.extend(shortfall_paragraphs(ctx))
    order = [h["row_label"] for h in heads]
    assumed = v.assumed.of_cpms(heads)
    blocks.append(
        charts.make(
            "cpm-headline",
            "Headline measures against target and minimum",
            "Each dot is a measure's value for the month, coloured by status; the black tick is its "
            "target and the red tick its Minimum Service Level. CPM6 and CPM6A add up all their rows."
            + fmt.marked_in(assumed, "Measures", "the table"),
            measure_charts.cpm_dots(heads, order, charts.Sel()),
            assumed,
        )
    )
    blocks.append(
        Table(
            "cpm-headline-table",
            "Headline measures",
            CPM_COLUMNS,
            headline_table_rows(heads, v),
            note="Values are cut (not rounded) to two decimals. CPM6 numerators and denominators are minutes.",
        )
    )
    blocks.append(clocks_paragraph())
    rows = [r for r in cpm_records(v) if r["cpm"] not in ("CPM6", "CPM6A")]
    blocks.append(
        Table(
            "cpm-all",
            "Every measure by dimension (CPM6 and CPM6A follow)",
            CPM_COLUMNS,
            cpm_table_rows(rows, v),
            small=True,
        )
    )
    return Section("Code Performance Measures", tuple(blocks), anchor="measures")


def shortfall_paragraphs(ctx: PackContext) -> list[Paragraph]:
    """Which rows (any dimension) are below minimum or below target, in words."""
    v = ctx.view
    recs = cpm_records(v)
    out = []
    for status, words in (
        ("below_minimum", "Below the Minimum Service Level"),
        ("below_target", "Below target"),
    ):
        rows = [r for r in recs if r["status"] == status]
        if not rows:
            continue
        parts: list[str] = []
        for cpm in dict.fromkeys(str(r["cpm"]) for r in rows):
            mine = [r for r in rows if r["cpm"] == cpm]
            total = sum(1 for r in recs if r["cpm"] == cpm)
            if len(mine) <= 2:
                parts.extend(
                    f"{cpm} {scope_of(r, v)} ({cpm_value_cell(r, v).text} %"
                    f"{fmt.mark(v.assumed.of_cpm(r))})"
                    for r in mine
                )
            else:
                parts.append(
                    f"{cpm}{fmt.mark(v.assumed.of_cpms(mine))} in {len(mine)} of its {total} rows"
                )
        out.append(
            Paragraph(
                f"{words} in {ctx.month_title}: {'; '.join(parts)}.",
                "alert",
                v.assumed.of_cpms(rows),
            )
        )
    if not out and not ctx.not_reportable():
        out.append(Paragraph(f"Every measure met its target in {ctx.month_title}.", "good"))
    return out


def _definitions(v: View) -> Table:
    rows = []
    for c in v.catalog.cpm:
        rows.append(
            (
                Cell(c.id, bold=True),
                Cell(c.name),
                Cell(fmt.target(c.target_percent)),
                Cell(fmt.target(c.minimum_percent)),
            )
        )
    return Table(
        "cpm-definitions",
        "The measures",
        (
            Column("Measure", "left"),
            Column("Definition", "left", "1fr"),
            Column("Target %"),
            Column("Min. %"),
        ),
        tuple(rows),
        small=True,
    )


def cpm6_columns(v: View) -> list[tuple[str, str]]:
    return [(r, b) for r in v.regions() for b in BANDS]


def cpm6_rows(v: View) -> list[dict[str, Any]]:
    return [r for r in cpm_records(v) if r["cpm"] == "CPM6"]


def _cpm6(ctx: PackContext) -> Section:
    v = ctx.view
    rows = cpm6_rows(v)
    blocks: list[Block] = [*not_reportable_paragraphs(ctx, only=("CPM6",))]
    if not rows:
        blocks.append(Paragraph("The results hold no CPM6 rows for this month.", "alert"))
        return Section("CPM6: DCC Interface availability", tuple(blocks), anchor="cpm6")
    blocks.append(
        Paragraph(
            "Minutes available over the Target Availability Period (the band's minutes less planned "
            "maintenance), per interface, region and time band. Core hours are Monday to Friday "
            "08:00-20:00 and Saturday 08:00-12:00 UK time; other hours are every other minute."
        )
    )
    cols = cpm6_columns(v)
    by = {(r["interface"], r["region"], r["time_band"]): r for r in rows}
    interfaces = list(dict.fromkeys(str(r["interface"]) for r in rows))
    table_rows = []
    for i in interfaces:
        # every figure of the row rests on the interface being one CPM6 measures: marked once
        cells = [Cell(i, assumed=v.assumed.of_cpms(r for r in rows if r["interface"] == i))]
        for reg, band in cols:
            r = by.get((i, reg, band))
            cells.append(value_cell(r["value_percent"], r["status"], r) if r else Cell(fmt.DASH))
        table_rows.append(tuple(cells))
    columns = (
        Column("Interface", "left", "1fr"),
        *(Column(b, "right", "auto", group=r) for r, b in cols),
    )
    marked = v.assumed.of_cpms(rows)
    note = "Cells are coloured by status against the 99.5 % target and 98 % minimum; n/r: not reportable."
    if marked:
        note += f" {fmt.MARK} beside an interface: every figure of its row rests on assumed values."
    blocks.append(
        Table(
            "cpm6-grid",
            "Availability % by interface, region and band",
            columns,
            tuple(table_rows),
            small=True,
            note=note,
            assumed=marked,
        )
    )
    short = [r for r in rows if r["status"] in ("below_target", "below_minimum")]
    if short:
        blocks.append(
            Table(
                "cpm6-short",
                "Interfaces below target: minutes",
                CPM_COLUMNS,
                cpm_table_rows(short, v),
                small=True,
            )
        )
    return Section("CPM6: DCC Interface availability", tuple(blocks), anchor="cpm6")


def cpm6a_matrix(v: View) -> Table:
    rows = [r for r in cpm_records(v) if r["cpm"] == "CPM6A"]
    regions = [ALL, *v.regions()] if any(r.get("region") == ALL for r in rows) else v.regions()
    by = {(r["business_process"], r["region"]): r for r in rows}
    bps = list(dict.fromkeys(str(r["business_process"]) for r in rows))
    out = []
    for bp in bps:
        # every figure of the row rests on the process's TRTs and SRVs: marked once, on its name
        mine = [r for r in rows if r["business_process"] == bp]
        cells = [Cell(v.bp_name(bp), assumed=v.assumed.of_cpms(mine))]
        for reg in regions:
            r = by.get((bp, reg))
            cells.append(value_cell(r["value_percent"], r["status"], r) if r else Cell(fmt.DASH))
        out.append(tuple(cells))
    columns = (
        Column("Business process", "left", "1fr"),
        *(Column("All" if r == ALL else r) for r in regions),
    )
    marked = any(c.assumed for row in out for c in row)
    note = "Successful requests within the TRT over non-excluded requests; coloured by status."
    if marked:
        note += f" {fmt.MARK} beside a process: every figure of its row rests on assumed values."
    return Table("cpm6a-matrix", "CPM6A % by business process and region", columns, tuple(out),
                 note=note, assumed=v.assumed.of_cpms(rows) if marked else ())  # fmt: skip


def _cpm6a(ctx: PackContext) -> Section:
    blocks: list[Block] = [*not_reportable_paragraphs(ctx, only=("CPM6A",))]
    blocks.append(cpm6a_matrix(ctx.view))
    blocks.append(clocks_paragraph())
    blocks.append(
        Paragraph(
            "The CPM6A Performance Indicator report gives each process's SRVs and what drives the measure.",
            "note",
        )
    )
    return Section(
        "CPM6A: business processes within Target Response Time",
        tuple(blocks),
        anchor="cpm6a",
        new_page=False,
        page_note=RTT_PAGE_NOTE,
    )


def trend_rows(ctx: PackContext) -> list[dict[str, Any]]:
    """Headline values of every month given (earlier months first, this month last)."""
    out = []
    for view in (*ctx.history, ctx.view):
        for h in headline(view):
            if h["value_percent"] is None:
                continue
            out.append({"month": str(view.month), "series": h["row_label"], "value_percent": h["value_percent"],
                        "target_percent": h["target_percent"], "minimum_percent": h["minimum_percent"]})  # fmt: skip
    return out


def _trends(ctx: PackContext) -> Section:
    if not ctx.history:
        return Section(
            "Month-on-month trends",
            (
                Paragraph(
                    "No earlier months' results were given (--history), so no trends are shown.",
                    "note",
                ),
            ),
            anchor="trends",
            new_page=False,
        )
    rows = trend_rows(ctx)
    order = [h["row_label"] for h in headline(ctx.view)]
    marks = {
        (h["row_label"], str(view.month)): view.assumed.of_cpm(h)
        for view in (*ctx.history, ctx.view)
        for h in headline(view)
    }
    every = tuple({a.key: a for found in marks.values() for a in found}.values())
    blocks: list[Block] = [
        charts.make(
            "cpm-trends",
            "Headline measures month by month",
            "Blue: the measure's value; dashed black: target; dotted red: minimum. Months without a value "
            "(not reportable or no activity) are left out."
            + fmt.marked_in(every, "Values", "the table"),
            measure_charts.trend(rows, order, charts.Sel()),
            every,
        )
    ]
    months = [str(v.month) for v in (*ctx.history, ctx.view)]
    by = {(r["series"], r["month"]): r["value_percent"] for r in rows}
    prev = months[-2]
    trow = []
    for s in order:
        cells = [
            Cell(s, bold=True),
            *(
                Cell(
                    fmt.percent(by.get((s, m))),
                    assumed=marks.get((s, m), ()) if by.get((s, m)) is not None else (),
                )
                for m in months
            ),
        ]
        a, b = by.get((s, prev)), by.get((s, months[-1]))
        cells.append(Cell(fmt.points(None if a is None or b is None else b - a)))
        trow.append(tuple(cells))
    cols = (
        Column("Measure", "left", "1fr"),
        *(Column(m) for m in months),
        Column("Change (points)"),
    )
    blocks.append(
        Table(
            "cpm-trend-table", "Headline values by month", cols, tuple(trow), small=len(months) > 6
        )
    )
    return Section("Month-on-month trends", tuple(blocks), anchor="trends")


def _about(ctx: PackContext) -> Section:
    v = ctx.view
    m = v.r.manifest
    statuses = (
        "Met: value at or above target. Below target: at or above the minimum but under target. "
        "Below minimum: under the Minimum Service Level. No activity: nothing to measure (denominator 0). "
        "Not reportable: the inputs needed are missing or incomplete, so no value is given."
    )
    blocks: list[Block] = [Paragraph(statuses), _definitions(v), *assumed_blocks(v)]
    if m.service_requests_note:
        blocks.append(Paragraph(f"Service requests: {m.service_requests_note}.", "alert"))
    if m.warnings:
        blocks.append(
            Paragraph(
                "Warnings recorded when the results were computed: " + "; ".join(m.warnings),
                "note",
            )
        )
    return Section("About these figures", tuple(blocks), anchor="about", new_page=False)


def assumed_blocks(v: View) -> list[Block]:
    """Every assumed value behind the month's figures, what it decides and how to override it."""
    listed = v.assumed.values()
    if not listed:
        return [
            Paragraph(
                "No figure of this month rests on an assumed value: every reference value used "
                "is confirmed."
            )
        ]
    rows = tuple(
        (
            Cell(x.text),
            Cell(", ".join(x.used_by) or fmt.DASH),
            Cell(x.key),
        )
        for x in listed
    )
    return [
        Paragraph(
            "These reference values are assumed, not confirmed from a public source: the figures "
            f"resting on them are marked {fmt.MARK}. To override: {v.assumed.override}."
        ),
        Table(
            "assumed-values",
            "Assumed values",
            (
                Column("Value", "left", "2fr"),
                Column("Decides", "left", "1fr"),
                Column("Catalog key", "left", "1.3fr"),
            ),
            rows,
            small=True,
        ),
    ]


__all__ = ["assumed_blocks", "build", "cpm6_rows", "cpm6a_matrix", "trend_rows"]
