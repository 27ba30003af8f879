"""One row broken per row rule: exactly those rows are quarantined, each with its reason code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opmetrics.catalog import default_catalog
from opmetrics.context import Context
from opmetrics.contract.rules import REASONS, ROW_RULES
from opmetrics.contract.schema import TABLES
from tests.contract.rowkit import DEVICE, T0, USER, device, request

D = timedelta
OTHER_DEVICE = "00-DB-12-34-56-78-90-A1"

# (reason code expected, the broken row). Counters 100+ so they never collide with the valid rows.
BROKEN_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("missing_required", request(100, srv=None)),
    ("missing_required", request(101, user_role="  ")),
    ("bad_request_id", request(102, request_id="not-a-request-id")),
    ("bad_user_id", request(103, user_id="ACME-SUPPLIER")),
    ("unknown_srv", request(104, srv="99.9")),
    ("unknown_device_type", request(105, device_type="TOASTER")),
    ("device_type_mismatch", request(106, srv="8.11", device_type="ESME")),
    ("unknown_smets", request(107, smets="SMETS3")),
    ("unknown_region", request(108, region="Wales")),
    ("unknown_execution", request(109, execution="sometime")),
    ("execution_mismatch", request(110, srv="2.2", execution="future_dated")),
    ("bad_command_variant", request(111, command_variant=9)),
    ("unknown_response_code", request(112, response_code="X42")),
    ("timestamps_out_of_order", request(113, responded_at=T0 + D(minutes=113) - D(seconds=1))),
    ("timestamps_out_of_order", request(114, delivered_at=T0 + D(minutes=114, seconds=5))),
    ("implausible_timestamp", request(115, responded_at=datetime(2061, 1, 1, tzinfo=UTC))),
    (
        "implausible_timestamp",
        request(
            116,
            received_at=datetime(1999, 12, 31, tzinfo=UTC),
            delivered_at=None,
            device_response_at=None,
            responded_at=None,
        ),
    ),
    ("bad_dsp_attempts", request(117, dsp_attempts=0)),
    ("bad_dsp_attempts", request(118, dsp_attempts=-2)),
    ("inconsistent_response", request(120, responded_at=None)),  # I0 but no response time
    ("inconsistent_response", request(121, response_code=None)),  # a response time, no code
    ("value_too_long", request(119, user_role="R" * 1_001)),
    ("duplicate_key", request(1)),  # same request_id as valid row 1, later in the file
]

VALID_REQUESTS = [
    request(1),
    request(2, response_code="E21"),  # a failure is still a valid row
    request(3, response_code=None, responded_at=None, device_response_at=None),
    request(4, srv="1.1.1", command_variant=5, execution="future_dated", execute_at=T0 + D(days=1)),
    request(
        5,
        srv="8.14.1",
        command_variant=8,
        device_type="NONE",
        execution="non_device",
        target_id="00-00-00-00-00-00-00-01",
    ),
    request(6, response_code="E061501"),
    request(7, response_code="W050201", dsp_attempts=None),
    request(8, smets="SMETS1", region="South", target_id=OTHER_DEVICE),
]


def _write(folder: Path, table: str, rows: list[dict[str, Any]]) -> None:
    pq.write_table(
        pa.Table.from_pylist(rows, schema=TABLES[table].arrow_schema().with_metadata(None)),
        folder / f"{table}.parquet",
    )


def _incident(n: int, **over: Any) -> dict[str, Any]:
    row = {
        "incident_id": f"INC{n}",
        "category": 3,
        "dcc_responsible": True,
        "raised_at": T0,
        "assigned_at": T0 + D(minutes=20),
        "resolved_at": T0 + D(hours=5),
        "interfaces": "DCC User Interface",
        "regions": "North;South",
        "summary": "slow responses",
    }
    row.update(over)
    return row


def _outage(n: int, **over: Any) -> dict[str, Any]:
    row = {
        "outage_id": f"OUT{n}",
        "interface": "Self-Service Interface",
        "region": "ALL",
        "start_at": T0,
        "end_at": T0 + D(hours=1),
        "planned": False,
        "description": "",
    }
    row.update(over)
    return row


def _alert(n: int, **over: Any) -> dict[str, Any]:
    row = {
        "alert_id": f"A{n}",
        "alert_code": "AD1",
        "alert_type": "dcc",
        "device_id": DEVICE,
        "user_id": USER,
        "region": "SMETS1",
        "smets": "SMETS1",
        "raised_at": T0,
        "delivered_at": T0 + D(seconds=5),
        "consolidated": False,
    }
    row.update(over)
    return row


def _firmware(n: int, **over: Any) -> dict[str, Any]:
    row = {
        "ch_id": f"CH{n}",
        "region": "Central",
        "image": "CH-FW-2.1",
        "requested_at": T0,
        "delivered_at": T0 + D(hours=3),
        "delivery_status": "success",
        "activation_requested_at": T0 + D(days=1),
        "activated_at": T0 + D(days=1, minutes=5),
        "activation_status": "success",
    }
    row.update(over)
    return row


BROKEN_OTHER: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "devices": [
        ("missing_required", device(50, smets=None)),
        ("unknown_device_type", device(51, device_type="METER")),
        ("unknown_smets", device(52, smets="S2")),
        (
            "unknown_region",
            device(53, region="SMETS1"),
        ),  # devices carry their comms hub's CSP region
        ("value_too_long", device(54, model="M" * 1_001)),
        ("duplicate_key", device(1)),
    ],
    "parties": [
        (
            "missing_required",
            {"user_id": "90-B3-D5-1F-30-01-00-09", "name": None, "role": "IS", "adaptor": "A"},
        ),
        ("bad_user_id", {"user_id": "supplier-9", "name": "Nine", "role": "IS", "adaptor": "A"}),
        (
            "value_too_long",
            {
                "user_id": "90-B3-D5-1F-30-01-00-0A",
                "name": "N" * 1_001,
                "role": "IS",
                "adaptor": "A",
            },
        ),
        ("duplicate_key", {"user_id": USER, "name": "Again", "role": "IS", "adaptor": "A"}),
    ],
    "alerts": [
        ("unknown_alert_type", _alert(50, alert_type="meter")),
        ("unknown_region", _alert(51, region="Mars")),
        ("unknown_smets", _alert(52, smets="SMETS9")),
        ("timestamps_out_of_order", _alert(53, delivered_at=T0 - D(seconds=1))),
        ("implausible_timestamp", _alert(54, delivered_at=T0 + D(days=500))),
        ("value_too_long", _alert(55, alert_code="C" * 1_001)),
        ("duplicate_key", _alert(1)),
    ],
    "incidents": [
        ("bad_category", _incident(50, category=6)),
        ("unknown_interface", _incident(51, interfaces="DCC User Interface;Teapot Interface")),
        ("unknown_region", _incident(52, regions="North;Atlantis")),
        ("timestamps_out_of_order", _incident(53, assigned_at=T0 - D(minutes=1))),
        (
            "implausible_timestamp",
            _incident(
                54, raised_at=datetime(2150, 1, 1, tzinfo=UTC), assigned_at=None, resolved_at=None
            ),
        ),
        ("value_too_long", _incident(55, summary="S" * 10_001)),
        ("duplicate_key", _incident(1)),
    ],
    "outages": [
        ("unknown_interface", _outage(50, interface="Coffee Machine Interface")),
        ("unknown_region", _outage(51, region="Everywhere")),
        ("end_before_start", _outage(52, end_at=T0)),
        ("implausible_timestamp", _outage(53, end_at=T0 + D(days=401))),
        ("value_too_long", _outage(54, description="D" * 10_001)),
        ("duplicate_key", _outage(1)),
    ],
    "firmware": [
        ("unknown_region", _firmware(50, region="SMETS1")),
        ("unknown_status", _firmware(51, delivery_status="done")),
        ("unknown_status", _firmware(52, activation_status="maybe")),
        ("timestamps_out_of_order", _firmware(53, delivered_at=T0 - D(hours=1))),
        ("implausible_timestamp", _firmware(54, activated_at=T0 + D(days=800))),
        ("value_too_long", _firmware(55, image="I" * 1_001)),
    ],
}

VALID_OTHER: dict[str, list[dict[str, Any]]] = {
    "devices": [device(1), device(2, device_type="GSME", smets="SMETS1", region="South")],
    "parties": [{"user_id": USER, "name": "Supplier One", "role": "IS", "adaptor": "Adaptor A"}],
    "alerts": [_alert(1), _alert(2, delivered_at=None, consolidated=None)],
    "incidents": [
        _incident(1),
        _incident(2, category=1, resolved_at=None, regions="ALL", interfaces=None),
    ],
    "outages": [_outage(1), _outage(2, end_at=None, planned=True, region="SMETS1")],
    "firmware": [
        _firmware(1),
        _firmware(
            2,
            delivery_status="pending",
            delivered_at=None,
            activation_requested_at=None,
            activated_at=None,
            activation_status=None,
        ),
    ],
}


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("broken")
    # broken rows interleaved with valid ones, so positions are not trivially the last rows
    sr = [
        VALID_REQUESTS[0],
        *[r for _, r in BROKEN_REQUESTS[:10]],
        *VALID_REQUESTS[1:],
        *[r for _, r in BROKEN_REQUESTS[10:]],
    ]
    _write(folder, "service_requests", sr)
    for table, broken in BROKEN_OTHER.items():
        _write(folder, table, VALID_OTHER[table] + [r for _, r in broken])
    with Context() as ctx:
        return ctx.validate(folder), sr


def test_every_row_rule_has_a_broken_row() -> None:
    """The fixture covers each rule of each table (so a new rule needs a new broken row)."""
    covered = {("service_requests", code) for code, _ in BROKEN_REQUESTS}
    covered |= {(t, code) for t, rows in BROKEN_OTHER.items() for code, _ in rows}
    needed = {
        (t, r.code) for t, rules in ROW_RULES.items() for r in rules if r.code != "invalid_value"
    }
    needed |= {(t, "duplicate_key") for t, spec in TABLES.items() if spec.key}
    # missing_required is tested on service_requests, devices and parties; every table shares the rule
    needed = {
        n
        for n in needed
        if n[1] != "missing_required" or n[0] in ("service_requests", "devices", "parties")
    }
    assert needed <= covered, sorted(needed - covered)
    assert {code for _, code in covered} <= set(REASONS)


def test_exactly_the_broken_rows_are_quarantined_with_their_reason(summary) -> None:  # type: ignore[no-untyped-def]
    result, sr = summary
    q = result.quarantine.to_pylist()
    got = sorted((r["table"], r["row"], r["reason_code"]) for r in q)
    expected = []
    for i, row in enumerate(sr, start=1):
        for code, broken in BROKEN_REQUESTS:
            if row is broken:
                expected.append(("service_requests", i, code))
    for table, broken in BROKEN_OTHER.items():
        offset = len(VALID_OTHER[table])
        expected += [(table, offset + k + 1, code) for k, (code, _) in enumerate(broken)]
    assert got == sorted(expected)


def test_counts_reconcile(summary) -> None:  # type: ignore[no-untyped-def]
    result, sr = summary
    rep = result.tables["service_requests"]
    assert rep.rows_read == len(sr) == rep.accepted + rep.quarantined_total
    assert rep.accepted == len(VALID_REQUESTS)
    for table, broken in BROKEN_OTHER.items():
        r = result.tables[table]
        assert (
            r.rows_read == r.accepted + r.quarantined_total == len(VALID_OTHER[table]) + len(broken)
        )
        assert r.accepted == len(VALID_OTHER[table])
        want: dict[str, int] = {}
        for code, _ in broken:
            want[code] = want.get(code, 0) + 1
        assert r.quarantined == want


# The shared (value-free) reason of each broken row, in the order of BROKEN_REQUESTS and
# BROKEN_OTHER: the column and the rule, never the value.
SHARED_REQUEST_REASONS = [
    "required value missing: srv",
    "required value missing: user_role (blank)",
    "request_id is not originator:target:counter",
    "user_id is not an EUI-64",
    "srv is not in the catalog",
    "device_type is not in the catalog",
    "the SRV does not target this device_type",
    "smets is not SMETS1 or SMETS2",
    "region is not one this table allows",
    "execution is not on_demand, future_dated or non_device",
    "the SRV cannot run with this execution",
    "command_variant is not 1..8",
    "response_code matches no catalog rule",
    "received_at is after responded_at",  # 113: responded 1 s before received
    "delivered_at is after device_response_at",  # 114: delivered 5 s in, device answered at 3 s
    REASONS["implausible_timestamp"],
    REASONS["implausible_timestamp"],
    "dsp_attempts is below 1",
    "dsp_attempts is below 1",
    "response_code given but responded_at missing",
    "responded_at given but response_code missing",
    "user_role is longer than 1,000 characters",
    "duplicate request_id: an earlier row has the same request_id",
]
SHARED_OTHER_REASONS = {
    "devices": [
        "required value missing: smets",
        "device_type is not in the catalog",
        "smets is not SMETS1 or SMETS2",
        "region is not one this table allows",
        "model is longer than 1,000 characters",
        "duplicate device_id: an earlier row has the same device_id",
    ],
    "parties": [
        "required value missing: name",
        "user_id is not an EUI-64",
        "name is longer than 1,000 characters",
        "duplicate user_id: an earlier row has the same user_id",
    ],
    "alerts": [
        "alert_type is not device or dcc",
        "region is not one this table allows",
        "smets is not SMETS1 or SMETS2",
        "raised_at is after delivered_at",
        REASONS["implausible_timestamp"],
        "alert_code is longer than 1,000 characters",
        "duplicate alert_id: an earlier row has the same alert_id",
    ],
    "incidents": [
        "category is not 1..5",
        "interfaces names an interface the catalog does not know",
        "regions names a region this table does not allow",
        "raised_at is after assigned_at",
        REASONS["implausible_timestamp"],
        "summary is longer than 10,000 characters",
        "duplicate incident_id: an earlier row has the same incident_id",
    ],
    "outages": [
        "interface is not in the catalog",
        "region is not one this table allows",
        REASONS["end_before_start"],
        REASONS["implausible_timestamp"],
        "description is longer than 10,000 characters",
        "duplicate outage_id: an earlier row has the same outage_id",
    ],
    "firmware": [
        "region is not one this table allows",
        "delivery_status is not success, failed or pending",
        "activation_status is not success, failed or pending",
        "requested_at is after delivered_at",
        REASONS["implausible_timestamp"],
        "image is longer than 1,000 characters",
    ],
}


def test_shared_reasons_name_the_column_and_rule_never_the_value(summary) -> None:  # type: ignore[no-untyped-def]
    result, sr = summary
    assert result.quarantine.schema.names == ["table", "source", "row", "reason_code", "reason"]
    got = {(r["table"], r["row"]): r["reason"] for r in result.quarantine.to_pylist()}
    expected = {}
    for (_, broken), reason in zip(BROKEN_REQUESTS, SHARED_REQUEST_REASONS, strict=True):
        expected["service_requests", next(i for i, r in enumerate(sr, 1) if r is broken)] = reason
    for table, broken_rows in BROKEN_OTHER.items():
        offset = len(VALID_OTHER[table])
        for k, reason in enumerate(SHARED_OTHER_REASONS[table]):
            expected[table, offset + k + 1] = reason
        assert len(SHARED_OTHER_REASONS[table]) == len(broken_rows), table
    assert got == expected
    # and the values themselves: the ones each broken row was given appear in no shared reason
    for value in ("ACME-SUPPLIER", "99.9", "TOASTER", "Wales", "X42", "not-a-request-id"):
        assert not any(value in r for r in got.values()), value
    assert not any(USER in r or "supplier-9" in r for r in got.values())


def test_shared_sources_are_relative_to_the_data_dir(summary) -> None:  # type: ignore[no-untyped-def]
    result, _ = summary
    sources = {(r["table"], r["source"]) for r in result.quarantine.to_pylist()}
    assert sources == {(t, f"{t}.parquet") for t in ("service_requests", *BROKEN_OTHER)}


def test_detailed_reasons_and_raw_rows_are_the_restricted_part(summary) -> None:  # type: ignore[no-untyped-def]
    import json

    result, _ = summary
    rows = result.quarantine_rows.to_pylist()
    # the same rows, in the same order, keyed alike
    key = ("table", "source", "row", "reason_code", "reason")
    assert [tuple(r[k] for k in key) for r in rows] == [
        tuple(r[k] for k in key) for r in result.quarantine.to_pylist()
    ]
    details = {r["reason_detail"] for r in rows}
    assert "required value missing: srv" in details
    assert "unknown SRV: 99.9" in details
    assert "responded_at is after" not in details  # the text names the pair in the order checked
    assert "received_at is after responded_at" in details
    assert f"duplicate request_id: {USER}:00-DB-12-34-56-78-90-A0:1" in details
    assert "user_id is not an EUI-64: supplier-9" in details
    row = next(
        r for r in rows if r["reason_code"] == "unknown_region" and r["table"] == "service_requests"
    )
    raw = json.loads(row["raw"])
    assert raw["region"] == "Wales" and raw["user_id"] == USER
    assert raw["received_at"].endswith("Z")


def test_catalog_drives_the_rules(tmp_path: Path) -> None:
    """An SRV unknown to the shipped catalog is accepted once a user's catalog adds it."""
    from importlib import resources

    text = resources.files("opmetrics.catalog").joinpath("default.toml").read_text(encoding="utf-8")
    text += """
[[srv]]
id = "99.9"
name = "Experimental Read"
business_process = "meter_reads"
device_types = ["ESME"]
command_variants = [1]
critical = false
on_demand = true
future_dated = false
non_device = false
source = "assumed"
"""
    custom = tmp_path / "catalog.toml"
    custom.write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    _write(data, "service_requests", [request(1, srv="99.9"), request(2, srv="99.8")])
    with Context() as ctx:
        default = ctx.validate(data)
    with Context(catalog=custom) as ctx:
        own = ctx.validate(data)
    assert default.tables["service_requests"].quarantined == {"unknown_srv": 2}
    assert own.tables["service_requests"].quarantined == {"unknown_srv": 1}
    assert default_catalog().srvs.get("99.9") is None
