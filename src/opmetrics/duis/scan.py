"""First pass over an archive: parse every message and spill compact columns to Parquet.

Parsed requests, responses and alerts are written in batches to scratch Parquet files, so that
correlating them (which needs every request and response at once) is a join on the engine,
which spills to disk, rather than a dictionary in this process. Messages that cannot become a
row are quarantined here with the file (and line) they came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from opmetrics.catalog import Catalog
from opmetrics.defaults import SentTime
from opmetrics.duis.archive import RawMessage, iter_messages
from opmetrics.duis.messages import Alert, MessageError, Request, Response, parse_message
from opmetrics.duis.reasons import MESSAGES_TABLE, QUARANTINE_SCHEMA

RAW_CHARS = 2000  # characters of an unreadable message kept in quarantine.csv
BATCH_ROWS = 65_536
PROGRESS_EVERY = 1000  # messages between progress reports (a report costs more than a message)

_TS = pa.timestamp("us", tz="UTC")
_s, _i, _b = pa.string(), pa.int64(), pa.bool_()

REQUESTS = pa.schema(
    [
        ("seq", _i),
        ("source", _s),
        ("line", _i),
        ("request_id", _s),
        ("user_id", _s),
        ("target_id", _s),
        ("srv", _s),
        ("command_variant", _i),
        ("execute_at", _TS),
        ("cancellation", _b),
        ("subject_device", _s),
        ("received_at", _TS),
        ("reject", _s),
        ("reject_reason", _s),
    ]
)
RESPONSES = pa.schema(
    [
        ("seq", _i),
        ("source", _s),
        ("line", _i),
        ("request_id", _s),
        ("response_id", _s),
        ("response_code", _s),
        ("interim", _b),
        ("responded_at", _TS),
        ("srv", _s),
    ]
)
ALERTS = pa.schema(
    [
        ("seq", _i),
        ("source", _s),
        ("line", _i),
        ("alert_id", _s),
        ("alert_code", _s),
        ("alert_type", _s),
        ("device_id", _s),
        ("user_id", _s),
        ("request_id", _s),
        ("raised_at", _TS),
        ("delivered_at", _TS),
        ("reject", _s),
        ("reject_reason", _s),
    ]
)


class _Spill:
    """Rows appended one by one, written to Parquet a batch at a time."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self._cols: list[list[Any]] = [[] for _ in schema]
        self._writer: pq.ParquetWriter | None = None

    def append(self, *values: Any) -> None:
        for col, v in zip(self._cols, values, strict=True):
            col.append(v)
        self.rows += 1
        if len(self._cols[0]) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema)
        if self._cols[0] or self.rows == 0:
            batch = pa.record_batch(
                [pa.array(c, type=f.type) for c, f in zip(self._cols, self.schema, strict=True)],
                schema=self.schema,
            )
            self._writer.write_batch(batch)
            self._cols = [[] for _ in self.schema]

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.close()


@dataclass
class ScanResult:
    """Where the parsed messages went, and what was counted on the way."""

    requests: Path
    responses: Path
    alerts: Path
    quarantine: Path
    messages_read: int = 0
    requests_read: int = 0
    responses_read: int = 0
    alerts_read: int = 0
    unread_by_reason: dict[str, int] = field(default_factory=dict)
    latest: datetime | None = None  # the latest instant the archive knows of


