"""Every CPM row of a generated month, counted by the generator, with its intended level and why.

The scenario is built so that the DCC mostly meets its own measures (CPM1-CPM6C) and the
injected events are the visible exceptions (the major outages for CPM6); the ecosystem measure
CPM6A is what the HAN and the devices make it (GSME wake-ups, device failures). `truth.json`
records, per `cpm` row, what the generator expects the measures to compute (numerator,
denominator and status, counted from its own arrays and event tables, independently of the
measures code: the requests' and alerts' counts come from the chunks' `Tally`), the statuses
the scenario intends for it (`intended`; null for CPM6A) and why.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.generator.scenario import Scenario
from opmetrics.generator.timegrid import US, TimeGrid
from opmetrics.generator.truth import Tally
from opmetrics.month import UK

ALL = "ALL"
MET = ["met"]
MISSED = ["below_target", "below_minimum"]
DIMS = ("interface", "region", "time_band", "business_process", "incident_category")


def status(num: int, den: int, target: float, minimum: float) -> str:
    """The design's status, decided on the exact integers."""
    if den == 0:
        return "no_activity"
    v = Fraction(100 * num, den)
    if v >= Fraction(str(target)):
        return "met"
    return "below_target" if v >= Fraction(str(minimum)) else "below_minimum"


class _Rows:
    def __init__(self, c: Catalog, month: str) -> None:
        self.c, self.month, self.rows = c, month, []  # type: ignore[var-annotated]

    def add(
        self,
        cpm: str,
        num: int,
        den: int,
        intended: list[str] | None,
        why: str,
        *,
        scale: float = 1.0,
        **dims: str,
    ) -> None:
        c = self.c.cpms[cpm]
        self.rows.append(
            {
                "month": self.month,
                "cpm": cpm,
                **{k: dims.get(k) for k in DIMS},
                "numerator": num / scale if scale != 1.0 else num,
                "denominator": den / scale if scale != 1.0 else den,
                "status": status(num, den, c.target_percent, c.minimum_percent),
                "intended": intended,
                "why": why,
            }
        )


def cpm_levels(
    s: Scenario,
    c: Catalog,
    grid: TimeGrid,
    tally: Tally,
    srv_ids: list[str],
    regions: tuple[str, ...],
    incidents: pa.Table,
    outages: pa.Table,
    major_outages: list[str],
    firmware: pa.Table,
) -> list[dict[str, Any]]:
    out = _Rows(c, str(grid.month))
    reporting = [*regions, c.smets1_region]
    tm, o = s.timing, s.outcomes
    # CPM1 / CPM2: DCC time within the TRT, by reporting region
    dcc_owned = o.failure_kinds.get("no_response", 0) + o.failure_kinds.get("dsp_gave_up", 0)
    total_kinds = sum(o.failure_kinds.values()) or 1.0
    why = (
        f"DCC legs of about {tm.outbound_median_s:g} s out and {tm.inbound_median_s:g} s back "
        f"against the TRT; DCC-owned failures (no response, DSP gave up) are "
        f"{100 * dcc_owned / total_kinds:.0f} % of failures"
    )
    for e, cpm in enumerate(("CPM1", "CPM2")):
        cells = tally.dcc[e]
        out.add(cpm, int(cells[:, 1].sum()), int(cells[:, 0].sum()), MET, why, region=ALL)
        for i, r in enumerate(reporting):
            out.add(cpm, int(cells[i, 1]), int(cells[i, 0]), MET, why, region=r)
    # CPM3: alerts
    a = s.alerts
    out.add(
        "CPM3",
        int(tally.alerts[1]),
        int(tally.alerts[0]),
        MET,
        f"alerts delivered in seconds; {a.late_percent:g} % late, "
        f"{a.undelivered_percent:g} % undelivered",
    )
    _incident_rows(out, s, c, grid, incidents)
    _availability_rows(out, c, grid, outages, major_outages)
    # CPM6A: the ecosystem measure, from the per-SRV counts
    within = tally.within  # (srv, region, smets1)
    counts = tally.counts  # (srv, region, smets1, class)
    for bp in c.business_processes.values():
        if not bp.in_cpm6a:
            continue
        idx = [i for i, x in enumerate(srv_ids) if c.srvs[x].business_process == bp.id]
        w, n = within[idx], counts[idx][..., :2].sum(axis=-1)
        why = "ecosystem measure: the RTT includes the HAN and the devices (GSME wake-ups, device failures)"
        per = {r: (int(w[:, i, 0].sum()), int(n[:, i, 0].sum())) for i, r in enumerate(regions)}
        per[c.smets1_region] = (int(w[:, :, 1].sum()), int(n[:, :, 1].sum()))
        out.add("CPM6A", int(w.sum()), int(n.sum()), None, why, region=ALL, business_process=bp.id)
        for r in reporting:
            out.add("CPM6A", *per[r], None, why, region=r, business_process=bp.id)
    _firmware_rows(out, s, grid, regions, firmware)
    return out.rows


