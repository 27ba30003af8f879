"""The reviewers' part of the packs: commentary, the reviewed ad-hoc list and the actions log.

A review file (`opmetrics.review`) names what it comments on by stable ids: a standing metric by
its business process id (`install_commission`) or its CPM (`CPM1`, `CPM5-cat3` for one incident
category), a finding by its `finding_id`, an ad-hoc item by its `item_id`. This module lists
those ids for a month (what `review init` pre-fills), checks that every id a file gives names
something in the month, builds the starter file, and turns the file into report blocks: the
commentary beside the standing metrics, the ad-hoc list with items removed and added by hand,
and the actions log (open, answered, closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from opmetrics.catalog import Catalog
from opmetrics.errors import OutputError, ReviewFileError, UsageError
from opmetrics.reports import adhoc, fmt
from opmetrics.reports.common import PackContext, headline
from opmetrics.reports.process_pack import records
from opmetrics.reports.spec import (
    STATUS_LABELS,
    Block,
    Cell,
    Column,
    Cover,
    Heading,
    Paragraph,
    Section,
    Table,
)
from opmetrics.results.labels import party_mentions
from opmetrics.review.model import (
    Action,
    Review,
    check_month,
    free_text,
    key_text,
    line_of,
    load_review,
)
from opmetrics.review.write import Entry, Guide, review_text
from opmetrics.workdays import OPSG_PAPER_WORKING_DAYS, Lateness, opsg_paper_day

DRAFT = "DRAFT"


# -- what a month offers to comment on -----------------------------------------------------------


def metric_id(row: dict[str, Any]) -> str:
    """A headline CPM row's id: the CPM, with the incident category when it has one."""
    cat = row.get("incident_category")
    return f"{row['cpm']}-cat{cat}" if isinstance(cat, str) and cat else str(row["cpm"])


def metric_entries(ctx: PackContext) -> list[Entry]:
    """The standing metrics: each standing business process, then each headline CPM."""
    from opmetrics.reports.summary_paper import standing_rows  # it shows this module's blocks

    out = [
        Entry(str(r["business_process"]), str(r["name"]), str(r["label"]))
        for r in standing_rows(ctx)
    ]
    for h in headline(ctx.view):
        status = STATUS_LABELS.get(str(h["status"]), str(h["status"]))
        value = "" if h["value_percent"] is None else f"{fmt.percent(h['value_percent'])} %, "
        out.append(Entry(metric_id(h), str(h["row_label"]), f"{value}{status.lower()}"))
    return out


def finding_entries(ctx: PackContext) -> list[Entry]:
    """The month's findings: id, headline (or subject) and their plain text."""
    out = []
    for r in records(ctx.view.r["insights"]):
        kind = str(r.get("kind") or "finding").replace("_", " ").capitalize()
        head = str(r.get("headline") or "") or f"{kind} finding: {r.get('subject')}."
        action = str(r.get("recommended_action") or "")
        text = f"Recommended action: {action[:1].upper()}{action[1:]}." if action else ""
        out.append(Entry(adhoc.finding_id(r), head, text))
    return out


def adhoc_entries(ctx: PackContext) -> list[Entry]:
    """The ad-hoc items chosen automatically, as the summary paper lists them."""
    return [Entry(i.item_id, i.title) for i in adhoc.select(ctx)]


def _adhoc_ids(ctx: PackContext) -> set[str]:
    """Every item the ad-hoc list could hold this month (not only those within its limit)."""
    return {i.item_id for i in adhoc.select(ctx, limit=10_000, insight_slots=10_000)}


# -- the starter file and carrying actions forward ------------------------------------------------


def carry_forward(previous: Review) -> tuple[Action, ...]:
    """The previous review's actions that are not closed, each with a line of history saying
    where it stood then."""
    out = []
    for a in previous.actions:
        if not a.carried:
            continue
        note = f"{previous.month_obj.title} review (OPSG {fmt.long_date(previous.opsg_meeting)}): {a.status}"
        if a.response.strip():
            note += f"; response: {a.response.strip()}"
        out.append(a.model_copy(update={"history": (*a.history, note)}))
    return tuple(out)


