"""Figures resting on assumed catalog values are marked, with a note naming the values.

The end-to-end test computes one small month twice, with the shipped catalog (every Target
Response Time assumed) and with a catalog whose TRTs were imported from CSV as confirmed, and
reads what the packs print: the PDF text, the dashboard's HTML and the workbook.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest

import opmetrics
from opmetrics.catalog import default_catalog
from opmetrics.catalog.assumptions import OVERRIDE
from opmetrics.catalog.trt_import import import_trt_csv
from opmetrics.contract.schema import ALL
from opmetrics.reports import render
from opmetrics.reports.assumed import Assumptions
from opmetrics.reports.common import PackContext
from opmetrics.reports.data import View, load_month
from opmetrics.reports.pmr import build as build_pmr
from opmetrics.reports.process_pack import build as build_pack
from opmetrics.reports.spec import (
    Assumption,
    Cell,
    Column,
    Footnote,
    Paragraph,
    Section,
    Table,
    with_footnotes,
)
from opmetrics.results.manifest import Manifest
from tests.reports.conftest import PRODUCED, pdftotext
from tests.reports.fake_results import write_fake_results

ON_DEMAND = "Target Response Time for on-demand requests: 30 s"
HEADER = (
    "request_id,user_id,user_role,srv,command_variant,target_id,device_type,smets,region,"
    "execution,execute_at,received_at,delivered_at,device_response_at,responded_at,"
    "response_code,dsp_attempts\n"
)
USER = "90-B3-D5-1F-30-01-00-01"


def _request(n: int, srv: str, cv: int, device: str, rtt_s: int) -> str:
    target = f"00-DB-12-34-56-78-90-{n:02d}"
    day = f"2021-04-{n:02d}"
    return (
        f"{USER}:{target}:{n},{USER},IS,{srv},{cv},{target},{device},SMETS2,North,on_demand,,"
        f"{day}T10:00:00Z,{day}T10:00:01Z,{day}T10:00:{rtt_s - 1:02d}Z,"
        f"{day}T10:00:{rtt_s:02d}Z,I0,1\n"
    )


# One request a day (a month with a day without requests cannot be reported): Top Up (2.2) to a
# gas and an electricity meter, a Transform (Command Variant 4) tariff update, then Change of
# Supplier credentials.
REQUESTS = HEADER + _request(1, "2.2", 1, "GSME", 10) + _request(2, "2.2", 1, "ESME", 40)
REQUESTS += _request(3, "1.1.1", 4, "ESME", 2)
REQUESTS += "".join(_request(n, "6.23", 1, "ESME", 5) for n in range(4, 31))

CONFIRMED = (
    "srv,execution,device_type,seconds,source,command_variant\n"
    ",on_demand,,30,seed,\n"
    ",on_demand,,3,seed,4\n"
    ",future_dated,,30,seed,\n"
    ",non_device,,30,seed,\n"
)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def _row(ws: openpyxl.worksheet.worksheet.Worksheet, **keys: str) -> dict[str, object]:
    header = [c.value for c in ws[1]]
    for values in ws.iter_rows(min_row=2, values_only=True):
        row = dict(zip(header, values, strict=True))
        if all(row.get(k) == v for k, v in keys.items()):
            return row
    raise AssertionError(f"no row {keys} in {ws.title}")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The month computed and rendered with the shipped catalog and with confirmed TRTs."""
    root = tmp_path_factory.mktemp("assumed")
    data = root / "data"
    data.mkdir()
    (data / "service_requests.csv").write_text(REQUESTS, encoding="utf-8")
    (root / "trt.csv").write_text(CONFIRMED, encoding="utf-8")
    catalogs = {
        "shipped": default_catalog(),
        "confirmed": import_trt_csv(default_catalog(), root / "trt.csv"),
    }
    out = {}
    for name, catalog in catalogs.items():
        results = root / name / "results"
        opmetrics.compute(data, "2021-04", results, catalog=catalog, anon_key="test")
        render(results, root / name / "reports", produced_on=PRODUCED, catalog=catalog)
        out[name] = root / name
    return out


@pytest.mark.slow
def test_assumed_trt_is_marked_in_the_pdf_and_not_once_confirmed(month: dict[str, Path]) -> None:
    pack = "reports/business-processes/2021-04-prepayment.pdf"
    shipped = _flat(pdftotext(month["shipped"] / pack))
    srv = _section(shipped, "SRV 2.2 Top Up Device 2 requests", "Daily success")
    assert "50.00 % within the 30 s† Target Response Time" in srv
    assert f"† Assumed, not confirmed from a public source: {ON_DEMAND}. To override: " in srv
    assert "import-trt CSV --write FILE" in srv
    # the delivery proxy at the start of the pack: its TRT and delivered-within share are marked
    proxy = _section(shipped, "No SRV of this process targets", "In April 2021 Prepayment carried")
    assert "Delivered within TRT %" in proxy and "30.0†" in proxy and ON_DEMAND in proxy
    assert "Round trip" not in proxy

    confirmed = _flat(pdftotext(month["confirmed"] / pack))
    srv = _section(confirmed, "SRV 2.2 Top Up Device 2 requests", "Daily success")
    assert "50.00 % within the 30 s Target Response Time" in srv
    assert "†" not in confirmed.replace("marked †", "")  # only the cover's explanation
    assert "Assumed, not confirmed" not in confirmed and ON_DEMAND not in confirmed


