"""The incident counting rule: each incident counted exactly once, in the right month."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from opmetrics.catalog import default_catalog
from opmetrics.measures.incidents import Incident, incident_regions, tally
from opmetrics.measures.intervals import US_PER_HOUR, US_PER_MINUTE, hours_us, to_us
from opmetrics.month import Month

START = to_us(datetime(2021, 3, 1, tzinfo=UTC))
SPAN_MINUTES = 120 * 24 * 60  # incidents raised over four months from 1 March 2021
MONTHS = [Month(2021, m) for m in range(2, 10)]  # wide enough for every deadline

incident = st.builds(
    lambda n, cat, raised, after: Incident(
        incident_id=f"I{n}",
        category=cat,
        dcc_responsible=True,
        raised=START + raised * US_PER_MINUTE,
        assigned=None,
        resolved=None if after is None else START + (raised + after) * US_PER_MINUTE,
        regions=None,
    ),
    st.integers(0, 10**6),
    st.integers(1, 5),
    st.integers(0, SPAN_MINUTES),
    st.none() | st.integers(0, 10 * 24 * 60),
)


def resolution_hours(i: Incident) -> float:
    return default_catalog().incident_categories[i.category].resolution_hours


@given(st.lists(incident, max_size=30))
def test_each_incident_is_counted_once(incidents: list[Incident]) -> None:
    tallies = [tally(incidents, m, lambda i: i.resolved, resolution_hours) for m in MONTHS]
    on_time = [
        i
        for i in incidents
        if i.resolved is not None and i.resolved <= i.raised + hours_us(resolution_hours(i))
    ]
    assert sum(t.counted for t in tallies) == len(incidents)
    assert sum(t.met for t in tallies) == len(on_time)
    for m, t in zip(MONTHS, tallies, strict=True):
        lo, hi = to_us(m.start_utc), to_us(m.end_utc)
        assert t.met == sum(1 for i in on_time if lo <= (i.resolved or 0) < hi)
        assert 0 <= t.met <= t.counted


def test_deadline_boundaries() -> None:
    """Resolved exactly at the deadline is in time; one microsecond later is late."""
    raised = to_us(datetime(2021, 4, 6, 10, tzinfo=UTC))
    deadline = raised + 4 * US_PER_HOUR  # Category 1

    def one(resolved: int | None) -> Incident:
        return Incident("X", 1, True, raised, None, resolved, None)

    april = Month(2021, 4)
    assert tally([one(deadline)], april, lambda i: i.resolved, resolution_hours).met == 1
    late = tally([one(deadline + 1)], april, lambda i: i.resolved, resolution_hours)
    assert (late.met, late.late) == (0, 1)
    still_open = tally([one(None)], april, lambda i: i.resolved, resolution_hours)
    assert (still_open.met, still_open.open_past_deadline) == (0, 1)


def test_incident_regions() -> None:
    catalog = default_catalog()
    every = ["North", "Central", "South", "SMETS1"]
    assert incident_regions(None, catalog) == every
    assert incident_regions(" ", catalog) == every
    assert incident_regions("ALL", catalog) == every
    assert incident_regions("South; North", catalog) == ["North", "South"]
