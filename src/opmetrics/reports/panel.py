"""The Panel summary: the month's outcome for the SEC Panel sub-committee, in one or two pages.

SECAS reports the outcome of each OPSG review to the SEC Panel. This pack says it in plain
English: how every Code Performance Measure stood (with the assumed-value mark where an assumed
value decides a figure, as the other packs do), the key concerns (the reviewed ad-hoc list, with
the reviewers' commentary) and the actions with their state. It is written as a PDF and as
Markdown (`to_markdown`), which pastes into the sub-committee's own report.
"""

from __future__ import annotations

from dataclasses import replace

from opmetrics.reports import adhoc, fmt
from opmetrics.reports import review as rv
from opmetrics.reports.common import PackContext, cover, cpm_value_cell, finished, headline
from opmetrics.reports.spec import (
    STATUS_LABELS,
    Block,
    Cell,
    Chart,
    Column,
    Footnote,
    Heading,
    PageBreak,
    Paragraph,
    Report,
    Section,
    Table,
)
from opmetrics.review.model import Action, Review

TITLE = "Panel summary"
MAX_CONCERNS = 5
COVER_FACTS = ("OPSG meeting", "Review", "Assumed values")  # the rest is in the other packs
ACTION_COLUMNS = (
    Column("Action", "left"),
    Column("Owner", "left"),
    Column("Due", "left"),
    Column("State", "left"),
    Column("Request", "left", "1fr"),
    Column("Response", "left", "1fr"),
)


def build(ctx: PackContext) -> Report:
    v = ctx.view
    r = ctx.review
    heads = headline(v)
    met = sum(1 for h in heads if h["status"] == "met")
    short = [str(h["row_label"]) for h in heads if h["status"] in ("below_target", "below_minimum")]
    nr = [str(h["row_label"]) for h in heads if h["status"] == "not_reportable"]
    when = (
        f"as reviewed by SECAS and the DCC for the OPSG meeting of {fmt.long_date(r.opsg_meeting)}"
        if r is not None
        else "before review by SECAS and the DCC"
    )
    intro = f"The Operational Metrics for {ctx.month_title}, {when}. {met} of {len(heads)} Code Performance Measures met their target"
    intro += f"; below target: {', '.join(short)}" if short else ""
    intro += f"; not reportable: {', '.join(nr)}" if nr else ""
    blocks: list[Block] = [Paragraph(intro + ".")]
    with_comments = r is not None and any(r.commentary.of_metric(rv.metric_id(h)) for h in heads)
    cols = [
        Column("Measure", "left"),
        Column("Value %"),
        Column("Target %"),
        Column("Min. %"),
        Column("Status", "left"),
    ]
    if with_comments:
        cols.append(Column("Reviewers' commentary", "left", "1fr"))
    rows = []
    for h in heads:
        status = str(h["status"])
        row = [
            Cell(str(h["row_label"]), bold=True),
            cpm_value_cell(h, v),
            Cell(fmt.target(h["target_percent"])),
            Cell(fmt.target(h["minimum_percent"])),
            Cell(STATUS_LABELS.get(status, status), status),
        ]
        if with_comments and r is not None:
            row.append(Cell(r.commentary.of_metric(rv.metric_id(h)) or fmt.DASH))
        rows.append(tuple(row))
    blocks.append(
        Table("panel-cpm", "Code Performance Measures", tuple(cols), tuple(rows), small=True)
    )
    blocks += _concerns(ctx)
    blocks.append(Heading("Actions", 2))
    if r is None:
        blocks.append(
            Paragraph("No review file was given: the OPSG's actions are not shown.", "note")
        )
    else:
        blocks.append(Paragraph(f"Actions raised by the OPSG: {rv.actions_counts(r)}."))
        if r.actions:
            blocks.append(_actions(r))
    section = Section(f"Outcome for {ctx.month_title}", tuple(blocks), anchor="outcome")
    front = rv.paper_cover(ctx, cover(ctx, TITLE))
    front = replace(front, facts=tuple(f for f in front.facts if f[0] in COVER_FACTS))
    return finished(Report("panel", TITLE, front, (section,)), ctx)


