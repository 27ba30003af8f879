"""A table's files split into parts of consecutive files of about equal bytes
(`TableSource.split`), for an engine that sorts a large result a part at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from opmetrics.contract.schema import TABLES
from opmetrics.contract.sources import TableSource


def source(tmp_path: Path, sizes: list[int], staged: bool = False) -> TableSource:
    paths = []
    for i, size in enumerate(sizes):
        p = tmp_path / f"part-{i:05d}.parquet"
        p.write_bytes(b"x" * size)
        paths.append(p)
    spec = TABLES["service_requests"]
    if staged:
        return TableSource(spec, "csv", tmp_path, (tmp_path / "a.csv",), (), (), None, tuple(paths))
    return TableSource(spec, "parquet", tmp_path, tuple(paths), (), (), rows=1234)


def names(parts: list[TableSource]) -> list[list[str]]:
    return [[p.name for p in part.read_paths] for part in parts]


@pytest.mark.parametrize(
    ("sizes", "parts", "expected"),
    [
        # equal files: equal parts, in order
        ([10] * 6, 3, [[0, 1], [2, 3], [4, 5]]),
        # by bytes, not by count: the part starting past a third of the bytes begins a new part
        ([40, 10, 10, 10, 10, 10, 10], 2, [[0, 1], [2, 3, 4, 5, 6]]),
        # a file larger than a part's share: no part is left empty
        ([100, 1, 1], 3, [[0], [1, 2]]),
        # more parts than files: one file a part
        ([5, 5], 4, [[0], [1]]),
        # one part: the table itself
        ([5, 5], 1, [[0, 1]]),
    ],
)
def test_parts_are_consecutive_files_of_about_equal_bytes(
    tmp_path: Path, sizes: list[int], parts: int, expected: list[list[int]]
) -> None:
    split = source(tmp_path, sizes).split(parts)
    assert names(split) == [[f"part-{i:05d}.parquet" for i in g] for g in expected]


def test_a_part_knows_no_row_count_and_a_single_file_stays_whole(tmp_path: Path) -> None:
    whole = source(tmp_path, [10, 10])
    assert [p.rows for p in whole.split(2)] == [None, None]
    assert whole.split(1) == [whole]
    (tmp_path / "one").mkdir()
    one = source(tmp_path / "one", [10])
    assert one.split(5) == [one]


def test_a_staged_csv_is_split_by_its_staged_files(tmp_path: Path) -> None:
    staged = source(tmp_path, [10, 10, 10, 10], staged=True)
    split = staged.split(2)
    assert names(split) == [
        ["part-00000.parquet", "part-00001.parquet"],
        ["part-00002.parquet", "part-00003.parquet"],
    ]
    assert all(p.files == staged.files for p in split)
