"""The review file in the report specs (no typesetting): the actions log's groups, the reviewed
ad-hoc list, the paper's date and the checks of ids against the month."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from opmetrics.catalog import default_catalog
from opmetrics.errors import ReviewFileError
from opmetrics.reports import adhoc, panel, summary_paper
from opmetrics.reports import review as rv
from opmetrics.reports.common import PackContext
from opmetrics.reports.data import View, load_month
from opmetrics.reports.spec import Heading, Paragraph, Report, Table
from opmetrics.review.model import Action, Review
from tests.reports.fake_results import write_fake_results

MEETING = date(2021, 6, 16)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> PackContext:
    folder = write_fake_results(tmp_path_factory.mktemp("sections") / "2021-04")
    return PackContext(View(load_month(folder), default_catalog()), (), date(2021, 6, 1))


def _act(ident: str, status: str, due: date = date(2021, 7, 21), response: str = "") -> Action:
    return Action(id=ident, raised=date(2021, 5, 19), owner="SECAS", due=due, status=status,  # type: ignore[arg-type]
                  request=f"Request {ident}.", response=response)  # fmt: skip


def _review(**kw: object) -> Review:
    base: dict[str, object] = {"schema_version": 1, "month": "2021-04", "opsg_meeting": MEETING}
    return Review.model_validate({**base, **kw})


def _tables(report: Report) -> dict[str, Table]:
    return {b.key: b for s in report.sections for b in s.blocks if isinstance(b, Table)}


def test_actions_log_groups_and_overdue(plain: PackContext) -> None:
    review = _review(actions=[
        _act("A1", "open"), _act("A2", "open", due=date(2021, 5, 19)),
        _act("A3", "answered", response="Yes."), _act("A4", "closed", response="Done."),
    ])  # fmt: skip
    report = summary_paper.build(replace(plain, review=review))
    assert [s.title for s in report.sections][-1] == "Actions log"
    t = _tables(report)
    assert [r[0].text for r in t["actions-open"].rows] == ["A1", "A2"]
    assert t["actions-open"].title == "Open (2)"
    assert [c.status for c in (r[3] for r in t["actions-open"].rows)] == [None, "below_target"]
    assert "have passed" in t["actions-open"].note
    assert [r[0].text for r in t["actions-answered"].rows] == ["A3"]
    assert t["actions-answered"].rows[0][5].text == "Yes."
    assert [r[0].text for r in t["actions-closed"].rows] == ["A4"]
    assert rv.actions_counts(review) == "2 open, 1 answered this month, 1 closed"


def test_without_a_review_nothing_changes_but_the_draft(plain: PackContext) -> None:
    report = summary_paper.build(plain)
    assert "Actions log" not in [s.title for s in report.sections]
    assert not any(k.startswith("commentary") for k in _tables(report))
    assert report.cover.due_on == date(2021, 6, 8)  # the pack deadline, as before
    assert rv.watermark(None) == "DRAFT"
    assert rv.watermark(_review(status="final")) == ""
    assert rv.watermark(_review(status="draft")) == "DRAFT"


def test_paper_is_dated_for_the_paper_day(plain: PackContext) -> None:
    c = summary_paper.build(replace(plain, review=_review())).cover
    assert (c.due_on, c.produced_on, c.late) == (date(2021, 6, 9), date(2021, 6, 9), False)
    assert ("OPSG meeting", "16 June 2021") in c.facts
    late = summary_paper.build(
        replace(plain, produced_on=date(2021, 6, 11), review=_review())
    ).cover
    assert late.late and late.lateness == "late by 2 Working Days"


def test_reviewed_adhoc_list(plain: PackContext) -> None:
    items = adhoc.select(plain)
    gone = items[0]
    review = _review(
        adhoc={"remove": [gone.item_id], "add": [{"title": "By hand", "text": "Why."}]}
    )
    report = summary_paper.build(replace(plain, review=review))
    heads = [b.text for b in report.sections[1].blocks if isinstance(b, Heading)]
    assert heads == [f"{n}. {i.title}" for n, i in enumerate(items[1:], 1)] + [
        f"{len(items)}. By hand"
    ]
    assert "1 item taken off, 1 added by hand." in report.sections[1].blocks[0].text  # type: ignore[union-attr]


def test_commentary_beside_metrics_and_findings(plain: PackContext) -> None:
    finding = next(i for i in adhoc.select(plain) if i.item_id.startswith("F-"))
    review = _review(commentary={"metrics": {"meter_reads": "MR note", "CPM5-cat4": "Cat 4 note"},
                                 "findings": {finding.item_id: "F note"}})  # fmt: skip
    ctx = replace(plain, review=review)
    t = _tables(summary_paper.build(ctx))
    assert [(r[0].text, r[2].text) for r in t["commentary-processes"].rows] == [
        ("Meter Reads", "MR note")
    ]
    assert [(r[0].text, r[1].text, r[2].text) for r in t["commentary-cpms"].rows] == [
        ("CPM5 (Cat 4)", "85.10 %, below target", "Cat 4 note")
    ]
    paras = [
        b.text
        for s in summary_paper.build(ctx).sections
        for b in s.blocks
        if isinstance(b, Paragraph)
    ]
    assert "Reviewers' commentary: F note" in paras
    cpm = _tables(panel.build(ctx))["panel-cpm"]
    assert cpm.columns[-1].label == "Reviewers' commentary"
    assert [r[-1].text for r in cpm.rows if r[0].text == "CPM5 (Cat 4)"] == ["Cat 4 note"]


def _file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "r.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_ids_must_name_something_in_the_month(plain: PackContext, tmp_path: Path) -> None:
    head = 'schema_version = 1\nmonth = "2021-04"\nopsg_meeting = 2021-06-16\n'
    text = head + '[commentary.metrics]\nCPM1 = "ok"\nCPM9 = "typo"\n'
    with pytest.raises(ReviewFileError) as info:
        rv.check(
            _review(commentary={"metrics": {"CPM1": "ok", "CPM9": "typo"}}),
            _file(tmp_path, text),
            plain,
        )
    assert (info.value.line, info.value.key) == (6, "commentary.metrics.CPM9")
    text = head + '[commentary.findings]\n"F-00000000" = "gone"\n'
    with pytest.raises(ReviewFileError, match="no finding of 2021-04 has this id") as info:
        rv.check(
            _review(commentary={"findings": {"F-00000000": "gone"}}), _file(tmp_path, text), plain
        )
    assert info.value.line == 5
    # a region item beyond the list's cut of eight is still a valid id to remove
    every = {i.item_id for i in adhoc.select(plain, limit=10_000, insight_slots=10_000)}
    listed = {i.item_id for i in adhoc.select(plain)}
    for ident in sorted(every - listed)[:1] or sorted(listed)[:1]:
        rv.check(_review(adhoc={"remove": [ident]}), _file(tmp_path, head), plain)


def test_panel_markdown(plain: PackContext) -> None:
    review = _review(
        status="final",
        actions=[
            _act("A4", "closed", response="Done."),
            _act("A1", "open"),
            _act("A2", "open", due=date(2021, 5, 19)),
        ],
    )
    report = panel.build(replace(plain, review=review))
    md = panel.to_markdown(report, rv.watermark(review))
    assert md.startswith(
        "# Panel summary: April 2021\n\n- Date: 9 June 2021\n- OPSG meeting: 16 June 2021\n- Review: final"
    )
    assert "DRAFT" not in md
    assert "| Action | Owner | Due | State | Request | Response |" in md
    assert "| A1 | SECAS | 21 Jul 2021 | Open | Request A1. | – |" in md
    assert "| A2 | SECAS | 19 May 2021 | Open, overdue |" in md
    assert md.index("| A1 |") < md.index("| A2 |") < md.index("| A4 |")  # open first, closed last
    assert "2 open, 0 answered this month, 1 closed" in md


def test_the_papers_are_drafts_until_final(plain: PackContext) -> None:
    from opmetrics.reports.packs import paper_options

    summary, pmr_like = summary_paper.build(plain), replace(summary_paper.build(plain), key="pmr")
    assert paper_options(summary, plain) == {"watermark": "DRAFT", "compact_cover": False}
    assert paper_options(pmr_like, plain) == {}  # the machine packs carry no watermark
    final = replace(plain, review=_review(status="final"))
    assert paper_options(panel.build(final), final) == {
        "watermark": "",
        "compact_cover": True,
        "due_rule": "the OPSG paper day, 5 Working Days before the meeting on 16 June 2021",
    }