def starter(
    ctx: PackContext, meeting: date, previous: Review | None = None
) -> tuple[Review, Guide]:
    """A review file for the month: empty commentary on every standing metric and finding, the
    automatic ad-hoc list, and the previous review's actions that are not closed."""
    month = ctx.view.month
    metrics = metric_entries(ctx)
    findings = finding_entries(ctx)
    review = Review(
        schema_version=1,
        month=str(month),
        status="draft",
        opsg_meeting=meeting,
        commentary={
            "metrics": {e.id: "" for e in metrics},
            "findings": {e.id: "" for e in findings},
        },  # type: ignore[arg-type]
        actions=carry_forward(previous) if previous is not None else (),
    )
    guide = Guide(
        month_title=month.title,
        paper_day=opsg_paper_day(meeting),
        metrics=tuple(metrics),
        findings=tuple(findings),
        adhoc=tuple(adhoc_entries(ctx)),
        carried_from=f"the review of {previous.month_obj.title}" if previous is not None else "",
    )
    return review, guide


# -- checking a file against the month -------------------------------------------------------------


def check(review: Review, path: str | Path, ctx: PackContext) -> None:
    """Refuse a review file for another month, one naming what the month does not hold, or one
    whose text names a party (the packs it goes into are shared)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")

    def fail(msg: str, loc: tuple[str | int, ...]) -> ReviewFileError:
        return ReviewFileError(msg, path=str(p), key=key_text(loc), line=line_of(text, loc))

    month = str(ctx.view.month)
    check_month(review, p, month)
    names = party_mentions(ctx.view.r.path)
    for loc, value in free_text(review):
        if names(value):
            raise fail(
                "names a party (its name, its id or part of it; not repeated here): the packs "
                "this text goes into are shared, so write the party's label (P-...) instead",
                loc,
            )
    metrics = {e.id for e in metric_entries(ctx)}
    for k in review.commentary.metrics:
        if k not in metrics:
            raise fail(
                f"no standing metric has this id in {month} (ids: {', '.join(sorted(metrics))})",
                ("commentary", "metrics", k),
            )
    findings = {e.id for e in finding_entries(ctx)}
    for k in review.commentary.findings:
        if k not in findings:
            raise fail(
                f"no finding of {month} has this id (was the month re-run with other data?)",
                ("commentary", "findings", k),
            )
    items = _adhoc_ids(ctx)
    for k in review.adhoc.remove:
        if k not in items:
            raise fail(f"{k!r} is not an ad-hoc item of {month}", ("adhoc", "remove"))


# -- dating the paper -------------------------------------------------------------------------------


def paper_cover(ctx: PackContext, c: Cover) -> Cover:
    """A cover dated for the paper day of the review's OPSG meeting (the summary paper and the
    Panel summary); late only if it was produced after that day."""
    r = ctx.review
    if r is None:
        return c
    day = opsg_paper_day(r.opsg_meeting)
    late = Lateness(day, ctx.produced_on)
    facts = (
        ("OPSG meeting", fmt.long_date(r.opsg_meeting)),
        ("Review", "final" if r.final else "draft: not yet agreed by SECAS and the DCC"),
        *c.facts,
    )
    return replace(
        c,
        produced_on=max(day, ctx.produced_on),
        due_on=day,
        late=late.late,
        lateness=late.text,
        facts=facts,
    )


def paper_due_rule(review: Review) -> str:
    return (
        f"the OPSG paper day, {OPSG_PAPER_WORKING_DAYS} Working Days before the meeting on "
        f"{fmt.long_date(review.opsg_meeting)}"
    )


def watermark(review: Review | None) -> str:
    """The summary paper and the Panel summary are drafts until a review file says final."""
    return "" if review is not None and review.final else DRAFT


# -- commentary -------------------------------------------------------------------------------------


COMMENT_COLUMNS = (
    Column("Metric", "left"),
    Column("This month", "left"),
    Column("Reviewers' commentary", "left", "1fr"),
)


def commentary_table(ctx: PackContext, which: str) -> Table | None:
    """The reviewers' commentary on the standing processes (`which="processes"`) or the CPMs
    (`"cpms"`), one row per metric commented on; None when there is none."""
    r = ctx.review
    if r is None:
        return None
    bps = {e.id for e in metric_entries(ctx) if not e.id.startswith("CPM")}
    rows = []
    for e in metric_entries(ctx):
        if (e.id in bps) != (which == "processes"):
            continue
        text = r.commentary.of_metric(e.id)
        if text:
            rows.append((Cell(e.name, bold=True), Cell(e.note), Cell(text)))
    if not rows:
        return None
    title = "Reviewers' commentary: " + (
        "standing processes" if which == "processes" else "Code Performance Measures"
    )
    return Table(f"commentary-{which}", title, COMMENT_COLUMNS, tuple(rows))


def finding_comment(ctx: PackContext, item: adhoc.Item) -> list[Block]:
    """The reviewers' words on an ad-hoc item that is a finding, as a paragraph after it."""
    if ctx.review is None or not item.item_id:
        return []
    text = ctx.review.commentary.of_finding(item.item_id)
    return [Paragraph(f"Reviewers' commentary: {text}", "good")] if text else []


