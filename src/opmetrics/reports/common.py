"""What every pack shares: the month being reported, its deadline, the cover and CPM helpers.

The cover answers the first questions a reader has (which month, produced when, due when, late
or not, and which measures cannot be reported this month) so they are never buried inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from typing import Any

import pandas as pd

from opmetrics.contract.schema import ALL
from opmetrics.measures.cpm_rows import status_of
from opmetrics.measures.intervals import US_PER_MINUTE
from opmetrics.reports import fmt
from opmetrics.reports.data import View, cpm_order
from opmetrics.reports.fmt import num
from opmetrics.reports.spec import (
    STATUS_LABELS,
    Assumption,
    Cell,
    Column,
    Cover,
    Paragraph,
    Report,
    with_footnotes,
)
from opmetrics.results.manifest import Percentiles
from opmetrics.review.model import Review
from opmetrics.workdays import Lateness, pack_due_date

SUBTITLE = "Smart Energy Code · Operational Metrics (MP122)"


@dataclass(frozen=True)
class PackContext:
    """One rendering: this month's results, earlier months (oldest first) and the dates."""

    view: View
    history: tuple[View, ...]
    produced_on: date
    review: Review | None = None  # the reviewers' file for the month, if one is given

    @property
    def month_title(self) -> str:
        return self.view.month.title

    @property
    def due_on(self) -> date:
        return pack_due_date(self.view.month)

    @property
    def lateness(self) -> Lateness:
        return Lateness(self.due_on, self.produced_on)

    def not_reportable(self) -> dict[str, str]:
        return self.view.r.reportability()


def cover(ctx: PackContext, title: str) -> Cover:
    m = ctx.view.r.manifest
    cat = m.catalog
    facts: list[tuple[str, str]] = []
    if cat.version or cat.sha256:
        facts.append(
            ("Reference catalog", f"version {cat.version or '?'} (sha256 {cat.sha256[:12]})")
        )
    if m.engine:
        facts.append(("Computed with", ", ".join(f"{k} {v}" for k, v in sorted(m.engine.items()))))
    if m.percentiles.method:
        facts.append(("RTT percentiles", _percentile_text(m.percentiles)))
    if m.opmetrics_version:
        facts.append(("Results written by", f"opmetrics {m.opmetrics_version}"))
    if ctx.history:
        facts.append(("Earlier months shown", ", ".join(v.month.title for v in ctx.history)))
    n_assumed = len(ctx.view.assumed.listed)
    if n_assumed:
        facts.append(
            (
                "Assumed values",
                f"{n_assumed} reference value{'s' if n_assumed != 1 else ''} behind these figures "
                f"{'are' if n_assumed != 1 else 'is'} assumed, not confirmed from a public source: "
                f"figures resting on one are marked {fmt.MARK}, with a note naming it",
            )
        )
    alerts = tuple(
        f"{cpm} cannot be reported for {ctx.month_title}: {reason}. An unreported month is scored as zero."
        for cpm, reason in ctx.not_reportable().items()
    )
    late = ctx.lateness
    return Cover(
        title=title,
        subtitle=SUBTITLE,
        month=str(ctx.view.month),
        month_title=ctx.month_title,
        produced_on=ctx.produced_on,
        due_on=ctx.due_on,
        late=late.late,
        lateness=late.text,
        facts=tuple(facts),
        alerts=alerts,
    )


def _percentile_text(p: Percentiles) -> str:
    bounds = []
    if p.relative_bound is not None:
        bounds.append(f"within {p.relative_bound * 100:g} %")
    if p.absolute_bound_s is not None:
        bounds.append(f"or {p.absolute_bound_s:g} s")
    if p.bound is not None:
        bounds.append(p.bound)
    return p.method + (f" ({' '.join(bounds)})" if bounds else "")


def not_reportable_paragraphs(
    ctx: PackContext, only: tuple[str, ...] | None = None
) -> list[Paragraph]:
    return [
        Paragraph(f"{cpm} is NOT REPORTABLE for {ctx.month_title}: {reason}.", "alert")
        for cpm, reason in ctx.not_reportable().items()
        if only is None or cpm in only
    ]


