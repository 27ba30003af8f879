"""The reporting month: a calendar month in UK local time (design §4).

April 2021 runs from 2021-03-31T23:00Z to 2021-04-30T23:00Z; a month with a clock change has
743 or 745 hours. Every measure filters on these instants and daily series use UK local dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from opmetrics.errors import UsageError

UK_ZONE = "Europe/London"  # the catalog's meta.timezone, the only one it accepts
UK = ZoneInfo(UK_ZONE)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2099:
            raise UsageError(f"month {text!r} is not YYYY-MM (e.g. 2021-04)")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of_instant(cls, instant: datetime) -> Month:
        local = instant.astimezone(UK)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return str(self)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def start_utc(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UK).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """First instant after the month (exclusive end)."""
        return self.next().start_utc

    @property
    def hours(self) -> float:
        return (self.end_utc - self.start_utc).total_seconds() / 3600

    @property
    def days(self) -> list[date]:
        d, out = self.first_day, []
        while d.month == self.month:
            out.append(d)
            d += timedelta(days=1)
        return out

    def next(self) -> Month:
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    @property
    def title(self) -> str:
        return self.first_day.strftime("%B %Y")
