"""The catalog's SRVs against the public DUIS evidence: the XML Schema and the request templates.

What the evidence says is read here from the samples themselves (the DUIS XSD V5.4 and ~300
public Service Request templates), not restated by hand:

- **future-datable** (schema): the SRV's request body type extends `FutureDatedAbstractType`
  (or `MandatoryFutureDatedAbstractType`), i.e. may carry `ExecutionDateTime`;
- **target device types** (templates): the target EUI-64 of a template's RequestID ends in a
  code naming the device (`...-90-A0` ESME, `-A1` GSME, `-A2` CHF, `-A3` GPF, `-A4` PPMID,
  `-A5` HCALCS; the DCC's own id `90-B3-D5-1F-30-00-00-02` for non-device requests);
- **command variants** (templates).

The catalog must agree with the schema on `future_dated`, and its device types must include
every device a template sends the SRV to; the provenance it records must say so. The template
set is not exhaustive, so device types beyond the templates' are allowed (and marked assumed
or seed). Run with `-s` to see the table recorded in docs/decisions.md.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from opmetrics.catalog import Source, default_catalog

SAMPLES = Path(__file__).resolve().parents[1] / "duis" / "samples"
XSD = SAMPLES / "schema" / "DUIS Schema V5.4.xsd"
REQUESTS = SAMPLES / "requests"

pytestmark = pytest.mark.skipif(
    not (XSD.is_file() and REQUESTS.is_dir()),
    reason=f"the DUIS samples are not at {SAMPLES} (schema/ and requests/)",
)

XS = "{http://www.w3.org/2001/XMLSchema}"
SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
FUTURE_BASES = {"FutureDatedAbstractType", "MandatoryFutureDatedAbstractType"}
DEVICE_CODES = {"A0": "ESME", "A1": "GSME", "A2": "CHF", "A3": "GPF", "A4": "PPMID", "A5": "HCALCS"}
DCC_ID = "90-B3-D5-1F-30-00-00-02"


@dataclass
class SrvEvidence:
    body: set[str] = field(default_factory=set)  # request body element names
    devices: set[str] = field(default_factory=set)
    variants: set[int] = field(default_factory=set)
    future_templates: set[str] = field(default_factory=set)
    templates: int = 0


def _local(tag: str) -> str:
    """A name without its namespace, `{uri}name` or `prefix:name`."""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _schema_bases() -> tuple[dict[str, str], dict[str, str]]:
    """complexType name -> its base type; element name -> its type (every declaration)."""
    root = ET.parse(XSD).getroot()
    bases: dict[str, str] = {}
    for ct in root.iter(f"{XS}complexType"):
        name = ct.get("name")
        if not name:
            continue
        for tag in ("extension", "restriction"):
            node = ct.find(f".//{XS}{tag}")
            if node is not None and node.get("base"):
                bases[name] = _local(str(node.get("base")))
                break
    types: dict[str, str] = {}
    for el in root.iter(f"{XS}element"):
        if el.get("name") and el.get("type"):
            types.setdefault(str(el.get("name")), _local(str(el.get("type"))))
    return bases, types


def future_datable(body: str, bases: dict[str, str], types: dict[str, str]) -> bool:
    t = types.get(body, body)
    seen: set[str] = set()
    while t in bases and t not in seen:
        seen.add(t)
        t = bases[t]
        if t in FUTURE_BASES:
            return True
    return False


def target_device(target: str) -> str:
    if target.upper() == DCC_ID:
        return "NONE"
    return DEVICE_CODES.get(target.upper().rsplit("-", 1)[-1], f"unknown {target}")


def read_templates() -> dict[str, SrvEvidence]:
    out: dict[str, SrvEvidence] = defaultdict(SrvEvidence)
    for path in sorted(REQUESTS.glob("*.XML")):
        root = ET.parse(path).getroot()
        header = root.find(f"{SR}Header")
        body = root.find(f"{SR}Body")
        assert header is not None and body is not None, path.name
        srv = (header.findtext(f"{SR}ServiceReferenceVariant") or "").strip()
        request_id = (header.findtext(f"{SR}RequestID") or "").strip()
        cv = (header.findtext(f"{SR}CommandVariant") or "").strip()
        e = out[srv]
        e.templates += 1
        e.devices.add(target_device(request_id.split(":")[1]))
        if cv:
            e.variants.add(int(cv))
        if len(body):
            e.body.add(_local(body[0].tag))
        if "FUTURE_DATED" in path.name:
            e.future_templates.add(path.name)
    return dict(out)


@pytest.fixture(scope="module")
def evidence() -> dict[str, tuple[SrvEvidence, bool]]:
    bases, types = _schema_bases()
    out = {}
    for srv, e in read_templates().items():
        datable = {future_datable(b, bases, types) for b in e.body}
        assert len(datable) == 1, f"SRV {srv}: body types disagree on ExecutionDateTime"
        out[srv] = (e, datable.pop())
    return out


def test_every_catalog_srv_has_templates(evidence: dict[str, tuple[SrvEvidence, bool]]) -> None:
    missing = [s.id for s in default_catalog().srv if s.id not in evidence]
    assert missing == []


def test_future_dated_follows_the_schema(evidence: dict[str, tuple[SrvEvidence, bool]]) -> None:
    cat = default_catalog()
    rows = []
    for s in cat.srv:
        e, datable = evidence[s.id]
        rows.append(
            f"{s.id:7} schema future-datable={datable!s:5} catalog={s.future_dated!s:5} "
            f"devices={','.join(sorted(e.devices)):22} CV={sorted(e.variants)} "
            f"future-dated templates={len(e.future_templates)}"
        )
    print("\n" + "\n".join(rows))
    wrong = {
        s.id: (s.future_dated, evidence[s.id][1])
        for s in cat.srv
        if s.future_dated != evidence[s.id][1]
    }
    assert wrong == {}, "catalog future_dated vs schema (catalog, schema)"
    # the values the schema decides are recorded as coming from it
    for s in cat.srv:
        assert s.source_of("future_dated") == Source.DUIS, s.id
    # hand-read checks of the reader itself (docs/decisions.md)
    datable = {srv for srv, (_, d) in evidence.items() if d}
    assert {"1.1.1", "4.6.1", "4.8.1", "4.10", "4.17", "6.5", "6.15.1", "6.20.1", "6.23"} <= datable
    assert {"8.11", "11.2", "11.3"} <= datable
    assert not {"2.2", "6.8", "6.22", "8.1.1", "8.7.2", "8.14.1", "11.1"} & datable
    with_future_templates = {srv for srv, (e, _) in evidence.items() if e.future_templates}
    assert {s.id for s in cat.srv} & with_future_templates == {"1.1.1", "6.15.1", "6.23", "11.3"}


def test_device_types_cover_the_templates(evidence: dict[str, tuple[SrvEvidence, bool]]) -> None:
    cat = default_catalog()
    for s in cat.srv:
        e, _ = evidence[s.id]
        assert e.devices <= set(s.device_types), (s.id, sorted(e.devices), s.device_types)
        # a list that is exactly the templates' is marked as theirs; one that adds devices the
        # templates do not show rests on the seed or an assumption
        src = s.source_of("device_types")
        if set(s.device_types) == e.devices:
            assert src == Source.TEMPLATES, s.id
        else:
            assert src in (Source.SEED, Source.ASSUMED), s.id
    # hand-read checks of the reader (the target codes of a few templates)
    assert evidence["8.11"][0].devices == {"CHF"}
    assert evidence["4.17"][0].devices == {"ESME", "GPF"}
    assert evidence["11.2"][0].devices == {"ESME", "GSME", "PPMID"}
    assert evidence["8.14.1"][0].devices == {"NONE"}


def test_command_variants_cover_the_templates(
    evidence: dict[str, tuple[SrvEvidence, bool]],
) -> None:
    cat = default_catalog()
    for s in cat.srv:
        e, _ = evidence[s.id]
        assert e.variants <= set(s.command_variants), (s.id, sorted(e.variants))
        assert s.critical == (min(e.variants) in (4, 5, 6, 7)), s.id
    assert {s.id for s in cat.srv if 4 in evidence[s.id][0].variants} == {
        "1.1.1",
        "6.8",
        "6.15.1",
        "8.1.1",
        "11.3",
    }


def test_change_of_supplier_reaches_the_gpf() -> None:
    """The seed shows Change of Supplier broken down by device type, the GPF as the better DCC
    proxy: SRV 6.23 must accept the GPF whatever the templates show."""
    s = default_catalog().srvs["6.23"]
    assert "GPF" in s.device_types