# -- CPM rows ----------------------------------------------------------------------------------


def status_cell(status: Any) -> Cell:
    s = str(status) if isinstance(status, str) else "no_activity"
    return Cell(STATUS_LABELS.get(s, s), s)


def value_cell(
    value: Any,
    status: Any,
    row: dict[str, Any] | None = None,
    assumed: tuple[Assumption, ...] = (),
) -> Cell:
    """A measure's value, cut to two decimals; exactly, from a cpm row's exact integers; marked
    when it rests on assumed values."""
    if status == "not_reportable":  # no figure: nothing rests on a value
        return Cell("n/r", "not_reportable")
    exact = (
        fmt.exact_percent(row.get("numerator_exact"), row.get("denominator_exact"))
        if row is not None
        else None
    )
    shown = exact if exact is not None else value
    return Cell(
        fmt.percent(shown), str(status) if isinstance(status, str) else None, assumed=assumed
    )


def cpm_value_cell(row: dict[str, Any], view: View) -> Cell:
    """A cpm row's value cell, marked with the assumed values the row rests on."""
    return value_cell(row["value_percent"], row["status"], row, view.assumed.of_cpm(row))


def scope_of(row: dict[str, Any], view: View) -> str:
    """The dimensions of one cpm row, in words."""
    parts = []
    if isinstance(row.get("interface"), str):
        parts.append(row["interface"])
    if isinstance(row.get("business_process"), str):
        parts.append(view.bp_name(row["business_process"]))
    if isinstance(row.get("region"), str):
        parts.append("all regions" if row["region"] == ALL else row["region"])
    if isinstance(row.get("time_band"), str):
        parts.append(f"{row['time_band']} hours")
    if isinstance(row.get("incident_category"), str):
        parts.append(f"Category {row['incident_category']}")
    return ", ".join(parts) or "overall"


CPM_COLUMNS = (
    Column("Measure", "left"),
    Column("Scope", "left", "1fr"),
    Column("Numerator"),
    Column("Denominator"),
    Column("Value %"),
    Column("Target %"),
    Column("Min. %"),
    Column("Status", "left"),
)


def cpm_table_rows(rows: list[dict[str, Any]], view: View) -> tuple[tuple[Cell, ...], ...]:
    out = []
    for r in rows:
        out.append(
            (
                Cell(str(r["cpm"]), bold=True),
                Cell(scope_of(r, view)),
                Cell(
                    fmt.minutes(r["numerator"]) if r["cpm"] == "CPM6" else fmt.count(r["numerator"])
                ),
                Cell(
                    fmt.minutes(r["denominator"])
                    if r["cpm"] == "CPM6"
                    else fmt.count(r["denominator"])
                ),
                cpm_value_cell(r, view),
                Cell(fmt.target(r["target_percent"])),
                Cell(fmt.target(r["minimum_percent"])),
                status_cell(r["status"]),
            )
        )
    return tuple(out)


def cpm_records(view: View) -> list[dict[str, Any]]:
    df = view.r["cpm"]
    recs = [
        {str(k): (None if (isinstance(v, float) and pd.isna(v)) else v) for k, v in r.items()}
        for r in df.to_dict("records")
    ]
    return sorted(
        recs, key=lambda r: cpm_order(str(r["cpm"]))
    )  # stable: keeps each measure's row order


def headline(view: View) -> list[dict[str, Any]]:
    """One row per headline measure: the all-regions row, or the sum over dimensions.

    CPM6 and CPM6A have no all-in row in the results; their headline adds numerators and
    denominators over every interface/region/band (CPM6) or process (CPM6A, all regions)."""
    recs = cpm_records(view)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in recs:
        c = str(r["cpm"])
        if c in ("CPM6", "CPM6A"):
            if c in seen:
                continue
            seen.add(c)
            sub = [
                x for x in recs if x["cpm"] == c and (c == "CPM6" or x.get("region") in (ALL, None))
            ]
            if c == "CPM6A" and not sub:
                sub = [x for x in recs if x["cpm"] == c]
            out.append(_summed(c, sub, view))
            continue
        if r.get("region") not in (None, ALL):
            continue
        out.append({**r, "row_label": _label(r)})
    return out