class _Scanner:
    def __init__(
        self, work: Path, catalog: Catalog, sent_time: SentTime, on_messages: Callable[[int], None]
    ) -> None:
        self.catalog = catalog
        self.sent_time = sent_time
        self.on_messages = on_messages
        self.req = _Spill(work / "requests.parquet", REQUESTS)
        self.resp = _Spill(work / "responses.parquet", RESPONSES)
        self.alert = _Spill(work / "alerts.parquet", ALERTS)
        self.quar = _Spill(work / "quarantine.parquet", QUARANTINE_SCHEMA)
        self.result = ScanResult(self.req.path, self.resp.path, self.alert.path, self.quar.path)
        self._interim: dict[str, bool] = {}

    def run(self, archive: Path) -> ScanResult:
        for raw in iter_messages(archive):
            self.take(raw)
        for spill in (self.req, self.resp, self.alert, self.quar):
            spill.close()
        self.on_messages(self.result.messages_read % PROGRESS_EVERY)
        return self.result

    def take(self, raw: RawMessage) -> None:
        if raw.kind == "unrecognised":
            why = "empty file" if not raw.data.strip() else "neither XML nor a prefixed line"
            self.count()
            self.reject(MESSAGES_TABLE, raw, "not_a_message", why)
            return
        try:
            msg = parse_message(raw.data)
        except MessageError as exc:
            self.count()
            self.reject(_table_of(raw.data), raw, exc.reason_code, exc.message)
            return
        self.count()
        seq = self.result.messages_read
        if isinstance(msg, Request):
            self._request(raw, msg, seq)
        elif isinstance(msg, Response):
            self._response(raw, msg, seq)
        else:
            self._alert(raw, msg, seq)

    def count(self) -> None:
        self.result.messages_read += 1
        if self.result.messages_read % PROGRESS_EVERY == 0:
            self.on_messages(PROGRESS_EVERY)

    def reject(self, table: str, raw: RawMessage, code: str, why: str) -> None:
        self.result.unread_by_reason[code] = self.result.unread_by_reason.get(code, 0) + 1
        text = raw.data[: RAW_CHARS * 4].decode("utf-8", errors="replace")
        text = " ".join(text.split())[:RAW_CHARS]
        self.quar.append(table, raw.source, raw.line, code, why, text)

    def sent(self, raw: RawMessage) -> tuple[datetime | None, str | None, str | None]:
        """The sent (or received) time of a message, or why there is none."""
        if self.sent_time == "mtime":
            if raw.mtime is None:
                return None, "no_sent_time", "the file has no modification time"
            return raw.mtime, None, None
        if raw.prefix_error:
            return None, "bad_sent_time", raw.prefix_error
        if raw.prefix_time is not None:
            return raw.prefix_time, None, None
        if self.sent_time == "prefix":
            return None, "no_sent_time", "no timestamp prefix (--sent-time prefix)"
        return raw.mtime, None, None

    def seen(self, at: datetime | None) -> None:
        if at is not None and (self.result.latest is None or at > self.result.latest):
            self.result.latest = at

    def _request(self, raw: RawMessage, m: Request, seq: int) -> None:
        self.result.requests_read += 1
        at, code, why = self.sent(raw)
        self.seen(at)
        rid = m.request_id
        self.req.append(
            seq,
            raw.source,
            raw.line,
            str(rid),
            rid.originator,
            rid.target,
            m.srv,
            m.command_variant,
            None if m.cancellation else m.execute_at,
            m.cancellation,
            m.subject_device,
            at,
            code,
            why,
        )

    def _response(self, raw: RawMessage, m: Response, seq: int) -> None:
        self.result.responses_read += 1
        self.seen(m.responded_at)
        interim = self._interim.get(m.response_code)
        if interim is None:
            interim = self.catalog.classify_response(m.response_code) == "interim"
            self._interim[m.response_code] = interim
        self.resp.append(
            seq,
            raw.source,
            raw.line,
            str(m.request_id) if m.request_id else None,
            str(m.response_id) if m.response_id else None,
            m.response_code,
            interim,
            m.responded_at,
            m.srv,
        )

    def _alert(self, raw: RawMessage, m: Alert, seq: int) -> None:
        self.result.alerts_read += 1
        at, code, why = self.sent(raw)
        if code == "no_sent_time":  # delivery time is optional for an alert
            code = why = None
        self.seen(m.raised_at)
        self.seen(at)
        if m.response_id is not None:
            alert_id, user = str(m.response_id), m.response_id.target
        else:
            assert m.request_id is not None
            alert_id, user = f"{m.request_id}:{m.alert_code}", m.request_id.originator
        self.alert.append(
            seq,
            raw.source,
            raw.line,
            alert_id,
            m.alert_code,
            m.alert_type,
            m.device_id,
            user,
            str(m.request_id) if m.request_id else None,
            m.raised_at,
            at,
            code,
            why,
        )


_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(Request|Response)[\s>/]")


def _table_of(data: bytes) -> str:
    """The contract table an unreadable message was meant for, when its root element tells."""
    m = _ROOT.search(data[:4096])
    if m is None:
        return MESSAGES_TABLE
    if m.group(1) == b"Response" and b"AlertMessage" in data:
        return "alerts"
    return "service_requests"


def scan_archive(
    archive: Path,
    work: Path,
    catalog: Catalog,
    sent_time: SentTime = "auto",
    on_messages: Callable[[int], None] = lambda n: None,
) -> ScanResult:
    """Parse every message of `archive` into scratch Parquet files under `work`.

    `on_messages(n)` is told of every `PROGRESS_EVERY` messages read, and of the rest at the end.
    """
    return _Scanner(work, catalog, sent_time, on_messages).run(archive)


def raw_json(record: dict[str, Any]) -> str:
    """A parsed message's fields as the `raw` text of a quarantine row."""
    return json.dumps({k: _jsonable(v) for k, v in record.items()}, ensure_ascii=False)


def _jsonable(v: Any) -> Any:
    return v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v