def _us(col: pa.ChunkedArray | pa.Array) -> list[int | None]:
    arr = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return arr.to_pylist()


def _incident_rows(out: _Rows, s: Scenario, c: Catalog, grid: TimeGrid, t: pa.Table) -> None:
    """CPM4, CPM5, CPM5A: each incident counted once, in its event's month if on time, else in
    the month its deadline fell (design §5)."""
    cats = t["category"].to_pylist()
    responsible = t["dcc_responsible"].to_pylist()
    raised, assigned, resolved = (_us(t[k]) for k in ("raised_at", "assigned_at", "resolved_at"))
    start, end = grid.start_us, grid.end_us

    def count(keep: list[int], event: list[int | None], hours: dict[int, float]) -> tuple[int, int]:
        met = den = 0
        for i in keep:
            deadline = int(raised[i]) + round(hours[cats[i]] * 3600 * US)  # type: ignore[arg-type]
            at = event[i]
            if at is not None and at <= deadline:
                met += start <= at < end
                den += start <= at < end
            elif start <= deadline < end:
                den += 1
        return met, den

    inc = s.incidents
    resolution = {k: v.resolution_hours for k, v in c.incident_categories.items()}
    initial = {
        k: v.initial_response_hours or 0.0
        for k, v in c.incident_categories.items()
        if v.initial_response_hours
    }
    rows = range(len(cats))
    cat12 = [i for i in rows if responsible[i] and cats[i] in (1, 2)]
    longest = max((hi for _, hi in inc.open_hours.values()), default=0.0)
    in_time = all(hi <= resolution[int(k)] for k, (_, hi) in inc.open_hours.items())
    out.add(
        "CPM4",
        *count(cat12, resolved, resolution),
        MET if in_time else MISSED,
        f"Category 1/2 incidents open at most {longest:g} h, within their Target Resolution Time"
        if in_time
        else "Category 1/2 incidents open longer than their Target Resolution Time",
        incident_category="1-2",
    )
    for cat in (3, 4, 5):
        target = c.cpms["CPM5"].target_percent
        ok = inc.late_percent <= 100 - target
        out.add(
            "CPM5",
            *count([i for i in rows if responsible[i] and cats[i] == cat], resolved, resolution),
            MET if ok else MISSED,
            f"exactly {inc.late_percent:g} % of Category {cat} incidents (rounded) resolved late",
            incident_category=str(cat),
        )
    ok = inc.late_assignment_percent <= 100 - c.cpms["CPM5A"].target_percent
    out.add(
        "CPM5A",
        *count([i for i in rows if cats[i] in (3, 4, 5)], assigned, initial),
        MET if ok else MISSED,
        f"exactly {inc.late_assignment_percent:g} % of Category 3-5 incidents (rounded) "
        "assigned late",
        incident_category="3-5",
    )


