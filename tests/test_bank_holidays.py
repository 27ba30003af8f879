"""The shipped bank-holiday table is what the `holidays` package says, year by year: when a
newer package carries a new one-off day, this fails until `scripts/bank_holidays.py` is run."""

from __future__ import annotations

from datetime import date

from opmetrics.workdays import _shipped, bank_holidays, holidays_from_package


def test_the_table_covers_2015_to_2040_and_matches_the_package() -> None:
    shipped = _shipped()
    assert sorted(shipped) == list(range(2015, 2041))
    for year, days in shipped.items():
        assert days == holidays_from_package(year), year


def test_one_off_days_are_in_the_table() -> None:
    assert bank_holidays(2022)[date(2022, 9, 19)] == "State Funeral of Queen Elizabeth II"
    assert date(2023, 5, 8) in bank_holidays(2023)  # the Coronation
    assert date(2022, 6, 3) in bank_holidays(2022)  # the Platinum Jubilee


def test_a_year_outside_the_table_asks_the_package() -> None:
    assert bank_holidays(2010) == holidays_from_package(2010)
    assert date(2011, 4, 29) in bank_holidays(2011)  # the Royal Wedding
