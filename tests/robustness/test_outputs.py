"""Data files never execute and names are always text: hostile names end to end.

One month flows through compute → report → customer-pack with every kind of hostile name a user
can get into it: party names and adaptors (parties table), device models (devices table) and
business process and SRV names (a catalog passed with --catalog). Spreadsheet formulas begin
with = + - @; HTML and the PDF engine's markup (Typst) try to run or restyle. Every CSV and XLSX
a user gets must hold no cell that a spreadsheet would run, every HTML page must show the names
as text, and every PDF must print them as text on unchanged A4 pages.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from opmetrics.results.io import FORMULA_CHARS
from tests.robustness.conftest import invoke, manifest, pdfinfo, pdftotext
from tests.robustness.corpus import (
    CASE_BY_NAME,
    FORMULA_NAMES,
    HOSTILE_CATALOG_NAMES,
    HOSTILE_NAMES,
    MARKUP_NAMES,
    MONTH,
    build_case,
    hostile_catalog,
    hostile_month,
    hostile_user_ids,
)

# Its expensive fixtures are built once: every test of the group runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("outputs-month")

PRODUCED = "2021-06-01"
CATALOG_NAMES = tuple(HOSTILE_CATALOG_NAMES.values())
TEMPLATE_HANDLER = {"onsubmit": "return false"}  # the dashboard's own filter form


@dataclass(frozen=True)
class Run:
    data: Path
    catalog: Path
    results: Path
    reports: Path
    packs: Path
    users: list[str]

    def user_files(self, ext: str) -> list[Path]:
        """Every file of that kind a user gets: results, reports and packs."""
        return sorted(
            p for root in (self.results, self.reports, self.packs) for p in root.rglob(f"*.{ext}")
        )


def pipeline(base: Path, root: Path, *, again: Run | None = None) -> Run:
    """compute → report → customer-pack of the hostile month (`again`: of the same inputs)."""
    data = again.data if again else hostile_month(base, root / "data")
    cat = again.catalog if again else hostile_catalog(root / "hostile.toml")
    users = hostile_user_ids(data)
    results, reports, packs = root / "results", root / "reports", root / "packs"
    head = ["--catalog", str(cat)]
    assert invoke(*head, "compute", str(data), "--month", MONTH, "--out", str(results)) == 0
    assert (
        invoke(*head, "report", str(results), "--out", str(reports), "--produced-on", PRODUCED) == 0
    )
    parties = [a for u in users for a in ("--party", u)]
    cmd = ["customer-pack", str(results), "--out", str(packs), "--produced-on", PRODUCED]
    assert invoke(*head, *cmd, *parties) == 0
    return Run(data, cat, results, reports, packs, users)


@pytest.fixture(scope="session")  # once per worker, however xdist interleaves modules
def run(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return pipeline(base, tmp_path_factory.mktemp("hostile"))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_no_csv_cell_would_run_as_a_formula(run: Run) -> None:
    files = run.user_files("csv")
    assert len(files) >= 20  # results, restricted labels, report data files, each pack's CSV
    seen: set[str] = set()
    for f in files:
        with f.open(encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell.startswith(FORMULA_CHARS) or _is_number(cell), (f, cell)
                    seen.add(cell)
    # the hostile names did reach the files (neutralised): the check above saw them. Results
    # carry business process ids, not names; the SRV name is in srv_summary.
    for name in (*FORMULA_NAMES, CATALOG_NAMES[3]):
        assert "'" + name in seen, name
    assert set(MARKUP_NAMES) <= seen


def test_no_xlsx_cell_is_or_starts_a_formula(run: Run) -> None:
    from openpyxl import load_workbook

    files = run.user_files("xlsx")
    assert len(files) == 1 + len(run.users)  # the report's workbook and one per pack
    seen: set[str] = set()
    for f in files:
        wb = load_workbook(f)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    assert c.data_type != "f", (f, ws.title, c.coordinate, c.value)
                    if isinstance(c.value, str):
                        assert not c.value.startswith(FORMULA_CHARS), (f, ws.title, c.value)
                        seen.add(c.value)
    assert {"'" + n for n in FORMULA_NAMES} <= seen  # each party's own name, in its pack
    assert set(MARKUP_NAMES) <= seen


def test_html_shows_every_name_as_text(run: Run) -> None:
    from lxml import html

    pages = sorted((run.reports / "dashboard").glob("*.html"))
    assert len(pages) >= 10
    text = ""
    for p in pages:
        doc = html.fromstring(p.read_bytes())
        for el in doc.iter():
            if not isinstance(el.tag, str):
                continue
            handlers = {a: v for a, v in el.attrib.items() if a.lower().startswith("on")}
            assert handlers in ({}, TEMPLATE_HANDLER), (p.name, el.tag, handlers)
            assert el.tag not in ("img", "iframe", "object", "embed"), (p.name, el.tag)
            assert not (el.tag == "b" and el.text == "Change"), p.name  # the catalog's <b>
            if el.tag == "script":
                src, kind = el.get("src"), el.get("type")
                assert (src or "").startswith("assets/") or kind == "application/json", p.name
        text += " ".join(doc.text_content().split()) + "\n"
    for name in CATALOG_NAMES:  # the catalog's process and SRV names are shown, as text
        assert " ".join(name.split()) in text, name


def test_pdfs_print_every_name_as_text_on_a4_pages(run: Run) -> None:
    pdfs = run.user_files("pdf")
    assert len(pdfs) == 11 + len(run.users)  # 11 shared packs: the Panel summary is the 11th
    packs = {p.parent.name: p for p in run.packs.rglob("*.pdf")}
    labels = {}
    for p in pdfs:
        info = pdfinfo(p)
        sizes = set(re.findall(r"Page\s+\d+ size:\s+(.*)", info))
        assert sizes == {"595.276 x 841.89 pts (A4)"}, (p.name, sizes)
        text = pdftotext(p)
        assert "root:x:0:0" not in text  # #read("/etc/passwd") was not run
        if p in packs.values():
            labels[p.parent.name] = text
    everything = " ".join(pdftotext(p) for p in pdfs)
    for name in CATALOG_NAMES:
        assert " ".join(name.split()) in everything, name
    names = pq.read_table(run.results / "restricted" / "party_labels.parquet").to_pylist()
    label_of = {r["user_id"]: r["party_label"] for r in names}
    for user, name in zip(run.users, HOSTILE_NAMES, strict=True):  # its own pack only
        cover = f"{' '.join(name.split())} ({label_of[user]})"
        assert [lab for lab, t in labels.items() if cover in t] == [label_of[user]], name


@pytest.mark.browser
@pytest.mark.slow  # the quick suite's browser test is tests/reports/test_dashboard_browser.py
@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="/usr/bin/chromium not found")
def test_dashboard_runs_no_script_from_a_name(run: Run) -> None:
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        try:
            for page_path in sorted((run.reports / "dashboard").glob("*.html")):
                page = b.new_page()
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(page_path.as_uri())
                page.wait_for_function(
                    "['true', 'error'].includes(document.body.dataset.ready)", timeout=120_000
                )
                page.hover("text=Change")  # the catalog name carrying onmouseover, if shown
                page.close()
        finally:
            b.close()
    assert not dialogs and not errors, (dialogs, errors)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.slow
def test_same_inputs_give_the_same_bytes(
    run: Run, base: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = pipeline(base, tmp_path_factory.mktemp("again"), again=run)
    for first, second in (
        (run.results, again.results),
        (run.reports, again.reports),
        (run.packs, again.packs),
    ):
        a, b = _files(first), _files(second)
        for files in (a, b):  # when the run finished and how long it took: expected to vary
            files.pop("run.json", None)
        assert sorted(a) == sorted(b)
        differ = [name for name in a if a[name] != b[name]]
        assert not differ, differ
    for p in run.user_files("pdf"):  # fixed document dates: the day after the data month
        info = pdfinfo(p)
        assert re.search(r"CreationDate:\s+Sat May  1 00:00:00 2021 UTC", info), (p, info)
        assert re.search(r"ModDate:\s+Sat May  1 00:00:00 2021 UTC", info), (p, info)


def test_manifest_says_how_to_reproduce_and_run_json_holds_the_timings(run: Run) -> None:
    m = manifest(run.results)
    assert "timings_s" not in m
    assert m["reproduce"]["command"] == (
        f"opmetrics --catalog {run.catalog} compute {run.data} --month {MONTH} --out OUT "
        "--min-volume 1000"
    )
    assert m["catalog"]["sha256"] and m["anonymisation"]["key_fingerprint"]
    assert all(f["sha256"] for t in m["inputs"].values() if t["present"] for f in t["files"])
    timings = json.loads((run.results / "run.json").read_text(encoding="utf-8"))["timings_s"]
    assert {"aggregate_requests", "write"} <= set(timings)


def test_validate_quarantine_csv_neutralises_raw_lines(
    base: Path, tmp_path: Path, cli: Any
) -> None:
    """A malformed CSV line is quarantined as its raw text (under restricted/, beside the
    value-free list), which may itself be a formula."""
    data = build_case(CASE_BY_NAME["csv_bom"], base, tmp_path / "data")
    p = data / "service_requests.csv"
    p.write_bytes(p.read_bytes() + b"=cmd|' /C calc'!A0,x\n")
    q = tmp_path / "q.csv"
    ran = cli("validate", str(data), "--quarantine", str(q))
    ran.assert_clean()
    assert ran.code == 0
    with q.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["reason_code"], r["reason"]) for r in rows] == [
        ("malformed_row", "expected 17 fields, found 2")
    ]
    with (tmp_path / "restricted" / "q_rows.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["reason_code"], r["raw"]) for r in rows] == [
        ("malformed_row", "'=cmd|' /C calc'!A0,x")
    ]
