"""The month as a grid of UTC hours that knows each hour's UK local hour and day type.

Volume follows hourly profiles in UK local time, so the grid is built once per month (clock
changes included: UK offsets change on a UTC hour, so each UTC hour has one local hour) and
every sampler works on it with numpy: an intensity per hour, its cumulative sum, and
inverse-CDF sampling of instants (uniform within the hour).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from opmetrics.generator.scenario import Profile
from opmetrics.month import UK, Month
from opmetrics.workdays import bank_holidays

US = 1_000_000  # microseconds per second
HOUR_US = 3600 * US
SLOTS = 3 * 24  # day type (weekday, saturday, sunday) x local hour


@dataclass
class TimeGrid:
    month: Month
    start_us: int  # first instant of the month, UTC microseconds since the epoch
    end_us: int  # first instant after the month
    slot: np.ndarray  # per UTC hour: day type * 24 + local hour (0..71)
    day: np.ndarray  # per UTC hour: index of the UK local date in the month
    days: list[str]  # ISO local dates, by index
    day_start_us: np.ndarray  # per local date: its first instant (UTC microseconds); one extra

    @property
    def hours(self) -> int:
        return len(self.slot)

    def profile_weights(self, profile: Profile) -> np.ndarray:
        """Per slot weight of a profile, normalised so its mean over the month's hours is 1."""
        table = np.array([profile.weekday, profile.saturday, profile.sunday], dtype=np.float64)
        per_slot = table.reshape(-1)
        mean = per_slot[self.slot].mean()
        return per_slot / mean if mean > 0 else per_slot

    def local_day_of(self, t_us: np.ndarray) -> np.ndarray:
        """Index of the UK local date of each instant (may be -1 or len(days) outside)."""
        return np.searchsorted(self.day_start_us, t_us, side="right").astype(np.int64) - 1


def build_grid(month: Month, bank_holidays_as_sunday: bool) -> TimeGrid:
    start = month.start_utc
    end = month.end_utc
    hours = int((end - start).total_seconds() // 3600)
    bank = bank_holidays(month.year) if bank_holidays_as_sunday else {}
    slot_h = np.empty(hours, dtype=np.int16)
    day_h = np.empty(hours, dtype=np.int16)
    first = month.first_day
    for h in range(hours):
        local = (start + timedelta(hours=h)).astimezone(UK)
        wd = local.weekday()
        dtype = 2 if wd == 6 or local.date() in bank else (1 if wd == 5 else 0)
        slot_h[h] = dtype * 24 + local.hour
        day_h[h] = (local.date() - first).days
    days = [d.isoformat() for d in month.days]
    starts = [
        int(datetime(d.year, d.month, d.day, tzinfo=UK).astimezone(UTC).timestamp() * US)
        for d in [*month.days, month.next().first_day]
    ]
    return TimeGrid(
        month=month,
        start_us=int(start.timestamp() * US),
        end_us=int(end.timestamp() * US),
        slot=slot_h.astype(np.int64),
        day=day_h.astype(np.int64),
        days=days,
        day_start_us=np.array(starts, dtype=np.int64),
    )


@dataclass
class Intensity:
    """A volume per hour of the month and its cumulative mass (total normalised to 1)."""

    grid: TimeGrid
    cdf: np.ndarray  # cumulative mass at the end of each hour; cdf[-1] == 1

    def hour_counts(
        self, rng: np.random.Generator, n: int, lo: float = 0.0, hi: float = 1.0
    ) -> np.ndarray:
        """How many of `n` instants drawn between masses lo and hi fall in each hour.

        One multinomial draw over the hours replaces a search per instant; the instants then
        come grouped by hour, which is what the samplers need (and cheap to sort).
        """
        before = np.concatenate([[0.0], self.cdf[:-1]])
        mass = np.clip(np.minimum(self.cdf, hi) - np.maximum(before, lo), 0.0, None)
        total = float(mass.sum())
        if total <= 0:  # an empty slice: everything in the hour holding `lo`
            mass = np.zeros(len(self.cdf))
            mass[min(int(np.searchsorted(self.cdf, lo, side="right")), len(mass) - 1)] = 1.0
            total = 1.0
        return rng.multinomial(n, mass / total)

    def sample(
        self, rng: np.random.Generator, n: int, lo: float = 0.0, hi: float = 1.0
    ) -> np.ndarray:
        """`n` instants (UTC microseconds) drawn from the intensity between masses lo and hi.

        They come in hour order (random within the hour).
        """
        counts = self.hour_counts(rng, n, lo, hi)
        hour = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return self.grid.start_us + hour * HOUR_US + rng.integers(0, HOUR_US, n)

    def time_at(self, mass: float) -> int:
        """The instant by which `mass` of the volume has passed (linear within the hour)."""
        h = int(np.searchsorted(self.cdf, mass, side="left"))
        h = min(h, len(self.cdf) - 1)
        before = float(self.cdf[h - 1]) if h > 0 else 0.0
        width = float(self.cdf[h]) - before
        frac = (mass - before) / width if width > 0 else 0.0
        return self.grid.start_us + h * HOUR_US + int(min(max(frac, 0.0), 1.0) * HOUR_US)


def intensity(grid: TimeGrid, per_slot: np.ndarray, day_factor: np.ndarray) -> Intensity:
    """Intensity from a per-slot weight (already mixed over kinds) and a per-day factor."""
    lam = per_slot[grid.slot] * day_factor[grid.day]
    cdf = np.cumsum(lam)
    cdf /= cdf[-1]
    return Intensity(grid, cdf)