def _actions(r: Review) -> Table:
    """Every action in one table, open first, then answered, then closed."""
    order = {status: n for n, (status, _) in enumerate(rv.GROUPS)}
    names = dict(rv.GROUPS)
    rows = tuple(
        (
            Cell(a.id, bold=True),
            Cell(a.owner),
            Cell(f"{a.due:%d %b %Y}"),
            _state(a, r, names[a.status]),
            Cell(a.request),
            Cell(a.response or fmt.DASH),
        )
        for a in sorted(r.actions, key=lambda a: order[a.status])
    )
    return Table("panel-actions", "", ACTION_COLUMNS, rows, small=True)


def _state(a: Action, r: Review, name: str) -> Cell:
    if a.status == "open" and a.due < r.opsg_meeting:
        return Cell(f"{name}, overdue", "below_target")
    return Cell(name, "met" if a.status == "closed" else None)


def _concerns(ctx: PackContext) -> list[Block]:
    items = rv.reviewed(ctx, adhoc.select(ctx))
    added = ctx.review.adhoc.add if ctx.review is not None else ()
    out: list[Block] = [Heading("Key concerns", 2)]
    if not items and not added:
        out.append(Paragraph("Nothing stood out this month.", "good"))
    for item in items[:MAX_CONCERNS]:
        out.append(Paragraph(f"{item.title}. {item.sentence}", assumed=item.assumed))
        out += rv.finding_comment(ctx, item)
    for extra in added:
        out.append(Paragraph(f"{extra.title}. {extra.text}"))
    if len(items) > MAX_CONCERNS:
        more = len(items) - MAX_CONCERNS
        out.append(
            Paragraph(
                f"{more} further item{'s' if more != 1 else ''} in the OPSG summary paper.", "note"
            )
        )
    return out


# -- Markdown ---------------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cell(c: Cell) -> str:
    return _md(c.text + (fmt.MARK if c.assumed else ""))


def to_markdown(report: Report, watermark: str = "") -> str:
    """The report as Markdown: title, dates, then each section's headings, text and tables."""
    c = report.cover
    out = [f"# {report.title}: {c.month_title}", ""]
    if watermark:
        out += [f"**{watermark}**", ""]
    out += [f"- Date: {fmt.long_date(c.produced_on)}"]
    out += [
        f"- {label}: {value}" for label, value in c.facts if label in ("OPSG meeting", "Review")
    ]
    out += [f"- {a}" for a in c.alerts]
    for s in report.sections:
        out += ["", f"## {s.title}"]
        for b in s.blocks:
            out += ["", *_block(b)]
    return "\n".join(out).rstrip() + "\n"


def _block(b: Block) -> list[str]:
    if isinstance(b, Heading):
        return [f"{'#' * min(6, b.level + 1)} {b.text}"]
    if isinstance(b, Paragraph):
        return [f"*{b.text}*" if b.tone == "note" else b.text]
    if isinstance(b, Footnote):
        return [f"<sub>{b.text}</sub>"]
    if isinstance(b, Table):
        head = [f"**{b.title}**", ""] if b.title else []
        rows = [
            "| " + " | ".join(_md(col.label) for col in b.columns) + " |",
            "|" + "|".join("---:" if col.align == "right" else "---" for col in b.columns) + "|",
        ]
        rows += ["| " + " | ".join(_cell(x) for x in row) + " |" for row in b.rows]
        return head + rows + (["", f"*{b.note}*"] if b.note else [])
    if isinstance(b, Chart):
        return [f"*{b.title}*: {b.caption}"]
    if isinstance(b, PageBreak):
        return []
    raise TypeError(f"unknown block {type(b).__name__}")
