"""Ad-hoc items for the operations group, chosen automatically from the month's results.

Candidates are: measures below target or minimum (or not reportable), regions and SRVs out of line
with their peers, the largest month-on-month moves when earlier months are given, and the
`insights` findings. Each is scored by the requests it concerns (e.g. the extra failures a region
had compared with the other regions' rate), so the list leads with what matters most; measure
shortfalls always come first because the regulator sees them. Thresholds are deliberately
plain: a gap is worth discussing when it is at least `MIN_GAP_POINTS` and at least
`MIN_EXCESS` requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opmetrics.contract.schema import ALL
from opmetrics.reports import charts, fmt, measure_charts, overview_charts
from opmetrics.reports.common import PackContext, cpm_records, cpm_value_cell, headline, scope_of
from opmetrics.reports.data import View, pct
from opmetrics.reports.fmt import num
from opmetrics.reports.process_pack import records
from opmetrics.reports.spec import Assumption, Chart

MIN_GAP_POINTS = 1.5
MIN_EXCESS = 100
MIN_MOVE_POINTS = 0.5
MIN_REQUESTS = 500
LIMIT = 8
INSIGHT_SLOTS = 4
MAX_CHART_ROWS = 12


@dataclass(frozen=True)
class Item:
    score: float
    group: int  # 0: measure shortfalls (always shown first), 1: everything else
    title: str
    sentence: str
    chart: Chart | None
    dedupe: tuple[str, ...] = ()
    assumed: tuple[Assumption, ...] = ()  # what the marks in the sentence stand for
    item_id: str = ""  # stable across re-runs of the month: what a review file removes it by


def select(ctx: PackContext, limit: int = LIMIT, insight_slots: int = INSIGHT_SLOTS) -> list[Item]:
    """CPM shortfalls first, then the diagnosis findings (up to `insight_slots`, whatever the
    number of shortfalls: they say why), then other out-of-line items up to `limit`."""
    insights = sorted(_insight_items(ctx), key=lambda i: (-i.score, i.title))[:insight_slots]
    items = [*_cpm_items(ctx), *insights]
    taken = {i.dedupe for i in items if i.dedupe}
    for cand in [*_region_items(ctx), *_srv_items(ctx), *_move_items(ctx)]:
        if cand.dedupe and cand.dedupe in taken:
            continue
        taken.add(cand.dedupe)
        items.append(cand)
    first = sorted((i for i in items if i.group == 0), key=lambda i: (-i.score, i.title))
    found = [i for i in insights if i in items]
    rest = sorted(
        (i for i in items if i.group == 1 and i not in found), key=lambda i: (-i.score, i.title)
    )
    chosen = first + found + rest[: max(0, limit - len(first) - len(found))]
    return [_rekey(i, n) for n, i in enumerate(chosen, start=1)]


def _rekey(item: Item, n: int) -> Item:
    if item.chart is None:
        return item
    c = item.chart
    return Item(
        item.score,
        item.group,
        item.title,
        item.sentence,
        Chart(f"adhoc-{n}", c.title, c.caption, c.vega_lite, c.assumed),
        item.dedupe,
        item.assumed,
        item.item_id,
    )


# -- measures -------------------------------------------------------------------------------


def _cpm_items(ctx: PackContext) -> list[Item]:
    v = ctx.view
    recs = cpm_records(v)
    out = []
    reasons = ctx.not_reportable()
    for cpm in dict.fromkeys(str(r["cpm"]) for r in recs):
        rows = [r for r in recs if r["cpm"] == cpm]
        if cpm in reasons or any(r["status"] == "not_reportable" for r in rows):
            out.append(
                Item(
                    3e9,
                    0,
                    f"{cpm} cannot be reported",
                    f"{cpm} cannot be reported for {ctx.month_title} ({reasons.get(cpm, 'inputs missing')}), "
                    "and an unreported month is scored as zero.",
                    _cpm_trend_chart(ctx, cpm),
                    item_id=f"cpm:{cpm}",
                )
            )
            continue
        low = [r for r in rows if r["status"] == "below_minimum"]
        short = [r for r in rows if r["status"] == "below_target"]
        if not low and not short:
            continue
        worst = min(
            low or short,
            key=lambda r: (num(r["value_percent"]) or 0) - (num(r["minimum_percent"]) or 0),
        )
        n_met = sum(1 for r in rows if r["status"] == "met")
        level = "Minimum Service Level" if low else "target"
        where = scope_of(worst, v)
        assumed = v.assumed.of_cpm(worst)
        value = f"{cpm_value_cell(worst, v).text} %{fmt.mark(assumed)}"
        sentence = (
            f"{cpm} was below its {level} in {len(low or short)} of its {len(rows)} rows; the worst is "
            f"{where} at {value} (target {fmt.target(worst['target_percent'])} %, "
            f"minimum {fmt.target(worst['minimum_percent'])} %)"
            + (
                f", while {n_met} {'row' if n_met == 1 else 'rows'} met the target."
                if n_met
                else "."
            )
        )
        if len(rows) == 1:
            sentence = (
                f"{cpm} ({where}) was {value}, below its {level} "
                f"(target {fmt.target(worst['target_percent'])} %, minimum {fmt.target(worst['minimum_percent'])} %)."
            )
        shown = sorted(rows, key=lambda r: (r["status"] == "met", num(r["value_percent"]) or 0))[
            :MAX_CHART_ROWS
        ]
        labelled = [{**r, "row_label": scope_of(r, v)} for r in shown]
        order = list(dict.fromkeys(r["row_label"] for r in labelled))
        chart = charts.make(
            "x",
            f"{cpm} by dimension",
            "",
            measure_charts.cpm_dots(labelled, order, charts.Sel(), long_labels=False),
        )
        score = (2e9 if low else 1e9) + len(low or short)
        out.append(
            Item(score, 0, f"{cpm} below its {level}", sentence, chart, (), assumed, f"cpm:{cpm}")
        )
    return out


def _cpm_trend_chart(ctx: PackContext, cpm: str) -> Chart | None:
    if not ctx.history:
        return None
    rows = []
    for view in ctx.history:
        for h in headline(view):
            if h["cpm"] == cpm and h["value_percent"] is not None:
                rows.append({"month": str(view.month), "series": h["row_label"], "value_percent": h["value_percent"],
                             "target_percent": h["target_percent"], "minimum_percent": h["minimum_percent"]})  # fmt: skip
    if not rows:
        return None
    order = list(dict.fromkeys(r["series"] for r in rows))
    return charts.make(
        "x", f"{cpm} in earlier months", "", measure_charts.trend(rows, order, charts.Sel())
    )


# -- regions and SRVs out of line ------------------------------------------------------------


def _rate(r: dict[str, Any]) -> tuple[float | None, int]:
    den = int(r["succeeded"]) + int(r["failed"])
    return pct(int(r["succeeded"]), den), den


def _behind_peers(
    per: dict[str, dict[str, Any]],
) -> Iterator[tuple[str, float, float, float, float]]:
    """Members of `per` far enough behind the others pooled: (key, rate, others, gap, excess).

    Far enough: enough requests, a gap of at least MIN_GAP_POINTS and at least MIN_EXCESS more
    failures than the others' rate would give.
    """
    for key, r in per.items():
        rate, den = _rate(r)
        if rate is None or den < MIN_REQUESTS:
            continue
        s = sum(int(x["succeeded"]) for k, x in per.items() if k != key)
        f = sum(int(x["failed"]) for k, x in per.items() if k != key)
        others = pct(s, s + f)
        if others is None:
            continue
        gap = others - rate
        excess = gap / 100 * den
        if gap >= MIN_GAP_POINTS and excess >= MIN_EXCESS:
            yield key, rate, others, gap, excess


def _region_items(ctx: PackContext) -> list[Item]:
    v = ctx.view
    out = []
    for bp in v.packs():
        for srv in v.srvs_of(bp):
            per = {reg: v.summary(bp, srv, reg) for reg in v.regions()}
            for reg, rate, others, gap, excess in _behind_peers(per):
                srows = records(v.summary_rows()[v.summary_rows()["srv"] == srv])
                present = [x for x in v.regions() if per[x]["submitted"]]
                chart = charts.make("x", f"{v.srv_title(srv)}: success by region", "",
                                    charts.breakdown(srows, "region", present, charts.Sel(bp=bp, srv=srv)))  # fmt: skip
                sentence = (
                    f"{reg}'s {fmt.percent(rate)} % success on {v.srv_title(srv)} is {gap:.1f} points below the other "
                    f"regions' {fmt.percent(others)} %: about {fmt.count(excess)} more failures than at their rate."
                )
                out.append(
                    Item(
                        excess,
                        1,
                        f"{reg} out of line on SRV {srv}",
                        sentence,
                        chart,
                        ("region", srv, reg),
                        item_id=f"region:{srv}:{reg}",
                    )
                )
    return out


def _srv_items(ctx: PackContext) -> list[Item]:
    v = ctx.view
    out = []
    for bp in v.packs():
        srvs = v.srvs_of(bp)
        if len(srvs) < 2:
            continue
        per = {srv: v.summary(bp, srv) for srv in srvs}
        for srv, rate, others, gap, excess in _behind_peers(per):
            srows = records(v.summary_rows()[v.summary_rows()["business_process"] == bp])
            chart = charts.make(
                "x",
                f"{v.bp_name(bp)}: success by SRV",
                "",
                charts.by_srv(srows, srvs, charts.Sel(bp=bp, srv=srv)),
            )
            sentence = (
                f"{v.srv_title(srv)} succeeded {fmt.percent(rate)} % of the time, {gap:.1f} points below the rest of "
                f"{v.bp_name(bp)} ({fmt.percent(others)} %): about {fmt.count(excess)} more failures than at their rate."
            )
            out.append(
                Item(
                    excess,
                    1,
                    f"SRV {srv} out of line in {v.bp_name(bp)}",
                    sentence,
                    chart,
                    ("srv", srv),
                    item_id=f"srv:{srv}",
                )
            )
    return out


# -- month on month ----------------------------------------------------------------------------


def _move_items(ctx: PackContext) -> list[Item]:
    if not ctx.history:
        return []
    v, prev = ctx.view, ctx.history[-1]
    out = []
    for bp in v.packs():
        for srv in v.srvs_of(bp):
            now, before = v.summary(bp, srv), prev.summary(prev.bp_of(srv) or bp, srv)
            a, _den = _rate(before)
            b, den_now = _rate(now)
            if a is None or b is None or den_now < MIN_REQUESTS:
                continue
            move = b - a
            if abs(move) < MIN_MOVE_POINTS:
                continue
            rows = []
            for view in (*ctx.history, v):
                s = view.summary_rows()
                rows += records(
                    s[(s["srv"] == srv) & (s["region"] == ALL) & (s["device_type"] == ALL)].assign(
                        month=str(view.month)
                    )
                )
            chart = charts.make(
                "x",
                f"{v.srv_title(srv)} month by month",
                "",
                overview_charts.srv_trend(rows, charts.Sel(bp=bp, srv=srv)),
            )
            word = "rose" if move > 0 else "fell"
            sentence = (
                f"{v.srv_title(srv)}'s success rate {word} from {fmt.percent(a)} % in {prev.month.title} to "
                f"{fmt.percent(b)} % in {v.month.title} ({fmt.points(move)} points on {fmt.count(den_now)} requests)."
            )
            out.append(
                Item(
                    abs(move) / 100 * den_now,
                    1,
                    f"SRV {srv} {word} month on month",
                    sentence,
                    chart,
                    ("move", srv),
                    item_id=f"move:{srv}",
                )
            )
    return out


# -- insights ----------------------------------------------------------------------------------


def _insight_items(ctx: PackContext) -> list[Item]:
    v = ctx.view
    ins = v.r["insights"]
    if ins.empty:
        return []
    out = []
    for r in records(ins):
        srv = str(r.get("srv") or "")
        bp = str(r.get("business_process") or v.bp_of(srv))
        kind = str(r.get("kind") or "finding")
        subject = str(r.get("subject") or "")
        chart = _insight_chart(v, kind, bp, srv)
        sentence = _finding_sentence(r, subject)
        affected = num(r.get("requests_affected")) or 0.0
        where = f" on SRV {srv}" if srv and srv != ALL else ""
        title = f"{kind.replace('_', ' ').capitalize()} finding: {subject}{where}"
        dedupe = ("region", srv, subject) if kind == "service_provider" else ()
        ident = finding_id(r)
        out.append(Item(affected * 1.5 + 1, 1, title, sentence, chart, dedupe, item_id=ident))
    return out


def _finding_sentence(r: dict[str, Any], subject: str) -> str:
    """A finding in plain English for OPSG: its headline (what, where, how big) and the
    recommended action; the statistics stay in the data files' insights table, which the
    finding's id finds. Results from before headlines were written say what they observed."""
    if r.get("headline"):
        sentence = str(r["headline"])
    else:
        sentence = str(r.get("observed") or subject)
        if r.get("comparison"):
            sentence += f" against {r['comparison']}"
        sentence += "."
    if r.get("recommended_action"):
        action = str(r["recommended_action"])
        sentence += f" Recommended action: {action[:1].upper()}{action[1:]}."
    if r.get("finding_id"):
        sentence += f" Finding {r['finding_id']}: its statistics are in the data files (insights)."
    return sentence


