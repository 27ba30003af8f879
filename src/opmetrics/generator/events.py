"""The month's small event tables: incidents, interface outages, comms hub firmware rollout.

These tables are small (tens to thousands of rows) and are built row by row in Python,
except the firmware rollout, which grows with the estate (120,000 rows at 100M requests) and is
built with numpy. The
Category 1/2 incidents are built first because they also hurt request success while open
(`outcomes.Incident12`). Outages follow the CPM6 cases a reporting analyst meets: weekly
planned maintenance, unplanned outages, outages overlapping each other, one across the clock
change and one still open at month end. Everything after the month's end is not yet known, so
it is left null ("pending") as a month-end extract would show it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.contract.schema import TABLES
from opmetrics.generator.devices import CHF, Inventory
from opmetrics.generator.ids import EUI_WIDTH, strings_from_matrix
from opmetrics.generator.outcomes import Incident12
from opmetrics.generator.scenario import Scenario
from opmetrics.generator.timegrid import US, TimeGrid
from opmetrics.month import UK

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _dt(us: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))


def _us(d: datetime) -> int:
    return round(d.timestamp() * US)


def _table(name: str, rows: list[dict[str, object]]) -> pa.Table:
    schema = pa.schema([f.with_nullable(True) for f in TABLES[name].arrow_schema()])
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)


def build_incidents(
    s: Scenario, c: Catalog, grid: TimeGrid, rng: np.random.Generator
) -> tuple[pa.Table, list[Incident12], list[dict[str, object]]]:
    inc = s.incidents
    regions = list(c.csp_regions)
    rows: list[dict[str, object]] = []
    hits: list[Incident12] = []
    notes: list[dict[str, object]] = []
    n_days = len(grid.days)
    seq = 0

    def add(
        category: int,
        raised: int,
        resolved: int | None,
        assigned: int,
        regions_text: str,
        interfaces: str,
        summary: str,
        responsible: bool,
    ) -> None:
        nonlocal seq
        seq += 1
        rows.append(
            {
                "incident_id": f"INC{seq:07d}",
                "category": category,
                "dcc_responsible": responsible,
                "raised_at": _dt(raised),
                "assigned_at": _dt(assigned),
                "resolved_at": None if resolved is None else _dt(resolved),
                "interfaces": interfaces,
                "regions": regions_text,
                "summary": summary,
            }
        )

    # Category 1/2: each in one region, on its own day, raised in working hours, hurting success.
    used_days: set[int] = set()
    k = 0
    for cat in (1, 2):
        for _ in range(inc.counts.get(str(cat), 0)):  # type: ignore[call-overload]
            region = regions[k % len(regions)]
            k += 1
            day = int(rng.integers(1, max(n_days - 1, 2)))
            while day in used_days and len(used_days) < n_days - 2:
                day = int(rng.integers(1, max(n_days - 1, 2)))
            used_days.add(day)
            d = grid.month.days[min(day, n_days - 1)]
            hour = float(rng.uniform(8, 15))
            local = datetime(d.year, d.month, d.day, tzinfo=UK) + timedelta(hours=hour)
            raised = _us(local)
            lo, hi = inc.open_hours[str(cat)]  # type: ignore[index]
            end = raised + int(rng.uniform(lo, hi) * 3600 * US)
            assigned = raised + int(rng.uniform(5, 30) * 60 * US)
            responsible = bool(rng.random() >= inc.not_dcc_responsible_percent / 100) or cat == 1
            add(
                cat,
                raised,
                end,
                assigned,
                region,
                "DCC User Interface",
                f"Communications Hub connectivity lost for many devices in {region}",
                responsible,
            )
            effect = inc.success_effect[str(cat)]  # type: ignore[index]
            hits.append(Incident12(raised, end, np.array([r == region for r in regions]), effect))
            notes.append(
                {
                    "incident_id": rows[-1]["incident_id"],
                    "category": cat,
                    "region": region,
                    "raised_at": _dt(raised).isoformat().replace("+00:00", "Z"),
                    "resolved_at": _dt(end).isoformat().replace("+00:00", "Z"),
                    "local_date": d.isoformat(),
                    "success_log_odds_effect": effect,
                }
            )
    # Categories 3-5: assignment and resolution against their targets, some late: exactly the
    # scenario's share of each category (rounded), so the month's CPM5 and CPM5A are what the
    # scenario asks rather than a draw of a few dozen coins.
    interfaces = list(c.interfaces)
    for cat in (3, 4, 5):
        target = c.incident_categories[cat].resolution_hours
        initial = c.incident_categories[cat].initial_response_hours or 1.0
        n = inc.counts.get(str(cat), 0)  # type: ignore[call-overload]
        late = _quota(rng, n, inc.late_percent)
        late_assigned = _quota(rng, n, inc.late_assignment_percent)
        for i in range(n):
            raised = grid.start_us + int(rng.uniform(0, grid.end_us - grid.start_us))
            add(
                cat,
                raised,
                *_resolution(rng, raised, target, initial, bool(late[i]), bool(late_assigned[i])),
                *_scope(rng, interfaces, regions),
                f"Category {cat} incident",
                bool(rng.random() >= inc.not_dcc_responsible_percent / 100),
            )
    for _ in range(inc.carried_over):
        cat = int(rng.integers(3, 6))
        target = c.incident_categories[cat].resolution_hours
        initial = c.incident_categories[cat].initial_response_hours or 1.0
        # raised in the month before, resolved early in this one within its target
        before_h = rng.uniform(1.0, max(1.5, 0.8 * target))
        raised = grid.start_us - int(before_h * 3600 * US)
        resolved = raised + int(rng.uniform(before_h + 0.5, 0.95 * target) * 3600 * US)
        assigned = raised + int(initial * rng.uniform(0.2, 0.9) * 3600 * US)
        add(
            cat,
            raised,
            resolved,
            assigned,
            *_scope(rng, interfaces, regions),
            f"Category {cat} incident carried over from the previous month",
            True,
        )
    for _ in range(inc.still_open):
        cat = int(rng.integers(3, 6))
        target = c.incident_categories[cat].resolution_hours
        initial = c.incident_categories[cat].initial_response_hours or 1.0
        # raised recently: its deadline falls after the month end, so it counts in a later month
        raised = grid.end_us - int(target * rng.uniform(0.3, 0.9) * 3600 * US)
        assigned = raised + int(initial * rng.uniform(0.2, 0.9) * 3600 * US)
        add(
            cat,
            raised,
            None,
            assigned,
            *_scope(rng, interfaces, regions),
            f"Category {cat} incident open at month end",
            True,
        )
    rows.sort(key=lambda r: (r["raised_at"], r["incident_id"]))
    return _table("incidents", rows), hits, notes


def _quota(rng: np.random.Generator, n: int, percent: float) -> np.ndarray:
    """n flags of which exactly round(n * percent / 100) are set, at random places."""
    flags = np.zeros(n, dtype=bool)
    k = min(n, round(n * percent / 100))
    if k:
        flags[rng.choice(n, size=k, replace=False)] = True
    return flags


def _resolution(
    rng: np.random.Generator,
    raised: int,
    target_h: float,
    initial_h: float,
    late: bool,
    late_a: bool,
) -> tuple[int, int]:
    factor = rng.uniform(1.05, 3.0) if late else rng.uniform(0.1, 0.95)
    resolved = raised + int(target_h * factor * 3600 * US)
    a_factor = rng.uniform(1.05, 4.0) if late_a else rng.uniform(0.05, 0.95)
    assigned = min(raised + int(initial_h * a_factor * 3600 * US), resolved)
    return resolved, assigned


def _scope(rng: np.random.Generator, interfaces: list[str], regions: list[str]) -> tuple[str, str]:
    u = rng.random()
    region_text = (
        "ALL"
        if u < 0.4
        else (regions[int(rng.integers(len(regions)))] if u < 0.9 else ";".join(regions[1:]))
    )
    first = "DCC User Interface" if "DCC User Interface" in interfaces else interfaces[0]
    other = interfaces[int(rng.integers(len(interfaces)))]
    iface = (
        first
        if rng.random() < 0.6 or other == first
        else (f"{first};{other}" if rng.random() < 0.3 else other)
    )
    return region_text, iface


def build_outages(
    s: Scenario, c: Catalog, grid: TimeGrid, rng: np.random.Generator
) -> tuple[pa.Table, list[str]]:
    """The outages table, and the ids of the injected major outages (`outages.major`)."""
    o = s.outages
    rows: list[dict[str, object]] = []
    for rule in o.planned_weekly:
        hh, mm = (int(x) for x in rule.start.split(":"))
        for d in grid.month.days:
            if _WEEKDAYS[d.weekday()] != rule.weekday:
                continue
            start = _us(datetime(d.year, d.month, d.day, hh, mm, tzinfo=UK))
            rows.append(
                _outage(
                    rule.interface,
                    "ALL",
                    start,
                    start + int(rule.hours * 3600 * US),
                    True,
                    "Planned maintenance",
                )
            )
    if o.across_clock_change and round(grid.month.hours) != 24 * len(grid.days):
        change = next(
            d
            for d in grid.month.days
            if (
                datetime(d.year, d.month, d.day, 12, tzinfo=UK).utcoffset()
                != datetime(d.year, d.month, d.day, 0, tzinfo=UK).utcoffset()
            )
        )
        start = _us(datetime(change.year, change.month, change.day, 0, 30, tzinfo=UK))
        end = _us(datetime(change.year, change.month, change.day, 3, 30, tzinfo=UK))
        iface = (
            "Registration Data Interface"
            if "Registration Data Interface" in c.interfaces
            else next(iter(c.interfaces))
        )
        rows.append(
            _outage(
                iface,
                "ALL",
                start,
                end,
                True,
                "Planned maintenance across the clock change (00:30-03:30 local)",
            )
        )
    interfaces = list(c.interfaces)
    regions = [*c.regions.keys(), "ALL"]
    lo, hi = o.unplanned_minutes
    span = grid.end_us - grid.start_us
    for _ in range(o.unplanned):
        iface = (
            "DCC User Interface"
            if rng.random() < 0.5 and "DCC User Interface" in interfaces
            else interfaces[int(rng.integers(len(interfaces)))]
        )
        start = grid.start_us + int(rng.uniform(0.02, 0.95) * span) // US * US
        minutes = float(rng.uniform(lo, hi))
        rows.append(
            _outage(
                iface,
                regions[int(rng.integers(len(regions)))],
                start,
                start + int(minutes * 60) * US,
                False,
                "Unplanned outage",
            )
        )
    base = list(rows)
    for i in range(min(o.overlapping, len(base))):
        other = base[int(rng.integers(len(base)))] if i else base[0]
        a, b = _us(other["start_at"]), _us(other["end_at"])  # type: ignore[arg-type]
        start = a + int((b - a) * rng.uniform(0.2, 0.8)) // US * US
        minutes = float(rng.uniform(lo, hi))
        rows.append(
            _outage(
                str(other["interface"]),
                str(other["region"]),
                start,
                start + int(minutes * 60) * US,
                False,
                "Unplanned outage overlapping another",
            )
        )
    # the injected major outages: on a weekday, starting in the morning (core band, local time)
    weekdays = [d for d in grid.month.days if d.weekday() < 5]
    for major in o.major:
        d = weekdays[int(rng.integers(len(weekdays)))]
        local = datetime(d.year, d.month, d.day, tzinfo=UK) + timedelta(
            minutes=int(rng.integers(9 * 60, 12 * 60))
        )
        start = _us(local)
        rows.append(
            _outage(
                major.interface,
                major.region,
                start,
                start + int(major.minutes * 60) * US,
                False,
                MAJOR_OUTAGE,
            )
        )
    if o.open_at_month_end:
        start = grid.end_us - int(rng.uniform(20, 90) * 60) * US
        rows.append(
            _outage(
                interfaces[0],
                regions[int(rng.integers(len(regions)))],
                start,
                None,
                False,
                "Unplanned outage, still open at month end",
            )
        )
    rows.sort(key=lambda r: (r["start_at"], r["interface"]))
    for i, r in enumerate(rows):
        r["outage_id"] = f"OUT-{grid.month.year % 100:02d}{grid.month.month:02d}-{i + 1:04d}"
    majors = [str(r["outage_id"]) for r in rows if r["description"] == MAJOR_OUTAGE]
    return _table("outages", rows), majors


MAJOR_OUTAGE = "Unplanned outage: major incident"


def _outage(
    interface: str, region: str, start: int, end: int | None, planned: bool, text: str
) -> dict[str, object]:
    return {
        "interface": interface,
        "region": region,
        "start_at": _dt(start),
        "end_at": None if end is None else _dt(end),
        "planned": planned,
        "description": text,
    }


def build_firmware(
    s: Scenario, grid: TimeGrid, inv: Inventory, rng: np.random.Generator
) -> pa.Table:
    """Comms hub firmware rollout: rows requested in the month, as known at month end."""
    f = s.firmware
    hubs = np.flatnonzero(~inv.smets1)
    n = round(len(hubs) * f.comms_hub_percent / 100)
    chosen = (
        np.sort(rng.choice(hubs, size=min(n, len(hubs)), replace=False))
        if n
        else np.array([], dtype=np.int64)
    )
    m = len(chosen)
    span = grid.end_us - grid.start_us
    requested = grid.start_us + (rng.uniform(0, 0.97, m) * span).astype(np.int64) // US * US
    # failures: exactly the scenario's share of each region's hubs (rounded), at random
    region = inv.region[chosen]
    delivery_failed = np.zeros(m, dtype=bool)
    act_failed = np.zeros(m, dtype=bool)
    for r in range(len(inv.regions)):
        mine = np.flatnonzero(region == r)
        delivery_failed[mine] = _quota(rng, len(mine), f.delivery_failed_percent)
        act_failed[mine] = _quota(rng, len(mine), f.activation_failed_percent)
    delivered = requested + (rng.uniform(*f.delivery_hours, m) * 3600 * US).astype(np.int64)
    act_req = delivered + (rng.uniform(*f.activation_delay_hours, m) * 3600 * US).astype(np.int64)
    activated = act_req + (rng.uniform(*f.activation_hours, m) * 3600 * US).astype(np.int64)
    end = grid.end_us
    ch_dev = inv.device_of[chosen, CHF]
    # rows in order of request, then hub id (fixed-width upper-case hex sorts like text)
    order = np.lexsort((inv.id_items[ch_dev].view(f"S{EUI_WIDTH}"), requested))
    chosen, ch_dev, requested = chosen[order], ch_dev[order], requested[order]
    delivery_failed, delivered = delivery_failed[order], delivered[order]
    act_req, activated, act_failed = act_req[order], activated[order], act_failed[order]
    # as known at month end: what happened after it is null ("pending")
    is_delivered = ~delivery_failed & (delivered < end)
    act_known = is_delivered & (act_req < end)
    is_activated = act_known & ~act_failed & (activated < end)
    images = [f"{x.manufacturer} {x.model} {x.firmware[-1].version}" for x in s.device_model]
    delivery = np.where(delivery_failed, 0, np.where(is_delivered, 2, 1))
    activation = np.where(act_failed, 0, np.where(is_activated, 2, 1))
    statuses = ["failed", "pending", "success"]
    schema = pa.schema([f.with_nullable(True) for f in TABLES["firmware"].arrow_schema()])
    cols = {
        "ch_id": strings_from_matrix(inv.id_items[ch_dev]),
        "region": _decoded(inv.region[chosen], list(inv.regions)),
        "image": _decoded(inv.ch_model[chosen], images),
        "requested_at": _timestamps(requested),
        "delivered_at": _timestamps(delivered, is_delivered),
        "delivery_status": _decoded(delivery, statuses),
        "activation_requested_at": _timestamps(act_req, act_known),
        "activated_at": _timestamps(activated, is_activated),
        "activation_status": _decoded(activation, statuses, act_known),
    }
    return pa.table([cols[f.name] for f in schema], schema=schema)


def _decoded(idx: np.ndarray, values: list[str], valid: np.ndarray | None = None) -> pa.Array:
    """Strings picked from `values` by index (null where not `valid`)."""
    mask = None if valid is None else ~valid
    indices = pa.array(np.asarray(idx, dtype=np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(values, pa.string())).cast(pa.string())


def _timestamps(us: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(us, dtype=np.int64), pa.timestamp("us", tz="UTC"), mask=mask)
