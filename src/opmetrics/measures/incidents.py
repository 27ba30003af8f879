"""CPM4, CPM5 and CPM5A (incident resolution and initial response) and the daily Category 1/2
flag of srv_daily (design §5).

Incidents are tens of rows a month, and the rule "counted in the month it was resolved if it
met its deadline, else in the month its deadline fell" needs each incident's own deadline, so
the few relevant rows are fetched to the client and counted exactly in Python (see
docs/decisions.md, "Event-based measures").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import ALL
from opmetrics.engine.base import Engine
from opmetrics.measures.cpm_rows import cpm_row, missing_table_note
from opmetrics.measures.intervals import hours_us, local_instant, records_us, to_us
from opmetrics.month import Month

CPM4_CATEGORIES = (1, 2)
CPM5_CATEGORIES = (3, 4, 5)

CAT12_DAYS_SCHEMA = pa.schema([pa.field("date", pa.date32()), pa.field("region", pa.string())])


@dataclass(frozen=True)
class Incident:
    incident_id: str
    category: int
    dcc_responsible: bool
    raised: int  # epoch microseconds, UTC
    assigned: int | None
    resolved: int | None
    regions: str | None


@dataclass(frozen=True)
class Tally:
    """What one incident measure counted in a month."""

    met: int = 0
    late: int = 0  # missed the deadline, event recorded after it
    open_past_deadline: int = 0  # no event recorded, deadline passed within the month

    @property
    def counted(self) -> int:
        return self.met + self.late + self.open_past_deadline


def fetch_incidents(incidents: ir.Table, engine: Engine, month: Month) -> list[Incident]:
    """The accepted incidents raised before the month ends (all others cannot count in it)."""
    t = incidents.filter(incidents.raised_at < month.end_utc).select(
        "incident_id",
        "category",
        "dcc_responsible",
        "raised_at",
        "assigned_at",
        "resolved_at",
        "regions",
    )
    out = []
    for rec in records_us(engine.to_arrow(t), ["raised_at", "assigned_at", "resolved_at"]):
        r = rec["raised_at"]
        assert r is not None  # required column, validated
        out.append(
            Incident(
                incident_id=rec["incident_id"],
                category=int(rec["category"]),
                dcc_responsible=bool(rec["dcc_responsible"]),
                raised=r,
                assigned=rec["assigned_at"],
                resolved=rec["resolved_at"],
                regions=rec["regions"],
            )
        )
    return sorted(out, key=lambda x: (x.raised, x.incident_id))


def tally(
    incidents: list[Incident],
    month: Month,
    event: Callable[[Incident], int | None],
    deadline_hours: Callable[[Incident], float],
) -> Tally:
    """Count each incident once: in its event's month if on time, else in its deadline's month.

    On time means the event (resolution or assignment) happened at or before raised + target.
    An incident with no event yet whose deadline lies after the month end is not counted now: it
    may still meet it.
    """
    start, end = to_us(month.start_utc), to_us(month.end_utc)
    met = late = open_late = 0
    for inc in incidents:
        deadline = inc.raised + hours_us(deadline_hours(inc))
        at = event(inc)
        if at is not None and at <= deadline:
            met += start <= at < end
        elif start <= deadline < end:
            if at is None:
                open_late += 1
            else:
                late += 1
    return Tally(met, late, open_late)


def _note(t: Tally) -> str | None:
    parts = []
    if t.late:
        parts.append(f"{t.late} counted as missed in the month their deadline fell")
    if t.open_past_deadline:
        parts.append(f"{t.open_past_deadline} still open past their deadline, counted as missed")
    return "; ".join(parts) or None


def incident_cpms(
    incidents: ir.Table | None, engine: Engine, catalog: Catalog, month: Month
) -> list[dict[str, Any]]:
    """CPM4 (Category 1-2), CPM5 (one row per Category 3, 4, 5) and CPM5A (Category 3-5).

    CPM4 and CPM5 count DCC-responsible incidents against the Target Resolution Time of their
    own category, on `resolved_at`; CPM5A counts every Category 3-5 incident against its Target
    Initial Response Time, on `assigned_at`.
    """
    measures: list[tuple[str, str, Callable[[Incident], bool], bool]] = [
        ("CPM4", "1-2", lambda i: i.dcc_responsible and i.category in CPM4_CATEGORIES, False),
        *[
            ("CPM5", str(c), (lambda i, c=c: i.dcc_responsible and i.category == c), False)
            for c in CPM5_CATEGORIES
        ],
        ("CPM5A", "3-5", lambda i: i.category in CPM5_CATEGORIES, True),
    ]
    if incidents is None:
        note = missing_table_note("incidents", "incident resolution (CPM4, CPM5, CPM5A)")
        return [
            cpm_row(
                catalog, month, cpm, None, None, incident_category=c, note=note, reportable=False
            )
            for cpm, c, _, _ in measures
        ]
    fetched = fetch_incidents(incidents, engine, month)
    targets = catalog.incident_categories

    def resolution(i: Incident) -> float:
        return targets[i.category].resolution_hours

    def initial_response(i: Incident) -> float:
        hours = targets[i.category].initial_response_hours
        assert hours is not None  # the catalog requires it for categories 3-5
        return hours

    rows = []
    for cpm, category, selected, on_assignment in measures:
        chosen = [i for i in fetched if selected(i)]
        if on_assignment:
            t = tally(chosen, month, lambda i: i.assigned, initial_response)
        else:
            t = tally(chosen, month, lambda i: i.resolved, resolution)
        rows.append(
            cpm_row(
                catalog,
                month,
                cpm,
                t.met,
                t.counted,
                incident_category=category,
                note=_note(t),
            )
        )
    return rows


def incident_regions(regions: str | None, catalog: Catalog) -> list[str]:
    """The regions an incident names; ALL, empty or null means every region."""
    names = [r.strip() for r in (regions or "").split(";") if r.strip()]
    if not names or ALL in names:
        return list(catalog.regions)
    return [r for r in catalog.regions if r in names]


def cat12_incident_days(
    incidents: ir.Table | None, engine: Engine, catalog: Catalog, month: Month
) -> pa.Table:
    """(UK-local date, region) pairs of the month with a Category 1 or 2 incident open that day.

    An incident is open from `raised_at` until `resolved_at` (exclusive), or until after the
    month if not resolved; one resolved the instant it was raised is open on that instant's
    day. Every category 1-2 incident counts, whoever is responsible: the flag tells readers of
    the daily series that the network had a major incident that day.
    """
    if incidents is None:
        return CAT12_DAYS_SCHEMA.empty_table()
    fetched = [
        i for i in fetch_incidents(incidents, engine, month) if i.category in CPM4_CATEGORIES
    ]
    order = {r: n for n, r in enumerate(catalog.regions)}
    pairs: set[tuple[int, str]] = set()
    days = month.days
    bounds = [local_instant(d, 0) for d in days] + [local_instant(days[-1] + timedelta(days=1), 0)]
    for inc in fetched:
        regions = incident_regions(inc.regions, catalog)
        for n in range(len(days)):
            lo, hi = bounds[n], bounds[n + 1]
            if inc.resolved is None:
                open_then = inc.raised < hi
            elif inc.resolved == inc.raised:
                open_then = lo <= inc.raised < hi
            else:
                open_then = inc.raised < hi and inc.resolved > lo
            if open_then:
                pairs.update((n, r) for r in regions)
    ordered = sorted(pairs, key=lambda p: (p[0], order[p[1]]))
    return pa.table(
        {"date": [days[n] for n, _ in ordered], "region": [r for _, r in ordered]},
        schema=CAT12_DAYS_SCHEMA,
    )
