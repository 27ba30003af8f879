"""The CPM table `opmetrics compute` prints agrees with the packs (cut, not rounded)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from opmetrics.cli.compute import show_summary
from opmetrics.month import Month
from opmetrics.results.compute import ComputeSummary
from opmetrics.results.manifest import Manifest

DIMS = ("business_process", "interface", "region", "time_band", "incident_category")


def _cpm_row(cpm: str, region: str, value: float | None, status: str) -> dict[str, object]:
    return {
        "cpm": cpm,
        **dict.fromkeys(DIMS),
        "region": region,
        "value_percent": value,
        "target_percent": 96.0,
        "minimum_percent": 92.0,
        "status": status,
    }


def _summary(rows: list[dict[str, object]]) -> ComputeSummary:
    manifest = {
        "warnings": [],
        "anonymisation": {"key_origin": "given"},
        "inputs": {
            "service_requests": {
                "present": True,
                "rows_read": 10,
                "accepted": 10,
                "quarantined": {},
                "outside_month": 0,
            }
        },
        "reportability": {},
    }
    return ComputeSummary(
        out=Path("results"),
        month=Month(2021, 4),
        manifest=Manifest.model_validate(manifest),
        tables={"cpm": pa.Table.from_pylist(rows)},
    )


def test_cpm_values_are_cut_to_two_decimals_like_the_reports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 214,915 of 228,441 = 94.0794... %: rounding would print 94.08, the packs print 94.07;
    # 91.99999 rounds to 92.00 (the minimum) but is below it, so it must read 91.99.
    show_summary(
        _summary(
            [
                _cpm_row("CPM1", "North", 100 * 214_915 / 228_441, "below_target"),
                _cpm_row("CPM1", "South", 91.99999, "below_minimum"),
                _cpm_row("CPM1", "Central", None, "not_reportable"),
            ]
        )
    )
    out = capsys.readouterr().out
    north = next(line for line in out.splitlines() if "North" in line)
    south = next(line for line in out.splitlines() if "South" in line)
    assert "94.07" in north and "94.08" not in north
    assert "91.99" in south and "92.00" not in south
