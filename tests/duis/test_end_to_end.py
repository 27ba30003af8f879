"""The sample-built archive through `ingest-duis` and then `compute`: srv_summary by hand.

April 2021 (UK local time) of the scenario in `kit.py`, TRT 30 s on demand, 3 s for the
Transform variant (CV 4) on demand, 30 s after execution for future-dated (the shipped
catalog's assumed values):

| SRV | region | device | cases | submitted | succeeded | failed | excluded | within TRT |
|---|---|---|---|---|---|---|---|---|
| 2.2 | North | ESME | april_first 5 s, ok 5 s, ack_then_ok 8 s | 3 | 3 | 0 | 0 | 3 |
| 2.2 | South | ESME | dcc_failure E21, user_caused E3 | 2 | 0 | 1 | 1 | 0 |
| 2.2 | North | GSME | no_response, warning_slow W050201 at 45 s | 2 | 1 | 1 | 0 | 0 |
| 4.8.1 | North | ESME | read_ok 2 s, read_late (after the wait), read_failed E100 | 3 | 1 | 2 | 0 | 1 |
| 6.15.1 | North | ESME | future_dated 10 s after execution, cancellation 2 s (CV 4) | 2 | 2 | 0 | 0 | 2 |
| 8.14.1 | North | NONE | non_device 1 s | 1 | 1 | 0 | 0 | 1 |
| 11.2 | North | CHF | chf_failure E65 | 1 | 0 | 1 | 0 | 0 |

The March request (23:30 BST on 31 March) is not in April; the quarantined messages are in no
count. 2.2 over all regions and devices: 7 submitted, 4 succeeded, 2 failed, 1 excluded,
success 4 / 6 = 66.67 %, within TRT 3 / 6 = 50 %.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import opmetrics
from opmetrics.contract.schema import ALL
from opmetrics.results.io import read_results
from opmetrics.results.schema import SRV_SUMMARY
from tests.cli_runner import run_cli
from tests.duis import kit

EXPECTED = {
    # (srv, region, device_type): submitted, succeeded, failed, excluded, within_trt
    ("2.2", "North", "ESME"): (3, 3, 0, 0, 3),
    ("2.2", "South", "ESME"): (2, 0, 1, 1, 0),
    ("2.2", "North", "GSME"): (2, 1, 1, 0, 0),
    ("4.8.1", "North", "ESME"): (3, 1, 2, 0, 1),
    ("6.15.1", "North", "ESME"): (2, 2, 0, 0, 2),
    ("8.14.1", "North", "NONE"): (1, 1, 0, 0, 1),
    ("11.2", "North", "CHF"): (1, 0, 1, 0, 0),
    ("2.2", ALL, ALL): (7, 4, 2, 1, 3),
}


@pytest.mark.slow
def test_ingest_then_compute_matches_hand_counts(tmp_path: Path) -> None:
    if not hasattr(opmetrics, "compute"):
        pytest.skip("opmetrics.compute is not available yet")
    archive = kit.write_archive(tmp_path / "duis")
    devices = kit.write_devices(tmp_path / "devices.csv")
    data = tmp_path / "data"
    done = run_cli(
        "ingest-duis",
        str(archive),
        "--out",
        str(data),
        "--devices",
        str(devices),
        "--wait",
        str(kit.WAIT),
        "--user-role",
        "IS",
    )
    assert done.returncode == 0, done.stderr
    results = tmp_path / "results"
    opmetrics.compute(data, month="2021-04", out=results)
    summary = read_results(results).table("srv_summary")
    assert summary.schema.equals(SRV_SUMMARY)
    rows = {(r["srv"], r["region"], r["device_type"]): r for r in summary.to_pylist()}
    for key, (submitted, succeeded, failed, excluded, within) in EXPECTED.items():
        row = rows[key]
        got = (
            row["submitted"],
            row["succeeded"],
            row["failed"],
            row["excluded"],
            row["within_trt"],
        )
        assert got == (submitted, succeeded, failed, excluded, within), key
        assert row["month"] == "2021-04"
    assert rows[("2.2", ALL, ALL)]["success_percent"] == pytest.approx(100 * 4 / 6)
    assert rows[("2.2", ALL, ALL)]["within_trt_percent"] == pytest.approx(100 * 3 / 6)
    assert rows[("4.8.1", "North", "ESME")]["success_percent"] == pytest.approx(100 / 3)
    # requests of every SRV of the archive that the catalog knows, and of no other
    busy = {
        r["srv"]
        for r in summary.to_pylist()
        if r["region"] == ALL and r["device_type"] == ALL and r["submitted"]
    }
    assert busy - {ALL} == {"2.2", "4.8.1", "6.15.1", "8.14.1", "11.2"}
