"""The automatic choice of ad-hoc items for the summary paper."""

from __future__ import annotations

from opmetrics.reports import adhoc
from opmetrics.reports.common import PackContext


def test_items(ctx: PackContext) -> None:
    items = adhoc.select(ctx, limit=20)
    titles = [i.title for i in items]
    # measure shortfalls first, below-minimum before below-target
    groups = [i.group for i in items]
    assert groups == sorted(groups)
    assert titles[0].endswith("below its Minimum Service Level")
    assert any(t.startswith("CPM1 ") for t in titles)
    # the injected region out of line (2.2 South) comes from the insight, not twice
    assert any(t == "Service provider finding: South on SRV 2.2" for t in titles)
    assert not any(t == "South out of line on SRV 2.2" for t in titles)
    # history given: month-on-month moves are candidates
    assert any("month on month" in t for t in titles)
    for i in items:
        assert i.sentence.endswith(".") and len(i.sentence) < 400
    keys = [i.chart.key for i in items if i.chart is not None]
    assert len(keys) == len(set(keys))


def test_limit_keeps_every_shortfall_and_the_findings(ctx: PackContext) -> None:
    items = adhoc.select(ctx, limit=1)
    shortfalls = [i for i in items if i.group == 0]
    others = [i for i in items if i.group != 0]
    assert len(shortfalls) >= 3 and items[: len(shortfalls)] == shortfalls
    # the diagnosis findings keep their slots however many measures fell short
    assert others and all(" finding: " in i.title for i in others)
    assert len(others) <= adhoc.INSIGHT_SLOTS


def test_without_history_no_moves(ctx: PackContext) -> None:
    bare = PackContext(ctx.view, (), ctx.produced_on)
    assert not any("month on month" in i.title for i in adhoc.select(bare, limit=50))


def test_findings_read_in_plain_english_with_their_action_and_id(ctx: PackContext) -> None:
    ins = ctx.view.r["insights"]
    south = ins[ins["subject"] == "South"].iloc[0]
    item = next(
        i
        for i in adhoc.select(ctx, limit=20)
        if i.title == "Service provider finding: South on SRV 2.2"
    )
    # The headline and the action for OPSG; the statistics stay in the data files.
    assert item.sentence == (
        f"{south['headline']} Recommended action: Work with the service provider. "
        f"Finding {south['finding_id']}: its statistics are in the data files (insights)."
    )
    assert str(south["evidence"]) not in item.sentence and "z = " not in item.sentence
