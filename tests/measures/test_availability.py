"""CPM6 interval arithmetic checked against independent brute-force counts.

Band minutes are counted minute by minute in UTC and converted to UK local time by pandas (the
opposite direction to the implementation, which converts local band boundaries to UTC), for
every month of 2021-2023. Availability is checked second by second on boolean masks for random
outages.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opmetrics.catalog import default_catalog
from opmetrics.catalog.model import WEEKDAYS
from opmetrics.contract.schema import OUTAGES
from opmetrics.engine import Engine, EngineOptions, connect
from opmetrics.measures.availability import Outage, availability, band_intervals, cpm6
from opmetrics.measures.intervals import US_PER_MINUTE, US_PER_SECOND, length, to_us
from opmetrics.month import Month

MONTHS = [Month(y, m) for y in (2021, 2022, 2023) for m in range(1, 13)]


def core_mask(month: Month, step: str) -> np.ndarray:
    """Per UTC step of the month: is that instant in the catalog's core band (UK local)?"""
    catalog = default_catalog()
    utc = pd.date_range(month.start_utc, month.end_utc, freq=step, inclusive="left", tz="UTC")
    local = utc.tz_convert("Europe/London")
    minute_of_day = local.hour * 60 + local.minute
    weekday = np.array(WEEKDAYS)[np.asarray(local.day_of_week)]
    mask = np.zeros(len(utc), dtype=bool)
    for band in catalog.time_band:
        start, end = band.minutes()
        in_days = np.isin(weekday, band.weekdays)
        mask |= in_days & (minute_of_day >= start) & (minute_of_day < end)
    return mask


@pytest.mark.parametrize("month", MONTHS, ids=str)
def test_band_minutes_match_a_minute_by_minute_count(month: Month) -> None:
    bands = band_intervals(default_catalog(), month)
    mask = core_mask(month, "1min")
    assert length(bands["core"]) == int(mask.sum()) * US_PER_MINUTE
    assert length(bands["other"]) == int((~mask).sum()) * US_PER_MINUTE
    assert length(bands["core"]) + length(bands["other"]) == round(month.hours * 60) * US_PER_MINUTE


def test_band_minutes_by_hand() -> None:
    """The figures of tests/golden/README.md."""
    catalog = default_catalog()
    for month, hours, core in (
        (Month(2021, 3), 743, 17520),
        (Month(2021, 4), 720, 16800),
        (Month(2021, 10), 745, 16320),
    ):
        bands = band_intervals(catalog, month)
        assert month.hours == hours
        assert length(bands["core"]) == core * US_PER_MINUTE
        assert length(bands["other"]) == (hours * 60 - core) * US_PER_MINUTE


APRIL = Month(2021, 4)
APRIL_SECONDS = round(APRIL.hours * 3600)


@cache
def april_core_seconds() -> np.ndarray:
    return core_mask(APRIL, "1s")


outage_spans = st.lists(
    st.tuples(
        st.integers(-86_400, APRIL_SECONDS + 86_400),  # may start before the month
        st.integers(1, 3 * 86_400),  # duration
        st.booleans(),  # planned
        st.booleans(),  # still open
    ),
    max_size=8,
)


def to_outages(spans: list[tuple[int, int, bool, bool]]) -> list[Outage]:
    base = to_us(APRIL.start_utc)
    return [
        Outage(
            f"O{n}",
            "DCC User Interface",
            "North",
            base + s * US_PER_SECOND,
            None if still_open else base + (s + d) * US_PER_SECOND,
            planned,
        )
        for n, (s, d, planned, still_open) in enumerate(spans)
    ]


def brute_force(spans: list[tuple[int, int, bool, bool]]) -> dict[str, tuple[int, int, int]]:
    """Per band, in seconds: (band, planned maintenance, unavailable), from boolean masks."""
    planned = np.zeros(APRIL_SECONDS, dtype=bool)
    unplanned = np.zeros(APRIL_SECONDS, dtype=bool)
    for s, d, is_planned, still_open in spans:
        lo, hi = max(s, 0), APRIL_SECONDS if still_open else min(s + d, APRIL_SECONDS)
        if hi > lo:
            (planned if is_planned else unplanned)[lo:hi] = True
    core = april_core_seconds()
    out = {}
    for name, band in (("core", core), ("other", ~core)):
        out[name] = (
            int(band.sum()),
            int((band & planned).sum()),
            int((band & unplanned & ~planned).sum()),
        )
    return out


@settings(max_examples=60, deadline=None)
@given(outage_spans, st.randoms(use_true_random=False))
def test_availability_matches_second_by_second_masks(
    spans: list[tuple[int, int, bool, bool]], rnd: random.Random
) -> None:
    window = (to_us(APRIL.start_utc), to_us(APRIL.end_utc))
    bands = band_intervals(default_catalog(), APRIL)
    outages = to_outages(spans)
    got = availability(outages, bands, window)
    want = brute_force(spans)
    for band in ("core", "other"):
        g = got[band]
        assert (g.band, g.planned, g.unavailable) == tuple(x * US_PER_SECOND for x in want[band])
        assert 0 <= g.available <= g.target_period
    rnd.shuffle(outages)
    assert availability(outages, bands, window) == got


@pytest.fixture(scope="module")
def duckdb() -> Iterator[Engine]:
    engine = connect(EngineOptions(name="duckdb", threads=1))
    yield engine
    engine.close()


regions = st.sampled_from(["North", "Central", "South", "SMETS1", "ALL"])
interfaces = st.sampled_from(["DCC User Interface", "Self-Service Interface"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(interfaces, regions, outage_spans.map(lambda s: s[:1])), max_size=6),
    st.randoms(use_true_random=False),
)
def test_cpm6_rates_and_order_independence(
    duckdb: Engine,
    rows: list[tuple[str, str, list[tuple[int, int, bool, bool]]]],
    rnd: random.Random,
) -> None:
    """Through the engine: every value within 0-100, and shuffled input gives the same rows."""
    catalog = default_catalog()
    base = to_us(APRIL.start_utc)
    records = []
    for n, (iface, region, spans) in enumerate(rows):
        for s, d, planned, still_open in spans:
            records.append(
                {
                    "outage_id": f"O{n}",
                    "interface": iface,
                    "region": region,
                    "start_at": pd.Timestamp(base + s * US_PER_SECOND, unit="us", tz="UTC"),
                    "end_at": None
                    if still_open
                    else pd.Timestamp(base + (s + d) * US_PER_SECOND, unit="us", tz="UTC"),
                    "planned": planned,
                    "description": None,
                }
            )

    def run(recs: list[dict[str, object]]) -> list[dict[str, object]]:
        table = pa.Table.from_pylist(recs, schema=OUTAGES.arrow_schema().remove_metadata())
        return cpm6(duckdb.memtable(table), duckdb, catalog, APRIL)

    first = run(records)
    for r in first:
        assert r["value_percent"] is None or 0 <= r["value_percent"] <= 100
        assert 0 <= r["numerator"] <= r["denominator"]
    shuffled = list(records)
    rnd.shuffle(shuffled)
    assert run(shuffled) == first
