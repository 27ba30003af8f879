"""Every public DUIS sample parses, with the values a second parser (lxml XPath) reads from it."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from opmetrics.duis import (
    NAMESPACE,
    Alert,
    MessageError,
    Request,
    Response,
    parse_message,
    parse_request_id,
)
from tests.duis import kit

etree = pytest.importorskip("lxml.etree")

NS = {"sr": NAMESPACE}
M = TypeVar("M", Request, Response)


def samples(folder: str) -> list[Path]:
    root = kit.SAMPLES / folder
    return sorted(root.iterdir()) if root.is_dir() else []


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The DUIS XSD V5.4. It imports the MMC schema (SMETS1 types), which is not public with
    it: a lax stand-in for its three types lets every other part of the schema be checked."""
    src = kit.need_samples() / "schema"
    work = tmp_path_factory.mktemp("xsd")
    for f in src.iterdir():
        shutil.copy(f, work / f.name)
    main = work / "DUIS Schema V5.4.xsd"
    text = main.read_text(encoding="utf-8")
    main.write_text(
        text.replace('schemaLocation="MMC Schema V5.4.xsd"', 'schemaLocation="mmc.xsd"')
    )
    lax = '<xs:sequence><xs:any processContents="lax" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>'
    (work / "mmc.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="http://www.dccinterface.co.uk/ResponseAndAlert" elementFormDefault="qualified">'
        + "".join(
            f'<xs:complexType name="{n}">{lax}</xs:complexType>'
            for n in ("HeaderType", "ResponsePayload", "DeviceAlertMessageType")
        )
        + "</xs:schema>"
    )
    return etree.XMLSchema(etree.parse(str(main)))


def test_there_are_samples() -> None:
    kit.need_samples()
    assert len(samples("requests")) >= 290
    assert len(samples("responses")) == 3


def test_schema_rejects_a_broken_request(schema) -> None:  # type: ignore[no-untyped-def]
    good = (kit.SAMPLES / "requests" / kit.TOP_UP).read_bytes()
    assert schema.validate(etree.fromstring(good))
    bad = good.replace(b"<sr:CommandVariant>1<", b"<sr:CommandVariant>x<")
    assert not schema.validate(etree.fromstring(bad))


def _checked(path: Path, schema: Any, kind: type[M]) -> tuple[Any, M]:
    """A sample's XML tree, valid under the DUIS schema, and the `kind` of message it parses to."""
    data = path.read_bytes()
    doc = etree.fromstring(data)
    assert schema.validate(doc), schema.error_log.last_error
    msg = parse_message(data)
    assert isinstance(msg, kind)
    return doc, msg


@pytest.mark.parametrize("path", samples("requests"), ids=lambda p: p.name)
def test_every_request(path: Path, schema) -> None:  # type: ignore[no-untyped-def]
    doc, msg = _checked(path, schema, Request)
    rid = doc.findtext("sr:Header/sr:RequestID", namespaces=NS)
    originator, target, counter = rid.split(":")
    assert (msg.request_id.originator, msg.request_id.target) == (originator, target)
    assert msg.request_id.counter == int(counter)
    assert str(msg.request_id) == rid
    assert msg.srv == doc.findtext("sr:Header/sr:ServiceReferenceVariant", namespaces=NS)
    assert msg.service_reference == doc.findtext("sr:Header/sr:ServiceReference", namespaces=NS)
    assert msg.command_variant == int(doc.findtext("sr:Header/sr:CommandVariant", namespaces=NS))
    assert msg.schema_version == doc.get("schemaVersion")
    assert msg.signed  # every template carries a (placeholder) signature
    body = doc.find("sr:Body", NS)[0]
    assert msg.operation == etree.QName(body).localname
    exec_text = body.findtext("sr:ExecutionDateTime", namespaces=NS)
    if exec_text is None:
        assert msg.execute_at is None
    else:
        assert msg.execute_at == datetime.fromisoformat(exec_text)
        assert msg.cancellation == exec_text.startswith("3000-")
    # the file name says which SRV the template is for
    assert re.search(rf"(^|_){re.escape(msg.srv)}[._]", path.name)


