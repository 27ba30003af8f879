"""compute tells the manifest about every column it ignored, service requests included."""

from __future__ import annotations

import csv
from pathlib import Path

import opmetrics

CASE = Path(__file__).parent / "golden" / "sr_han_leg_cpm1"


def test_extra_service_request_column_is_a_manifest_warning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with (
        (CASE / "service_requests.csv").open(newline="") as src,
        (data / "service_requests.csv").open("w", newline="") as dst,
    ):
        rows = list(csv.reader(src))
        w = csv.writer(dst)
        w.writerow([*rows[0], "notes"])
        w.writerows([*r, "n/a"] for r in rows[1:])
    s = opmetrics.compute(data, "2021-04", tmp_path / "out", anon_key="k")
    assert any(
        "service_requests.csv: ignoring column(s) not in the contract: notes" in w
        for w in s.manifest.to_json()["warnings"]
    ), s.manifest.to_json()["warnings"]
