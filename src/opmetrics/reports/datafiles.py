"""The data files: every results table as CSV and as one XLSX workbook (a sheet per table).

Only the shared tables are written; the `restricted/` subfolder of a results folder (one party's
own failures, the label-to-party mapping) is never read here. Text cells that a spreadsheet
would run as a formula are neutralised, in CSV and XLSX alike. Workbooks are made reproducible:
their document dates and zip entry times are fixed to a date derived from the reporting month.
Excel limits a sheet to 1,048,576 rows and a cell to 32,767 characters, so longer tables continue
on further sheets and longer cells are cut with a marker.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from opmetrics.errors import OutputError
from opmetrics.results.io import CSV_DECIMALS, FORMULA_CHARS, Results, neutralise_formula
from opmetrics.results.schema import RESULT_TABLES

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CHARS = 32_767
CUT_MARK = " …[cut: longer than an Excel cell]"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F5FA8")
DESCRIPTIONS = {
    "cpm": "Code Performance Measures: value, target, minimum and status per measure and dimension",
    "srv_summary": "Business process reporting per SRV, region and device type (ALL = roll-up)",
    "srv_daily": "Daily success and failure per SRV and region, with the Category 1/2 incident flag",
    "srv_party": "Per anonymised SEC Party, SRV, region and device type",
    "dcc_proxy": "Requests targeted at a CHF or GPF: the DCC proxy statistics",
    "srv_device_set": "Per anonymised party, adaptor, region and device set",
    "benchmark": "Each party against the industry average and best",
    "league_table": "Anonymised league tables per business process and SRV",
    "insights": "Findings of the diagnosis, with the recommended action",
    "quarantine": "Input rows rejected, with the reason",
}


def _neutralised(col: pa.ChunkedArray) -> pa.ChunkedArray:
    if not any(pc.any(pc.starts_with(col, ch)).as_py() for ch in FORMULA_CHARS):
        return col
    return pa.chunked_array(
        [
            pa.array(
                [None if v is None else neutralise_formula(v) for v in c.to_pylist()], pa.string()
            )
            for c in col.chunks
        ],
        pa.string(),
    )


def csv_ready(table: pa.Table) -> pa.Table:
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_floating(col.type):
            col = pc.round(col, CSV_DECIMALS)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = _neutralised(col)
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def write_csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(csv_ready(table), path)


# -- XLSX --------------------------------------------------------------------------------------


def _cell_value(v: Any) -> Any:
    if isinstance(v, str):
        v = neutralise_formula(v)
        if len(v) > EXCEL_MAX_CHARS:
            v = v[: EXCEL_MAX_CHARS - len(CUT_MARK)] + CUT_MARK
    return v


def _formats(schema: pa.Schema) -> list[str | None]:
    out: list[str | None] = []
    for f in schema:
        if pa.types.is_integer(f.type):
            out.append("#,##0")
        elif pa.types.is_floating(f.type):
            out.append(
                "0.00" if f.name.endswith("_percent") or f.name.endswith("_points") else "#,##0.000"
            )
        elif pa.types.is_date(f.type):
            out.append("yyyy-mm-dd")
        elif pa.types.is_timestamp(f.type):
            out.append("yyyy-mm-dd hh:mm:ss")
        else:
            out.append(None)
    return out


def _widths(table: pa.Table) -> list[float]:
    sample = table.slice(0, 200).to_pylist()
    out = []
    for name in table.column_names:
        longest = max([len(name)] + [len(str(r[name])) for r in sample if r[name] is not None])
        out.append(min(60.0, max(8.0, longest * 1.1 + 2)))
    return out


def _header(ws: Worksheet, names: list[str]) -> list[WriteOnlyCell]:
    cells = []
    for n in names:
        c = WriteOnlyCell(ws, value=n)
        c.font = HEADER_FONT
        c.fill = HEADER_FILL
        c.alignment = Alignment(vertical="center")
        cells.append(c)
    return cells


def _sheet_names(name: str, rows: int) -> list[str]:
    per = EXCEL_MAX_ROWS - 1
    n = max(1, -(-rows // per))
    return [name[:31]] + [f"{name[:26]} ({i})" for i in range(2, n + 1)]


def _add_table(wb: Workbook, name: str, table: pa.Table, on_rows: Callable[[int], None]) -> None:
    formats = _formats(table.schema)
    widths = _widths(table)
    per = EXCEL_MAX_ROWS - 1
    for part, sheet in enumerate(_sheet_names(name, table.num_rows)):
        ws = wb.create_sheet(sheet)
        ws.freeze_panes = "A2"
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        if table.num_rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(table.num_columns)}{min(per, table.num_rows - part * per) + 1}"
        ws.append(_header(ws, table.column_names))
        chunk = table.slice(part * per, per)
        for batch in chunk.to_batches(max_chunksize=20_000):
            cols = [c.to_pylist() for c in batch.columns]
            for values in zip(*cols, strict=True):
                row = []
                for v, f in zip(values, formats, strict=True):
                    if f is None or v is None:
                        row.append(_cell_value(v))
                    else:
                        c = WriteOnlyCell(
                            ws, value=v.replace(tzinfo=None) if isinstance(v, datetime) else v
                        )
                        c.number_format = f
                        row.append(c)
                ws.append(row)
            on_rows(batch.num_rows)


def _about(wb: Workbook, month: str, produced_on: date, tables: dict[str, pa.Table]) -> None:
    ws = wb.create_sheet("about")
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 12
    ws.column_dimensions["C"].width = 90
    ws.append(_header(ws, ["table", "rows", "what it holds"]))
    for name, t in tables.items():
        ws.append([name, t.num_rows, DESCRIPTIONS.get(name, "")])
    ws.append([])
    ws.append(["month", month])
    ws.append(["produced", produced_on.isoformat()])
    ws.freeze_panes = "A2"


def write_xlsx(
    tables: dict[str, pa.Table],
    path: Path,
    month: str,
    produced_on: date,
    stamp: datetime,
    on_rows: Callable[[int], None],
) -> None:
    wb = Workbook(write_only=True)
    wb.properties.creator = "opmetrics"
    wb.properties.title = f"Operational Metrics results {month}"
    wb.properties.created = stamp
    _about(wb, month, produced_on, tables)
    for name, t in tables.items():
        _add_table(wb, name, t, on_rows)
    buf = io.BytesIO()
    wb.save(buf)
    _reproducible_zip(buf.getvalue(), path, stamp)


def _reproducible_zip(data: bytes, path: Path, stamp: datetime) -> None:
    """Rewrite the workbook's zip with fixed entry times and a fixed document modified date."""
    src = zipfile.ZipFile(io.BytesIO(data))
    when = (stamp.year, stamp.month, stamp.day, 0, 0, 0)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
            for info in src.infolist():
                body = src.read(info.filename)
                if info.filename == "docProps/core.xml":
                    body = _fix_dates(body, iso)
                zi = zipfile.ZipInfo(info.filename, date_time=when)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = 0o644 << 16
                out.writestr(zi, body)
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror})", path=str(path)) from None


def _fix_dates(xml: bytes, iso: str) -> bytes:
    import re

    text = xml.decode("utf-8")
    text = re.sub(r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rf"\g<1>{iso}\g<2>", text)
    text = re.sub(r"(<dcterms:created[^>]*>)[^<]*(</dcterms:created>)", rf"\g<1>{iso}\g<2>", text)
    return text.encode("utf-8")


def shared_tables(results: Results) -> dict[str, pa.Table]:
    """Every shared results table the folder holds (never `restricted/`)."""
    return {name: results.table(name) for name in RESULT_TABLES if results.has(name)}


def write_data_files(
    results: Results,
    folder: Path,
    month: str,
    produced_on: date,
    stamp: datetime,
    on_rows: Callable[[int], None],
) -> list[Path]:
    tables = shared_tables(results)
    csv_dir = folder / "csv"
    csv_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name, t in tables.items():
        p = csv_dir / f"{name}.csv"
        write_csv(t, p)
        out.append(p)
    x = folder / f"{month}-results.xlsx"
    write_xlsx(tables, x, month, produced_on, stamp, on_rows)
    out.append(x)
    return out


def total_rows(results: Results) -> int:
    return sum(t.num_rows for t in shared_tables(results).values())
