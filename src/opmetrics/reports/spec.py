"""Report specs: immutable values describing a pack, rendered per target (PDF and HTML).

A pack is built once from the results as plain data (text, tables of cells, Vega-Lite chart
specs) and handed unchanged to each renderer, so the PDF and the HTML always say the same thing
and a snapshot of the spec pins what a pack contains without comparing PDF bytes. Every string
here is plain text: renderers escape it for their target (HTML entities; Typst receives it as
JSON data, never as markup).

Say what is assumed: a figure that rests on a catalog value marked `assumed` (a Target Response
Time, an incident target, ...) carries those values (`Assumption`s). A cell's renderer puts the
mark (`fmt.MARK`, a dagger) after its text; a paragraph, a chart caption or a table title holds
the mark where it belongs in its text. `with_footnotes` then adds to each section, after its
first marked block, a `Footnote` naming every assumed value the section's marks stand for and
how to override them. A `Section.page_note` is a short line every page of the section repeats
(which clock its figures use).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date
from typing import Any, Literal

from opmetrics.reports import fmt

Status = Literal["met", "below_target", "below_minimum", "no_activity", "not_reportable"]
Align = Literal["left", "right", "center"]
Tone = Literal["normal", "note", "alert", "good"]

STATUS_LABELS: dict[str, str] = {
    "met": "Met",
    "below_target": "Below target",
    "below_minimum": "Below minimum",
    "no_activity": "No activity",
    "not_reportable": "NOT REPORTABLE",
}


@dataclass(frozen=True)
class Assumption:
    """A catalog value marked `assumed` that a figure rests on: its catalog key and, in words, the
    value (e.g. "Target Response Time for on-demand requests: 30 s")."""

    key: str
    text: str


def _marks_match(text: str, assumed: tuple[Assumption, ...], what: str) -> None:
    """A text that rests on an assumed value shows the mark (a text may also mention the mark
    to explain it)."""
    if assumed and fmt.MARK not in text:
        raise ValueError(f"{what} {text[:60]!r} rests on assumed values but has no mark")


@dataclass(frozen=True)
class Cell:
    text: str
    status: str | None = None  # colours the cell by CPM status
    bold: bool = False
    assumed: tuple[Assumption, ...] = ()  # the renderer marks the cell after its text
    rollup: bool = False  # the cell says its row sums others (All): the row is set apart


@dataclass(frozen=True)
class Column:
    label: str
    align: Align = "right"
    width: str = "auto"  # "auto" or a fraction like "2fr"
    group: str = ""  # a second header row above: columns sharing a group are spanned


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    small: bool = False  # a dense table set in a smaller size
    assumed: tuple[Assumption, ...] = ()  # what a mark in the title or note stands for

    def __post_init__(self) -> None:
        _marks_match(self.title + self.note, self.assumed, f"table {self.key}")
        for r in self.rows:
            if len(r) != len(self.columns):
                raise ValueError(
                    f"table {self.key}: a row has {len(r)} cells for {len(self.columns)} columns"
                )


@dataclass(frozen=True)
class Chart:
    key: str  # unique within a report; names the chart's file
    title: str
    caption: str
    vega_lite: str  # the Vega-Lite spec as canonical JSON (sorted keys)
    assumed: tuple[Assumption, ...] = ()  # what a mark in the caption stands for

    def __post_init__(self) -> None:
        _marks_match(self.caption, self.assumed, f"chart {self.key}")

    @property
    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.vega_lite)
        return out


@dataclass(frozen=True)
class Paragraph:
    text: str
    tone: Tone = "normal"
    assumed: tuple[Assumption, ...] = ()  # what the marks in the text stand for

    def __post_init__(self) -> None:
        _marks_match(self.text, self.assumed, "paragraph")


@dataclass(frozen=True)
class Footnote:
    """The note under marked figures: the assumed values the marks stand for, how to override."""

    text: str
    assumed: tuple[Assumption, ...]
    override: str


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str = ""


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Paragraph | Heading | Table | Chart | PageBreak | Footnote


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]
    anchor: str = ""
    # A new part rather than a continuation of the previous section: it gets its own footnote
    # (`with_footnotes`). The PDF runs every section on from the one before (report.typ).
    new_page: bool = True
    page_note: str = ""  # repeated at the top of every page of the section (HTML: under its title)


@dataclass(frozen=True)
class Cover:
    title: str
    subtitle: str
    month: str  # YYYY-MM
    month_title: str  # "April 2021"
    produced_on: date
    due_on: date
    late: bool
    lateness: str  # "on time" / "late by 3 Working Days"
    facts: tuple[tuple[str, str], ...] = ()  # label, value: catalog version, engine, ...
    alerts: tuple[str, ...] = ()  # loud notices: measures that cannot be reported


@dataclass(frozen=True)
class Report:
    key: str  # file stem, e.g. "pmr" or "bp-install_commission"
    title: str
    cover: Cover
    sections: tuple[Section, ...]
    srvs: tuple[str, ...] = field(default=())  # SRVs the report covers (checked in its text)

    def charts(self) -> list[Chart]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]

    def to_data(self, *, with_chart_specs: bool = True) -> dict[str, Any]:
        """The report as plain JSON-ready data (what the Typst template reads)."""
        return _data(self, with_chart_specs)


def _data(obj: Any, with_chart_specs: bool) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {"type": type(obj).__name__}
        for f in fields(obj):
            v = getattr(obj, f.name)
            if f.name == "vega_lite":
                if with_chart_specs:
                    out["vega_lite"] = json.loads(v)
                continue
            out[f.name] = _data(v, with_chart_specs)
        return out
    if isinstance(obj, tuple | list):
        return [_data(v, with_chart_specs) for v in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    return obj


def assumptions_of(block: Block) -> tuple[Assumption, ...]:
    """The assumed values a block's marks stand for, in order, each once."""
    found: list[Assumption] = []
    if isinstance(block, Paragraph | Chart):
        found += block.assumed
    elif isinstance(block, Table):
        found += block.assumed
        found += [a for row in block.rows for c in row for a in c.assumed]
    return tuple({a.key: a for a in found}.values())


