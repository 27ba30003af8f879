"""Report specs: immutable values describing a pack, rendered per target (PDF and HTML).

A pack is built once from the results as plain data (text, tables of cells, Vega-Lite chart
specs) and handed unchanged to each renderer, so the PDF and the HTML always say the same thing
and a snapshot of the spec pins what a pack contains without comparing PDF bytes. Every string
here is plain text: renderers escape it for their target (HTML entities; Typst receives it as
JSON data, never as markup).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from typing import Any, Literal

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
class Cell:
    text: str
    status: str | None = None  # colours the cell by CPM status
    bold: bool = False


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

    def __post_init__(self) -> None:
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

    @property
    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.vega_lite)
        return out


@dataclass(frozen=True)
class Paragraph:
    text: str
    tone: Tone = "normal"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str = ""


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Paragraph | Heading | Table | Chart | PageBreak


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]
    anchor: str = ""
    new_page: bool = True


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

    def to_json(self, *, with_chart_specs: bool = True) -> str:
        return json.dumps(
            self.to_data(with_chart_specs=with_chart_specs),
            indent=1,
            ensure_ascii=False,
            sort_keys=True,
        )


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


def canonical_json(spec: dict[str, Any]) -> str:
    """One stable text per chart spec: sorted keys, no NaN (Vega-Lite JSON has no NaN)."""
    return json.dumps(
        spec, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


def cell(text: str, status: str | None = None, bold: bool = False) -> Cell:
    return Cell(text, status, bold)
