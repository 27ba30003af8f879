"""The review file: what SECAS and the DCC add to a month's results for the OPSG (docs/review.md).

A month's results are the machine part of the cycle; the review file is the human part: the
reviewers' commentary on each standing metric and on any finding, the ad-hoc items they removed
or added by hand, the date of the OPSG meeting the paper is for, whether the paper is final, and
the actions the OPSG raised and their answers. It is TOML, so it diffs well and a non-programmer
can edit it; `load_review` reads it and reports any mistake as one line naming the file, the
line and the key.

Nothing in it may name a party: an action's owner is a role (`OWNER_ROLES`) or an anonymised
party label (`P-` and hex digits), never a party id or name.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opmetrics.errors import ReviewFileError
from opmetrics.month import Month

SCHEMA_VERSION = 1

# Who can own an action: the bodies of the OPSG cycle and the kinds of SEC Party, by role.
OWNER_ROLES = (
    "DCC",
    "SECAS",
    "OPSG",
    "SEC Panel",
    "Service provider",
    "Communications service provider",
    "Data service provider",
    "Device manufacturers",
    "Energy suppliers",
    "Network operators",
    "Other SEC Parties",
    "Top Issues Forum",
)
_LABEL = re.compile(r"^P-[0-9A-F]{6,64}$")  # as opmetrics.measures.anonymise.LABEL_PATTERN
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")

ActionStatus = Literal["open", "answered", "closed"]
ReviewStatus = Literal["draft", "final"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Action(_Strict):
    """An action or request for information raised at an OPSG meeting."""

    id: str
    raised: date  # the OPSG meeting that raised it
    owner: str  # a role of OWNER_ROLES or an anonymised party label
    due: date  # the OPSG meeting it is to be answered at
    status: ActionStatus = "open"
    request: str
    response: str = ""
    history: tuple[str, ...] = ()  # earlier states, one line each, oldest first

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(
                f"an action id is letters, digits and . _ : - (e.g. OPSG-2021-06-01), not {v!r}"
            )
        return v

    @field_validator("owner")
    @classmethod
    def _owner(cls, v: str) -> str:
        if v in OWNER_ROLES or _LABEL.match(v):
            return v
        raise ValueError(
            f"is neither a role ({', '.join(OWNER_ROLES)}) nor an anonymised party label "
            "(P- and hex digits); never write a party's id or name (the value is not repeated "
            "here: it may be one)"
        )

    @field_validator("request")
    @classmethod
    def _request(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("say what the action asks for")
        return v.strip()

    @model_validator(mode="after")
    def _consistent(self) -> Action:
        if self.due < self.raised:
            raise ValueError(f"due {self.due} is before the meeting that raised it ({self.raised})")
        if self.status == "answered" and not self.response.strip():
            raise ValueError("an answered action needs its response")
        return self

    @property
    def carried(self) -> bool:
        """Whether the next month's review file carries it forward (it is not closed)."""
        return self.status != "closed"