@pytest.mark.slow
def test_assumed_trt_is_marked_in_the_dashboard_and_not_once_confirmed(
    month: dict[str, Path],
) -> None:
    def cpm1_row(html: str) -> str:
        return next(r for r in html.split("<tr") if 'data-cpm="CPM1"' in r and "ALL" in r)

    shipped = (month["shipped"] / "reports/dashboard/index.html").read_text(encoding="utf-8")
    row = cpm1_row(shipped)
    assert '<sup class="assumed" title="Assumed: ' in row and ON_DEMAND in row
    measures = _section(shipped, '<section id="measures">', "</section>")
    assert re.search(
        r'<p class="footnote"><sup class="assumed"[^>]*>†</sup> Assumed, not confirmed', measures
    )
    assert ON_DEMAND in measures and "To override: give the confirmed value" in measures

    confirmed = (month["confirmed"] / "reports/dashboard/index.html").read_text(encoding="utf-8")
    assert "<sup" not in cpm1_row(confirmed)
    measures = _section(confirmed, '<section id="measures">', "</section>")
    assert ON_DEMAND not in measures and "Target Response Time for on-demand" not in measures


@pytest.mark.slow
def test_assumed_trt_is_named_in_the_workbook_and_not_once_confirmed(
    month: dict[str, Path],
) -> None:
    book = "reports/data/2021-04-results.xlsx"
    wb = openpyxl.load_workbook(month["shipped"] / book)
    top_up = _row(wb["srv_summary"], srv="2.2", region=ALL, device_type_id=ALL)
    assert top_up["assumed"] == "trt.on_demand"
    assert top_up["assumed_note"] == f"† rests on assumed values: {ON_DEMAND}"
    cpm1 = _row(wb["cpm"], cpm="CPM1", region=ALL)
    assert cpm1["assumed"] == "trt.transform; trt.on_demand"
    assert _row(wb["assumed_values"], key="trt.on_demand")["text"] == ON_DEMAND
    about = _row(wb["about"], table="assumed values")
    assert OVERRIDE in str(about["what it holds"])
    delivery = _row(wb["dcc_proxy"], srv="2.2", region=ALL, device_type_id=ALL)
    assert delivery["proxy"] == "delivery_to_comms_hub" and delivery["rtt_mean_s"] is None
    assert delivery["to_comms_hub_mean_s"] is not None and delivery["delivered_within_trt"] == 2

    wb = openpyxl.load_workbook(month["confirmed"] / book)
    top_up = _row(wb["srv_summary"], srv="2.2", region=ALL, device_type_id=ALL)
    assert top_up["assumed"] is None and top_up["assumed_note"] is None
    assert _row(wb["cpm"], cpm="CPM1", region=ALL)["assumed"] is None
    keys = [r[0] for r in wb["assumed_values"].iter_rows(min_row=2, values_only=True)]
    assert keys and not any(k.startswith("trt.") for k in keys)  # alerts, incidents remain
    assert "alerts.trt_seconds" in keys


# -- the keys behind each kind of figure ---------------------------------------------------------


def test_keys_of_business_process_figures() -> None:
    a = Assumptions(Manifest(), default_catalog())  # no manifest list: every catalog value assumed
    assert [x.key for x in a.of_srv("2.2")] == ["trt.on_demand"]
    assert [x.key for x in a.of_srv("1.1.1")] == [
        "trt.transform",
        "trt.on_demand",
        "trt.future_dated",
    ]
    assert [x.key for x in a.of_srv("8.14.1")] == ["trt.non_device"]
    assert [x.key for x in a.of_trt("1.1.1")] == ["trt.on_demand"]  # what trt_s shows
    firmware = [x.key for x in a.of_process("firmware_management")]
    assert firmware[:3] == [f"srv.{s}.business_process" for s in ("11.1", "11.2", "11.3")]
    # the network's totals hold every SRV whichever process it is in
    assert not any(x.key.startswith("srv.") for x in a.of_process(ALL))
    assert a.of_process_counts("prepayment") == ()


def test_keys_come_from_the_manifest_when_it_lists_them() -> None:
    listed = {"values": [{"key": "trt.on_demand", "value": "30 s", "text": ON_DEMAND, "used_by": ["CPM1"]}],
              "override": "edit it"}  # fmt: skip
    a = Assumptions(Manifest.model_validate({"assumed_values": listed}), default_catalog())
    assert a.of_srv("1.1.1") == (Assumption("trt.on_demand", ON_DEMAND),)  # transform: confirmed
    assert a.override == "edit it"
    row = {"cpm": "CPM1", "assumed": "trt.transform; trt.on_demand"}
    assert [x.key for x in a.of_cpm(row)] == ["trt.on_demand"]
    # a row of results that record assumed values but list none for it rests on none
    assert a.of_cpm({"cpm": "CPM3", "assumed": None}) == ()
    # results that record none (older ones): the catalog says
    old = Assumptions(Manifest(), default_catalog())
    assert [x.key for x in old.of_cpm({"cpm": "CPM3", "assumed": None})] == ["alerts.trt_seconds"]