def _summed(cpm: str, rows: list[dict[str, Any]], view: View) -> dict[str, Any]:
    """The headline roll-up: exact integers added up, status decided on them."""
    first = rows[0]
    nr = any(r["status"] == "not_reportable" for r in rows)
    n_exact = sum(exact_of(r, "numerator") for r in rows)
    d_exact = sum(exact_of(r, "denominator") for r in rows)
    unit = US_PER_MINUTE if cpm == "CPM6" else 1
    n, d = n_exact / unit, d_exact / unit
    value = None if nr or d_exact == 0 else float(Fraction(100 * n_exact, d_exact))
    status = (
        "not_reportable"
        if nr
        else status_of(n_exact, d_exact, first["target_percent"], first["minimum_percent"])
    )
    assumed = "; ".join(dict.fromkeys(k for r in rows for k in view.assumed.keys_of_cpm(r)))
    scope = "all interfaces, regions, bands" if cpm == "CPM6" else "all processes and regions"
    return {
        "cpm": cpm, "interface": None, "region": None, "time_band": None, "business_process": None,
        "incident_category": None, "numerator": None if nr else n, "denominator": None if nr else d,
        "value_percent": value, "target_percent": first["target_percent"],
        "minimum_percent": first["minimum_percent"], "status": status, "scope": scope,
        "row_label": f"{cpm} ({'all' if cpm == 'CPM6' else 'all processes'})",
        "numerator_exact": None if nr else n_exact, "denominator_exact": None if nr else d_exact,
        "assumed": assumed or None,
    }  # fmt: skip


def exact_of(row: dict[str, Any], which: str) -> int:
    """A row's exact numerator or denominator (counts; microseconds for CPM6).

    Results written before the exact columns existed give the shown number back as exactly as
    it can be: counts were whole, CPM6 minutes become microseconds.
    """
    v = row.get(f"{which}_exact")
    if v is not None and not (isinstance(v, float) and math.isnan(v)):
        return int(v)
    shown = num(row.get(which)) or 0.0
    return round(shown * US_PER_MINUTE) if row.get("cpm") == "CPM6" else round(shown)


def _label(r: dict[str, Any]) -> str:
    if isinstance(r.get("incident_category"), str):
        return f"{r['cpm']} (Cat {r['incident_category']})"
    return str(r["cpm"])


def headline_table_rows(rows: list[dict[str, Any]], view: View) -> tuple[tuple[Cell, ...], ...]:
    fixed = []
    for r in rows:
        scope = r.get("scope") or scope_of(r, view)
        fixed.append({**r, "_scope": scope})
    out = list(cpm_table_rows(fixed, view))
    return tuple((row[0], Cell(f["_scope"]), *row[2:]) for row, f in zip(out, fixed, strict=True))


# -- assumed values and clocks -------------------------------------------------------------------


def finished(report: Report, ctx: PackContext) -> Report:
    """The report with a footnote in each section that marks a figure resting on an assumed
    value, naming the values and how to override them."""
    return replace(report, sections=with_footnotes(report.sections, ctx.view.assumed.override))


# Which clock each figure uses, in words an Operations Group member reads (design §5).
RTT_PAGE_NOTE = (
    "Clock: Round Trip Time, from the DCC receiving the request (or its execution time) to the "
    "response reaching the User. CPM1 and CPM2 use DCC time: the Round Trip Time less the time "
    "the command spent on the home area network."
)
CLOCKS = (
    "Which clock: business process figures (CPM6A, within the Target Response Time, round trip "
    "times) use the Round Trip Time, from the DCC receiving the request (or a future-dated "
    "request's execution time) to the response reaching the User. CPM1 and CPM2 use DCC time: "
    "the Round Trip Time less the time the command spent on the home area network (or, if the "
    "device never answered, the time until the command reached the Comms Hub)."
)


def clocks_paragraph() -> Paragraph:
    return Paragraph(CLOCKS, "note")
