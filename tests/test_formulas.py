"""One rule neutralises spreadsheet formulas in every CSV and XLSX opmetrics writes."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from opmetrics.reports.xlsx import Sheet, write_workbook
from opmetrics.results.io import neutralise_formulas, write_csv

GIVEN = ["=1+1", "+44 20", "-3", "@SUM(A1)", "\tx", "\rx", "a=b", "", None, "plain"]
SHOWN = ["'=1+1", "'+44 20", "'-3", "'@SUM(A1)", "'\tx", "'\rx", "a=b", "", None, "plain"]


def test_the_rule_on_text_columns_of_either_width() -> None:
    assert neutralise_formulas(pa.array(GIVEN, pa.string())).to_pylist() == SHOWN
    wide = pa.chunked_array([GIVEN[:4], GIVEN[4:]], pa.large_string())
    got = neutralise_formulas(wide)
    assert got.type == pa.large_string() and got.to_pylist() == SHOWN
    untouched = pa.array(["a", None], pa.string())
    assert neutralise_formulas(untouched) is untouched  # nothing to do: the column as given


def test_csv_and_xlsx_cells_and_headers_alike(tmp_path: Path) -> None:
    table = pa.table({"=header": pa.array(GIVEN, pa.string()), "n": pa.array(range(10))})
    write_csv(table, tmp_path / "t.csv")
    back = pacsv.read_csv(
        tmp_path / "t.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={"=header": pa.string()}, strings_can_be_null=True
        ),
    )
    assert back.column("=header").to_pylist()[:7] == SHOWN[:7]  # (CSV: empty = null)
    write_workbook([Sheet("s", table)], tmp_path / "t.xlsx", title="t", stamp=datetime(2021, 5, 1))
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<t>'=header</t>" in xml and "<t>n</t>" in xml
    for text in (">'=1+1<", ">'+44 20<", ">'-3<", ">'@SUM(A1)<", ">a=b<", ">plain<"):
        assert text in xml, text
