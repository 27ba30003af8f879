"""Working-day arithmetic on known England & Wales bank holidays (dates worked by hand)."""

from __future__ import annotations

from datetime import date

import pytest

from opmetrics.errors import UsageError
from opmetrics.month import Month
from opmetrics.workdays import (
    Lateness,
    add_working_days,
    bank_holidays,
    deadlines,
    is_working_day,
    nth_working_day,
    opsg_paper_day,
    opsg_send_by,
    pack_due_date,
    user_reports_due_date,
    working_days_between,
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2021, 4, 2), False),  # Good Friday
        (date(2021, 4, 5), False),  # Easter Monday
        (date(2021, 5, 3), False),  # Early May
        (date(2021, 12, 27), False),  # Christmas Day falls on a Saturday: substitute Monday
        (date(2021, 12, 28), False),  # Boxing Day on a Sunday: substitute Tuesday
        (date(2022, 1, 3), False),  # New Year's Day on a Saturday: substitute Monday
        (date(2022, 5, 30), True),  # the usual late-May holiday moved to 2 June in 2022
        (date(2022, 6, 2), False),  # Spring bank holiday (moved)
        (date(2022, 6, 3), False),  # Platinum Jubilee
        (date(2022, 9, 19), False),  # State Funeral of Queen Elizabeth II
        (date(2023, 5, 8), False),  # Coronation of King Charles III
        (date(2023, 5, 29), False),  # Spring bank holiday
        (date(2023, 5, 9), True),
        (date(2023, 3, 17), True),  # St Patrick's Day is a holiday in Northern Ireland only
        (date(2023, 7, 12), True),  # Battle of the Boyne: Northern Ireland only
        (date(2022, 8, 1), True),  # Scottish summer holiday: not England & Wales
        (date(2021, 4, 10), False),  # Saturday
        (date(2021, 4, 11), False),  # Sunday
    ],
)
def test_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_bank_holiday_counts() -> None:
    assert len([d for d in bank_holidays(2022) if d.weekday() < 5]) == 10  # 8 usual + 2 one-off
    assert len([d for d in bank_holidays(2023) if d.weekday() < 5]) == 9  # 8 + Coronation
    assert len([d for d in bank_holidays(2021) if d.weekday() < 5]) == 8


@pytest.mark.parametrize(
    ("month", "due"),
    [
        ("2021-04", date(2021, 6, 8)),  # skips 3 May and 31 May
        ("2021-11", date(2022, 1, 7)),  # skips 27, 28 Dec (substitutes) and 3 Jan (substitute)
        ("2022-05", date(2022, 7, 7)),  # skips 2 and 3 June; 30 May 2022 is a working day
        ("2022-08", date(2022, 10, 6)),  # skips 19 September
        ("2023-04", date(2023, 6, 7)),  # skips 1, 8 and 29 May
    ],
)
def test_pack_due_date(month: str, due: date) -> None:
    assert pack_due_date(Month.parse(month)) == due


@pytest.mark.parametrize(
    ("month", "due"),
    [
        ("2021-04", date(2021, 5, 17)),  # May 2021: 3 May is a holiday
        ("2022-12", date(2023, 1, 16)),  # January 2023: 2 Jan is the New Year substitute
        ("2022-05", date(2022, 6, 16)),  # June 2022: 2 and 3 June are holidays
    ],
)
def test_user_reports_due(month: str, due: date) -> None:
    assert user_reports_due_date(Month.parse(month)) == due


@pytest.mark.parametrize(
    ("meeting", "send_by"),
    [
        (date(2022, 6, 15), date(2022, 5, 30)),  # back over the Jubilee
        (date(2023, 5, 18), date(2023, 5, 3)),  # back over the Coronation
        (date(2021, 1, 14), date(2020, 12, 30)),  # back over New Year 2021
    ],
)
def test_opsg_send_by(meeting: date, send_by: date) -> None:
    assert opsg_send_by(meeting) == send_by


def test_add_and_count_are_inverse() -> None:
    start = date(2021, 12, 20)
    for n in range(1, 40):
        end = add_working_days(start, n)
        assert working_days_between(start, end) == n
        assert is_working_day(end)
        assert add_working_days(end, -n) <= start


def test_nth_working_day() -> None:
    assert nth_working_day(Month(2021, 5), 1) == date(2021, 5, 4)
    assert nth_working_day(Month(2022, 6), 2) == date(2022, 6, 6)


def test_lateness() -> None:
    due = date(2021, 6, 8)
    assert not Lateness(due, due).late
    assert Lateness(due, date(2021, 6, 1)).text == "on time"
    assert Lateness(due, date(2021, 6, 10)).working_days_late == 2
    assert Lateness(due, date(2021, 6, 12)).text == "late by 3 Working Days"
    assert Lateness(date(2021, 6, 11), date(2021, 6, 12)).late


def test_deadlines_in_date_order() -> None:
    out = deadlines(Month(2022, 5), opsg_meeting=date(2022, 6, 15))
    assert [d.due_on for d in out] == sorted(d.due_on for d in out)
    assert {d.what for d in out} == {
        "Per-User monthly service reports",
        "MP122 reporting packs",
        "Business process report to the OPSG",
        "Summary paper to the OPSG (paper day)",
    }


def test_opsg_paper_day_counts_working_days_back_from_the_meeting() -> None:
    # Meeting Wed 2 June 2021; Mon 31 May is the Spring bank holiday, so five Working Days back
    # are Tue 1 June, Fri 28, Thu 27, Wed 26 and Tue 25 May.
    assert opsg_paper_day(date(2021, 6, 2)) == date(2021, 5, 25)
    # No holiday in the way: Wed 16 June 2021 -> Wed 9 June 2021.
    assert opsg_paper_day(date(2021, 6, 16)) == date(2021, 6, 9)


def test_year_out_of_range() -> None:
    with pytest.raises(UsageError):
        bank_holidays(2300)
