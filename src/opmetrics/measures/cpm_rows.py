"""Rows of the `cpm` results table, built one way for every measure.

Every measure returns plain dicts with exactly the columns of the `cpm` results table; building
them here keeps the value, the status and the "cannot be reported" case consistent: a measure
whose input table is missing returns the rows it would have had, with no numbers and status
`not_reportable`, because the regulator scores an unreported month as zero and a made-up 100 %
would hide that.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from opmetrics.catalog import Catalog
from opmetrics.catalog.assumptions import cpm_assumptions
from opmetrics.month import Month

NOT_REPORTABLE = "not_reportable"


def percent(numerator: int, denominator: int) -> float | None:
    """numerator / denominator as 0-100, None when nothing was measured.

    The float nearest the exact ratio (Fraction to float is correctly rounded): a value exactly
    at a target reads as that target, and a full score is exactly 100.
    """
    if denominator == 0:
        return None
    return float(Fraction(100 * numerator, denominator))


def cpm_row(
    catalog: Catalog,
    month: Month,
    cpm: str,
    numerator: int | None,
    denominator: int | None,
    *,
    per_unit: int = 1,
    interface: str | None = None,
    region: str | None = None,
    time_band: str | None = None,
    business_process: str | None = None,
    incident_category: str | None = None,
    note: str | None = None,
    reportable: bool = True,
) -> dict[str, Any]:
    """One `cpm` row from exact integers; with `reportable=False` the numbers are dropped.

    `numerator` and `denominator` are exact integers (counts, or microseconds for CPM6 with
    `per_unit=US_PER_MINUTE`): the status is decided on them, never on a float. The shown
    numerator and denominator are those integers divided by `per_unit` (minutes for CPM6).
    """
    spec = catalog.cpms[cpm]
    value: float | None
    if not reportable or numerator is None or denominator is None:
        numerator = denominator = value = None
        status = NOT_REPORTABLE
    else:
        numerator, denominator = int(numerator), int(denominator)
        value = percent(numerator, denominator)
        status = status_of(numerator, denominator, spec.target_percent, spec.minimum_percent)
    assumed = cpm_assumptions(
        catalog,
        cpm,
        interface=interface,
        business_process=business_process,
        incident_category=incident_category,
    )
    row: dict[str, Any] = {
        "month": month.label,
        "cpm": cpm,
        "interface": interface,
        "region": region,
        "time_band": time_band,
        "business_process": business_process,
        "incident_category": incident_category,
        "numerator": None if numerator is None else float(Fraction(numerator, per_unit)),
        "denominator": None if denominator is None else float(Fraction(denominator, per_unit)),
        "value_percent": value,
        "target_percent": spec.target_percent,
        "minimum_percent": spec.minimum_percent,
        "status": status,
        "note": note,
        "numerator_exact": numerator,
        "denominator_exact": denominator,
        "assumed": "; ".join(assumed) or None,
    }
    return row


def exact_percent(value: float) -> Fraction:
    """A target or minimum as the exact decimal it was written as (99.5 -> 199/2)."""
    return Fraction(repr(float(value)))


def status_of(numerator: int | None, denominator: int | None, target: float, minimum: float) -> str:
    """CPM status (design §4) decided on exact integers; `not_reportable` is the caller's.

    `numerator / denominator * 100 >= target` is tested as `numerator * 100 >= target *
    denominator` in rational arithmetic: a value exactly at the target is `met`, one a hair
    under it is not, whatever a float of the ratio would round to.
    """
    if not denominator or numerator is None:
        return "no_activity"
    value = Fraction(int(numerator) * 100, int(denominator))
    if value >= exact_percent(target):
        return "met"
    if value >= exact_percent(minimum):
        return "below_target"
    return "below_minimum"


def missing_table_note(table: str, what: str) -> str:
    return f"no {table} table in the data dir: {what} cannot be reported"
