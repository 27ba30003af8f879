"""A customer pack reads its party's failed requests from the dataset by label, and from the one
file of results folders written before that layout, and the two give the same pack files.

The month is the robustness corpus's base month computed for real; the older folder is the
same results with `restricted/party_failures/` replaced by the single file sorted by label,
`received_at` and `request_id`, as compute wrote it before.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import opmetrics
from opmetrics.reports.customer_packs import customer_packs
from opmetrics.results.io import read_party_failures, read_results
from opmetrics.results.schema import (
    PARTY_FAILURES_DIR,
    PARTY_FAILURES_FILE,
    PARTY_LABELS_FILE,
    RESTRICTED_DIR,
)
from tests.robustness import corpus


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("layouts")
    data = corpus.base_month(root / "data")
    new = root / "new"
    opmetrics.compute(data, corpus.MONTH, new, anon_key="k")
    old = root / "old"
    shutil.copytree(new, old)
    restricted = old / RESTRICTED_DIR
    every = read_party_failures(restricted)
    shutil.rmtree(restricted / PARTY_FAILURES_DIR)
    pq.write_table(every, restricted / PARTY_FAILURES_FILE, compression="zstd")
    return new, old


def test_dataset_and_single_file_give_the_same_packs(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    new, old = folders
    every = read_results(new).restricted("party_failures")
    assert every.equals(read_results(old).restricted("party_failures"))
    label, n = Counter(every["party_label"].to_pylist()).most_common(1)[0]
    assert n > 5
    labels = list(csv.DictReader((new / RESTRICTED_DIR / PARTY_LABELS_FILE).open()))
    user_id = next(r["user_id"] for r in labels if r["party_label"] == label)
    for folder in (new, old):
        own = read_party_failures(folder / RESTRICTED_DIR, label)
        assert own.equals(every.filter(pc.equal(every["party_label"], label)))
    packs = {}
    for name, folder in (("new", new), ("old", old)):
        customer_packs(folder, tmp_path / name, user_ids=[user_id])
        packs[name] = {
            p.name: p.read_bytes()
            for p in sorted((tmp_path / name).iterdir())
            if p.suffix in (".csv", ".xlsx")
        }
    assert packs["new"] == packs["old"] and len(packs["new"]) == 2
    rows = list(
        csv.DictReader(
            (tmp_path / "new" / next(k for k in packs["new"] if k.endswith(".csv"))).open()
        )
    )
    assert [r["request_id"] for r in rows] == own["request_id"].to_pylist()
    keys = [(r["received_at_utc"], r["request_id"]) for r in rows]
    assert keys == sorted(keys) and len(rows) == n


def test_a_folder_without_the_extract_has_no_failures(folders: tuple[Path, Path]) -> None:
    new, _ = folders
    assert read_party_failures(new / "no such folder").num_rows == 0
