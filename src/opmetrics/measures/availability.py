"""CPM6: availability of the DCC Interfaces per interface, region and time band (design §5).

Outages are a few hundred rows a month, so they are fetched to the client and the minutes are
worked out exactly with interval sets (`intervals.py`): overlapping outages are merged, never
summed, and time under planned maintenance leaves the Target Availability Period instead of
counting as unavailable. The time bands are built from real instants, one UK-local day at a
time, so a month with a clock change has its 743 or 745 hours and every band minute is a real
minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir

from opmetrics.catalog import Catalog
from opmetrics.catalog.model import WEEKDAYS
from opmetrics.contract.schema import ALL
from opmetrics.engine.base import Engine
from opmetrics.measures.cpm_rows import cpm_row, missing_table_note
from opmetrics.measures.intervals import (
    US_PER_MINUTE,
    Interval,
    clip,
    intersect,
    length,
    local_instant,
    merge,
    records_us,
    subtract,
    to_us,
)
from opmetrics.month import Month

BANDS = ("core", "other")


@dataclass(frozen=True)
class Outage:
    outage_id: str
    interface: str
    region: str
    start: int  # epoch microseconds, UTC
    end: int | None  # None: still open
    planned: bool


def band_intervals(catalog: Catalog, month: Month) -> dict[str, list[Interval]]:
    """The month's `core` and `other` bands as interval sets of real instants.

    `core` is the union of the catalog's time bands, each a UK-local wall-clock window on some
    weekdays (bank holidays are ordinary days); `other` is every other instant of the month.
    """
    window = (to_us(month.start_utc), to_us(month.end_utc))
    core: list[Interval] = []
    for day in month.days:
        weekday = WEEKDAYS[day.weekday()]
        for band in catalog.time_band:
            if weekday in band.weekdays:
                start, end = band.minutes()
                core.append((local_instant(day, start), local_instant(day, end)))
    core_set = merge(clip(core, window))
    return {"core": core_set, "other": subtract([window], core_set)}


def fetch_outages(
    outages: ir.Table, engine: Engine, interfaces: list[str], month: Month
) -> list[Outage]:
    """Accepted outages of the measured interfaces that touch the month."""
    o = outages
    t = o.filter(
        o.interface.isin(interfaces),
        o.start_at < month.end_utc,
        o.end_at.isnull() | (o.end_at > month.start_utc),
    ).select("outage_id", "interface", "region", "start_at", "end_at", "planned")
    out = []
    for rec in records_us(engine.to_arrow(t), ["start_at", "end_at"]):
        s = rec["start_at"]
        assert s is not None  # required column, validated
        out.append(
            Outage(
                rec["outage_id"],
                rec["interface"],
                rec["region"],
                s,
                rec["end_at"],
                bool(rec["planned"]),
            )
        )
    return sorted(out, key=lambda x: (x.start, x.outage_id))


@dataclass(frozen=True)
class BandAvailability:
    """Microsecond totals of one interface x region x band."""

    band: int
    planned: int  # Planned Maintenance within the band
    unavailable: int  # unplanned outage within the band, outside planned maintenance

    @property
    def target_period(self) -> int:
        return self.band - self.planned

    @property
    def available(self) -> int:
        return self.target_period - self.unavailable


def availability(
    outages: list[Outage], bands: dict[str, list[Interval]], window: Interval
) -> dict[str, BandAvailability]:
    """Per band: band length, planned maintenance and unplanned unavailability (all merged)."""
    spans = [(o.start, window[1] if o.end is None else o.end, o.planned) for o in outages]
    planned = merge(clip([(s, e) for s, e, p in spans if p], window))
    unplanned = subtract(merge(clip([(s, e) for s, e, p in spans if not p], window)), planned)
    return {
        name: BandAvailability(
            band=length(band),
            planned=length(intersect(planned, band)),
            unavailable=length(intersect(unplanned, band)),
        )
        for name, band in bands.items()
    }


def cpm6(
    outages: ir.Table | None, engine: Engine, catalog: Catalog, month: Month
) -> list[dict[str, Any]]:
    """One row per CPM6 interface x region x band; numerator and denominator are minutes
    (exact microseconds in `numerator_exact` / `denominator_exact`, which decide the status).

    Only interfaces the catalog marks `in_cpm6` are measured: the item (f) interface never is
    (the catalog refuses it), and an outage of an unmeasured interface is accepted but unused.

    An outage for region ALL applies to every region; an open outage (no `end_at`) runs to the
    end of the month; outages are clipped to the month.
    """
    interfaces = [i.id for i in catalog.interface if i.in_cpm6]
    regions = list(catalog.regions)
    keys = [(i, r, b) for i in interfaces for r in regions for b in BANDS]
    if outages is None:
        note = missing_table_note("outages", "availability (CPM6)")
        return [
            cpm_row(
                catalog,
                month,
                "CPM6",
                None,
                None,
                interface=i,
                region=r,
                time_band=b,
                note=note,
                reportable=False,
            )
            for i, r, b in keys
        ]
    window = (to_us(month.start_utc), to_us(month.end_utc))
    bands = band_intervals(catalog, month)
    fetched = fetch_outages(outages, engine, interfaces, month)
    rows = []
    for iface in interfaces:
        for region in regions:
            these = [o for o in fetched if o.interface == iface and o.region in (region, ALL)]
            result = availability(these, bands, window)
            still_open = sum(1 for o in these if o.end is None)
            open_note = (
                f"{still_open} outage(s) still open, counted to the end of the month"
                if still_open
                else None
            )
            for band in BANDS:
                a = result[band]
                rows.append(
                    cpm_row(
                        catalog,
                        month,
                        "CPM6",
                        a.available,
                        a.target_period,
                        per_unit=US_PER_MINUTE,
                        interface=iface,
                        region=region,
                        time_band=band,
                        note=open_note,
                    )
                )
    return rows
