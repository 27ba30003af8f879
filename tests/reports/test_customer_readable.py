"""A customer pack a party's analyst can act on: every listed response explained, DSP attempts
and UK local times in the failed-requests file, no lateness badge without a production date.

The results folder is the hand-made one of `tests/analytics/test_pack_data.py`, with P-A's own
failures replaced by five worked by hand (codes, DSP attempts, received times across the change
to BST on 28 March 2021 at 01:00 UTC).
"""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opmetrics.catalog import default_catalog
from opmetrics.reports.response_codes import failures_file, listed_response, meaning
from opmetrics.results import schema as rs
from tests.analytics.test_pack_data import IDS, _run
from tests.analytics.test_pack_data import results as hand_results  # noqa: F401 (a fixture)
from tests.reports.conftest import pdftotext

CAT = default_catalog()
# (response code, DSP attempts, received at UTC)
FAILURES = [
    ("E21", 1, datetime(2021, 3, 31, 23, 30, tzinfo=UTC)),  # 00:30 BST on 1 April
    ("I99", 2, datetime(2021, 4, 10, 12, 0, tzinfo=UTC)),
    (None, None, datetime(2021, 4, 30, 22, 59, 59, tzinfo=UTC)),  # 23:59:59 BST
    ("I0", 5, datetime(2021, 3, 28, 0, 59, tzinfo=UTC)),  # 00:59 GMT, a minute before BST
    ("W3", 4, datetime(2021, 3, 28, 1, 0, tzinfo=UTC)),  # 02:00 BST
]
UK_LOCAL = [
    "2021-04-01 00:30:00 BST (UTC+01:00)",
    "2021-04-10 13:00:00 BST (UTC+01:00)",
    "2021-04-30 23:59:59 BST (UTC+01:00)",
    "2021-03-28 00:59:00 GMT (UTC+00:00)",
    "2021-03-28 02:00:00 BST (UTC+01:00)",
]


@pytest.fixture(scope="module")
def results(hand_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    root = tmp_path_factory.mktemp("codes") / "results"
    shutil.copytree(hand_results, root)
    rows = [
        {
            "party_label": "P-A",
            "request_id": f"{IDS['P-A']}:00-00-00-00-00-00-00-0{i}:{i}",
            "srv": "2.2",
            "device_type": "ESME",
            "region": "North",
            "response_code": code,
            "dsp_attempts": n,
            "received_at": at,
        }
        for i, (code, n, at) in enumerate(FAILURES)
    ]
    pq.write_table(
        pa.Table.from_pylist(rows, schema=rs.PARTY_FAILURES),
        root / rs.RESTRICTED_DIR / "party_failures.parquet",
    )
    return root


def test_responses_listed_and_explained_from_the_catalog() -> None:
    listed = [listed_response(c, n, CAT) for c, n, _ in FAILURES]
    assert listed == [
        "E21",
        "I99",
        "no response",
        "I0 after more than 3 DSP attempts",
        "W3 after more than 3 DSP attempts",
    ]
    assert listed_response("I0", 3, CAT) == "I0"  # 3 attempts: a success, never listed as failed
    e21 = meaning("E21", CAT)
    assert (e21.klass, e21.counts_as) == ("DCC failure", "a failure")
    assert (
        e21.description == next(r for r in CAT.response_code if r.id == "dcc_failure").description
    )
    i0 = meaning(listed[3], CAT)
    assert i0.klass == "Success code" and "more than 3 attempts" in i0.counts_as
    assert meaning("I99", CAT).description == "Acknowledgement of receipt, no final response"


def test_failures_file_by_hand(results: Path) -> None:
    t = pq.read_table(results / rs.RESTRICTED_DIR / "party_failures.parquet")
    f = failures_file(t, CAT).to_pydict()
    assert f["received_at_uk_local"] == UK_LOCAL
    assert f["dsp_attempts"] == [1, 2, None, 5, 4]
    assert f["why_failed"][0].startswith("DCC failure (E21): ")
    assert f["why_failed"][3] == (
        "I0 after more than 3 DSP attempts: a failure only because the DSP needed more than 3 "
        "attempts to deliver the request"
    )
    assert f["device_type_id"] == ["ESME"] * 5
    assert f["srv_name"] == ["Top Up Device"] * 5


def test_pack_explains_codes_and_gives_local_times(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    argv = ["customer-pack", str(results), "--party", IDS["P-A"], "--out", str(out)]
    assert _run([*argv, "--produced-on", "2021-05-20"]) == 0
    with (out / "2021-04-P-A-failed-requests.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_time = [3, 4, 0, 1, 2]  # the pack lists a party's failures by received_at
    assert [r["received_at_uk_local"] for r in rows] == [UK_LOCAL[i] for i in by_time]
    assert [r["dsp_attempts"] for r in rows] == [["1", "2", "", "5", "4"][i] for i in by_time]
    wb = openpyxl.load_workbook(out / "2021-04-P-A-customer-pack.xlsx", read_only=True)
    sheet = list(wb["failed requests"].iter_rows(values_only=True))
    assert "received_at_uk_local" in sheet[0] and "dsp_attempts" in sheet[0]
    text = " ".join(pdftotext(out / "2021-04-P-A-customer-pack.pdf").split())
    assert "What the responses mean" in text
    for listed in ("E21 DCC failure", "I99 Interim", "no response No response"):
        assert listed in text, listed
    assert "Acknowledgement of receipt, no final response" in text
    assert "I0 after more than 3 Success code Success a failure only because the DSP needed" in text
    assert "Success with a warning" in text  # W3, from the catalog
    # produced 20 May 2021, due 17 May (10 Working Days): the badge says it
    assert "LATE BY 3 WORKING DAYS" in text


def test_no_lateness_badge_without_a_production_date(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "undated"
    assert _run(["customer-pack", str(results), "--party", IDS["P-A"], "--out", str(out)]) == 0
    cover = pdftotext(out / "2021-04-P-A-customer-pack.pdf").split("\f")[0]
    assert "Timeliness" not in cover and "LATE BY" not in cover and "on time" not in cover
    assert "Due date" in cover