class AddedItem(_Strict):
    """An item put on the ad-hoc list by hand."""

    title: str
    text: str

    @field_validator("title", "text")
    @classmethod
    def _filled(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v.strip()


class Adhoc(_Strict):
    remove: tuple[str, ...] = ()  # ids of automatic items taken off the list
    add: tuple[AddedItem, ...] = ()


class Commentary(_Strict):
    metrics: dict[str, str] = Field(default_factory=dict)  # metric id -> text
    findings: dict[str, str] = Field(default_factory=dict)  # finding id -> text

    def of_metric(self, metric: str) -> str:
        return self.metrics.get(metric, "").strip()

    def of_finding(self, finding: str) -> str:
        return self.findings.get(finding, "").strip()


class Review(_Strict):
    """One month's review file."""

    schema_version: int
    month: str
    status: ReviewStatus = "draft"
    opsg_meeting: date
    commentary: Commentary = Field(default_factory=Commentary)
    adhoc: Adhoc = Field(default_factory=Adhoc)
    actions: tuple[Action, ...] = ()

    @field_validator("schema_version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"this opmetrics reads schema_version {SCHEMA_VERSION}, not {v}")
        return v

    @field_validator("month")
    @classmethod
    def _month(cls, v: str) -> str:
        try:
            return str(Month.parse(v))
        except Exception:
            raise ValueError(f"{v!r} is not a month (YYYY-MM)") from None

    @model_validator(mode="after")
    def _meeting_after_month(self) -> Review:
        if self.opsg_meeting <= Month.parse(self.month).last_day:
            raise ValueError(
                f"opsg_meeting {self.opsg_meeting} is not after {self.month}: the OPSG reviews a "
                "month once it has ended"
            )
        seen: set[str] = set()
        for a in self.actions:
            if a.id in seen:
                raise ValueError(f"action id {a.id} is given twice")
            seen.add(a.id)
        return self

    @property
    def final(self) -> bool:
        return self.status == "final"

    @property
    def month_obj(self) -> Month:
        return Month.parse(self.month)


def load_review(path: str | Path) -> Review:
    """Read and check a review file; any mistake is a `ReviewFileError` naming file, line, key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReviewFileError("no such file", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewFileError(f"cannot read ({exc})", path=str(p)) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        msg = str(exc).split(" (at line")[0]
        raise ReviewFileError(f"not valid TOML: {msg}", path=str(p), line=line) from None
    try:
        return Review.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"]) or _root_loc(raw)
        raise ReviewFileError(
            _message(err),
            path=str(p),
            key=key_text(loc) or "(top level)",
            line=line_of(text, loc),
        ) from None


def check_month(review: Review, path: str | Path, month: Month | str) -> None:
    """Refuse a review file for another month than `month` (naming the file's `month` line)."""
    if review.month != str(month):
        text = Path(path).read_text(encoding="utf-8")
        raise ReviewFileError(
            f"the file is for {review.month} but the results are for {month}",
            path=str(path),
            key="month",
            line=line_of(text, ("month",)),
        )


def _root_loc(raw: dict[str, Any]) -> tuple[Any, ...]:
    """Where a whole-file check failed: the meeting date, or the second use of an action id."""
    seen: set[object] = set()
    for i, a in enumerate(raw.get("actions") or ()):
        ident = a.get("id") if isinstance(a, dict) else None
        if ident in seen:
            return ("actions", i, "id")
        seen.add(ident)
    return ("opsg_meeting",)


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return "is missing"
    if err["type"] == "extra_forbidden":
        return "is not a key of a review file (see docs/review.md)"
    return msg


def free_text(review: Review) -> list[tuple[tuple[str | int, ...], str]]:
    """Every text a reviewer wrote, with where it is: commentary, items added to the ad-hoc
    list, and the actions' requests, responses and history."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    c = review.commentary
    out += [(("commentary", "metrics", k), v) for k, v in c.metrics.items()]
    out += [(("commentary", "findings", k), v) for k, v in c.findings.items()]
    for i, item in enumerate(review.adhoc.add):
        out += [
            (("adhoc", "add", i, "title"), item.title),
            (("adhoc", "add", i, "text"), item.text),
        ]
    for i, a in enumerate(review.actions):
        out += [(("actions", i, "request"), a.request), (("actions", i, "response"), a.response)]
        out += [(("actions", i, "history"), h) for h in a.history]
    return out


def key_text(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a reader writes it: `actions[2].owner` (entries counted from 1)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.:-]+)\s*=')


def _key_parts(key: str) -> list[str]:
    if key.startswith('"'):
        return [key[1:-1]]
    return [k.strip().strip('"') for k in key.split(".")]


def line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line (1-based) that holds the key at `loc` in a TOML text, or the nearest line that
    holds an enclosing table or key (for a missing key: its table's header)."""
    counts: dict[tuple[str, ...], int] = {}
    table: list[Any] = []
    best: tuple[int, int] | None = None  # (matched length, line)
    want = list(loc)

    def consider(path: list[Any], n: int) -> None:
        nonlocal best
        k = 0
        while k < len(path) and k < len(want) and path[k] == want[k]:
            k += 1
        if k == len(path) and (best is None or k > best[0]):
            best = (k, n)

    for n, line in enumerate(text.splitlines(), start=1):
        h = _HEADER.match(line)
        if h and not _KEY.match(line):
            parts = _key_parts(h.group(2))
            if h.group(1) == "[[":
                name = tuple(parts)
                counts[name] = counts.get(name, -1) + 1
                table = [*parts, counts[name]]
            else:
                table = list(parts)
            consider(table, n)
            continue
        k = _KEY.match(line)
        if k:
            consider([*table, *_key_parts(k.group(1))], n)
    return best[1] if best else None
