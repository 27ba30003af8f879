"""Quarantine reason codes of `ingest-duis` (a public contract: they appear in quarantine.csv).

Rows built from well-formed messages are also checked against the data contract's row rules,
whose codes (`opmetrics catalog --reasons`) appear beside these.
"""

from __future__ import annotations

import pyarrow as pa

# The quarantine.csv of an ingest. It sits in the data dir written, beside the rows themselves,
# so it keeps each message's values (`raw`) and the detailed reason; a results folder's shared
# quarantine never does (`validation/validate.py`).
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string()),
        pa.field("source", pa.string()),
        pa.field("row", pa.int64()),
        pa.field("reason_code", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
    ]
)

# Table of a quarantined item that could not be read as any message.
MESSAGES_TABLE = "messages"

REASONS: dict[str, str] = {
    "not_a_message": "the file (or line) holds no XML message: empty, or neither XML nor a timestamp-prefixed line",
    "malformed_xml": "the message is not well-formed XML",
    "not_duis": "the root element is not a DUIS Request or Response in the DUIS namespace",
    "unsupported_schema_version": "schemaVersion is missing or not a DUIS version 3.x to 5.x",
    "bad_message": "a header element DUIS requires is missing or invalid, or the body is not one DUIS defines",
    "bad_request_id": "a RequestID or ResponseID is not originator:target:counter",
    "bad_timestamp": "a date-time in the message does not parse",
    "bad_sent_time": "the line's timestamp prefix is not an ISO 8601 date-time with a time zone",
    "no_sent_time": "the request has no sent time (no timestamp prefix under --sent-time prefix)",
    "duplicate_request": "the RequestID was already sent earlier in the archive (the first is kept)",
    "duplicate_alert": "the alert's ResponseID was already seen earlier in the archive (the first is kept)",
    "awaiting_response": "no final response yet, and the wait had not run out when the archive ends",
    "response_without_request": "the response answers a RequestID the archive holds no request for",
    "request_quarantined": "the response answers a request that was quarantined",
    "late_response": "the final response came after the wait; the request counts as unanswered",
}
