"""Read SEC Parties' archives of DUIS messages into the data contract (`ingest-duis`).

`messages` reads one DUIS XML message, `archive` walks folders, zips, tars and line files,
`scan` spills parsed messages to Parquet, `correlate` joins requests to their final responses
and checks the rows, `ingest` writes the data dir.
"""

from opmetrics.defaults import SENT_TIME_MODES, SentTime
from opmetrics.duis.correlate import UNKNOWN, Roles
from opmetrics.duis.ingest import (
    DEFAULT_WAIT_SECONDS,
    MANIFEST_FILE,
    QUARANTINE_FILE,
    IngestSummary,
    ingest_duis,
    parse_roles,
)
from opmetrics.duis.messages import (
    NAMESPACE,
    Alert,
    Message,
    MessageError,
    Request,
    RequestId,
    Response,
    parse_message,
    parse_request_id,
)
from opmetrics.duis.reasons import REASONS

__all__ = [
    "DEFAULT_WAIT_SECONDS",
    "MANIFEST_FILE",
    "NAMESPACE",
    "QUARANTINE_FILE",
    "REASONS",
    "SENT_TIME_MODES",
    "UNKNOWN",
    "Alert",
    "IngestSummary",
    "Message",
    "MessageError",
    "Request",
    "RequestId",
    "Response",
    "Roles",
    "SentTime",
    "ingest_duis",
    "parse_message",
    "parse_request_id",
    "parse_roles",
]
