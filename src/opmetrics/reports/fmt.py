"""How numbers and dates read in the packs.

Percentages are cut, not rounded, to two decimals: a value shown as 99.00 is never really 98.996,
so the figure printed beside a status never contradicts it (a measure below a 99 % target never
reads "99.00").
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import date
from fractions import Fraction
from typing import Any, Concatenate, ParamSpec

P = ParamSpec("P")

DASH = "–"


def num(v: Any) -> float | None:
    """A float, or None for null/NaN."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def figure(show: Callable[Concatenate[float, P], str]) -> Callable[Concatenate[Any, P], str]:
    """`show`, a number's text, made to take any value `num` reads: a dash for null or NaN."""

    @functools.wraps(show)
    def shown(v: Any, /, *args: P.args, **kwargs: P.kwargs) -> str:
        f = num(v)
        return DASH if f is None else show(f, *args, **kwargs)

    return shown


def percent(v: Any, decimals: int = 2) -> str:
    """A percentage cut to `decimals`. Given a `Fraction` (the exact value of a measure), the
    cut is exact; a float is cut with a 1e-9 allowance for its rounding."""
    scale = 10**decimals
    if isinstance(v, Fraction):
        cut = math.floor(v * scale)
        return f"{cut // scale}.{cut % scale:0{decimals}d}" if decimals else str(cut)
    f = num(v)
    if f is None:
        return DASH
    cut_f = math.floor(f * scale + 1e-9) / scale
    return f"{cut_f:.{decimals}f}"


def exact_percent(numerator: Any, denominator: Any) -> Fraction | None:
    """100 * numerator / denominator exactly, from two integers (None if either is missing)."""
    n, d = num(numerator), num(denominator)
    if n is None or d is None or d == 0:
        return None
    return Fraction(100 * int(n), int(d))


@figure
def points(f: float, decimals: int = 2) -> str:
    """A signed difference in percentage points."""
    r = round(f, decimals)
    return f"{r + 0.0:+.{decimals}f}" if r != 0 else f"{0:.{decimals}f}"


@figure
def count(f: float) -> str:
    return f"{round(f):,}"


@figure
def minutes(f: float) -> str:
    return f"{f:,.1f}"


@figure
def seconds(f: float) -> str:
    if f >= 100:
        return f"{f:,.0f}"
    return f"{f:.2f}" if f < 10 else f"{f:.1f}"


def srv_title(srv: str, name: str | None = None) -> str:
    """An SRV by reference and name, `2.2 Top Up Device` (the reference alone when the catalog
    has no name for it); headings put `SRV` before it. (The insights table's findings, written
    at compute time, name it `Top Up Device (2.2)` inside a sentence.)"""
    return f"{srv} {name}" if name else srv


def long_date(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


@figure
def target(f: float) -> str:
    """A target or minimum: as few decimals as it needs (99, 99.5)."""
    return f"{f:g}"


# -- assumed values ------------------------------------------------------------------------------

MARK = "†"  # beside a figure that rests on a catalog value marked `assumed`


def mark(assumed: object) -> str:
    """The mark when `assumed` (a collection of assumed values) is not empty, else nothing."""
    return MARK if assumed else ""


def see_note(assumed: object) -> str:
    """The end of a caption whose figures rest on `assumed` values the note lists (else nothing)."""
    return f" Values rest on assumed values{MARK}: see the note." if assumed else ""


def marked_in(assumed: object, what: str, where: str) -> str:
    """The end of a caption whose marked `what` in `where` rest on `assumed` values (else nothing),
    e.g. ' Measures marked † in the table rest on assumed values.'"""
    return f" {what} marked {MARK} in {where} rest on assumed values." if assumed else ""


def assumed_note(texts: list[str], override: str) -> str:
    """The footnote under marked figures: each assumed value in words, then how to override."""
    text = f"{MARK} Assumed, not confirmed from a public source: {'; '.join(texts)}."
    return f"{text} To override: {override.rstrip('.')}." if override else text


@figure
def seconds_text(f: float) -> str:
    """A time in seconds in running text, as few decimals as it needs: "30 s", "2.5 s"."""
    return f"{f:g} s"


# -- names: what a reader sees instead of a catalog id -------------------------------------------

ALL_NAMES = {
    "business_process": "All business processes",
    "srv": "All SRVs",
    "region": "All regions",
    "device_type": "All device types",
}
KIND_NAMES = {
    "service_provider": "Service provider difference",
    "device": "Device difference",
    "user": "User difference",
}
STATUS_NAMES = {
    "met": "Met",
    "below_target": "Below target",
    "below_minimum": "Below minimum",
    "no_activity": "No activity",
    "not_reportable": "Not reportable",
}


def humanise(slug: str) -> str:
    """An id no table names, in words: `no_post_ic` -> `No post ic` (a fallback, never a slug)."""
    return slug.replace("_", " ").strip().capitalize()


def kind_name(kind: str) -> str:
    """A finding's kind in words: `service_provider` -> `Service provider difference`."""
    return KIND_NAMES.get(kind, humanise(kind))


def status_name(status: str) -> str:
    """A CPM status in words: `below_target` -> `Below target`."""
    return STATUS_NAMES.get(status, humanise(status))


NON_DEVICE = "Non-device"  # device type NONE: a request the DCC serves itself


def device_type_name(device_type: str) -> str:
    """A device type as a table or chart shows it: its id, an abbreviation a reader knows (ESME,
    CHF), except `NONE`, which no reader should see: `Non-device`."""
    if device_type == "ALL":
        return ALL_NAMES["device_type"]
    return NON_DEVICE if device_type == "NONE" else device_type
