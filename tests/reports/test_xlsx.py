"""The XLSX writer, read back with openpyxl."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pyarrow as pa

from opmetrics.reports.xlsx import CUT_MARK, EXCEL_MAX_CHARS, Sheet, column_letter, write_workbook


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_round_trip(tmp_path: Path) -> None:
    t = pa.table(
        {
            "name": ["=1+1", "plain", None, "a\x01b<&>", "x" * (EXCEL_MAX_CHARS + 10)],
            "n": pa.array([1, 2_000_000, None, -4, 5], pa.int64()),
            "success_percent": [99.5, None, float("nan"), 12.25, 0.0],
            "ok": [True, False, None, True, False],
            "day": [date(2021, 4, 1), date(2021, 4, 30), None, date(2000, 1, 1), date(2021, 4, 2)],
            "at": pa.array(
                [datetime(2021, 4, 1, 12, 30, tzinfo=UTC), None, None, None, None],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    path = tmp_path / "t.xlsx"
    seen: list[int] = []
    write_workbook(
        [Sheet("data", t), Sheet("empty", t.slice(0, 0))],
        path,
        title="T",
        stamp=datetime(2021, 5, 1),
        on_rows=seen.append,
    )
    assert sum(seen) == 5
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["data", "empty"]
    ws = wb["data"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:F6"
    assert [c.value for c in ws[1]] == t.column_names and ws["A1"].font.b
    assert ws["A2"].value == "'=1+1" and ws["A3"].value == "plain" and ws["A4"].value is None
    assert ws["A5"].value == "ab<&>"
    assert len(ws["A6"].value) == EXCEL_MAX_CHARS and ws["A6"].value.endswith(CUT_MARK)
    assert [ws.cell(row=r, column=2).value for r in range(2, 7)] == [1, 2_000_000, None, -4, 5]
    assert ws["B2"].number_format == "#,##0"
    assert ws["C2"].value == 99.5 and ws["C3"].value is None and ws["C4"].value is None
    assert ws["C2"].number_format == "0.00"
    assert ws["D2"].value is True and ws["D3"].value is False
    assert ws["E2"].value == datetime(2021, 4, 1) and ws["E2"].number_format == "yyyy-mm-dd"
    assert ws["F2"].value == datetime(2021, 4, 1, 12, 30)
    assert wb["empty"].max_row == 1
    assert wb.properties.created == datetime(2021, 5, 1)


def test_same_tables_same_bytes(tmp_path: Path) -> None:
    t = pa.table({"a": [1, 2], "b": ["x", "y"]})
    for name in ("one.xlsx", "two.xlsx"):
        write_workbook([Sheet("s", t)], tmp_path / name, title="T", stamp=datetime(2021, 5, 1))
    assert (tmp_path / "one.xlsx").read_bytes() == (tmp_path / "two.xlsx").read_bytes()