def test_older_results_are_marked_from_the_catalog(ctx: PackContext, history_dir: Path) -> None:
    """History months were written before the manifest listed assumed values."""
    trend = next(
        b
        for s in build_pmr(ctx).sections
        for b in s.blocks
        if isinstance(b, Table) and b.key == "cpm-trend-table"
    )
    cpm3 = next(r for r in trend.rows if r[0].text == "CPM3")
    assert [a.key for a in cpm3[1].assumed] == ["alerts.trt_seconds"]  # March, from the catalog
    assert [a.key for a in cpm3[2].assumed] == ["alerts.trt_seconds"]  # April, from its manifest
    old = PackContext(View(load_month(history_dir), default_catalog()), (), date(2021, 5, 1))
    proxy = build_pack(old, "prepayment").sections[0]
    assert proxy.title == "DCC proxy summary"  # older results hold CHF/GPF rows only
    srv = next(s for s in build_pack(old, "prepayment").sections if s.title.startswith("SRV 2.2"))
    text = next(b for b in srv.blocks if isinstance(b, Paragraph)).text
    assert "within the 30 s† Target Response Time" in text


# -- the spec --------------------------------------------------------------------------------


def test_a_text_resting_on_an_assumed_value_must_show_the_mark() -> None:
    a = (Assumption("trt.on_demand", ON_DEMAND),)
    with pytest.raises(ValueError, match="no mark"):
        Paragraph("within the 30 s Target Response Time", assumed=a)
    Paragraph("within the 30 s† Target Response Time", assumed=a)


def test_footnote_follows_the_first_mark_and_names_every_value_of_the_section() -> None:
    a = Assumption("trt.on_demand", ON_DEMAND)
    b = Assumption("alerts.trt_seconds", "Target Response Time for alerts: 60 s")
    table = Table("t", "a table", (Column("x"),), ((Cell("99.1", assumed=(b, a)),),))
    sections = (
        Section(
            "one", (Paragraph("plain"), Paragraph("x 30 s†", assumed=(a,)), Paragraph("y"), table)
        ),
        Section("two", (Paragraph("again †", assumed=(a,)),), new_page=False),
        Section("three", (Paragraph("nothing"),)),
    )
    out = with_footnotes(sections, "edit the catalog")
    blocks = out[0].blocks
    assert isinstance(blocks[3], Footnote)  # after the run of paragraphs the first mark is in
    assert blocks[4] == table
    assert blocks[3].text == (
        f"† Assumed, not confirmed from a public source: {ON_DEMAND}; "
        "Target Response Time for alerts: 60 s. To override: edit the catalog."
    )
    assert not any(isinstance(x, Footnote) for x in out[1].blocks)  # named just above it
    assert out[2] == sections[2]
    assert with_footnotes(out, "edit the catalog") == out  # a second pass adds nothing


@pytest.mark.slow
def test_device_specific_trts_are_shown_per_device_and_marked_only_where_assumed(
    tmp_path: Path,
) -> None:
    csv_path = tmp_path / "trt.csv"
    csv_path.write_text(
        "srv,execution,device_type,seconds,source\n"
        "2.2,on_demand,GSME,60,seed\n"
        "2.2,on_demand,ESME,20,assumed\n",
        encoding="utf-8",
    )
    catalog = import_trt_csv(default_catalog(), csv_path)
    results = write_fake_results(tmp_path / "res", n_parties=4, scale=0.02, catalog=catalog)
    ctx = PackContext(View(load_month(results), catalog), (), PRODUCED)
    srv = next(s for s in build_pack(ctx, "prepayment").sections if s.title.startswith("SRV 2.2"))
    text = next(b for b in srv.blocks if isinstance(b, Paragraph)).text
    assert (
        "within the Target Response Time†, which varies by device type "
        "(on-demand, GSME: 60 s; on-demand, ESME: 20 s);" in text
    )
    note = next(b for b in srv.blocks if isinstance(b, Footnote)).text
    assert "SRV 2.2, to ESMEs: 20 s" in note and "60 s" not in note
    devices = next(b for b in srv.blocks if isinstance(b, Table) and b.key.startswith("devices"))
    trt = {row[0].text: row[5] for row in devices.rows}
    assert trt["GSME"].text == "60.0" and trt["GSME"].assumed == ()
    assert trt["ESME"].text == "20.0" and [a.key for a in trt["ESME"].assumed] == [
        "trt.on_demand-srv2.2-esme"
    ]
    summary = next(b for b in srv.blocks if isinstance(b, Table) and b.key.startswith("summary"))
    assert "TRT varies by device type†" in summary.title