# -- the reviewed ad-hoc list ----------------------------------------------------------------------


def reviewed(ctx: PackContext, items: Sequence[adhoc.Item]) -> list[adhoc.Item]:
    """The automatic items less those the review file removes."""
    if ctx.review is None:
        return list(items)
    gone = set(ctx.review.adhoc.remove)
    return [i for i in items if i.item_id not in gone]


def added_blocks(ctx: PackContext, first: int) -> list[Block]:
    """The items added by hand, numbered on from `first`."""
    if ctx.review is None:
        return []
    out: list[Block] = []
    for n, item in enumerate(ctx.review.adhoc.add, start=first):
        out += [
            Heading(f"{n}. {item.title}", 2),
            Paragraph(item.text),
            Paragraph("Added by the reviewers.", "note"),
        ]
    return out


def adhoc_note(ctx: PackContext) -> str:
    r = ctx.review
    if r is None:
        return ""
    removed, added = len(r.adhoc.remove), len(r.adhoc.add)
    return (
        f" Reviewed by SECAS and the DCC: {removed} item{'s' if removed != 1 else ''} taken off, "
        f"{added} added by hand."
    )


# -- the actions log -------------------------------------------------------------------------------


ACTION_COLUMNS = (
    Column("Action", "left"),
    Column("Raised", "left"),
    Column("Owner", "left"),
    Column("Due", "left"),
    Column("Request", "left", "1fr"),
    Column("Response", "left", "1fr"),
)
GROUPS = (
    ("open", "Open"),
    ("answered", "Answered this month"),
    ("closed", "Closed"),
)


def _date(d: date) -> str:
    return f"{d:%d %b %Y}"


def action_tables(review: Review) -> list[Table]:
    """The actions log: one table per state (open, answered this month, closed) that has any."""
    out = []
    for status, title in GROUPS:
        acts = [a for a in review.actions if a.status == status]
        if not acts:
            continue
        rows = tuple(
            (
                Cell(a.id, bold=True),
                Cell(_date(a.raised)),
                Cell(a.owner),
                Cell(
                    _date(a.due),
                    "below_target" if status == "open" and a.due < review.opsg_meeting else None,
                ),
                Cell(a.request),
                Cell(a.response or fmt.DASH),
            )
            for a in acts
        )
        note = ""
        if status == "open" and any(a.due < review.opsg_meeting for a in acts):
            note = "Shaded due dates have passed: the action was due at an earlier meeting."
        out.append(
            Table(
                f"actions-{status}",
                f"{title} ({len(acts)})",
                ACTION_COLUMNS,
                rows,
                note=note,
                small=True,
            )
        )
    return out


def actions_counts(review: Review) -> str:
    n = {s: sum(1 for a in review.actions if a.status == s) for s, _ in GROUPS}
    return f"{n['open']} open, {n['answered']} answered this month, {n['closed']} closed"


