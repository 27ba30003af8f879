"""Alerts in an archive become `alerts` rows; the command line maps outcomes to exit codes."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from opmetrics import validate
from opmetrics.contract.schema import ALERTS
from opmetrics.duis import NAMESPACE, ingest_duis
from tests.cli_runner import run_cli
from tests.duis import kit


def alert_xml(response_id: str, at: str, body: str) -> str:
    return (
        f'<sr:Response xmlns:sr="{NAMESPACE}" schemaVersion="5.2"><sr:Header>'
        f"<sr:ResponseID>{response_id}</sr:ResponseID><sr:ResponseCode>I0</sr:ResponseCode>"
        f"<sr:ResponseDateTime>{at}</sr:ResponseDateTime></sr:Header>"
        f"<sr:Body>{body}</sr:Body></sr:Response>"
    )


DEVICE_ALERT = (
    "<sr:DeviceAlertMessage><sr:AlertCode>8F35</sr:AlertCode>"
    "<sr:GBCSPayload>AAAA</sr:GBCSPayload></sr:DeviceAlertMessage>"
)
DCC_ALERT = (
    "<sr:DCCAlertMessage><sr:DCCAlertCode>N24</sr:DCCAlertCode><sr:DCCAlert><sr:PowerOutageEvent>"
    f"<sr:CommsHubDeviceID>{kit.CH}</sr:CommsHubDeviceID>"
    "<sr:StartDateTime>2021-04-12T08:00:00Z</sr:StartDateTime><sr:MPxN>1</sr:MPxN>"
    "</sr:PowerOutageEvent></sr:DCCAlert></sr:DCCAlertMessage>"
)


def write_alerts(folder: Path) -> Path:
    folder.mkdir(parents=True)
    lines = [
        # device alert from E2 (South), received 2 s after the DCC sent it
        "2021-04-12T09:00:02Z "
        + alert_xml(f"{kit.E2}:{kit.USER}:5", "2021-04-12T09:00:00Z", DEVICE_ALERT),
        # DCC alert about the Comms Hub (North)
        "2021-04-12T09:05:01Z "
        + alert_xml(f"{kit.DCC}:{kit.USER}:6", "2021-04-12T09:05:00Z", DCC_ALERT),
        # the same device alert delivered twice
        "2021-04-12T09:00:03Z "
        + alert_xml(f"{kit.E2}:{kit.USER}:5", "2021-04-12T09:00:00Z", DEVICE_ALERT),
        # an alert from a device the inventory does not know
        "2021-04-12T09:10:00Z "
        + alert_xml(f"00-DB-12-34-56-78-90-FF:{kit.USER}:7", "2021-04-12T09:09:59Z", DEVICE_ALERT),
    ]
    (folder / "alerts.log").write_text("\n".join(lines) + "\n")
    return folder


def test_alert_rows(tmp_path: Path) -> None:
    kit.need_samples()
    archive = write_alerts(tmp_path / "duis")
    devices = kit.write_devices(tmp_path / "devices.csv")
    out = tmp_path / "data"
    s = ingest_duis(archive, out, devices=devices)
    table = pq.read_table(out / "alerts.parquet")
    assert table.schema.equals(ALERTS.arrow_schema())
    rows = {r["alert_id"]: r for r in table.to_pylist()}
    device = rows[f"{kit.E2}:{kit.USER}:5"]
    assert device["alert_code"] == "8F35" and device["alert_type"] == "device"
    assert device["device_id"] == kit.E2 and device["user_id"] == kit.USER
    assert device["region"] == "South" and device["smets"] == "SMETS2"
    assert device["raised_at"] == datetime(2021, 4, 12, 9, 0, tzinfo=UTC)
    assert device["delivered_at"] == datetime(2021, 4, 12, 9, 0, 2, tzinfo=UTC)
    assert device["consolidated"] is None
    dcc = rows[f"{kit.DCC}:{kit.USER}:6"]
    assert (dcc["alert_type"], dcc["alert_code"], dcc["device_id"], dcc["region"]) == (
        "dcc",
        "N24",
        kit.CH,
        "North",
    )
    unknown = rows[f"00-DB-12-34-56-78-90-FF:{kit.USER}:7"]
    assert unknown["region"] == "UNKNOWN" and unknown["smets"] is None
    assert s.alerts == 3 and s.alerts_read == 4
    assert s.quarantined == {"duplicate_alert": 1}
    assert s.alerts_unknown_region == 1
    assert s.reconciles
    # validate keeps the two known alerts and refuses the UNKNOWN region, as documented
    result = validate(out)
    assert result.tables["alerts"].accepted == 2
    assert result.tables["alerts"].quarantined == {"unknown_region": 1}


@pytest.mark.slow
def test_cli_exit_codes(tmp_path: Path) -> None:
    kit.need_samples()
    archive = kit.write_archive(tmp_path / "duis")
    devices = kit.write_devices(tmp_path / "devices.csv")
    out = tmp_path / "data"
    args = [
        "ingest-duis",
        str(archive),
        "--out",
        str(out),
        "--devices",
        str(devices),
        "--wait",
        "3600",
        "--user-role",
        "IS",
    ]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    assert "Quarantined messages by reason" in done.stdout
    assert "late_response" in done.stdout
    with (out / "quarantine.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 8
    assert run_cli(*args, "--strict").returncode == 1

    missing = run_cli("ingest-duis", str(tmp_path / "nope"), "--out", str(tmp_path / "x"))
    assert missing.returncode == 2
    assert "archive not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    bad = run_cli("ingest-duis", str(archive), "--out", str(tmp_path / "x"), "--wait", "-1")
    assert bad.returncode == 2 and "wait" in bad.stderr

    role = run_cli("ingest-duis", str(archive), "--out", str(tmp_path / "x"), "--user-role", "=IS")
    assert role.returncode == 2 and "EUI-64=ROLE" in role.stderr

    mode = run_cli("ingest-duis", str(archive), "--out", str(tmp_path / "x"), "--sent-time", "now")
    assert mode.returncode == 2

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "outages.csv").write_text("x\n")
    refused = run_cli("ingest-duis", str(archive), "--out", str(foreign))
    assert refused.returncode == 5 and "not written by ingest-duis" in refused.stderr
