"""A CSV line is a record: a quote that never closes costs its own line, whatever the line ends.

Staging is called directly on small files (and one of more than one parser block), so every
line number can be checked.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from opmetrics.contract.schema import TABLES
from opmetrics.contract.sources import locate, stage_csv

HEADER = "user_id,name,role,adaptor"


def _party(i: int, name: str | None = None) -> str:
    return f"90-B3-D5-1F-30-{i >> 16 & 255:02X}-{i >> 8 & 255:02X}-{i & 255:02X},{name or f'Party {i}'},IS,A"


def _stage(tmp_path: Path, lines: list[str], end: str) -> tuple[list[int], list[tuple[int, str]]]:
    """(line numbers of the staged rows, (line, text) of the malformed ones)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "parties.csv").write_bytes(end.join([HEADER, *lines, ""]).encode())
    src = locate(data, TABLES["parties"])
    assert src is not None
    stage_csv(src, tmp_path)
    staged = pq.read_table(src.staged[0])
    assert src.rows == staged.num_rows + len(src.malformed)
    return staged.column("_row").to_pylist(), [(m.line or 0, m.text) for m in src.malformed]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_clean_file_whatever_its_line_ends(tmp_path: Path, end: str) -> None:
    rows, bad = _stage(tmp_path, [_party(i) for i in range(5)], end)
    assert rows == [2, 3, 4, 5, 6] and bad == []


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_stray_quote_costs_its_own_line(tmp_path: Path, end: str) -> None:
    lines = [_party(i) for i in range(8)]
    lines[2] = _party(2, '"Stray')  # line 4
    lines[5] = _party(5, '"quoted, fine"')  # line 7: a real quoted field with a comma
    lines[6] = "90-B3-D5-1F-30-00-00-06,too,few"  # line 8
    rows, bad = _stage(tmp_path, lines, end)
    assert rows == [2, 3, 5, 6, 7, 9]
    assert [line for line, _ in bad] == [4, 8]
    assert bad[0][1] == lines[2]  # the raw text of that line only


def test_blank_lines_keep_line_numbers_right(tmp_path: Path) -> None:
    lines = [_party(0), "", _party(1, '"Stray'), _party(2), "", _party(3)]
    rows, bad = _stage(tmp_path, lines, "\n")
    assert rows == [2, 5, 7] and [line for line, _ in bad] == [4]


def test_a_value_across_two_lines_is_two_malformed_lines(tmp_path: Path) -> None:
    """Values hold no line breaks: a quoted field spanning lines is not accepted."""
    lines = [_party(0), _party(1, '"two'), 'lines",IS,A', _party(2)]
    rows, bad = _stage(tmp_path, lines, "\n")
    assert rows == [2, 5] and [line for line, _ in bad] == [3, 4]


def test_a_stray_quote_in_a_file_larger_than_a_parser_block(tmp_path: Path) -> None:
    """Over 16 MiB the parser used to stop ('out of sync'); now the one line is set aside."""
    lines = [
        _party(i, f"Party number {i} with a longer name to fill the block") for i in range(300_000)
    ]
    lines[100] = _party(100, '"Stray')
    lines[250_000] = _party(250_000, '"Stray')
    rows, bad = _stage(tmp_path, lines, "\n")
    assert [line for line, _ in bad] == [102, 250_002]
    assert len(rows) == 299_998 and rows[99:102] == [101, 103, 104] and rows[-1] == 300_001