def actions_section(ctx: PackContext) -> Section | None:
    """The summary paper's actions log; None without a review file."""
    r = ctx.review
    if r is None:
        return None
    blocks: list[Block] = [
        Paragraph(
            f"Actions and requests for information raised by the OPSG, as the review of "
            f"{ctx.month_title} records them: {actions_counts(r)}. Actions not closed are "
            "carried forward to the next month's review.",
            "note",
        )
    ]
    tables = action_tables(r)
    blocks += tables or [Paragraph("No actions are open, answered or closed this month.")]
    return Section("Actions log", tuple(blocks), anchor="actions", new_page=False)


# -- the dashboard ----------------------------------------------------------------------------------


def review_html(ctx: PackContext) -> str:
    """The dashboard's review section: the paper's state, the commentary and the actions log."""
    from opmetrics.reports.html_render import block_html, e

    r = ctx.review
    if r is None:
        return ""
    state = "final" if r.final else "DRAFT: not yet agreed by SECAS and the DCC"
    head = (
        f'<p class="note">Review for the OPSG meeting of {e(fmt.long_date(r.opsg_meeting))} '
        f"(paper day {e(fmt.long_date(opsg_paper_day(r.opsg_meeting)))}): {e(state)}.</p>"
    )
    blocks: list[Block] = [t for w in ("processes", "cpms") if (t := commentary_table(ctx, w))]
    found = tuple(
        (Cell(f.name), Cell(r.commentary.of_finding(f.id)))
        for f in finding_entries(ctx)
        if r.commentary.of_finding(f.id)
    )
    if found:
        cols = (Column("Finding", "left", "1fr"), Column("Reviewers' commentary", "left", "1fr"))
        blocks.append(Table("commentary-findings", "Reviewers' commentary: findings", cols, found))
    if not blocks:
        blocks.append(Paragraph("The reviewers wrote no commentary this month.", "note"))
    section = actions_section(ctx)
    actions = "".join(block_html(b) for b in section.blocks) if section else ""
    return (
        f'<section id="review"><h2>Reviewers\' commentary</h2>{head}'
        + "".join(block_html(b) for b in blocks)
        + f'</section><section id="actions"><h2>Actions log</h2>{actions}</section>'
    )


# -- `review init` ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewInitSummary:
    """What `review init` wrote."""

    path: Path
    month: str
    opsg_meeting: date
    paper_day: date
    metrics: int
    findings: int
    adhoc: int
    carried: tuple[str, ...]  # ids of the actions carried forward
    dropped: tuple[str, ...]  # ids of the previous file's closed actions, not carried


def write_starter(
    results_dir: str | Path,
    opsg: date,
    previous: str | Path | None,
    out: str | Path | None,
    force: bool,
    catalog: Catalog,
) -> ReviewInitSummary:
    """Write the month's starter review file (see `starter`)."""
    from opmetrics.reports.data import View, load_month

    view = View(load_month(results_dir), catalog)
    month = view.month
    target = Path(out) if out is not None else Path(f"opsg-review-{month}.toml")
    if target.exists() and not force:
        raise ReviewFileError(
            "already exists: it may hold the reviewers' work (give --force to replace it)",
            path=str(target),
        )
    if opsg <= month.last_day:
        raise UsageError(
            f"--opsg {opsg} is not after {month}: the OPSG reviews a month once it has ended"
        )
    prev = load_review(previous) if previous is not None else None
    if prev is not None and prev.month_obj >= month:
        raise ReviewFileError(
            f"is for {prev.month}: --previous takes an earlier month's review file than {month}",
            path=str(previous),
            key="month",
            line=line_of(Path(str(previous)).read_text(encoding="utf-8"), ("month",)),
        )
    ctx = PackContext(view, (), date.today())
    review, guide = starter(ctx, opsg, prev)
    text = review_text(review, guide)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror})", path=str(target)) from None
    return ReviewInitSummary(
        path=target,
        month=str(month),
        opsg_meeting=opsg,
        paper_day=opsg_paper_day(opsg),
        metrics=len(guide.metrics),
        findings=len(guide.findings),
        adhoc=len(guide.adhoc),
        carried=tuple(a.id for a in review.actions),
        dropped=tuple(a.id for a in prev.actions if not a.carried) if prev is not None else (),
    )
