"""The data contract (design §3): tables, their columns, types and which are required.

This module is the single description of the inputs. The reader checks files against it, the
validator derives its "required value missing" rules from it, the generator writes it and the
DUIS ingest produces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

ColumnType = Literal["string", "int", "timestamp", "bool"]

# "Every region" in an outage's or incident's regions, and a rolled-up dimension in the results.
ALL = "ALL"
# A success response counts as a success only if the DSP delivered the request within this many
# automated attempts (`dsp_attempts`, design §4); after more it counts as a failure.
MAX_DSP_ATTEMPTS = 3

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "bool": pa.bool_(),
}

# Ibis type strings of the canonical in-engine types.
IBIS_TYPES: dict[ColumnType, str] = {
    "string": "string",
    "int": "int64",
    "timestamp": "timestamp('UTC', 6)",
    "bool": "boolean",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool  # a value must be present in every row (the column itself must always exist)
    meaning: str = ""


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    required: bool  # the data dir must hold this table
    key: str | None  # column whose values must be unique
    meaning: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def arrow_schema(self, *, required_not_null: bool = False) -> pa.Schema:
        """The table as Arrow; by default every field is nullable (validation checks values)."""
        return pa.schema(
            [
                pa.field(
                    c.name, ARROW_TYPES[c.type], nullable=not (required_not_null and c.required)
                )
                for c in self.columns
            ]
        )


def _c(name: str, type_: ColumnType, required: bool, meaning: str = "") -> Column:
    return Column(name, type_, required, meaning)


SERVICE_REQUESTS = TableSpec(
    "service_requests",
    (
        _c("request_id", "string", True, "DUIS RequestID originator:target:counter; unique"),
        _c("user_id", "string", True, "EUI-64 of the SEC Party that sent it"),
        _c("user_role", "string", True, "IS, ES, GS, ED, GT, OU, ..."),
        _c("srv", "string", True, "Service Reference Variant"),
        _c("command_variant", "int", False, "DUIS Command Variant 1..8"),
        _c("target_id", "string", True, "Device ID, or a DCC ID for non-device requests"),
        _c("device_type", "string", True, "ESME, GSME, GPF, CHF, PPMID, HCALCS, IHD, CAD or NONE"),
        _c("smets", "string", True, "SMETS1 or SMETS2"),
        _c("region", "string", True, "North, Central or South (the Comms Hub's CSP region)"),
        _c("execution", "string", True, "on_demand, future_dated or non_device"),
        _c("execute_at", "timestamp", False, "execution date-time of a future-dated request"),
        _c("received_at", "timestamp", True, "DCC received the request"),
        _c("delivered_at", "timestamp", False, "command reached the Communications Hub"),
        _c(
            "device_response_at",
            "timestamp",
            False,
            "device response reached the Communications Hub",
        ),
        _c("responded_at", "timestamp", False, "final Service Response sent to the User"),
        _c("response_code", "string", False, "final DUIS response code"),
        _c("dsp_attempts", "int", False, "delivery attempts by the DSP's automated retry"),
    ),
    required=True,
    key="request_id",
    meaning="one row per Service Request received by the DCC",
)

DEVICES = TableSpec(
    "devices",
    (
        _c("device_id", "string", True),
        _c("device_type", "string", True),
        _c("smets", "string", True),
        _c("region", "string", True),
        _c("manufacturer", "string", False),
        _c("model", "string", False),
        _c("firmware_version", "string", False),
        _c("comms_hub_id", "string", False),
    ),
    required=False,
    key="device_id",
    meaning="device inventory",
)

PARTIES = TableSpec(
    "parties",
    (
        _c("user_id", "string", True),
        _c("name", "string", True),
        _c("role", "string", True),
        _c("adaptor", "string", False),
    ),
    required=False,
    key="user_id",
    meaning="SEC Parties (DCC Users)",
)

ALERTS = TableSpec(
    "alerts",
    (
        _c("alert_id", "string", True),
        _c("alert_code", "string", True),
        _c("alert_type", "string", True, "device or dcc"),
        _c("device_id", "string", False),
        _c("user_id", "string", False, "recipient"),
        _c("region", "string", True),
        _c("smets", "string", False),
        _c("raised_at", "timestamp", True),
        _c("delivered_at", "timestamp", False),
        _c("consolidated", "bool", False),
    ),
    required=False,
    key="alert_id",
    meaning="alerts raised by devices and the DCC",
)

INCIDENTS = TableSpec(
    "incidents",
    (
        _c("incident_id", "string", True),
        _c("category", "int", True, "1..5"),
        _c("dcc_responsible", "bool", True),
        _c("raised_at", "timestamp", True),
        _c("assigned_at", "timestamp", False),
        _c("resolved_at", "timestamp", False),
        _c("interfaces", "string", False, "affected interfaces, separated by ';'"),
        _c("regions", "string", False, "affected regions separated by ';', or ALL"),
        _c("summary", "string", False),
    ),
    required=False,
    key="incident_id",
    meaning="incidents",
)

OUTAGES = TableSpec(
    "outages",
    (
        _c("outage_id", "string", True),
        _c("interface", "string", True),
        _c("region", "string", True, "North, Central, South, SMETS1 or ALL"),
        _c("start_at", "timestamp", True),
        _c("end_at", "timestamp", False, "null = still open"),
        _c("planned", "bool", True),
        _c("description", "string", False),
    ),
    required=False,
    key="outage_id",
    meaning="unavailability of DCC Interfaces",
)

FIRMWARE = TableSpec(
    "firmware",
    (
        _c("ch_id", "string", True),
        _c("region", "string", True),
        _c("image", "string", True),
        _c("requested_at", "timestamp", True),
        _c("delivered_at", "timestamp", False),
        _c("delivery_status", "string", True, "success, failed or pending"),
        _c("activation_requested_at", "timestamp", False),
        _c("activated_at", "timestamp", False),
        _c("activation_status", "string", False, "success, failed or pending"),
    ),
    required=False,
    key=None,
    meaning="Communications Hub firmware distribution",
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (SERVICE_REQUESTS, DEVICES, PARTIES, ALERTS, INCIDENTS, OUTAGES, FIRMWARE)
}

# Columns the reader adds to every table: where each row came from.
FILE_COLUMN = "_file"
ROW_COLUMN = "_row"  # 1-based data row within its file
INVALID_COLUMN = "_invalid"  # CSV only: "column=value" of the first cell that did not parse

# The quarantine (design §4): every input row refused, by file and row, with a reason code
# (`rules.REASONS`). Written by validation and compute, read by the reports and data files.
# Shared: no value of the row, so no party's id or name.
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string()),
        pa.field("source", pa.string()),  # the file, relative to the data dir
        pa.field("row", pa.int64()),  # 1-based row of a Parquet file, or line of a CSV file
        pa.field("reason_code", pa.string()),
        pa.field("reason", pa.string()),  # value-free: names the column and the rule
    ]
)
# Restricted: the same rows with the detailed reason, which may quote the offending value, and
# the raw row (JSON of its values, or a malformed CSV line).
QUARANTINE_ROWS_SCHEMA = pa.schema(
    [
        *QUARANTINE_SCHEMA,
        pa.field("reason_detail", pa.string()),
        pa.field("raw", pa.string()),
    ]
)
