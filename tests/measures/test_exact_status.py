"""A CPM status never disagrees with exact arithmetic on its numerator and denominator.

The reference here is integer arithmetic only (no Fraction, no float): with the target in
hundredths of a percent, a value is at or above it when `numerator * 10_000 >= target *
denominator`. It shares nothing with `status_of`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import opmetrics
from opmetrics.catalog import default_catalog
from opmetrics.measures.cpm_rows import cpm_row, status_of
from opmetrics.measures.intervals import US_PER_MINUTE
from opmetrics.month import Month
from opmetrics.reports import fmt
from tests.measures.randomrows import daily_background, random_requests
from tests.measures.reference import check_cpm_table, hundredths, reference_status
from tests.measures.test_reference import write_requests

CATALOG = default_catalog()


targets = st.integers(0, 10_000).map(lambda h: h / 100)


@given(
    d=st.integers(0, 10**15),
    frac=st.floats(0, 1),
    target=targets,
    minimum=targets,
)
def test_status_is_exact_for_any_integers(
    d: int, frac: float, target: float, minimum: float
) -> None:
    minimum = min(minimum, target)
    n = round(d * frac)
    assert status_of(n, d, target, minimum) == reference_status(n, d, target, minimum)


@given(d=st.integers(1, 10**15), target=targets)
def test_exactly_at_target_is_met_and_one_below_is_not(d: int, target: float) -> None:
    """Scale the denominator so the target is hit exactly, then step one unit below it."""
    h = hundredths(target)
    d = d * 10_000
    n = h * d // 10_000
    assert status_of(n, d, target, 0.0) == "met"
    if n > 0 and target > 0:
        assert status_of(n - 1, d, target, 0.0) == "below_target"


@given(
    available_us=st.integers(0, 31 * 86_400 * 10**6),
    lost_us=st.integers(0, 31 * 86_400 * 10**6),
)
def test_cpm6_row_is_decided_on_microseconds(available_us: int, lost_us: int) -> None:
    period = available_us + lost_us
    row = cpm_row(CATALOG, Month(2021, 4), "CPM6", available_us, period, per_unit=US_PER_MINUTE)
    spec = CATALOG.cpms["CPM6"]
    want = reference_status(available_us, period, spec.target_percent, spec.minimum_percent)
    assert row["status"] == want
    assert (row["numerator_exact"], row["denominator_exact"]) == (available_us, period)
    if period:
        assert row["denominator"] == period / US_PER_MINUTE
        shown = fmt.percent(fmt.exact_percent(available_us, period))
        # the figure printed beside the status never contradicts it
        if want == "met":
            assert Decimal(shown) >= Decimal(repr(spec.target_percent))
        else:
            assert Decimal(shown) < Decimal(repr(spec.target_percent))


def test_computed_statuses_agree_with_exact_arithmetic(tmp_path: Path) -> None:
    rows = random_requests(1500, 5, CATALOG) + daily_background(2021, 4, 30)
    write_requests(tmp_path / "data", rows)
    golden = Path(__file__).parent.parent / "golden"
    for name in ("outages.csv", "alerts.csv", "incidents.csv", "firmware.csv"):
        src = next(golden.glob(f"*/{name}"))
        (tmp_path / "data" / name).write_bytes(src.read_bytes())
    s = opmetrics.compute(tmp_path / "data", "2021-04", tmp_path / "out", anon_key="k")
    assert check_cpm_table(s.tables["cpm"].to_pylist()) > 50
