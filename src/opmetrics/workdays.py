"""England & Wales Working Days and the MP122 reporting deadlines (design §7).

The SEC counts deadlines in Working Days: not a Saturday, a Sunday or an England & Wales bank
holiday, substitute ("observed") days included. Bank holidays come from the `holidays` package,
which carries the one-off days (the 2022 Platinum Jubilee and State Funeral, the 2023
Coronation), so no date is hard-coded here: for 2015-2040 they are read from
`bank_holidays.csv`, written from the package by `scripts/bank_holidays.py` (importing the
package loads every calendar it knows, about 0.15 s of a light command's start-up; a test holds
the table to the package), and other years ask the package itself. Named `workdays` so it never shadows the standard
library's `calendar` module.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from importlib import resources

from opmetrics.errors import UsageError
from opmetrics.month import Month

PACK_DUE_WORKING_DAYS = 25  # MP122 packs: 25 Working Days after month end
OPSG_LEAD_WORKING_DAYS = 10  # the OPSG receives the business process report 10 WD before it meets
# The OPSG paper day: meeting papers (the summary paper with the reviewers' commentary) are issued
# 5 Working Days before the meeting, as SEC sub-committee papers are. Assumed: the design gives
# only the 10-Working-Day lead of the business process report (docs/decisions.md).
OPSG_PAPER_WORKING_DAYS = 5
USER_REPORT_WORKING_DAY = 10  # per-User monthly service reports: by the 10th Working Day

_SUBDIVISIONS = ("ENG", "WLS")  # England and Wales share their bank holidays


@cache
def _shipped() -> dict[int, dict[date, str]]:
    """The shipped table, by year (the years it covers are the years of its dates)."""
    by_year: dict[int, dict[date, str]] = {}
    text = resources.files("opmetrics").joinpath("bank_holidays.csv").read_text(encoding="utf-8")
    for day_text, name in list(csv.reader(text.splitlines()))[1:]:
        day = date.fromisoformat(day_text)
        by_year.setdefault(day.year, {})[day] = name
    return by_year


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> dict[date, str]:
    """England & Wales bank holidays of one year, substitute days included, by date."""
    if not 1970 <= year <= 2099:
        raise UsageError(f"year {year} is outside the supported calendar (1970-2099)")
    shipped = _shipped().get(year)
    return dict(shipped) if shipped is not None else holidays_from_package(year)


def holidays_from_package(year: int) -> dict[date, str]:
    """England & Wales bank holidays of one year as the `holidays` package gives them."""
    import holidays

    out: dict[date, str] = {}
    for sub in _SUBDIVISIONS:
        for day, name in holidays.country_holidays("GB", subdiv=sub, years=year).items():
            out.setdefault(day, name)
    return dict(sorted(out.items()))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def add_working_days(start: date, n: int) -> date:
    """The n-th Working Day after `start` (n > 0) or before it (n < 0); `start` itself never counts."""
    if n == 0:
        raise ValueError("n must not be 0")
    step = timedelta(days=1 if n > 0 else -1)
    day, left = start, abs(n)
    while left:
        day += step
        if is_working_day(day):
            left -= 1
    return day


def nth_working_day(month: Month, n: int) -> date:
    """The n-th Working Day of a month (1 = its first Working Day)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return add_working_days(month.first_day - timedelta(days=1), n)


def working_days_between(start: date, end: date) -> int:
    """Working Days after `start` up to and including `end` (negative when `end` is earlier)."""
    if end == start:
        return 0
    sign = 1 if end > start else -1
    lo, hi = (start, end) if sign > 0 else (end, start)
    count, day = 0, lo
    while day < hi:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return sign * count


def pack_due_date(month: Month) -> date:
    """Date the month's MP122 packs are due: the 25th Working Day after the month ends."""
    return add_working_days(month.last_day, PACK_DUE_WORKING_DAYS)


def user_reports_due_date(month: Month) -> date:
    """Per-User monthly service reports for `month`: the 10th Working Day of the next month."""
    return nth_working_day(month.next(), USER_REPORT_WORKING_DAY)


def opsg_send_by(meeting: date) -> date:
    """Latest date to send the business process report: 10 Working Days before the meeting."""
    return add_working_days(meeting, -OPSG_LEAD_WORKING_DAYS)


def opsg_paper_day(meeting: date) -> date:
    """The OPSG meeting's paper day: the summary paper is issued 5 Working Days before it."""
    return add_working_days(meeting, -OPSG_PAPER_WORKING_DAYS)


@dataclass(frozen=True)
class Lateness:
    """Whether a pack produced on a date meets its due date, in Working Days."""

    due_on: date
    produced_on: date

    @property
    def late(self) -> bool:
        return self.produced_on > self.due_on

    @property
    def working_days_late(self) -> int:
        return max(0, working_days_between(self.due_on, self.produced_on))

    @property
    def text(self) -> str:
        if not self.late:
            return "on time"
        n = self.working_days_late
        if n == 0:
            return "late (produced after the due date, on a non-working day)"
        return f"late by {n} Working Day{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Deadline:
    what: str
    due_on: date
    rule: str


def deadlines(month: Month, opsg_meeting: date | None = None) -> tuple[Deadline, ...]:
    """The reporting deadlines of one month, in date order."""
    out = [
        Deadline(
            "Per-User monthly service reports",
            user_reports_due_date(month),
            f"{USER_REPORT_WORKING_DAY}th Working Day of {month.next().title}",
        ),
        Deadline(
            "MP122 reporting packs",
            pack_due_date(month),
            f"{PACK_DUE_WORKING_DAYS} Working Days after month end ({month.last_day:%d %B %Y})",
        ),
    ]
    if opsg_meeting is not None:
        out.append(
            Deadline(
                "Business process report to the OPSG",
                opsg_send_by(opsg_meeting),
                f"{OPSG_LEAD_WORKING_DAYS} Working Days before the meeting on "
                f"{opsg_meeting:%d %B %Y}",
            )
        )
        out.append(
            Deadline(
                "Summary paper to the OPSG (paper day)",
                opsg_paper_day(opsg_meeting),
                f"{OPSG_PAPER_WORKING_DAYS} Working Days before the meeting (assumed)",
            )
        )
    return tuple(sorted(out, key=lambda d: d.due_on))


def holidays_between(start: date, end: date) -> list[tuple[date, str]]:
    """England & Wales bank holidays from `start` to `end` inclusive (for the calendar listing)."""
    out: list[tuple[date, str]] = []
    for year in range(start.year, end.year + 1):
        out.extend((d, n) for d, n in bank_holidays(year).items() if start <= d <= end)
    return out