def _core_seconds(c: Catalog, grid: TimeGrid) -> np.ndarray:
    """Per second of the month: in the core band (UK local weekday and time, catalog bands)."""
    n_min = (grid.end_us - grid.start_us) // (60 * US)
    start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=grid.start_us)
    core = np.zeros(n_min, dtype=bool)
    bands = [(b.weekdays, *b.minutes()) for b in c.time_band]
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    for h in range(n_min // 60):
        local = (start + timedelta(hours=h)).astimezone(UK)
        day, minute0 = names[local.weekday()], local.hour * 60 + local.minute
        for days, lo, hi in bands:
            if day in days:
                m = np.arange(minute0, minute0 + 60)
                core[h * 60 : h * 60 + 60] |= (m >= lo) & (m < hi)
    return np.repeat(core, 60)


def _merged(n: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans (seconds from the month start) clipped to the month and merged."""
    out: list[tuple[int, int]] = []
    for a, b in sorted((max(a, 0), min(b, n)) for a, b in spans):
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _minus(spans: list[tuple[int, int]], cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merged spans less merged spans."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        for c, d in cut:
            if d <= a or c >= b:
                continue
            if c > a:
                out.append((a, c))
            a = max(a, d)
            if a >= b:
                break
        if a < b:
            out.append((a, b))
    return out


def _availability_rows(
    out: _Rows, c: Catalog, grid: TimeGrid, t: pa.Table, majors: list[str]
) -> None:
    """CPM6 per interface x region x band: minutes available over the Target Availability
    Period (band minutes less planned maintenance), unplanned outages merged, never summed."""
    core = _core_seconds(c, grid)
    n = len(core)
    cum = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(core, out=cum[1:])

    def in_core(spans: list[tuple[int, int]]) -> int:
        return sum(int(cum[b] - cum[a]) for a, b in spans)

    def total(spans: list[tuple[int, int]]) -> int:
        return sum(b - a for a, b in spans)

    n_core = int(cum[-1])
    rows = t.to_pylist()
    starts, ends = _us(t["start_at"]), _us(t["end_at"])
    regions = [r.id for r in c.region]
    for iface in (i.id for i in c.interface if i.in_cpm6):
        for region in regions:
            planned: list[tuple[int, int]] = []
            unplanned: list[tuple[int, int]] = []
            major: list[tuple[int, int]] = []
            ids: list[str] = []
            for k, r in enumerate(rows):
                if r["interface"] != iface or r["region"] not in (region, ALL):
                    continue
                a = (int(starts[k]) - grid.start_us) // US  # type: ignore[arg-type]
                b = n if ends[k] is None else (int(ends[k]) - grid.start_us) // US  # type: ignore[arg-type]
                (planned if r["planned"] else unplanned).append((a, b))
                if not r["planned"] and r["outage_id"] in majors:
                    ids.append(str(r["outage_id"]))
                    major.append((a, b))
            p = _merged(n, planned)
            u = _minus(_merged(n, unplanned), p)
            m = _minus(_merged(n, major), p)
            p_core, u_core, m_core = in_core(p), in_core(u), in_core(m)
            for band, tap, down, hit in (
                ("core", n_core - p_core, u_core, m_core),
                ("other", n - n_core - (total(p) - p_core), total(u) - u_core, total(m) - m_core),
            ):
                if hit:
                    intended, why = MISSED, f"injected major outage {', '.join(ids)}"
                else:
                    intended, why = MET, "weekly planned maintenance and short unplanned outages"
                out.add(
                    "CPM6",
                    (tap - down) * US,
                    tap * US,
                    intended,
                    why,
                    scale=60.0 * US,
                    interface=iface,
                    region=region,
                    time_band=band,
                )


def _firmware_rows(
    out: _Rows, s: Scenario, grid: TimeGrid, regions: tuple[str, ...], t: pa.Table
) -> None:
    f = s.firmware
    region = t["region"].to_pylist()
    delivered = [x == "success" for x in t["delivery_status"].to_pylist()]
    act_at = _us(t["activation_requested_at"])
    act_in = [a is not None and grid.start_us <= a < grid.end_us for a in act_at]
    activated = [x == "success" for x in t["activation_status"].to_pylist()]
    why_b = (
        f"exactly {f.delivery_failed_percent:g} % of each region's hubs (rounded) fail; "
        f"deliveries take {f.delivery_hours[0]:g}-{f.delivery_hours[1]:g} h"
    )
    why_c = (
        f"exactly {f.activation_failed_percent:g} % of each region's hubs (rounded) fail; "
        f"activations take {f.activation_hours[0]:g}-{f.activation_hours[1]:g} h"
    )
    for r in (ALL, *regions):
        mine = [i for i in range(len(region)) if r == ALL or region[i] == r]
        out.add("CPM6B", sum(delivered[i] for i in mine), len(mine), MET, why_b, region=r)
        acts = [i for i in mine if act_in[i]]
        out.add("CPM6C", sum(activated[i] for i in acts), len(acts), MET, why_c, region=r)