def finding_id(r: dict[str, Any]) -> str:
    """A finding's stable id: the insights table's `finding_id`, or (results written before it
    existed) one made of its kind, SRV and subject, which a re-run of the month keeps."""
    given = r.get("finding_id")
    if isinstance(given, str) and given:
        return given
    parts = (str(r.get(k) or "") for k in ("kind", "srv", "subject"))
    return "finding:" + ":".join(re.sub(r"[^A-Za-z0-9._-]+", "-", p).strip("-") for p in parts)


def _insight_chart(v: View, kind: str, bp: str, srv: str) -> Chart | None:
    if not srv or srv == ALL or srv not in set(v.summary_rows()["srv"]):
        return None
    sel = charts.Sel(bp=bp, srv=srv)
    srows = records(v.summary_rows()[v.summary_rows()["srv"] == srv])
    if kind in ("service_provider", "region"):
        present = [x for x in v.regions() if v.summary(bp, srv, x)["submitted"]]
        return charts.make(
            "x",
            f"{v.srv_title(srv)}: success by region",
            "",
            charts.breakdown(srows, "region", present, sel),
        )
    if kind == "device":
        devices = v.device_types_of(srv)
        return charts.make(
            "x",
            f"{v.srv_title(srv)}: success by device type",
            "",
            charts.breakdown(srows, "device_type", devices, sel),
        )
    party = v.r["srv_party"]
    prow = records(party[party["srv"] == srv])
    if prow:
        return charts.make("x", f"{v.srv_title(srv)}: parties", "", charts.parties(prow, sel))
    return None
