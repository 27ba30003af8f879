"""Rows of the `cpm` results table, built one way for every measure.

Every measure returns plain dicts with exactly the columns of `results.schema.CPM`; building
them here keeps the value, the status and the "cannot be reported" case consistent: a measure
whose input table is missing returns the rows it would have had, with no numbers and status
`not_reportable`, because the regulator scores an unreported month as zero and a made-up 100 %
would hide that.
"""

from __future__ import annotations

from typing import Any

from opmetrics.catalog import Catalog
from opmetrics.month import Month
from opmetrics.results.schema import CPM, status_of

NOT_REPORTABLE = "not_reportable"


def percent(numerator: float, denominator: float) -> float | None:
    """numerator / denominator as 0-100, None when nothing was measured.

    Divided first, then scaled: a ratio of equal numbers is exactly 1, so a full score is
    exactly 100 (numerator * 100 / denominator can round to 100.00000000000001).
    """
    if denominator == 0:
        return None
    return 100 * (numerator / denominator)


def cpm_row(
    catalog: Catalog,
    month: Month,
    cpm: str,
    numerator: float | None,
    denominator: float | None,
    *,
    interface: str | None = None,
    region: str | None = None,
    time_band: str | None = None,
    business_process: str | None = None,
    incident_category: str | None = None,
    note: str | None = None,
    reportable: bool = True,
) -> dict[str, Any]:
    """One `cpm` row; with `reportable=False` the numbers are dropped and the status says so."""
    spec = catalog.cpms[cpm]
    if not reportable or numerator is None or denominator is None:
        numerator = denominator = value = None
        status = NOT_REPORTABLE
    else:
        value = percent(numerator, denominator)
        status = status_of(value, denominator, spec.target_percent, spec.minimum_percent)
    row: dict[str, Any] = {
        "month": month.label,
        "cpm": cpm,
        "interface": interface,
        "region": region,
        "time_band": time_band,
        "business_process": business_process,
        "incident_category": incident_category,
        "numerator": None if numerator is None else float(numerator),
        "denominator": None if denominator is None else float(denominator),
        "value_percent": value,
        "target_percent": spec.target_percent,
        "minimum_percent": spec.minimum_percent,
        "status": status,
        "note": note,
    }
    assert list(row) == CPM.names
    return row


def missing_table_note(table: str, what: str) -> str:
    return f"no {table} table in the data dir: {what} cannot be reported"
