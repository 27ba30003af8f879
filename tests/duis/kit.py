"""Build DUIS archives from the public sample messages, for tests that know the right answer.

Requests are the public DUIS templates with their RequestID (and ExecutionDateTime) rewritten;
responses are the public response samples with RequestID, ResponseID, code, time and SRV
rewritten. `SCENARIO` is a month of one party's traffic whose outcomes are worked by hand in
the tests (see the comments on each case).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

# The public DUIS samples ship with the tests (tests/duis/samples, with their licences);
# OPMETRICS_DUIS_SAMPLES points elsewhere, e.g. at a larger collection.
SAMPLES = Path(
    os.environ.get("OPMETRICS_DUIS_SAMPLES", str(Path(__file__).resolve().parent / "samples"))
)

USER = "90-B3-D5-1F-30-01-00-00"  # the originator of the public templates
DCC = "90-B3-D5-1F-30-00-00-02"  # the DCC's own ID: target of non-device requests
E1 = "00-DB-12-34-56-78-90-A0"  # ESME, North
E2 = "00-DB-12-34-56-78-90-B0"  # ESME, South
G1 = "00-DB-12-34-56-78-90-A1"  # GSME, North
CH = "00-DB-12-34-56-78-90-A2"  # Comms Hub (CHF), North; named in the 8.14.1 template's body

DEVICES = [
    (E1, "ESME", "SMETS2", "North"),
    (E2, "ESME", "SMETS2", "South"),
    (G1, "GSME", "SMETS2", "North"),
    (CH, "CHF", "SMETS2", "North"),
]

T = datetime(2021, 4, 12, 9, 0, tzinfo=UTC)
END = datetime(2021, 4, 20, 12, 0, tzinfo=UTC)  # the last message of the archive
WAIT = 3600.0


def need_samples() -> Path:
    if not (SAMPLES / "requests").is_dir():
        pytest.skip(f"DUIS samples not found at {SAMPLES} (set OPMETRICS_DUIS_SAMPLES)")
    return SAMPLES


def sample_request(name: str) -> str:
    return (need_samples() / "requests" / name).read_text(encoding="utf-8")


def one_line(xml: str) -> str:
    return " ".join(part.strip() for part in xml.splitlines() if part.strip())


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def request_xml(sample: str, request_id: str, execute_at: datetime | None = None) -> str:
    xml = re.sub(
        r"<sr:RequestID>[^<]*</sr:RequestID>",
        f"<sr:RequestID>{request_id}</sr:RequestID>",
        sample_request(sample),
        count=1,
    )
    if execute_at is not None:
        xml, n = re.subn(
            r"<sr:ExecutionDateTime>[^<]*</sr:ExecutionDateTime>",
            f"<sr:ExecutionDateTime>{iso(execute_at)}</sr:ExecutionDateTime>",
            xml,
        )
        assert n == 1, f"{sample} has no ExecutionDateTime to set"
    return one_line(xml)


def response_xml(request_id: str, code: str, at: datetime, srv: str) -> str:
    """A final response (signed sample) or, for I99 and E-codes, a synchronous one (unsigned)."""
    signed = code == "I0" or code.startswith("W")
    name = "readfw-response.xml" if signed else "acknowledgement-error.xml"
    xml = (need_samples() / "responses" / name).read_text(encoding="utf-8")
    originator, target, counter = request_id.split(":")
    xml = re.sub(r"<sr:RequestID>[^<]*<", f"<sr:RequestID>{request_id}<", xml)
    xml = re.sub(r"<sr:ResponseID>[^<]*<", f"<sr:ResponseID>{target}:{originator}:{counter}<", xml)
    xml = re.sub(r"<sr:ResponseCode>[^<]*<", f"<sr:ResponseCode>{code}<", xml)
    xml = re.sub(r"<sr:ResponseDateTime>[^<]*<", f"<sr:ResponseDateTime>{iso(at)}<", xml)
    service_ref = ".".join(srv.split(".")[:2])
    xml = re.sub(r"<sr:ServiceReference>[^<]*<", f"<sr:ServiceReference>{service_ref}<", xml)
    xml = re.sub(r"<sr:ServiceReferenceVariant>[^<]*<", f"<sr:ServiceReferenceVariant>{srv}<", xml)
    return one_line(xml)


@dataclass(frozen=True)
class Case:
    name: str
    sample: str
    srv: str
    target: str
    counter: int
    sent: datetime
    responses: tuple[tuple[str, float], ...] = ()  # (code, seconds after the clock start)
    execute_at: datetime | None = None
    expect: dict[str, object] = field(default_factory=dict)  # columns of its row; {} = no row
    quarantine: tuple[str, ...] = ()  # reason codes of this case's messages

    @property
    def request_id(self) -> str:
        return f"{USER}:{self.target}:{self.counter}"


TOP_UP = "CS01a_2.2_SUCCESS_REQUEST_DUIS.XML"
TOP_UP_B = "CS01b_2.2_SUCCESS_REQUEST_DUIS.XML"
PROFILE = "ECS22b_4.8.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"
KRP_FUTURE = "CS02bSupplierBySupplier_6.15.1_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML"
KRP_CANCEL = "CS02bSupplierBySupplier_6.15.1_CANCELLATION_SUCCESS_REQUEST_DUIS.XML"
CH_INSTALLED = "8.14.1_COMMUNICATIONS_HUB_STATUS_UPDATE_INSTALL_SUCCESS_REQUEST_DUIS.XML"
READ_FW = "CS08_11.2_SUCCESS_REQUEST_DUIS.XML"
READ_REGISTERS = "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


SCENARIO: list[Case] = [
    # 23:30 on 31 March in UK local time (BST): a March request.
    Case(
        "march",
        TOP_UP,
        "2.2",
        E1,
        1,
        datetime(2021, 3, 31, 22, 30, tzinfo=UTC),
        (("I0", 5),),
        expect={"response_code": "I0", "region": "North"},
    ),
    # 00:30 on 1 April in UK local time: an April request although it is 31 March in UTC.
    Case(
        "april_first",
        TOP_UP,
        "2.2",
        E1,
        2,
        datetime(2021, 3, 31, 23, 30, tzinfo=UTC),
        (("I0", 5),),
        expect={"response_code": "I0"},
    ),
    Case("ok", TOP_UP_B, "2.2", E1, 3, T, (("I0", 5),), expect={"response_code": "I0"}),
    # The acknowledgement (I99) is passed over; the I0 after it is final.
    Case(
        "ack_then_ok",
        TOP_UP,
        "2.2",
        E1,
        4,
        T + _s(60),
        (("I99", 1), ("I0", 8)),
        expect={"response_code": "I0"},
    ),
    Case(
        "dcc_failure",
        TOP_UP,
        "2.2",
        E2,
        5,
        T + _s(120),
        (("E21", 6),),
        expect={"response_code": "E21", "region": "South"},
    ),
    Case(
        "user_caused",
        TOP_UP,
        "2.2",
        E2,
        6,
        T + _s(180),
        (("E3", 2),),
        expect={"response_code": "E3"},
    ),
    Case(
        "no_response",
        TOP_UP,
        "2.2",
        G1,
        7,
        T + _s(240),
        (),
        expect={"response_code": None, "responded_at": None, "device_type": "GSME"},
    ),
    # A warning is a success; 45 s is beyond the 30 s TRT.
    Case(
        "warning_slow",
        TOP_UP,
        "2.2",
        G1,
        8,
        T + _s(300),
        (("W050201", 45),),
        expect={"response_code": "W050201"},
    ),
    Case(
        "read_ok",
        PROFILE,
        "4.8.1",
        E1,
        9,
        T + _s(360),
        (("I0", 2),),
        expect={"response_code": "I0"},
    ),
    # The response came two hours later, after the one-hour wait: unanswered.
    Case(
        "read_late",
        PROFILE,
        "4.8.1",
        E1,
        10,
        T + _s(420),
        (("I0", 7200),),
        expect={"response_code": None, "responded_at": None},
        quarantine=("late_response",),
    ),
    Case(
        "read_failed",
        PROFILE,
        "4.8.1",
        E1,
        11,
        T + _s(480),
        (("E100", 4),),
        expect={"response_code": "E100"},
    ),
    # Future-dated an hour ahead: the wait and the RTT run from the execution time.
    Case(
        "future_dated",
        KRP_FUTURE,
        "6.15.1",
        E1,
        12,
        T + _s(540),
        (("I99", -3599), ("I0", 10)),
        execute_at=T + _s(540 + 3600),
        expect={
            "execution": "future_dated",
            "execute_at": T + _s(540 + 3600),
            "response_code": "I0",
            "command_variant": 4,
        },
    ),
    # ExecutionDateTime 3000-12-31 cancels a pending future-dated command: acted on at once.
    Case(
        "cancellation",
        KRP_CANCEL,
        "6.15.1",
        E1,
        13,
        T + _s(600),
        (("I0", 2),),
        expect={
            "execution": "on_demand",
            "execute_at": None,
            "response_code": "I0",
            "command_variant": 4,
        },
    ),
    # Non-device (CV 8) to the DCC; its region is that of the Comms Hub its body names.
    Case(
        "non_device",
        CH_INSTALLED,
        "8.14.1",
        DCC,
        14,
        T + _s(660),
        (("I0", 1),),
        expect={
            "execution": "non_device",
            "device_type": "NONE",
            "region": "North",
            "command_variant": 8,
        },
    ),
    Case(
        "chf_failure",
        READ_FW,
        "11.2",
        CH,
        15,
        T + _s(720),
        (("E65", 1),),
        expect={"device_type": "CHF", "response_code": "E65"},
    ),
    # 4.1.1 is not in the catalog: the request and its response are quarantined.
    Case(
        "unknown_srv",
        READ_REGISTERS,
        "4.1.1",
        E1,
        16,
        T + _s(780),
        (("I0", 2),),
        quarantine=("unknown_srv", "request_quarantined"),
    ),
    # "ok" sent again with the same RequestID.
    Case("duplicate", TOP_UP_B, "2.2", E1, 3, T + _s(840), (), quarantine=("duplicate_request",)),
    # Still waiting for its response when the archive ends.
    Case("awaiting", TOP_UP, "2.2", E1, 21, END, (), quarantine=("awaiting_response",)),
]

# Lines that are not good requests or responses (written into the request log).
BAD_PREFIX_COUNTER = 18
RESPONSE_WITHOUT_REQUEST = f"{USER}:{E1}:999999"
EXTRA_QUARANTINE = ("bad_sent_time", "malformed_xml", "response_without_request")


def clock_start(case: Case) -> datetime:
    return max(case.sent, case.execute_at) if case.execute_at else case.sent


def write_archive(root: Path) -> Path:
    """The scenario as a folder: a request log (prefixed lines) and one file per response."""
    sent = root / "sent"
    received = root / "received"
    sent.mkdir(parents=True)
    received.mkdir()
    lines = []
    for c in SCENARIO:
        lines.append(f"{iso(c.sent)} {request_xml(c.sample, c.request_id, c.execute_at)}")
    bad = f"{USER}:{E1}:{BAD_PREFIX_COUNTER}"
    lines.append(f"2021-04-12T10:00:00 {request_xml(TOP_UP, bad)}")  # no time zone
    lines.append(f"{iso(T + _s(900))} " + request_xml(TOP_UP, f"{USER}:{E1}:19")[:200])
    (sent / "requests-2021-04.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    n = 0
    for c in SCENARIO:
        for code, after in c.responses:
            n += 1
            at = clock_start(c) + _s(after)
            (received / f"{n:04d}.xml").write_text(
                response_xml(c.request_id, code, at, c.srv), encoding="utf-8"
            )
    (received / "9999.xml").write_text(
        response_xml(RESPONSE_WITHOUT_REQUEST, "I0", T + _s(1000), "2.2"), encoding="utf-8"
    )
    return root


def write_devices(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "device_id",
                "device_type",
                "smets",
                "region",
                "manufacturer",
                "model",
                "firmware_version",
                "comms_hub_id",
            ]
        )
        for device_id, dtype, smets, region in DEVICES:
            w.writerow([device_id, dtype, smets, region, "", "", "", ""])
    return path
