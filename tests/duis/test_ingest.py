"""A month of one party's traffic, built from the public samples, through `ingest_duis`.

Every expected value is worked by hand from the scenario in `kit.py`: which requests become
rows, with what outcome, and which messages are quarantined for what reason.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from opmetrics import validate
from opmetrics.contract.schema import DEVICES, SERVICE_REQUESTS
from opmetrics.duis import MANIFEST_FILE, QUARANTINE_FILE, ingest_duis
from opmetrics.errors import DataContractError, OutputError, UsageError
from tests.duis import kit


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kit.need_samples()
    return kit.write_archive(tmp_path_factory.mktemp("archive") / "duis")


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit.write_devices(tmp_path_factory.mktemp("inventory") / "devices.csv")


@pytest.fixture(scope="module")
def ingested(archive: Path, devices: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("out") / "data"
    summary = ingest_duis(archive, out, devices=devices, wait_seconds=kit.WAIT, roles="IS")
    return summary, out


def rows_by_id(out: Path) -> dict[str, dict[str, object]]:
    table = pq.read_table(out / "service_requests.parquet")
    return {r["request_id"]: r for r in table.to_pylist()}


def quarantine(out: Path) -> list[dict[str, str]]:
    with (out / QUARANTINE_FILE).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_rows_are_the_hand_worked_ones(ingested) -> None:  # type: ignore[no-untyped-def]
    _, out = ingested
    rows = rows_by_id(out)
    expected = {c.request_id: c for c in kit.SCENARIO if c.expect}
    assert set(rows) == set(expected)
    assert len(rows) == 15
    for rid, case in expected.items():
        row = rows[rid]
        assert row["user_id"] == kit.USER
        assert row["user_role"] == "IS"
        assert row["srv"] == case.srv
        assert row["target_id"] == case.target
        assert row["received_at"] == case.sent
        assert row["dsp_attempts"] is None
        assert row["delivered_at"] is None and row["device_response_at"] is None
        inventory = {d[0]: d for d in kit.DEVICES}
        defaults = {
            "execution": "on_demand",
            "execute_at": None,
            "smets": "SMETS2",
            "region": inventory[case.target][3] if case.target in inventory else None,
            "device_type": inventory[case.target][1] if case.target in inventory else None,
            "command_variant": 1,
        }
        for col, want in {**defaults, **case.expect}.items():
            assert row[col] == want, f"{case.name}: {col} is {row[col]!r}, expected {want!r}"
        answered = [r for r in case.responses if r[0] != "I99"]
        if case.expect.get("response_code") is not None:
            final_after = answered[-1][1]
            assert row["responded_at"] == kit.clock_start(case) + kit._s(final_after)


def test_quarantine_reasons_and_files(ingested, archive: Path) -> None:  # type: ignore[no-untyped-def]
    summary, out = ingested
    q = quarantine(out)
    want = Counter(code for c in kit.SCENARIO for code in c.quarantine)
    want.update(kit.EXTRA_QUARANTINE)
    assert Counter(r["reason_code"] for r in q) == want
    assert summary.quarantined == dict(sorted(want.items()))
    by_code = {r["reason_code"]: r for r in q}
    log = str(archive / "sent" / "requests-2021-04.log")
    # line numbers of the request log: one line per scenario case, then the two bad lines
    assert by_code["unknown_srv"]["source"] == log
    assert by_code["unknown_srv"]["row"] == "16"
    assert by_code["unknown_srv"]["table"] == "service_requests"
    assert by_code["duplicate_request"]["row"] == "17"
    assert by_code["awaiting_response"]["row"] == "18"
    assert by_code["bad_sent_time"]["row"] == "19"
    assert "no time zone" in by_code["bad_sent_time"]["reason"]
    assert by_code["malformed_xml"]["row"] == "20"
    assert by_code["malformed_xml"]["table"] == "service_requests"
    assert by_code["response_without_request"]["source"] == str(archive / "received" / "9999.xml")
    assert by_code["response_without_request"]["row"] == ""
    assert kit.RESPONSE_WITHOUT_REQUEST in by_code["response_without_request"]["reason"]
    late = json.loads(by_code["late_response"]["raw"])
    assert late["request_id"] == f"{kit.USER}:{kit.E1}:10"
    assert late["response_code"] == "I0"


def test_counts_reconcile(ingested) -> None:  # type: ignore[no-untyped-def]
    summary, out = ingested
    assert summary.requests_read == 19  # 18 cases + the one with a bad prefix
    assert summary.responses_read == 18
    assert summary.alerts_read == 0
    assert summary.messages_read == 38  # + the malformed line
    assert summary.service_requests == 15
    assert summary.responses_used == 15  # 18 less: late, to a quarantined request, orphan
    assert summary.quarantined_total == 8
    assert summary.used == 30
    assert summary.reconciles
    assert summary.unanswered == 2  # no_response, read_late
    assert summary.unknown_device == 0
    assert summary.devices == 4
    assert summary.archive_end == "2021-04-20T12:00:00Z"
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["summary"]["reconciles"] is True
    assert manifest["options"]["wait_seconds"] == kit.WAIT


def test_data_dir_passes_the_contract(ingested) -> None:  # type: ignore[no-untyped-def]
    _, out = ingested
    assert pq.read_schema(out / "service_requests.parquet").equals(SERVICE_REQUESTS.arrow_schema())
    assert pq.read_schema(out / "devices.parquet").equals(DEVICES.arrow_schema())
    assert not (out / "alerts.parquet").exists()  # the archive holds no alerts
    result = validate(out)
    assert result.quarantined_total == 0
    assert result.tables["service_requests"].accepted == 15
    assert result.tables["devices"].accepted == 4


def test_zip_and_tar_give_the_same_rows(  # type: ignore[no-untyped-def]
    ingested, archive: Path, devices: Path, tmp_path: Path
) -> None:
    _, out = ingested
    want = pq.read_table(out / "service_requests.parquet")
    zpath = tmp_path / "duis.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(archive.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(archive).as_posix())
    tpath = tmp_path / "duis.tar.gz"
    with tarfile.open(tpath, "w:gz") as tf:
        tf.add(archive, arcname="duis")
    for packed in (zpath, tpath):
        dest = tmp_path / f"out-{packed.name}"
        s = ingest_duis(packed, dest, devices=devices, wait_seconds=kit.WAIT, roles="IS")
        assert pq.read_table(dest / "service_requests.parquet").equals(want)
        assert s.reconciles and s.quarantined_total == 8
        sources = {r["source"] for r in quarantine(dest)}
        assert any(src.startswith(f"{packed}!") for src in sources)


def test_without_inventory_device_and_region_are_unknown(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    s = ingest_duis(archive, out, wait_seconds=kit.WAIT)
    rows = rows_by_id(out)
    assert len(rows) == 15
    non_device = next(c for c in kit.SCENARIO if c.name == "non_device").request_id
    for rid, row in rows.items():
        assert row["user_role"] == "UNKNOWN"
        assert row["region"] == "UNKNOWN" and row["smets"] == "UNKNOWN"
        assert row["device_type"] == ("NONE" if rid == non_device else "UNKNOWN")
    assert s.unknown_device == 15
    assert any("UNKNOWN" in w and "--devices" in w for w in s.warnings)
    assert not (out / "devices.parquet").exists()
    # as documented: the contract refuses UNKNOWN, so validate quarantines these rows
    result = validate(out)
    assert result.tables["service_requests"].accepted == 0
    assert set(result.tables["service_requests"].quarantined) == {
        "unknown_device_type",
        "unknown_smets",
    }


def test_shorter_wait_fails_slow_responses(archive: Path, devices: Path, tmp_path: Path) -> None:
    # With a 30 s wait the 45 s warning response is late too, and the future-dated request
    # (whose response came 10 s after its execution time) still counts.
    out = tmp_path / "data"
    s = ingest_duis(archive, out, devices=devices, wait_seconds=30)
    rows = rows_by_id(out)
    slow = next(c for c in kit.SCENARIO if c.name == "warning_slow").request_id
    future = next(c for c in kit.SCENARIO if c.name == "future_dated").request_id
    assert rows[slow]["response_code"] is None
    assert rows[future]["response_code"] == "I0"
    assert s.quarantined["late_response"] == 2
    # the awaiting request is still within 30 s of the archive end
    assert s.quarantined["awaiting_response"] == 1


def test_sent_time_from_mtime_or_prefix(devices: Path, tmp_path: Path) -> None:
    # One request per XML file has no prefix: under --sent-time prefix it cannot be timed; under
    # mtime (and auto) its file's modification time is when it was sent.
    folder = tmp_path / "xml"
    folder.mkdir()
    case = kit.SCENARIO[2]
    req = folder / "req.xml"
    req.write_text(kit.request_xml(case.sample, case.request_id))
    os.utime(req, (kit.T.timestamp(), kit.T.timestamp()))
    (folder / "resp.xml").write_text(
        kit.response_xml(case.request_id, "I0", kit.T + kit._s(5), "2.2")
    )
    out = tmp_path / "data"
    s = ingest_duis(folder, out, devices=devices, sent_time="prefix")
    assert s.quarantined == {"no_sent_time": 1, "request_quarantined": 1}
    assert s.service_requests == 0 and s.reconciles
    for mode in ("mtime", "auto"):
        s = ingest_duis(folder, out, devices=devices, sent_time=mode)  # type: ignore[arg-type]
        (row,) = rows_by_id(out).values()
        assert row["received_at"] == kit.T
        assert row["responded_at"] == kit.T + kit._s(5)
        assert row["response_code"] == "I0"
        assert s.quarantined == {}


def test_per_originator_roles(archive: Path, devices: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    ingest_duis(
        archive,
        out,
        devices=devices,
        wait_seconds=kit.WAIT,
        roles={kit.USER.lower(): "GS"},
    )
    assert {r["user_role"] for r in rows_by_id(out).values()} == {"GS"}


def test_refuses_to_replace_a_foreign_folder(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "incidents.csv").write_text("x\n")
    with pytest.raises(OutputError, match="not written by ingest-duis"):
        ingest_duis(archive, out)
    assert (out / "incidents.csv").exists()


def test_rerun_replaces_its_own_output(
    ingested, archive: Path, devices: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _, first = ingested
    out = tmp_path / "data"
    shutil.copytree(first, out)
    ingest_duis(archive, out, wait_seconds=kit.WAIT)  # without inventory this time
    assert not (out / "devices.parquet").exists()


def test_bad_options_and_inputs(archive: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="wait"):
        ingest_duis(archive, tmp_path / "a", wait_seconds=0)
    with pytest.raises(UsageError, match="wait"):
        ingest_duis(archive, tmp_path / "a", wait_seconds=float("inf"))
    with pytest.raises(UsageError, match="sent time"):
        ingest_duis(archive, tmp_path / "a", sent_time="clock")  # type: ignore[arg-type]
    with pytest.raises(DataContractError, match="archive not found"):
        ingest_duis(tmp_path / "nope", tmp_path / "a")
    with pytest.raises(DataContractError, match="device inventory not found"):
        ingest_duis(archive, tmp_path / "a", devices=tmp_path / "nope.csv")
    assert not (tmp_path / "a").exists()


def test_bad_inventory_rows_are_quarantined(archive: Path, tmp_path: Path) -> None:
    inv = kit.write_devices(tmp_path / "devices.csv")
    with inv.open("a", encoding="utf-8") as fh:
        fh.write("00-DB-12-34-56-78-90-C0,ESME,SMETS2,Midlands,,,,\n")
    out = tmp_path / "data"
    s = ingest_duis(archive, out, devices=inv, wait_seconds=kit.WAIT)
    assert s.devices == 4 and s.devices_quarantined == 1
    bad = [r for r in quarantine(out) if r["table"] == "devices"]
    assert len(bad) == 1
    assert bad[0]["reason_code"] == "unknown_region"
    assert bad[0]["source"] == str(inv)
    assert bad[0]["row"] == "6"
    assert s.reconciles  # inventory rows are counted apart from messages


def test_the_public_samples_folder_is_accounted_for(tmp_path: Path) -> None:
    # 299 request templates, 3 responses, 2 licences, a README and 2 XSDs. Under
    # --sent-time prefix no template (one XML per file) has a sent time; no response answers
    # a template's RequestID; licences and README are not messages; the XSDs are not DUIS.
    s = ingest_duis(kit.need_samples(), tmp_path / "data", sent_time="prefix")
    assert s.messages_read == 307
    assert s.quarantined == {
        "no_sent_time": 299,
        "not_a_message": 3,
        "not_duis": 2,
        "response_without_request": 3,
    }
    assert s.service_requests == 0 and s.reconciles


def test_a_refused_request_is_not_held_back(tmp_path: Path) -> None:
    # Both requests are unanswered at the archive's end; the one the contract refuses anyway
    # (4.1.1 is not in the catalog) gets the contract's code, the other waits.
    folder = tmp_path / "duis"
    folder.mkdir()
    lines = [
        f"{kit.iso(kit.T)} {kit.request_xml(kit.READ_REGISTERS, f'{kit.USER}:{kit.E1}:1')}",
        f"{kit.iso(kit.T)} {kit.request_xml(kit.TOP_UP, f'{kit.USER}:{kit.E1}:2')}",
    ]
    (folder / "sent.log").write_text("\n".join(lines) + "\n")
    s = ingest_duis(folder, tmp_path / "data", devices=kit.write_devices(tmp_path / "d.csv"))
    assert s.quarantined == {"unknown_srv": 1, "awaiting_response": 1}


def test_an_empty_archive_writes_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    s = ingest_duis(tmp_path / "empty", tmp_path / "data")
    assert s.messages_read == 0 and s.reconciles
    assert any("no files with messages" in w for w in s.warnings)
    assert pq.read_table(tmp_path / "data" / "service_requests.parquet").num_rows == 0
    assert validate(tmp_path / "data").quarantined_total == 0
