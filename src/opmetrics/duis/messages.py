"""Read one DUIS message (a Service Request, a Service Response or an alert) into a record.

A party's archive holds millions of these, so each is read with `ElementTree.iterparse` and
reading stops once the header and the start of the body are known: certificates, firmware
images and the XML signature that follow are never built into a tree. Only what the data
contract needs is kept. DUIS schema versions 3.x to 5.x share the header layout read here;
signed and unsigned messages read alike (the signature is not verified: the archive is the
party's own record of what it exchanged).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, Literal

from opmetrics.errors import DataContractError

NAMESPACE = "http://www.dccinterface.co.uk/ServiceUserGateway"
DSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
_NS = "{" + NAMESPACE + "}"
_NS_LEN = len(_NS)
CHUNK_BYTES = 1024  # fed to the parser at a time: the signature after the body is mostly never read
_SIGNATURE = "{" + DSIG_NAMESPACE + "}Signature"

# Schema versions whose header layout this reader knows (DUIS 3.x to 5.x).
MIN_SCHEMA_VERSION = Decimal(3)
MAX_SCHEMA_VERSION = Decimal(6)  # exclusive

# An ExecutionDateTime in this year or later asks the device to cancel a pending future-dated
# command (the public DUIS templates send 3000-12-31T00:00:00Z); it is acted on at once.
CANCELLATION_YEAR = 3000

_EUI = r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}"
_REQUEST_ID = re.compile(rf"^({_EUI}):({_EUI}):(0|[1-9][0-9]{{0,19}})$")
_EUI_ONLY = re.compile(rf"^{_EUI}$")

# Body elements of a Response that carry an alert rather than a Service Response.
_ALERT_BODIES = {"DeviceAlertMessage": "device", "DCCAlertMessage": "dcc"}
_RESPONSE_BODIES = ("ResponseMessage", "SMETS1ResponseMessage")
# Elements of a DCC alert body that name the device the alert is about.
_DCC_ALERT_DEVICE = ("DeviceID", "CommsHubDeviceID")
# Direct children of a non-device request body that name the device it concerns.
_SUBJECT_DEVICE = ("DeviceID", "DeviceIDList", "CommsHubDeviceID")
_MAX_COUNTER = 18446744073709551615  # xs:unsignedLong, as the DUIS RequestIDType allows


@dataclass
class MessageError(DataContractError):
    """A message cannot become a row: `reason_code` is the quarantine reason code."""

    reason_code: str = "bad_message"


@dataclass(frozen=True, slots=True)
class RequestId:
    """A DUIS RequestID `originator:target:counter`, EUI-64s in upper case."""

    originator: str
    target: str
    counter: int

    def __str__(self) -> str:
        return f"{self.originator}:{self.target}:{self.counter}"


def parse_request_id(text: str) -> RequestId:
    m = _REQUEST_ID.match(text)
    if m is None or int(m.group(3)) > _MAX_COUNTER:
        raise MessageError(
            f"not a DUIS RequestID (originator:target:counter): {text!r}",
            reason_code="bad_request_id",
        )
    return RequestId(m.group(1).upper(), m.group(2).upper(), int(m.group(3)))


@dataclass(frozen=True, slots=True)
class Request:
    """A Service Request sent by a DCC User."""

    request_id: RequestId
    command_variant: int
    service_reference: str
    srv: str
    execute_at: datetime | None  # the ExecutionDateTime of the body, as given
    operation: str  # local name of the body element, e.g. TopUpDevice
    subject_device: str | None  # a device the body names (non-device requests)
    schema_version: str
    signed: bool

    @property
    def cancellation(self) -> bool:
        """The request cancels a pending future-dated command (ExecutionDateTime in 3000)."""
        return self.execute_at is not None and self.execute_at.year >= CANCELLATION_YEAR


@dataclass(frozen=True, slots=True)
class Response:
    """A Service Response (or acknowledgement) sent by the DCC for a request."""

    request_id: RequestId | None
    response_id: RequestId | None
    response_code: str
    responded_at: datetime
    body: str  # ResponseMessage or SMETS1ResponseMessage
    service_reference: str | None
    srv: str | None
    schema_version: str
    signed: bool


@dataclass(frozen=True, slots=True)
class Alert:
    """A device alert or a DCC alert delivered to a DCC User."""

    request_id: RequestId | None
    response_id: RequestId | None
    response_code: str
    raised_at: datetime  # the ResponseDateTime of the alert message
    alert_type: Literal["device", "dcc"]
    alert_code: str
    device_id: str | None
    schema_version: str
    signed: bool


Message = Request | Response | Alert


@dataclass
class _State:
    root: str = ""
    schema_version: str = ""
    header: dict[str, str] = field(default_factory=dict)
    body: str = ""
    body_fields: dict[str, str] = field(default_factory=dict)
    alert_device: str | None = None
    signed: bool = False


def parse_message(source: bytes | BinaryIO) -> Message:
    """Parse one DUIS message; raise `MessageError` (with a reason code) when it is unusable."""
    st = _State()
    try:
        _scan(_events(source), st)
    except ET.ParseError as exc:
        raise MessageError(f"not well-formed XML: {exc}", reason_code="malformed_xml") from None
    if st.root == "":
        raise MessageError("empty message", reason_code="malformed_xml")
    if st.root == "Request":
        return _request(st)
    return _response(st)


def _events(source: bytes | BinaryIO) -> Iterator[tuple[str, Any]]:
    """Start and end events of the standard library's pull parser, a chunk at a time.

    This is `ElementTree.iterparse` without its per-call set-up (which costs as much as parsing
    a short message): the caller stops consuming once it has what it needs, and the rest of
    the message is never parsed.
    """
    parser: Any = ET.XMLPullParser(events=("start", "end"))
    if isinstance(source, bytes | bytearray):
        for i in range(0, len(source), CHUNK_BYTES):
            parser.feed(source[i : i + CHUNK_BYTES])
            yield from parser.read_events()
    else:
        while chunk := source.read(CHUNK_BYTES):
            parser.feed(chunk)
            yield from parser.read_events()
    parser.close()
    yield from parser.read_events()


def _scan(events: Iterator[tuple[str, Any]], st: _State) -> None:
    depth = 0
    section = ""
    for event, elem in events:
        if event == "start":
            depth += 1
            if depth > 3:
                continue
            tag = elem.tag
            if depth == 1:
                _root(elem, st)
            elif depth == 2:
                if tag == _SIGNATURE:
                    st.signed = True
                    return  # everything the contract needs precedes the signature
                section = tag[_NS_LEN:] if tag.startswith(_NS) else ""
            elif section == "Body" and not st.body:
                st.body = _local(tag)
            continue
        # end event
        if depth == 3 and section == "Header":
            st.header[_local(elem.tag)] = (elem.text or "").strip()
        elif depth == 4 and section == "Body":
            name = _local(elem.tag)
            if name not in st.body_fields:
                st.body_fields[name] = (elem.text or "").strip()
        elif (
            depth >= 5
            and section == "Body"
            and st.alert_device is None
            and st.body == "DCCAlertMessage"
            and _local(elem.tag) in _DCC_ALERT_DEVICE
        ):
            st.alert_device = (elem.text or "").strip()
        if depth >= 3:
            elem.clear()
        depth -= 1


def _local(tag: str) -> str:
    return tag[tag.rfind("}") + 1 :]


def _root(elem: ET.Element, st: _State) -> None:
    tag = elem.tag
    if not tag.startswith(_NS):
        ns = tag[1 : tag.find("}")] if tag.startswith("{") else "no namespace"
        raise MessageError(
            f"root element {_local(tag)} is not in the DUIS namespace ({ns})",
            reason_code="not_duis",
        )
    st.root = tag[len(_NS) :]
    if st.root not in ("Request", "Response"):
        raise MessageError(
            f"root element {st.root} is not a DUIS Request or Response", reason_code="not_duis"
        )
    version = elem.get("schemaVersion")
    if version is None:
        raise MessageError(
            "schemaVersion attribute missing", reason_code="unsupported_schema_version"
        )
    try:
        v = Decimal(version.strip())
    except InvalidOperation:
        v = Decimal(-1)
    if not MIN_SCHEMA_VERSION <= v < MAX_SCHEMA_VERSION:
        raise MessageError(
            f"schemaVersion {version!r} is not a DUIS version 3.x to 5.x",
            reason_code="unsupported_schema_version",
        )
    st.schema_version = version.strip()


def _required(st: _State, name: str) -> str:
    v = st.header.get(name)
    if not v:
        raise MessageError(f"{st.root} header has no {name}", reason_code="bad_message")
    return v


def parse_timestamp(text: str, what: str) -> datetime:
    """An xs:dateTime as a UTC instant; DUIS date-times without an offset are UTC."""
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise MessageError(
            f"{what} is not a date-time: {text!r}", reason_code="bad_timestamp"
        ) from None
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def _request(st: _State) -> Request:
    rid = parse_request_id(_required(st, "RequestID"))
    cv_text = _required(st, "CommandVariant")
    if not cv_text.isdigit():
        raise MessageError(f"CommandVariant is not a number: {cv_text!r}")
    if not st.body:
        raise MessageError("Request has no body")
    exec_text = st.body_fields.get("ExecutionDateTime")
    subject = None
    for name in _SUBJECT_DEVICE:
        text = st.body_fields.get(name)
        if text:
            first = text.split()[0]
            if _EUI_ONLY.match(first):
                subject = first.upper()
                break
    return Request(
        request_id=rid,
        command_variant=int(cv_text),
        service_reference=_required(st, "ServiceReference"),
        srv=_required(st, "ServiceReferenceVariant"),
        execute_at=parse_timestamp(exec_text, "ExecutionDateTime") if exec_text else None,
        operation=st.body,
        subject_device=subject,
        schema_version=st.schema_version,
        signed=st.signed,
    )


def _response(st: _State) -> Response | Alert:
    rid_text = st.header.get("RequestID")
    resp_text = st.header.get("ResponseID")
    if not rid_text and not resp_text:
        raise MessageError("Response header has neither RequestID nor ResponseID")
    rid = parse_request_id(rid_text) if rid_text else None
    resp = parse_request_id(resp_text) if resp_text else None
    code = _required(st, "ResponseCode")
    at = parse_timestamp(_required(st, "ResponseDateTime"), "ResponseDateTime")
    if st.body in _ALERT_BODIES:
        kind: Literal["device", "dcc"] = "device" if st.body == "DeviceAlertMessage" else "dcc"
        code_field = "AlertCode" if kind == "device" else "DCCAlertCode"
        alert_code = st.body_fields.get(code_field, "").upper()
        if not alert_code:
            raise MessageError(f"{st.body} has no {code_field}")
        if kind == "device":
            device = resp.originator if resp else (rid.target if rid else None)
        else:
            device = st.alert_device.upper() if st.alert_device else None
        return Alert(
            request_id=rid,
            response_id=resp,
            response_code=code,
            raised_at=at,
            alert_type=kind,
            alert_code=alert_code,
            device_id=device,
            schema_version=st.schema_version,
            signed=st.signed,
        )
    if st.body not in _RESPONSE_BODIES:
        raise MessageError(f"Response body {st.body or '(none)'} is not one DUIS defines")
    return Response(
        request_id=rid,
        response_id=resp,
        response_code=code,
        responded_at=at,
        body=st.body,
        service_reference=st.body_fields.get("ServiceReference") or None,
        srv=st.body_fields.get("ServiceReferenceVariant") or None,
        schema_version=st.schema_version,
        signed=st.signed,
    )