def footnote(assumed: tuple[Assumption, ...], override: str) -> Footnote:
    return Footnote(fmt.assumed_note([a.text for a in assumed], override), assumed, override)


def with_footnotes(
    sections: tuple[Section, ...] | list[Section], override: str
) -> tuple[Section, ...]:
    """Each section with a footnote after its first marked block (after the run of paragraphs it
    is in) naming every assumed value the section's marks stand for; sections without marks are
    returned as they are. A section that runs on from the previous one (`new_page` false) whose
    marks that one's note already names gets no second note."""
    out = []
    named: set[str] = set()
    for s in sections:
        blocks: list[Block] = [b for b in s.blocks if not isinstance(b, Footnote)]
        per = [assumptions_of(b) for b in blocks]
        every = tuple({a.key: a for found in per for a in found}.values())
        if not every or (not s.new_page and {a.key for a in every} <= named):
            out.append(replace(s, blocks=tuple(blocks)))
            named = named if not s.new_page else set()
            continue
        at = next(i for i, found in enumerate(per) if found) + 1
        while (
            at < len(blocks)
            and isinstance(blocks[at - 1], Paragraph)
            and isinstance(blocks[at], Paragraph)
        ):
            at += 1  # after the run of paragraphs the first mark is in, not inside it
        blocks.insert(at, footnote(every, override))
        out.append(replace(s, blocks=tuple(blocks)))
        named = {a.key for a in every}
    return tuple(out)


def canonical_json(spec: dict[str, Any]) -> str:
    """One stable text per chart spec: sorted keys, no NaN (Vega-Lite JSON has no NaN)."""
    return json.dumps(
        spec, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


def cell(
    text: str, status: str | None = None, bold: bool = False, assumed: tuple[Assumption, ...] = ()
) -> Cell:
    return Cell(text, status, bold, assumed)
