"""Write a review file as TOML that explains itself: a comment before every key.

`tomllib` reads TOML but nothing in the standard library writes it, and a general writer would
drop the comments that make the file editable by a non-programmer (what each key means, each
metric's value and status, each finding's plain text). The file's shape is fixed and small, so
it is written here by hand; `tests/review` checks that what is written reads back equal.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from opmetrics.review.model import OWNER_ROLES, SCHEMA_VERSION, Action, Review

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class Entry:
    """A metric, finding or ad-hoc item the starter file lists: its id, name and what to show."""

    id: str
    name: str
    note: str = ""  # the month's value/status or the finding's plain text, as a comment


@dataclass(frozen=True)
class Guide:
    """What the month's results offer to comment on (comments only: never read back)."""

    month_title: str
    paper_day: date | None = None
    metrics: tuple[Entry, ...] = ()
    findings: tuple[Entry, ...] = ()
    adhoc: tuple[Entry, ...] = ()
    carried_from: str = ""  # the previous review file's month, in words
    notes: tuple[str, ...] = field(default=())


def key(k: str) -> str:
    """A TOML key: bare when it can be, else a quoted string."""
    return k if k and set(k) <= _BARE else string(k)


def string(s: str) -> str:
    """A TOML basic string; a text of several lines becomes a multi-line string."""
    esc = s.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    esc = "".join(
        c if c == "\n" or (ord(c) >= 0x20 and c != "\x7f") else f"\\u{ord(c):04x}" for c in esc
    )
    if "\n" in s:
        return '"""\n' + esc + '"""'
    return f'"{esc}"'


def _comment(text: str, indent: str = "") -> list[str]:
    """`text` as comment lines, each paragraph wrapped to fit 96 columns."""
    lines = [
        wrapped
        for para in text.splitlines() or [""]
        for wrapped in textwrap.wrap(para, 94 - len(indent), break_on_hyphens=False) or [""]
    ]
    return [f"{indent}# {line}".rstrip() for line in lines]


def _strings(values: Iterable[str]) -> str:
    return "[" + ", ".join(string(v) for v in values) + "]"


def _commented(entries: Iterable[Entry], given: dict[str, str], joiner: str) -> list[str]:
    """One `id = "commentary"` line per entry, after a comment naming it (name, `joiner`, note),
    then the commentary the file already gives on ids this month does not list."""
    out: list[str] = []
    listed: set[str] = set()
    for e in entries:
        out += _comment(f"{e.name}{joiner}{e.note}" if e.note else e.name)
        out.append(f"{key(e.id)} = {string(given.get(e.id, ''))}")
        listed.add(e.id)
    out += [f"{key(k)} = {string(v)}" for k, v in given.items() if k not in listed]
    return out


def review_text(review: Review, guide: Guide) -> str:
    """The review file's text: `review`'s values, `guide`'s explanations as comments."""
    out: list[str] = [
        f"# OPSG review of the Operational Metrics for {guide.month_title}.",
        "# Written by `opmetrics review init`; edit it, then give it to",
        "#   opmetrics report RESULTS_DIR --out REPORTS_DIR --review THIS_FILE",
        "# Lines starting with # are comments. Text goes between the double quotes; for several",
        '# lines use three double quotes: """ ... """. Never write a party\'s id or name here.',
        "# The format is described in docs/review.md.",
        "",
        "# The version of this file's format (do not change).",
        f"schema_version = {SCHEMA_VERSION}",
        "# The reporting month this review is for (do not change).",
        f"month = {string(review.month)}",
        '# "draft" until SECAS and the DCC agree the paper; "final" removes the DRAFT watermark.',
        f"status = {string(review.status)}",
        "# The date of the OPSG meeting this paper is for (YYYY-MM-DD, no quotes).",
    ]
    if guide.paper_day is not None:
        out.append(f"# The summary paper is dated for its paper day, {guide.paper_day:%d %B %Y}.")
    out.append(f"opsg_meeting = {review.opsg_meeting.isoformat()}")
    for n in guide.notes:
        out += ["", *_comment(n)]
    out += [
        "",
        "# -- Commentary on the standing metrics -------------------------------------------------",
        "# One line per metric: write SECAS and the DCC's commentary between the quotes, or leave",
        "# it empty. It is printed beside the metric in the summary paper and the Panel summary.",
        "[commentary.metrics]",
    ]
    out += _commented(guide.metrics, review.commentary.metrics, ": ")
    out += [
        "",
        "# -- Commentary on the findings -----------------------------------------------------------",
        "# One line per finding of the diagnosis (its id stays the same when the month is re-run).",
        "[commentary.findings]",
    ]
    if not guide.findings and not review.commentary.findings:
        out.append("# (no findings this month)")
    out += _commented(guide.findings, review.commentary.findings, "\n")
    out += [
        "",
        "# -- The ad-hoc list ------------------------------------------------------------------------",
        "# The items chosen automatically for discussion. To take one off the list, put its id in",
        '# `remove`, e.g. remove = ["region:4.6.1:North"].',
    ]
    out += [f"#   {e.id}  —  {e.name}" for e in guide.adhoc] or ["#   (none this month)"]
    out += ["[adhoc]", f"remove = {_strings(review.adhoc.remove)}"]
    out += [
        "# To add an item by hand, copy these three lines (without the leading #) and fill them in:",
        "# [[adhoc.add]]",
        '# title = "Short title"',
        '# text = "What the OPSG should discuss, in plain English."',
    ]
    for item in review.adhoc.add:
        out += ["[[adhoc.add]]", f"title = {string(item.title)}", f"text = {string(item.text)}"]
    out += ["", *ACTIONS_HELP]
    if guide.carried_from:
        out.append(
            f"# The actions below that are not closed were carried forward from {guide.carried_from}."
        )
    for a in review.actions:
        out += ["", *action_lines(a)]
    return "\n".join(out) + "\n"


ACTIONS_HELP = (
    "# -- Actions -------------------------------------------------------------------------------",
    "# Actions and requests for information raised by the OPSG. Each is one [[actions]] block:",
    "#   id       a unique name, e.g. OPSG-2021-06-01",
    "#   raised   the OPSG meeting that raised it (YYYY-MM-DD)",
    "#   owner    who answers it: a role or an anonymised party label (P-1A2B3C), never a name.",
    f"#            Roles: {', '.join(OWNER_ROLES[:6])},",
    f"#            {', '.join(OWNER_ROLES[6:])}",
    "#   due      the OPSG meeting it is to be answered at (YYYY-MM-DD)",
    '#   status   "open", "answered" (give the response) or "closed"',
    "#   request  what was asked; response: the answer (empty until answered)",
    "#   history  earlier states, kept by `opmetrics review init` (leave as is)",
    "# Actions not closed are carried into next month's file by `opmetrics review init --previous`.",
    "# To raise one, copy a block (without the leading #):",
    "# [[actions]]",
    '# id = "OPSG-YYYY-MM-NN"',
    "# raised = YYYY-MM-DD",
    '# owner = "DCC"',
    "# due = YYYY-MM-DD",
    '# status = "open"',
    '# request = "What the OPSG asks for."',
    '# response = ""',
)


def action_lines(a: Action) -> list[str]:
    return [
        "[[actions]]",
        f"id = {string(a.id)}",
        f"raised = {a.raised.isoformat()}",
        f"owner = {string(a.owner)}",
        f"due = {a.due.isoformat()}",
        f"status = {string(a.status)}",
        f"request = {string(a.request)}",
        f"response = {string(a.response)}",
        f"history = {_strings(a.history)}",
    ]
