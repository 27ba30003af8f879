"""A small XLSX writer for the customer packs: bold headers, frozen panes, safe cells.

Text that a spreadsheet would run as a formula is neutralised (`neutralise_formula`), sheets
stop at a row cap with a note saying where the full data is, and the workbook's dates and zip
entry times are fixed so the same results give the same file.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from opmetrics.errors import OutputError
from opmetrics.results.io import neutralise_formula

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F5FA8")
EXCEL_MAX_CHARS = 32_767


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    widths: Sequence[int] = ()


def cell_value(v: Any) -> Any:
    """A value as Excel should hold it: no NaN, no formulas, no tz-aware datetimes."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, str):
        return neutralise_formula(v)[:EXCEL_MAX_CHARS]
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.replace(tzinfo=None)  # Excel has no time zones: the column header says UTC
    if hasattr(v, "item"):  # numpy scalars
        return cell_value(v.item())
    return v


def write_workbook(sheets: Sequence[Sheet], path: Path, stamp: datetime, title: str) -> None:
    wb = Workbook(write_only=True)
    wb.properties.title = neutralise_formula(title)
    wb.properties.creator = "opmetrics"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    for sh in sheets:
        ws = wb.create_sheet(sh.title[:31])
        ws.freeze_panes = "A2"
        for i, name in enumerate(sh.columns, start=1):
            width = sh.widths[i - 1] if i - 1 < len(sh.widths) else max(10, min(40, len(name) + 2))
            ws.column_dimensions[get_column_letter(i)].width = width
        header = []
        for name in sh.columns:
            c = WriteOnlyCell(ws, value=name)
            c.font = HEADER_FONT
            c.fill = HEADER_FILL
            header.append(c)
        ws.append(header)
        for row in sh.rows:
            ws.append([cell_value(v) for v in row])
    buf = io.BytesIO()
    try:
        wb.save(buf)
    except OSError as exc:  # pragma: no cover - in-memory
        raise OutputError(f"cannot write ({exc.strerror})", path=str(path)) from None
    _fixed_zip(buf.getvalue(), path, stamp)


def _fixed_zip(data: bytes, path: Path, stamp: datetime) -> None:
    """Rewrite the workbook's zip with fixed entry times (reproducible bytes)."""
    when = (stamp.year, stamp.month, stamp.day, 0, 0, 0)
    src = zipfile.ZipFile(io.BytesIO(data))
    try:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                out = zipfile.ZipInfo(info.filename, date_time=when)
                out.compress_type = zipfile.ZIP_DEFLATED
                out.external_attr = 0o600 << 16
                dst.writestr(out, src.read(info.filename))
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror})", path=str(path)) from None