@pytest.mark.parametrize("path", samples("responses"), ids=lambda p: p.name)
def test_every_response(path: Path, schema) -> None:  # type: ignore[no-untyped-def]
    doc, msg = _checked(path, schema, Response)
    header = doc.find("sr:Header", NS)
    assert str(msg.request_id) == header.findtext("sr:RequestID", namespaces=NS)
    assert msg.response_code == header.findtext("sr:ResponseCode", namespaces=NS)
    assert msg.responded_at == datetime.fromisoformat(
        header.findtext("sr:ResponseDateTime", namespaces=NS)
    )
    assert msg.srv == doc.findtext(
        "sr:Body/sr:ResponseMessage/sr:ServiceReferenceVariant", namespaces=NS
    )


def test_hand_read_values() -> None:
    top_up = parse_message((kit.need_samples() / "requests" / kit.TOP_UP).read_bytes())
    assert isinstance(top_up, Request)
    assert top_up.request_id.originator == "90-B3-D5-1F-30-01-00-00"
    assert top_up.request_id.target == "00-DB-12-34-56-78-90-A0"
    assert top_up.request_id.counter == 12884901888
    assert (top_up.srv, top_up.command_variant, top_up.execute_at) == ("2.2", 1, None)
    assert top_up.operation == "TopUpDevice"

    future = parse_message((kit.SAMPLES / "requests" / kit.KRP_FUTURE).read_bytes())
    assert isinstance(future, Request)
    assert (future.srv, future.service_reference, future.command_variant) == ("6.15.1", "6.15", 4)
    assert future.execute_at == datetime(2030, 1, 15, tzinfo=UTC)
    assert not future.cancellation

    cancel = parse_message((kit.SAMPLES / "requests" / kit.KRP_CANCEL).read_bytes())
    assert isinstance(cancel, Request) and cancel.cancellation

    ch = parse_message((kit.SAMPLES / "requests" / kit.CH_INSTALLED).read_bytes())
    assert isinstance(ch, Request)
    assert (ch.srv, ch.command_variant, ch.request_id.target) == ("8.14.1", 8, kit.DCC)
    assert ch.subject_device == kit.CH

    ack = parse_message((kit.SAMPLES / "responses" / "acknowledgement-error.xml").read_bytes())
    assert isinstance(ack, Response)
    assert (ack.response_code, ack.srv, ack.signed, ack.response_id) == ("E65", "11.2", False, None)
    assert ack.responded_at == datetime(2022, 7, 22, 9, 37, 56, 134000, tzinfo=UTC)

    final = parse_message(
        (kit.SAMPLES / "responses" / "ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML").read_bytes()
    )
    assert isinstance(final, Response)
    assert final.response_code == "I0" and final.signed
    assert final.request_id is not None and final.request_id.counter == 1660286628923
    assert (
        final.response_id is not None and final.response_id.originator == "BC-33-AC-00-FE-FA-55-3C"
    )


def _response(body: str, version: str = "5.1", header: str | None = None) -> bytes:
    header = header or (
        "<sr:ResponseID>00-DB-12-34-56-78-90-A0:90-B3-D5-1F-30-01-00-00:77</sr:ResponseID>"
        "<sr:ResponseCode>I0</sr:ResponseCode>"
        "<sr:ResponseDateTime>2021-04-12T10:00:00.5+01:00</sr:ResponseDateTime>"
    )
    return (
        f'<sr:Response xmlns:sr="{NAMESPACE}" schemaVersion="{version}">'
        f"<sr:Header>{header}</sr:Header><sr:Body>{body}</sr:Body></sr:Response>"
    ).encode()


def test_device_alert() -> None:
    msg = parse_message(
        _response(
            "<sr:DeviceAlertMessage><sr:AlertCode>8f66</sr:AlertCode>"
            "<sr:GBCSPayload>AAAA</sr:GBCSPayload></sr:DeviceAlertMessage>"
        )
    )
    assert isinstance(msg, Alert)
    assert (msg.alert_type, msg.alert_code, msg.device_id) == ("device", "8F66", kit.E1)
    assert msg.raised_at == datetime(2021, 4, 12, 9, 0, 0, 500000, tzinfo=UTC)
    assert msg.response_id is not None and msg.response_id.target == kit.USER


def test_dcc_alert_names_its_device() -> None:
    msg = parse_message(
        _response(
            "<sr:DCCAlertMessage><sr:DCCAlertCode>N24</sr:DCCAlertCode><sr:DCCAlert>"
            "<sr:PowerOutageEvent><sr:CommsHubDeviceID>00-db-12-34-56-78-90-a2</sr:CommsHubDeviceID>"
            "<sr:StartDateTime>2021-04-12T08:00:00Z</sr:StartDateTime><sr:MPxN>1</sr:MPxN>"
            "</sr:PowerOutageEvent></sr:DCCAlert></sr:DCCAlertMessage>",
            version="3.2",
        )
    )
    assert isinstance(msg, Alert)
    assert (msg.alert_type, msg.alert_code, msg.device_id) == ("dcc", "N24", kit.CH)
    assert msg.schema_version == "3.2"


def test_unsigned_request_of_an_older_schema() -> None:
    xml = re.sub(
        r"<ds:Signature.*</ds:Signature>",
        "",
        kit.sample_request(kit.TOP_UP).replace('schemaVersion="5.4"', 'schemaVersion="3.0"'),
        flags=re.S,
    )
    msg = parse_message(xml.encode())
    assert isinstance(msg, Request)
    assert (msg.signed, msg.schema_version, msg.srv) == (False, "3.0", "2.2")


@pytest.mark.parametrize(
    ("data", "code", "text"),
    [
        (b"", "malformed_xml", "not well-formed"),
        (b"<sr:Request xmlns:sr='x'", "malformed_xml", "not well-formed"),
        (b"<Request schemaVersion='5.4'/>", "not_duis", "no namespace"),
        (f"<sr:Foo xmlns:sr='{NAMESPACE}' schemaVersion='5.4'/>".encode(), "not_duis", "Foo"),
        (_response("<sr:ResponseMessage/>", version="6.0"), "unsupported_schema_version", "6.0"),
        (_response("<sr:ResponseMessage/>", version="2.9"), "unsupported_schema_version", "2.9"),
        (_response("<sr:ResponseMessage/>", version="abc"), "unsupported_schema_version", "abc"),
        (
            _response("<sr:ResponseMessage/>", header="<sr:ResponseCode>I0</sr:ResponseCode>"),
            "bad_message",
            "neither RequestID nor ResponseID",
        ),
        (
            _response(
                "<sr:ResponseMessage/>",
                header="<sr:RequestID>90-B3-D5:1</sr:RequestID><sr:ResponseCode>I0</sr:ResponseCode>"
                "<sr:ResponseDateTime>2021-04-12T10:00:00Z</sr:ResponseDateTime>",
            ),
            "bad_request_id",
            "90-B3-D5:1",
        ),
        (
            _response(
                "<sr:ResponseMessage/>",
                header=f"<sr:RequestID>{kit.USER}:{kit.E1}:1</sr:RequestID>"
                "<sr:ResponseCode>I0</sr:ResponseCode>"
                "<sr:ResponseDateTime>yesterday</sr:ResponseDateTime>",
            ),
            "bad_timestamp",
            "yesterday",
        ),
        (_response("<sr:Mystery/>"), "bad_message", "Mystery"),
        (_response("<sr:DeviceAlertMessage/>"), "bad_message", "AlertCode"),
    ],
)
def test_unusable_messages(data: bytes, code: str, text: str) -> None:
    with pytest.raises(MessageError) as err:
        parse_message(data)
    assert err.value.reason_code == code
    assert text in err.value.message


def test_request_without_command_variant() -> None:
    xml = re.sub(r"<sr:CommandVariant>1</sr:CommandVariant>", "", kit.sample_request(kit.TOP_UP))
    with pytest.raises(MessageError, match="no CommandVariant"):
        parse_message(xml.encode())


def test_request_id_rules() -> None:
    rid = parse_request_id("90-b3-d5-1f-30-01-00-00:00-db-12-34-56-78-90-a0:0")
    assert str(rid) == "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:0"
    assert parse_request_id(f"{kit.USER}:{kit.E1}:18446744073709551615").counter == 2**64 - 1
    for bad in (f"{kit.USER}:{kit.E1}:18446744073709551616", f"{kit.USER}:{kit.E1}:01", kit.USER):
        with pytest.raises(MessageError):
            parse_request_id(bad)
